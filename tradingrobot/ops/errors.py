"""Server errors counted per minute in the database: the alert task (in the worker) sees the web's 5xx."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import F

from market.clock import now

from .models import ErrorTally

logger = logging.getLogger(__name__)


def error_count(*, source: str) -> None:
    """One more server error this minute. Never raises: it runs while something has already gone wrong."""
    minute = now().replace(second=0, microsecond=0)
    try:
        with transaction.atomic():
            if ErrorTally.objects.filter(minute=minute, source=source).update(count=F("count") + 1):
                return
            with transaction.atomic():
                ErrorTally.objects.create(minute=minute, source=source, count=1)
    except IntegrityError:  # another process created this minute's row first
        try:
            ErrorTally.objects.filter(minute=minute, source=source).update(count=F("count") + 1)
        except Exception:
            logger.warning("server error not counted", exc_info=True)
    except Exception:
        logger.warning("server error not counted", exc_info=True)
