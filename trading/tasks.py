"""Celery tasks of trading: thin adapters over its services."""

from celery import shared_task

from . import performance, services
from .engine.execution import bar_evaluate


@shared_task(name="trading.tasks.orders_housekeeping", ignore_result=True)
def orders_housekeeping() -> dict:
    """Expire day orders past their close and fill resting orders the stored prices allow.
    Idempotent and safe to run concurrently (row locks)."""
    expired = services.orders_expire()
    filled = services.orders_execute_resting(expire=False)
    return {"expired": expired, "filled": filled}


# The registered name predates the move from portfolio: kept so the beat schedule and queued messages still resolve.
@shared_task(name="portfolio.tasks.performance_push", ignore_result=True)
def performance_push() -> int:
    """Queue the metrics for WordPress; the push-back task delivers them."""
    return performance.performance_push_enqueue()


@shared_task(name="trading.tasks.strategies_bar_closed", ignore_result=True)
def strategies_bar_closed(*, ticker: str, timeframe: str, bar_end: str, strategy_pks: list[int]) -> int:
    """Decide the strategies on one closed bar. Redelivery-safe: a strategy already decided on the bar is
    skipped, and an order's client_order_id is derived from the strategy and the bar."""
    return bar_evaluate(ticker=ticker, timeframe=timeframe, bar_end=bar_end, strategy_pks=strategy_pks)
