"""Celery tasks of the portfolio: thin adapters over portfolio.performance."""

from celery import shared_task

from . import performance


@shared_task(name="portfolio.tasks.equity_snapshot", ignore_result=True)
def equity_snapshot() -> str:
    return str(performance.equity_snapshot_take().equity)


@shared_task(name="portfolio.tasks.performance_push", ignore_result=True)
def performance_push() -> int:
    """Queue the metrics for WordPress; the push-back task delivers them."""
    return performance.performance_push_enqueue()
