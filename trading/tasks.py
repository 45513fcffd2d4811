"""Celery tasks of the trading core: thin adapters over trading.services."""

from celery import shared_task

from . import services


@shared_task(name="trading.tasks.orders_housekeeping", ignore_result=True)
def orders_housekeeping() -> dict:
    """Expire day orders past their close and fill resting orders the stored prices allow.
    Idempotent and safe to run concurrently (row locks)."""
    expired = services.orders_expire()
    filled = services.orders_execute_resting(expire=False)
    return {"expired": expired, "filled": filled}
