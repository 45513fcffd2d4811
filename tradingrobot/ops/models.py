from django.db import models


class Heartbeat(models.Model):
    """The last sign of life of a process (a Celery worker, beat): in the database, so every process sees it
    in both modes (with no Redis the cache is per process)."""

    class Kind(models.TextChoices):
        WORKER = "worker"
        BEAT = "beat"

    name = models.CharField(max_length=200, unique=True, help_text="worker:<hostname> or beat")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(db_index=True)
    stopped = models.BooleanField(default=False, help_text="Shut down cleanly; no longer counts as alive.")

    def __str__(self) -> str:
        return f"{self.name} seen {self.seen_at:%Y-%m-%d %H:%M:%S}"


class AlertState(models.Model):
    """One alert condition: firing or not, since when, and when the operator was last told (rate limit)."""

    name = models.CharField(max_length=40, unique=True)
    firing = models.BooleanField(default=False)
    since = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    notified_firing = models.BooleanField(default=False, help_text="The operator was told it fires.")

    def __str__(self) -> str:
        return f"{self.name}: {'FIRING' if self.firing else 'ok'}"


class ErrorTally(models.Model):
    """Server errors (HTTP 5xx, failed tasks) per minute, so the alert task sees every process's errors."""

    minute = models.DateTimeField()
    source = models.CharField(max_length=16)  # http | task
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["minute", "source"], name="errortally_minute_source_uniq")]

    def __str__(self) -> str:
        return f"{self.minute:%H:%M} {self.source}: {self.count}"
