"""Backtest benchmark: SMA(10/30) on 2 years x 4 symbols of synthetic 5-minute bars (about 157,000 bars).

Prints, each beside its ceiling, measured in this run on this machine:
- the wall time of the whole run (data, simulation, metrics, report JSON + PNG + HTML), target < 10 s;
- the peak RSS of this process after it (before backtrader runs), target < 500 MB;
- the simulation speed in bars/s;
- backtrader's time for the same rule on the same data (one Cerebro per symbol), target ours >= 5x faster, and
  that both give the same trades (time, side, price);
- a 12-combination grid (fast 5,10,15,20 x slow 30,50,100 on 1 year x 4 symbols) on Celery workers over Redis
  and PostgreSQL: 1 worker against 2 (prefork, concurrency 1 each), and the speed-up.

    .venv/bin/python bench/backtest.py [--skip-grid]
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/tr_backtest, dropped and made anew) and
BENCH_REDIS_URL (default redis://127.0.0.1:6379/12).
"""

import argparse
import os
import resource
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tr_backtest")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
QUEUE = f"backtest-bench-{os.getpid()}"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_QUEUE": QUEUE,
        "SECRET_KEY": "bench-only-not-a-secret",
        "LOG_LEVEL": "WARNING",
        "BACKTEST_REPORT_DIR": str(ROOT / "var" / "bench-backtests"),
    }
)
RUN = {
    "kind": "sma_crossover",
    "symbols": ["TSLA", "QQQ", "SPY", "NVDA"],
    "timeframe": "5Min",
    "params": {"fast": 10, "slow": 30},
    "start": "2024-12-02",
    "end": "2026-11-30",
    "data": "synthetic",
    "seed": 7,
}
GRID = {**RUN, "start": "2025-12-01", "grid": {"fast": [5, 10, 15, 20], "slow": [30, 50, 100]}}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "NOT MET"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def database_create() -> None:
    from bench.databases import database_ensure

    database_ensure(DATABASE_URL, fresh=True)


def single_run() -> dict:
    from trading.backtest import services
    from trading.backtest.data import bars_load
    from trading.backtest.request import backtest_request_parse
    from trading.broker import Costs

    started = time.perf_counter()
    run = services.backtest_create(raw=RUN)
    run = services.backtest_execute(run_id=run.pk)
    wall = time.perf_counter() - started
    assert run.status == "done", run.reason
    rss = peak_rss_mib()

    request = backtest_request_parse(raw=RUN)
    bars = bars_load(request=request)
    count = sum(len(series) for series in bars.values())
    from trading.backtest.simulate import simulate

    started = time.perf_counter()
    ours = simulate(
        bars=bars, kind="sma_crossover", params=RUN["params"], costs=Costs(Decimal(0), Decimal(0), Decimal(0)),
        qty=Decimal(10), starting_cash=Decimal(10**7),
    )  # fmt: skip
    simulation = time.perf_counter() - started
    return {"run": run, "wall": wall, "rss": rss, "bars": bars, "count": count, "ours": ours, "sim": simulation}


def backtrader_compare(bars: dict, ours) -> dict:
    import pandas as pd

    from tests.trading.backtest.test_independent import backtrader_fills

    started = time.perf_counter()
    theirs = {symbol: backtrader_fills(series) for symbol, series in bars.items()}
    elapsed = time.perf_counter() - started
    differences = 0
    for symbol in bars:
        mine = [(pd.Timestamp(f.at), f.side, float(f.price)) for f in ours.fills if f.symbol == symbol]
        other = [(pd.Timestamp(at), side, price) for at, side, price in theirs[symbol]]
        differences += sum(a != b for a, b in zip(mine, other, strict=False)) + abs(len(mine) - len(other))
    return {"time": elapsed, "differences": differences, "trades": sum(len(t) for t in theirs.values())}


def workers_start(count: int) -> list[subprocess.Popen]:
    celery = str(Path(sys.executable).parent / "celery")
    return [
        subprocess.Popen(
            [
                celery,
                "-A",
                "tradingrobot",
                "worker",
                "-Q",
                QUEUE,
                "-c",
                "1",
                "--pool",
                "prefork",
                "-n",
                f"bench{i}-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "WARNING",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for i in range(count)
    ]


def grid_run(workers: int) -> dict:
    from celery import current_app

    from trading.backtest import services, tasks

    processes = workers_start(workers)
    try:
        deadline = time.time() + 60
        while len(current_app.control.ping(timeout=1.0) or []) < workers:
            if time.time() > deadline:
                raise RuntimeError("the Celery workers did not start")
        run = services.backtest_create(raw=GRID)
        started = time.perf_counter()
        tasks.backtest_run.delay(run.pk)
        while True:
            run.refresh_from_db()
            if run.status in ("done", "failed"):
                break
            time.sleep(0.1)
        wall = time.perf_counter() - started
        assert run.status == "done", run.reason
        return {"wall": wall, "combinations": run.children.count(), "best": run.ranking[0]["params"]}
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-grid", action="store_true")
    args = parser.parse_args()
    database_create()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    single = single_run()
    metrics = single["run"].metrics
    print(f"bars: {single['count']:,} (2 years x 4 symbols, 5Min, synthetic XNYS); trades {metrics['total_trades']}")
    wall = single["wall"]
    print(f"wall time, whole run incl. report + PNG: {wall:.2f} s   (target < 10 s)   {verdict(wall < 10)}")
    print(f"peak RSS: {single['rss']:.0f} MB   (target < 500 MB)   {verdict(single['rss'] < 500)}")
    print(f"simulation: {single['sim']:.2f} s, {single['count'] / single['sim']:,.0f} bars/s")
    bt = backtrader_compare(single["bars"], single["ours"])
    ratio = bt["time"] / single["sim"]
    print(f"backtrader, same rule and data: {bt['time']:.2f} s; ours {ratio:.1f}x faster   (target >= 5x)   ", end="")
    print(verdict(ratio >= 5))
    same = bt["differences"] == 0
    ours_count = len(single["ours"].fills)
    print(
        f"same trades: {bt['trades']} backtrader, {ours_count} ours, {bt['differences']} differences   {verdict(same)}"
    )
    print(f"(ours incl. report vs backtrader simulation only: {bt['time'] / single['wall']:.1f}x)")
    if args.skip_grid:
        return
    one = grid_run(1)
    two = grid_run(2)
    print(f"grid, {one['combinations']} combinations (1 year x 4 symbols): 1 worker {one['wall']:.2f} s, "
          f"2 workers {two['wall']:.2f} s, speed-up {one['wall'] / two['wall']:.2f}x (best {one['best']})")  # fmt: skip


if __name__ == "__main__":
    main()
