"""Reading strategies and their decisions (for the API, admin and site sync)."""

import datetime as dt

from django.db.models import QuerySet

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import NotFound

from ..models import Strategy, StrategyDecision


def strategy_list(*, enabled: bool | None = None, ticker: str | None = None) -> QuerySet[Strategy]:
    strategies = Strategy.objects.select_related("symbol")
    if enabled is not None:
        strategies = strategies.filter(enabled=enabled)
    if ticker is not None:
        strategies = strategies.filter(symbol__ticker=ticker)
    return strategies


def strategy_get(*, strategy_id: str) -> Strategy:
    strategy = Strategy.objects.select_related("symbol").filter(strategy_id=strategy_id).first()
    if strategy is None:
        raise NotFound(f"No strategy {strategy_id!r}.", code=ErrorCode.STRATEGY_NOT_FOUND)
    return strategy


def decision_list(
    *,
    strategy_id: str,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    outcome: str | None = None,
) -> QuerySet[StrategyDecision]:
    """Newest first (by bar end). `since` inclusive, `until` exclusive, on bar_end."""
    decisions = StrategyDecision.objects.filter(strategy__strategy_id=strategy_id)
    if since is not None:
        decisions = decisions.filter(bar_end__gte=since)
    if until is not None:
        decisions = decisions.filter(bar_end__lt=until)
    if outcome is not None:
        decisions = decisions.filter(outcome=outcome)
    return decisions.order_by("-bar_end", "-id")


def decisions_latest(*, strategy_pks: list[int]) -> dict[int, StrategyDecision]:
    """The last decision of each strategy (by primary key), one query."""
    rows = (
        StrategyDecision.objects.filter(strategy_id__in=strategy_pks)
        .order_by("strategy_id", "-bar_end", "-id")
        .distinct("strategy_id")
        if _postgres()
        else None
    )
    if rows is not None:
        return {row.strategy_id: row for row in rows}
    latest: dict[int, StrategyDecision] = {}
    for row in StrategyDecision.objects.filter(strategy_id__in=strategy_pks).order_by("-bar_end", "-id"):
        latest.setdefault(row.strategy_id, row)
    return latest


def _postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"
