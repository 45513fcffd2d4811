"""Backtest runs. Written only by `trading.backtest.services`."""

from django.db import models


class BacktestRun(models.Model):
    """One backtest, or one parameter sweep (`grid` set; its combinations are child runs). A run is `done` with
    its metrics and report files, or `failed` with the reason and no report: never half a report."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=1000, blank=True)
    progress = models.FloatField(default=0.0)  # percent
    params = models.JSONField()  # the validated request (kind, symbols, timeframe, params, dates, costs, data)
    metrics = models.JSONField(null=True, blank=True)
    trades = models.PositiveIntegerField(null=True, blank=True)
    ranking = models.JSONField(null=True, blank=True)  # sweeps: one row per combination, best first
    report_paths = models.JSONField(null=True, blank=True)  # report.json, equity.png, report.html
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    wall_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__gte=0) & models.Q(progress__lte=100), name="backtest_progress_range"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="done") | models.Q(metrics__isnull=False) | models.Q(ranking__isnull=False),
                name="backtest_done_has_results",
            ),
        ]

    def __str__(self) -> str:
        return f"backtest {self.pk} ({self.status})"
