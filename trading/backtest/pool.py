"""The process pool of sweeps (embedded mode, the command). Spawned, not forked: a child shares no database
connection or open transaction with its parent. A spawned child must set Django up before importing any model,
hence the imports inside the functions."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

_STATE: dict = {}


def _init(raw: dict, bars: dict) -> None:
    import django

    django.setup()
    from .request import backtest_request_parse

    _STATE.update(request=backtest_request_parse(raw=raw), bars=bars)


def combination_run(params: dict) -> tuple[dict, dict, int]:
    from .services import backtest_metrics, backtest_simulate

    request, bars = _STATE["request"], _STATE["bars"]
    result = backtest_simulate(request=request, bars=bars, params=params)
    return params, backtest_metrics(request=request, result=result).as_json(), len(result.fills)


def pool_make(*, processes: int, raw: dict, bars: dict) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_init, initargs=(raw, bars))
