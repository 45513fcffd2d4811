"""What the site's dashboard JavaScript (the theme's assets/js/dashboard.js) reads from the answers, key by key,
with the types it needs: the shapes of CONTRACTS.md section 1 as that script consumes them.

- `/dashboard/overview`: `data.metrics` — counts shown as they are; `total_pnl`, `daily_pnl`, `monthly_pnl` through
  `parseFloat(...).toFixed(2)` and subtracted from 0; `win_rate`, `avg_return`, `max_drawdown`, `roi` through
  `parseFloat`; `sharpe_ratio` and `profit_factor` by `(value || 0).toFixed(2)`, which throws on a string, so
  they must be JSON numbers. The theme gives every metric as a JSON number. `data.active_strategies[0].strategy_id`
  picks the strategy whose charts load.
- `/trades` (`limit=50`): each of `data.trades` is drawn as a table row: `trade_id`, `strategy_id`, `symbol`, `side`
  shown as text, `quantity` shown, `price` and `pnl` through `parseFloat`, `pnl` compared with 0,
  `execution_time` (or `created_at`) through `new Date(...)`.
"""

import datetime as dt
import re

NUMERIC_TEXT = re.compile(r"^-?\d+(\.\d+)?$")
OVERVIEW_METRICS = (
    "total_strategies",
    "active_strategies",
    "total_trades",
    "total_pnl",
    "win_rate",
    "avg_return",
    "sharpe_ratio",
    "max_drawdown",
    "profit_factor",
    "daily_pnl",
    "monthly_pnl",
    "roi",
)
COUNTS = ("total_strategies", "active_strategies", "total_trades")
TRADE_TEXT = ("trade_id", "strategy_id", "symbol", "side")


def is_number(value) -> bool:
    """A JSON number (what `toFixed` and arithmetic need)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_numeric(value) -> bool:
    """What `parseFloat` turns into a number: a JSON number or a decimal string."""
    return is_number(value) or (isinstance(value, str) and bool(NUMERIC_TEXT.match(value)))


def overview_problems(body: object) -> list[str]:
    """Everything in an overview answer the dashboard script would misread; empty when it parses."""
    if not isinstance(body, dict):
        return [f"the answer is {type(body).__name__}, not an object"]
    problems = []
    metrics = body.get("metrics")
    if not isinstance(metrics, dict):
        return ["metrics is not an object"]
    for key in OVERVIEW_METRICS:
        value = metrics.get(key)
        if not is_number(value):
            problems.append(f"metrics.{key} is {value!r}, not a JSON number")
        elif key in COUNTS and (not float(value).is_integer() or value < 0):
            problems.append(f"metrics.{key} is {value!r}, not a count")
    strategies = body.get("active_strategies")
    if not isinstance(strategies, list):
        problems.append("active_strategies is not a list")
    elif strategies and (not isinstance(strategies[0], dict) or not strategies[0].get("strategy_id")):
        problems.append("active_strategies[0] has no strategy_id")
    if not isinstance(body.get("recent_trades"), list):
        problems.append("recent_trades is not a list")
    else:
        problems += [f"recent_trades: {p}" for p in trades_problems({"trades": body["recent_trades"]})]
    if not isinstance(body.get("timestamp"), str):
        problems.append("timestamp is not a string")
    return problems


def trades_problems(body: object) -> list[str]:
    """Everything in a `/trades` answer the trades table of the dashboard would misread."""
    if not isinstance(body, dict) or not isinstance(body.get("trades"), list):
        return ["trades is not a list"]
    problems = []
    for index, trade in enumerate(body["trades"]):
        if not isinstance(trade, dict):
            problems.append(f"trades[{index}] is not an object")
            continue
        problems += [f"trades[{index}].{key} is not text" for key in TRADE_TEXT if not isinstance(trade.get(key), str)]
        if trade.get("side") not in ("BUY", "SELL"):
            problems.append(f"trades[{index}].side is {trade.get('side')!r}")
        for key in ("quantity", "price"):
            if not is_numeric(trade.get(key)):
                problems.append(f"trades[{index}].{key} is {trade.get(key)!r}, not a number")
        if trade.get("pnl") is not None and not is_numeric(trade["pnl"]):
            problems.append(f"trades[{index}].pnl is {trade['pnl']!r}, not a number")
        when = trade.get("execution_time") or trade.get("created_at")
        try:
            dt.datetime.strptime(when, "%Y-%m-%d %H:%M:%S")
        except (TypeError, ValueError):
            problems.append(f"trades[{index}].execution_time is {when!r}, not a date the script parses")
    return problems
