"""A backtest request from untrusted input (JSON body, command line): validated whole, or InvalidInput naming
what to fix. Nothing is stored before a request parses."""

import datetime as dt
import itertools
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import InvalidInput

from ..engine.decide import TIMEFRAME_SPAN
from ..strategies.params import StrategyParamsInvalid, params_dump, params_parse
from ..strategies.registry import kind_get

TIMEFRAMES = tuple(TIMEFRAME_SPAN)  # the timeframes the strategy engine serves
DATA_SOURCES = ("store", "synthetic")
RANK_BY = ("total_pnl", "roi", "sharpe_ratio", "profit_factor", "win_rate", "max_drawdown", "cagr", "expectancy")
TICKER = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
MAX_SYMBOLS = 20
MAX_DAYS = 3660  # ten years
EARLIEST, LATEST = dt.date(1990, 1, 1), dt.date(2099, 12, 31)  # inside the exchange calendars' range
LIMITS = {
    "slippage_bps": (Decimal(0), Decimal(1000)),
    "commission": (Decimal(0), Decimal(10)),
    "commission_min": (Decimal(0), Decimal(1000)),
    "qty": (Decimal("0.0001"), Decimal(1_000_000)),
    "starting_cash": (Decimal(1), Decimal(10**12)),
}


def _bad(message: str, code: ErrorCode = ErrorCode.INVALID_BACKTEST) -> InvalidInput:
    return InvalidInput(message, code=code)


@dataclass(frozen=True)
class BacktestRequest:
    kind: str
    symbols: tuple[str, ...]
    timeframe: str
    params: dict[str, int | float]
    start: dt.date
    end: dt.date
    slippage_bps: Decimal
    commission: Decimal
    commission_min: Decimal
    qty: Decimal
    starting_cash: Decimal
    data: str
    seed: int
    grid: dict[str, list] = field(default_factory=dict)
    rank_by: str = "total_pnl"

    def combinations(self) -> list[dict[str, int | float]]:
        """Every valid combination of the grid over `params` (those a kind's cross-field rule refuses, like
        fast ≥ slow, are left out)."""
        if not self.grid:
            return [self.params]
        schema = kind_get(kind=self.kind).Params
        names = list(self.grid)
        out = []
        for values in itertools.product(*(self.grid[n] for n in names)):
            try:
                out.append(params_dump(params_parse(schema, {**self.params, **dict(zip(names, values, strict=True))})))
            except StrategyParamsInvalid:
                continue
        return out

    def as_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw.update(
            symbols=list(self.symbols),
            start=self.start.isoformat(),
            end=self.end.isoformat(),
            **{name: str(getattr(self, name)) for name in LIMITS},
        )
        return raw


def _date(raw: Mapping, name: str) -> dt.date:
    value = raw.get(name)
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise _bad(f"{name}: give a date as YYYY-MM-DD, got {value!r}.") from None


def _decimal(raw: Mapping, name: str, default: Decimal) -> Decimal:
    value = raw.get(name)
    if value is None or value == "":
        return default
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _bad(f"{name}: must be a number, got {value!r}.") from None
    low, high = LIMITS[name]
    if not number.is_finite() or not low <= number <= high:
        raise _bad(f"{name}: must be between {low} and {high}, got {value!r}.")
    return number


def _symbols(raw: Mapping) -> tuple[str, ...]:
    value = raw.get("symbols", raw.get("symbol"))
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise _bad("symbols: give one or more tickers, e.g. TSLA or TSLA,QQQ.")
    tickers = tuple(dict.fromkeys(str(s).strip().upper() for s in items))
    if len(tickers) > MAX_SYMBOLS or not all(TICKER.match(t) for t in tickers):
        raise _bad(f"symbols: at most {MAX_SYMBOLS} tickers of letters and digits, got {value!r}.")
    return tickers


def _grid(raw: Mapping, schema: type) -> dict[str, list]:
    grid = raw.get("grid") or {}
    if not isinstance(grid, Mapping):
        raise _bad('grid: give an object of name: [values], e.g. {"fast": [5, 10], "slow": [30, 50]}.')
    out: dict[str, list] = {}
    for name, values in grid.items():
        values = values.split(",") if isinstance(values, str) else values
        if not isinstance(values, list | tuple) or not values:
            raise _bad(f"grid.{name}: give a list of values.")
        parsed = []
        for value in values:
            try:
                single = params_dump(params_parse(schema, {name: value}))[name]
            except StrategyParamsInvalid as exc:
                if name in exc.errors:
                    raise InvalidInput(
                        f"grid.{name}={value!r}: {exc.errors[name]}.", code=ErrorCode.INVALID_STRATEGY_PARAMS
                    ) from None
                single = value  # only a cross-field rule refused it alone: judged per combination
            parsed.append(single)
        out[str(name)] = list(dict.fromkeys(parsed))
    count = 1
    for values in out.values():
        count *= len(values)
    if count > settings.BACKTEST_MAX_COMBINATIONS:
        raise _bad(
            f"grid: {count} combinations, more than the maximum of {settings.BACKTEST_MAX_COMBINATIONS}; "
            "give fewer values.",
            ErrorCode.GRID_TOO_LARGE,
        )
    return out


def backtest_request_parse(*, raw: Mapping[str, Any]) -> BacktestRequest:
    if not isinstance(raw, Mapping):
        raise _bad("Give the backtest as an object.")
    kind = kind_get(kind=str(raw.get("kind") or ""))
    params = raw.get("params") or {}
    schema = kind.Params
    grid = _grid(raw, schema)
    base = {k: v for k, v in (params.items() if isinstance(params, Mapping) else ()) if k not in grid}
    if not isinstance(params, Mapping):
        raise StrategyParamsInvalid({"params": "must be an object of name: value"})
    parsed = params_dump(params_parse(schema, base)) if not grid else {**params_dump(_defaults(schema)), **base}
    start, end = _date(raw, "start"), _date(raw, "end")
    if end < start:
        raise _bad(f"end {end} is before start {start}; give an end on or after the start.")
    if start < EARLIEST or end > LATEST or (end - start).days > MAX_DAYS:
        raise _bad(f"start and end: a range of at most {MAX_DAYS} days between {EARLIEST} and {LATEST}.")
    timeframe = str(raw.get("timeframe") or "5Min")
    if timeframe not in TIMEFRAMES:
        raise _bad(f"timeframe: use one of {', '.join(TIMEFRAMES)}, got {timeframe!r}.")
    data = str(raw.get("data") or "store")
    if data not in DATA_SOURCES:
        raise _bad(f"data: use store or synthetic, got {data!r}.")
    rank_by = str(raw.get("rank_by") or "total_pnl")
    if rank_by not in RANK_BY:
        raise _bad(f"rank_by: use one of {', '.join(RANK_BY)}, got {rank_by!r}.")
    seed = raw.get("seed", 7)
    if isinstance(seed, bool) or not str(seed).isdigit() or int(seed) > 2**32:
        raise _bad(f"seed: a whole number from 0 to 2**32, got {seed!r}.")
    request = BacktestRequest(
        kind=kind.kind,
        symbols=_symbols(raw),
        timeframe=timeframe,
        params=parsed,
        start=start,
        end=end,
        slippage_bps=_decimal(raw, "slippage_bps", settings.BACKTEST_SLIPPAGE_BPS),
        commission=_decimal(raw, "commission", settings.BACKTEST_COMMISSION_PER_SHARE),
        commission_min=_decimal(raw, "commission_min", settings.BACKTEST_COMMISSION_MIN),
        qty=_decimal(raw, "qty", Decimal(10)),
        starting_cash=_decimal(raw, "starting_cash", settings.STARTING_CASH),
        data=data,
        seed=int(seed),
        grid=grid,
        rank_by=rank_by,
    )
    if grid and not request.combinations():
        raise InvalidInput(
            "grid: no combination is valid for this kind (e.g. every fast ≥ slow).",
            code=ErrorCode.INVALID_STRATEGY_PARAMS,
        )
    return request


def _defaults(schema: type) -> Any:
    return schema()
