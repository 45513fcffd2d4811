import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from trading.backtest.models import BacktestRun
from trading.backtest.services import backtest_create, backtest_execute, backtest_sweep_execute
from trading.engine.selectors import strategy_get
from tradingrobot.errors import DomainError

SHOWN = (
    "total_pnl",
    "realized_pnl",
    "roi",
    "cagr",
    "sharpe_ratio",
    "max_drawdown",
    "win_rate",
    "profit_factor",
    "expectancy",
    "avg_return",
    "exposure",
    "total_trades",
    "closed_trades",
)


def _pairs(text: str | None, flag: str) -> dict[str, str]:
    """`fast=10,slow=30` (params) into a dict; raises CommandError saying what to fix."""
    out = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"{flag}: give name=value pairs separated by commas, e.g. fast=10,slow=30; got {text!r}")
        out[name.strip()] = value.strip()
    return out


def _grid(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, values = item.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise CommandError(f"--grid: give name=v1,v2,... per parameter, e.g. fast=5,10,20 slow=30,50; got {item!r}")
        out[name.strip()] = values
    return out


class Command(BaseCommand):
    help = (
        "Backtest a strategy kind through the same code and fill function as live: "
        "backtest --kind sma_crossover --symbol TSLA --params fast=10,slow=30 --start 2025-01-01 --end 2026-11-30 "
        "[--data synthetic --seed 7] [--grid fast=5,10,20 slow=30,50,100]."
    )

    def add_arguments(self, parser):
        parser.add_argument("--strategy", help="a Strategy row's strategy_id (kind, symbol, timeframe, params from it)")
        parser.add_argument("--kind")
        parser.add_argument("--symbol", help="one ticker or several separated by commas")
        parser.add_argument("--timeframe", default="5Min")
        parser.add_argument("--params")
        parser.add_argument("--grid", nargs="+", metavar="NAME=V1,V2")
        parser.add_argument("--rank-by", default="total_pnl")
        parser.add_argument("--start", required=True)
        parser.add_argument("--end", required=True)
        parser.add_argument("--slippage-bps")
        parser.add_argument("--commission", help="per share")
        parser.add_argument("--commission-min")
        parser.add_argument("--qty", help="shares per entry (default 10)")
        parser.add_argument("--starting-cash")
        parser.add_argument("--data", default="store", choices=["store", "synthetic"])
        parser.add_argument("--seed", default="7")
        parser.add_argument("--processes", type=int, default=2, help="sweeps: processes of the pool")

    def handle(self, *args, **options):
        raw = {
            "kind": options["kind"],
            "symbols": options["symbol"],
            "timeframe": options["timeframe"],
            "params": _pairs(options["params"], "--params"),
            "grid": _grid(options["grid"]),
            "rank_by": options["rank_by"],
            "start": options["start"],
            "end": options["end"],
            "slippage_bps": options["slippage_bps"],
            "commission": options["commission"],
            "commission_min": options["commission_min"],
            "qty": options["qty"],
            "starting_cash": options["starting_cash"],
            "data": options["data"],
            "seed": options["seed"],
        }
        if options["strategy"]:
            try:
                strategy = strategy_get(strategy_id=options["strategy"])
            except DomainError as error:
                raise CommandError(f"{error.code}: {error.message}") from None
            raw.update(
                kind=strategy.kind,
                symbols=strategy.symbol.ticker,
                timeframe=strategy.timeframe,
                params={**strategy.params, **raw["params"]},
            )
        if not raw["kind"] or not raw["symbols"]:
            raise CommandError("Give --kind and --symbol (or --strategy).")
        started = time.perf_counter()
        try:
            run = backtest_create(raw=raw)
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        with tqdm(total=100, desc=f"backtest {run.pk}", unit="%", file=self.stderr) as bar:

            def progress(percent: float) -> None:
                bar.update(max(0.0, percent - bar.n))

            if raw["grid"]:
                run = backtest_sweep_execute(run_id=run.pk, processes=options["processes"], progress=progress)
            else:
                run = backtest_execute(run_id=run.pk, progress=progress)
        wall = time.perf_counter() - started
        if run.status != BacktestRun.Status.DONE:
            raise CommandError(f"backtest {run.pk} failed: {run.reason}")
        if run.ranking is not None:
            self._ranking(run, wall)
        else:
            self._metrics(run, wall)

    def _metrics(self, run: BacktestRun, wall: float) -> None:
        assert run.metrics is not None  # a done run without a ranking has metrics (the model's check constraint)
        width = max(len(name) for name in SHOWN)
        for name in SHOWN:
            value = run.metrics.get(name)
            self.stdout.write(f"{name:<{width}}  {'—' if value is None else value}")
        self.stdout.write(f"wall time {wall:.2f} s")
        for name, path in (run.report_paths or {}).items():
            self.stdout.write(f"{name}: {path}")

    def _ranking(self, run: BacktestRun, wall: float) -> None:
        assert run.ranking is not None  # called only when the run has one
        rank_by = run.params["rank_by"]
        self.stdout.write(f"{len(run.ranking)} combinations in {wall:.2f} s, ranked by {rank_by}")
        self.stdout.write(f"{'#':>3}  {'params':<30} {'total_pnl':>12} {'sharpe':>8} {'max_dd':>8} {'trades':>7}")
        for place, row in enumerate(run.ranking, 1):
            m = row["metrics"]
            params = ",".join(f"{k}={v}" for k, v in row["params"].items())
            sharpe = "—" if m["sharpe_ratio"] is None else m["sharpe_ratio"]
            pnl, drawdown = m["total_pnl"], m["max_drawdown"]
            self.stdout.write(f"{place:>3}  {params:<30} {pnl:>12.2f} {sharpe!s:>8} {drawdown:>8} {row['trades']:>7}")
