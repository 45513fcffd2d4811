"""Celery tasks of the portfolio: thin adapters over its services."""

from celery import shared_task

from .equity import equity_snapshot_take


@shared_task(name="portfolio.tasks.equity_snapshot", ignore_result=True)
def equity_snapshot() -> str:
    return str(equity_snapshot_take().equity)
