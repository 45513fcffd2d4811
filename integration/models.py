from django.db import models


class FeedStatus(models.Model):
    """The outcome of the latest poll or backfill of the WordPress feed: one row per kind."""

    class Kind(models.TextChoices):
        POLL = "poll", "Poll of /stock-data"
        BACKFILL = "backfill", "Backfill through /stock-data/{symbol}"

    kind = models.CharField(max_length=16, choices=Kind.choices, unique=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error_code = models.CharField(max_length=64, blank=True)
    last_error_message = models.TextField(blank=True)
    last_counts = models.JSONField(default=dict, blank=True, help_text="stored/updated/unchanged/skipped and reasons")

    def __str__(self) -> str:
        return f"{self.kind}: last success {self.last_success_at}"


class BackfillWindow(models.Model):
    """One completed window of history for one symbol: a rerun skips it (resumable backfill)."""

    symbol = models.ForeignKey("market.Symbol", on_delete=models.CASCADE, related_name="backfill_windows")
    start = models.DateTimeField()
    end = models.DateTimeField()
    rows = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=16, default="wordpress", help_text="wordpress, or the fallback that filled it")
    completed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["symbol", "start", "end", "source"], name="backfillwindow_symbol_span_source_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.start:%Y-%m-%d} .. {self.end:%Y-%m-%d}"
