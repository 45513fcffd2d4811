"""The backtest report: a JSON document, a 3-panel PNG (price with buy/sell markers, equity against
buy-and-hold, drawdown) and an HTML page embedding the PNG with the metrics table and the trade list.
The drawdown panel plots `metrics.drawdown_series` of the same equity the max drawdown is computed from."""

import base64
import io
import json
import math
from decimal import Decimal
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
from django.template.loader import render_to_string
from matplotlib.figure import Figure

from market.bars import Bars
from trading.metrics import DAILY_CLOSE_TZ, SHARPE_ANNUALISATION, TRADING_DAYS, Metrics, drawdown_series

from .simulate import Result

DRAWDOWN_LABEL = "drawdown %"


def _iso(at: np.datetime64) -> str:
    return f"{np.datetime_as_string(at, unit='s')}Z"


def _clean(value):
    """JSON-safe: Decimal as str, non-finite floats as None (no NaN or Infinity ever reaches JSON)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def trades_of(result: Result) -> list[dict]:
    return [
        {
            "at": _iso(f.at),
            "symbol": f.symbol,
            "side": f.side,
            "qty": f.qty,
            "price": f.price,
            "commission": f.commission,
            "realized_pnl": f.realized,
        }
        for f in result.fills
    ]


def report_document(*, result: Result, metrics: Metrics, run: dict) -> dict:
    drawdown = drawdown_series(result.equity)
    return _clean(
        {
            "run": run,
            "constants": {
                "sharpe_annualisation": SHARPE_ANNUALISATION,
                "sharpe_annualisation_formula": f"sqrt({TRADING_DAYS})",
                "daily_close_timezone": str(DAILY_CLOSE_TZ),
                "fill_rule": "decided on the close of bar t, filled at the open of bar t+1",
            },
            "metrics": metrics.as_json(),
            "bars": result.bars,
            "refused_orders": result.refused,
            "trades": trades_of(result),
            "equity_curve": {
                "times": [int(t) for t in result.times.astype(np.int64).tolist()],
                "equity": [round(v, 4) for v in result.equity.tolist()],
                "buy_and_hold": [round(v, 4) for v in result.benchmark.tolist()],
                "drawdown_pct": [round(v, 6) for v in drawdown.tolist()],
            },
        }
    )


def report_figure(*, result: Result, bars: dict[str, Bars]) -> Figure:
    figure = Figure(figsize=(12, 9), dpi=100)
    price, equity, fall = figure.subplots(3, 1, sharex=True, height_ratios=(3, 2, 1))
    several = len(bars) > 1
    for symbol, series in bars.items():
        scale = 100 / series.close[0] if several and len(series) and series.close[0] else 1.0
        price.plot(series.timestamps, series.close * scale, linewidth=0.6, label=symbol)
        for side, marker, colour in (("buy", "^", "tab:green"), ("sell", "v", "tab:red")):
            mine = [f for f in result.fills if f.symbol == symbol and f.side == side]
            if mine:
                price.scatter(
                    [f.at for f in mine],
                    [float(f.price) * scale for f in mine],
                    marker=marker,
                    s=14,
                    c=colour,
                    zorder=3,
                )
    price.set_ylabel("price (first close = 100)" if several else "price")
    price.legend(loc="upper left", fontsize="small")
    equity.plot(result.times, result.equity, linewidth=0.8, label="strategy")
    equity.plot(result.times, result.benchmark, linewidth=0.8, label="buy and hold")
    equity.set_ylabel("equity")
    equity.legend(loc="upper left", fontsize="small")
    fall.plot(result.times, drawdown_series(result.equity), linewidth=0.6, color="tab:red", label=DRAWDOWN_LABEL)
    fall.set_ylabel(DRAWDOWN_LABEL)
    figure.tight_layout()
    return figure


def report_write(*, directory: Path, document: dict, figure: Figure) -> dict[str, str]:
    """report.json, equity.png and report.html in `directory`; their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / name for name in ("report.json", "equity.png", "report.html")}
    paths["report.json"].write_text(json.dumps(document, allow_nan=False, separators=(",", ":")))
    png = io.BytesIO()
    figure.savefig(png, format="png")
    paths["equity.png"].write_bytes(png.getvalue())
    html = render_to_string(
        "backtest/report.html",
        {
            "run": document["run"],
            "metrics": document["metrics"].items(),
            "constants": document["constants"],
            "trades": document["trades"],
            "png": base64.b64encode(png.getvalue()).decode(),
        },
    )
    paths["report.html"].write_text(html)
    return {name: str(path) for name, path in paths.items()}
