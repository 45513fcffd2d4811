"""The engine's `bar_closed` listener (tradingrobot/listeners.py): a live bar with enabled strategies on its
symbol and timeframe becomes a Celery task (in process with STRATEGY_ENGINE_INLINE); a backfill's bars never do."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from ..models import Strategy
from ..tasks import strategies_bar_closed
from .execution import bar_evaluate


def bar_closed_received(event: Mapping[str, Any]) -> None:
    if not event["live"] or event["timeframe"] not in Strategy.Timeframe.values:
        return
    pks = list(
        Strategy.objects.filter(enabled=True, symbol__ticker=event["symbol"], timeframe=event["timeframe"]).values_list(
            "pk", flat=True
        )
    )
    if not pks:
        return
    args = {"ticker": event["symbol"], "timeframe": event["timeframe"], "bar_end": event["end"].isoformat()}
    if settings.STRATEGY_ENGINE_INLINE:
        bar_evaluate(strategy_pks=pks, **args)
    else:
        strategies_bar_closed.delay(strategy_pks=pks, **args)
