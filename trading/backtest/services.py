"""Backtest runs: the one service under the command, the API, the Celery tasks and the admin.

`backtest_create` stores a queued run (a sweep: a parent and one child per combination); `backtest_execute`
runs one to `done` (metrics, report files moved into place last) or `failed` (the reason, no files);
`backtest_sweep_execute` runs a sweep's children in a process pool (embedded) and ranks them, while with Celery
on Redis the children go to the workers as a group and the last to finish ranks them (`backtest_sweep_finish`).
"""

import datetime as dt
import logging
import multiprocessing
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction

from market.bars import Bars
from market.clock import now
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import DomainError, NotFound

from ..broker import Costs
from ..metrics import Metrics, metrics_compute
from .data import bars_available, bars_load
from .models import BacktestRun
from .pool import combination_run, pool_make
from .report import report_document, report_figure, report_write
from .request import BacktestRequest, backtest_request_parse
from .simulate import Result, simulate

logger = logging.getLogger(__name__)
Progress = Callable[[float], None]


def _request(run: BacktestRun) -> BacktestRequest:
    return backtest_request_parse(raw=run.params)


def _costs(request: BacktestRequest) -> Costs:
    return Costs(request.slippage_bps, request.commission, request.commission_min)


def backtest_metrics(*, request: BacktestRequest, result: Result) -> Metrics:
    closing = [(f.realized, f.cost_removed) for f in result.fills if f.side == "sell"]
    end = result.times[-1].astype(dt.datetime).replace(tzinfo=dt.UTC)
    return metrics_compute(
        starting_cash=request.starting_cash,
        realized=result.realized,
        unrealized=result.unrealized,
        fills=len(result.fills),
        closing=closing,
        curve_times=result.times,
        curve_values=result.equity,
        as_of=end,
        exposure=result.exposure,
    )


def backtest_simulate(*, request: BacktestRequest, bars: dict[str, Bars], params: dict | None = None) -> Result:
    return simulate(
        bars=bars,
        kind=request.kind,
        params=request.params if params is None else params,
        costs=_costs(request),
        qty=request.qty,
        starting_cash=request.starting_cash,
        timeframe=request.timeframe,
    )


def backtest_create(*, raw: dict) -> BacktestRun:
    """A queued run (InvalidInput, nothing stored, when the request is bad or its range has no data)."""
    request = backtest_request_parse(raw=raw)
    bars_available(request=request)
    at = now()
    with transaction.atomic():
        run = BacktestRun.objects.create(params=request.as_json(), created_at=at)
        if request.grid:
            BacktestRun.objects.bulk_create(
                BacktestRun(params={**request.as_json(), "grid": {}, "params": combo}, parent=run, created_at=at)
                for combo in request.combinations()
            )
    return run


def backtest_get(*, run_id: int) -> BacktestRun:
    try:
        return BacktestRun.objects.get(pk=run_id)
    except BacktestRun.DoesNotExist:
        raise NotFound(f"No backtest run {run_id}.", code=ErrorCode.BACKTEST_NOT_FOUND) from None


def _claim(run_id: int) -> BacktestRun | None:
    """The run, now `running`; None when another worker took it or it already finished (a redelivery)."""
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().get(pk=run_id)
        if run.status != BacktestRun.Status.QUEUED:
            return None
        run.status, run.started_at = BacktestRun.Status.RUNNING, now()
        run.save(update_fields=["status", "started_at"])
    return run


def _progress_saver(run: BacktestRun, callback: Progress | None) -> Progress:
    def save(percent: float) -> None:
        BacktestRun.objects.filter(pk=run.pk).update(progress=round(min(max(percent, 0.0), 100.0), 1))
        if callback:
            callback(percent)

    return save


def _fail(run: BacktestRun, reason: str, started: float) -> BacktestRun:
    BacktestRun.objects.filter(pk=run.pk).update(
        status=BacktestRun.Status.FAILED,
        reason=reason[:1000],
        metrics=None,
        ranking=None,
        report_paths=None,
        finished_at=now(),
        wall_seconds=time.perf_counter() - started,
    )
    run.refresh_from_db()
    return run


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"


def backtest_execute(*, run_id: int, progress: Progress | None = None, report: bool = True) -> BacktestRun:
    """Run a queued single backtest to done or failed. Idempotent: a run not queued is returned as it is."""
    run = _claim(run_id)
    if run is None:
        return backtest_get(run_id=run_id)
    started = time.perf_counter()
    step = _progress_saver(run, progress)
    workdir = None
    try:
        request = _request(run)
        bars = bars_load(request=request)
        step(30)
        result = backtest_simulate(request=request, bars=bars)
        step(60)
        metrics = backtest_metrics(request=request, result=result)
        paths = None
        if report:
            document = report_document(result=result, metrics=metrics, run={"id": run.pk, **run.params})
            workdir = Path(tempfile.mkdtemp(prefix=f".run-{run.pk}-", dir=_report_root()))
            report_write(directory=workdir, document=document, figure=report_figure(result=result, bars=bars))
            step(95)
            final = _report_root() / str(run.pk)
            shutil.rmtree(final, ignore_errors=True)
            workdir.rename(final)
            workdir = None
            paths = {name: str(final / name) for name in ("report.json", "equity.png", "report.html")}
        with transaction.atomic():
            BacktestRun.objects.filter(pk=run.pk).update(
                status=BacktestRun.Status.DONE,
                progress=100.0,
                metrics=metrics.as_json(),
                trades=len(result.fills),
                report_paths=paths,
                finished_at=now(),
                wall_seconds=time.perf_counter() - started,
            )
    except Exception as exc:  # any failure is stored as the run's reason; nothing half-written is kept
        logger.warning("backtest %s failed: %s", run.pk, exc, exc_info=not isinstance(exc, DomainError))
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        return _fail(run, _reason(exc), started)
    if progress:
        progress(100.0)
    run.refresh_from_db()
    return run


def _report_root() -> Path:
    root = Path(settings.BACKTEST_REPORT_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


# --- sweeps ---------------------------------------------------------------------------------------------------


def _rank_key(rank_by: str):
    def key(row: dict):
        value = row["metrics"].get(rank_by)
        if value is None:
            return (1, 0.0)
        return (0, value if rank_by == "max_drawdown" else -value)  # the smallest drawdown ranks first

    return key


def backtest_sweep_finish(*, run_id: int) -> BacktestRun:
    """Rank the children once none is left queued or running; the parent stays running until then."""
    with transaction.atomic():
        parent = BacktestRun.objects.select_for_update().get(pk=run_id)
        if parent.status != BacktestRun.Status.RUNNING:
            return parent
        children = list(parent.children.order_by("id"))
        finished = [c for c in children if c.status in (BacktestRun.Status.DONE, BacktestRun.Status.FAILED)]
        parent.progress = round(len(finished) / max(len(children), 1) * 100, 1)
        if len(finished) < len(children):
            parent.save(update_fields=["progress"])
            return parent
        rows = [
            {"run_id": c.pk, "params": c.params["params"], "metrics": c.metrics, "trades": c.trades}
            for c in children
            if c.status == BacktestRun.Status.DONE
        ]
        failed = [c for c in children if c.status == BacktestRun.Status.FAILED]
        rank_by = parent.params.get("rank_by", "total_pnl")
        rows.sort(key=_rank_key(rank_by))
        if not rows:
            parent.status, parent.reason = BacktestRun.Status.FAILED, f"every combination failed: {failed[0].reason}"
        else:
            parent.status, parent.ranking = BacktestRun.Status.DONE, rows
            parent.metrics = rows[0]["metrics"]
        parent.finished_at = now()
        assert parent.started_at is not None  # running: _claim set started_at with the status
        parent.wall_seconds = (parent.finished_at - parent.started_at).total_seconds()
        parent.save()
    return parent


def backtest_sweep_start(*, run_id: int) -> list[int] | None:
    """Claim a sweep; the ids of its children to run, or None when it is not queued (a redelivery)."""
    if _claim(run_id) is None:
        return None
    return list(BacktestRun.objects.filter(parent_id=run_id).order_by("id").values_list("id", flat=True))


class _Inline:
    """A pool of one: this process (a daemonic process, e.g. a prefork Celery child, cannot have children)."""

    def __init__(self, raw: dict, bars: dict):
        self.request, self.bars = backtest_request_parse(raw=raw), bars

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, function, items):
        for params in items:
            result = backtest_simulate(request=self.request, bars=self.bars, params=params)
            yield params, backtest_metrics(request=self.request, result=result).as_json(), len(result.fills)


def _pool(processes: int, raw: dict, bars: dict):
    if processes <= 1 or multiprocessing.current_process().daemon:
        return _Inline(raw, bars)
    return pool_make(processes=processes, raw=raw, bars=bars)


def backtest_sweep_execute(*, run_id: int, processes: int = 2, progress: Progress | None = None) -> BacktestRun:
    """A sweep in a process pool of this machine (the embedded mode; the command)."""
    children = backtest_sweep_start(run_id=run_id)
    if children is None:
        return backtest_get(run_id=run_id)
    parent = backtest_get(run_id=run_id)
    started = time.perf_counter()
    try:
        request = _request(parent)
        bars = bars_load(request=request)
        by_params = {}
        for child in BacktestRun.objects.filter(pk__in=children):
            by_params[tuple(sorted(child.params["params"].items()))] = child
        BacktestRun.objects.filter(pk__in=children).update(status=BacktestRun.Status.RUNNING, started_at=now())
        combos = [c.params["params"] for c in by_params.values()]
        done = 0
        with _pool(processes, parent.params, bars) as pool:
            for params, metrics, trades in pool.map(combination_run, combos):
                child = by_params[tuple(sorted(params.items()))]
                BacktestRun.objects.filter(pk=child.pk).update(
                    status=BacktestRun.Status.DONE, progress=100.0, metrics=metrics, trades=trades, finished_at=now()
                )
                done += 1
                if progress:
                    progress(done / len(combos) * 100)
    except Exception as exc:
        logger.warning("backtest sweep %s failed: %s", run_id, exc, exc_info=not isinstance(exc, DomainError))
        BacktestRun.objects.filter(parent_id=run_id).exclude(status=BacktestRun.Status.DONE).update(
            status=BacktestRun.Status.FAILED, reason=_reason(exc)[:1000], finished_at=now()
        )
        BacktestRun.objects.filter(parent_id=run_id).update(metrics=None, status=BacktestRun.Status.FAILED)
        return _fail(parent, _reason(exc), started)
    return backtest_sweep_finish(run_id=run_id)


def backtest_child_execute(*, run_id: int) -> BacktestRun:
    """One combination of a sweep (a Celery worker's share), then the ranking if it was the last."""
    child = backtest_execute(run_id=run_id, report=False)
    if child.parent_id:
        backtest_sweep_finish(run_id=child.parent_id)
    return child
