"""Beat-scheduled operations tasks (see CELERY_BEAT_SCHEDULE, ops section of the settings)."""

import datetime as dt

from celery import shared_task

from market.clock import now

from .alerts import alerts_dispatch
from .heartbeats import heartbeat_record
from .models import ErrorTally, Heartbeat


@shared_task(name="ops.tasks.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Beat scheduled it and a worker ran it: both alive."""
    heartbeat_record(name="beat", kind=Heartbeat.Kind.BEAT)


@shared_task(name="ops.tasks.alerts_check", ignore_result=True)
def alerts_check() -> dict:
    ErrorTally.objects.filter(minute__lt=now() - dt.timedelta(days=1)).delete()
    Heartbeat.objects.filter(seen_at__lt=now() - dt.timedelta(days=7)).delete()  # workers long gone
    return alerts_dispatch()
