"""Bars for a backtest: the price store's for the date range, or the seeded synthetic generator's (XNYS)."""

import datetime as dt
from zoneinfo import ZoneInfo

from market.bars import Bars
from market.models import Bar, Symbol
from market.selectors import bar_list
from market.synthetic import synthetic_bars, synthetic_samples, synthetic_sessions
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import InvalidInput

from .request import BacktestRequest

EXCHANGE_TZ = ZoneInfo("America/New_York")
NO_LIMIT = 10**8


def _bounds(request: BacktestRequest) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(request.start, dt.time(), tzinfo=EXCHANGE_TZ)
    end = dt.datetime.combine(request.end + dt.timedelta(days=1), dt.time(), tzinfo=EXCHANGE_TZ)
    return start, end


def _no_data(request: BacktestRequest, empty: list[str]) -> InvalidInput:
    return InvalidInput(
        f"No {request.timeframe} bars for {', '.join(empty)} from {request.start} to {request.end} "
        f"({request.data} data); pick a range with data"
        + (" or load prices first (manage.py load_prices / load_synthetic)." if request.data == "store" else "."),
        code=ErrorCode.BACKTEST_NO_DATA,
    )


def _symbols_stored(request: BacktestRequest) -> dict[str, Symbol]:
    """The request's symbols from the symbol table; an unknown one is a bad request field (400), not a 404."""
    found = {s.ticker: s for s in Symbol.objects.filter(ticker__in=request.symbols)}
    unknown = [ticker for ticker in request.symbols if ticker not in found]
    if unknown:
        known = ", ".join(Symbol.objects.filter(is_active=True).order_by("ticker").values_list("ticker", flat=True))
        raise InvalidInput(
            f"symbols: {', '.join(unknown)} not in the price store (store data); known symbols: {known}.",
            code=ErrorCode.INVALID_BACKTEST,
        )
    return found


def bars_available(*, request: BacktestRequest) -> None:
    """InvalidInput unless every symbol has a bar in the range: the cheap check made before a run is queued."""
    if request.data == "synthetic":
        if not len(synthetic_sessions(start=request.start, end=request.end).opens):
            raise _no_data(request, list(request.symbols))
        return
    start, end = _bounds(request)
    symbols = _symbols_stored(request)
    empty = [
        ticker
        for ticker in request.symbols
        if not Bar.objects.filter(
            symbol=symbols[ticker], timeframe=request.timeframe, start__gte=start, start__lt=end
        ).exists()
    ]
    if empty:
        raise _no_data(request, empty)


def bars_load(*, request: BacktestRequest) -> dict[str, Bars]:
    """One series per symbol, in the request's order; InvalidInput when a symbol has no bar in the range."""
    if request.data == "synthetic":
        step = 1 if request.timeframe == "1Min" else 5
        samples = synthetic_samples(
            symbols=request.symbols, start=request.start, end=request.end, seed=request.seed, step_minutes=step
        )
        out = {s: synthetic_bars(samples[s], timeframe=request.timeframe) for s in request.symbols}
    else:
        start, end = _bounds(request)
        symbols = _symbols_stored(request)
        out = {}
        for ticker in request.symbols:
            rows = bar_list(symbol=symbols[ticker], timeframe=request.timeframe, limit=NO_LIMIT, start=start, end=end)
            out[ticker] = Bars.from_rows(rows.bars)
    empty = [s for s, series in out.items() if len(series) == 0]
    if empty:
        raise _no_data(request, empty)
    return out
