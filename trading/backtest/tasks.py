"""Celery tasks of backtests: thin adapters over trading.backtest.services, idempotent (a run is claimed once)."""

from celery import group, shared_task
from django.conf import settings

from . import services


@shared_task(name="trading.backtest.tasks.backtest_run", ignore_result=True)
def backtest_run(run_id: int) -> str:
    run = services.backtest_get(run_id=run_id)
    if run.params.get("grid"):
        if not settings.REDIS_URL:  # embedded: one worker, so the combinations go to a process pool
            return services.backtest_sweep_execute(run_id=run_id).status
        children = services.backtest_sweep_start(run_id=run_id)
        if children:
            group(backtest_combination.si(child) for child in children).delay()
        return "sweep dispatched"
    return services.backtest_execute(run_id=run_id).status


@shared_task(name="trading.backtest.tasks.backtest_combination", ignore_result=True)
def backtest_combination(run_id: int) -> str:
    return services.backtest_child_execute(run_id=run_id).status
