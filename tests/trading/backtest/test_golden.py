"""Six hand-computed trades through the simulator and the metrics module: every metric asserted exactly.

The kind is long while the close is above 100. Each trade k: a close of 101 on bar s (the signal), the entry
at the open E of bar s+1, closes at the mid of E and X while held, a close of 100 on bar s+6 (the exit signal),
the exit at the open X of bar s+7. 10 shares, no slippage, commission 1.00 a fill (0.01/share, min 1.00).
"""

import datetime as dt
import itertools
import math
import statistics
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from market.bars import Bars
from trading.backtest.simulate import simulate
from trading.broker import Costs
from trading.metrics import metrics_compute
from trading.strategies.base import Context, Decision, Strategy, Target

TRADES = [  # entry open, exit open, realized P&L of the sell = 10 * (X - E) - 1
    (Decimal("101"), Decimal("103"), Decimal("19")),
    (Decimal("102"), Decimal("100"), Decimal("-21")),
    (Decimal("100"), Decimal("105"), Decimal("49")),
    (Decimal("104"), Decimal("104.1"), Decimal("0")),  # break-even: neither a win nor a loss
    (Decimal("103"), Decimal("101"), Decimal("-21")),
    (Decimal("100"), Decimal("110"), Decimal("99")),
]
BARS = 120
QTY = Decimal(10)
CASH = Decimal(10000)
COSTS = Costs(Decimal(0), Decimal("0.01"), Decimal("1.00"))


class AboveHundred(Strategy):
    kind = "above_hundred"

    @dataclass(frozen=True)
    class Params:
        pass

    def warmup_bars(self, params) -> int:
        return 1

    def on_bar(self, context: Context) -> Decision:
        long = context.bars.close[-1] > 100
        return Decision(Target.LONG if long else Target.FLAT, "close above 100" if long else "at or below 100")


def golden_bars() -> Bars:
    opens, closes = [100.0] * BARS, [100.0] * BARS
    for k, (entry, exit_, _) in enumerate(TRADES):
        s = 10 + 15 * k
        closes[s] = 101.0
        opens[s + 1] = float(entry)
        for i in range(s + 1, s + 6):
            closes[i] = float((entry + exit_) / 2)
        opens[s + 7] = float(exit_)
    start = np.datetime64("2025-01-02T14:30:00", "s")
    times = start + np.arange(BARS) * np.timedelta64(86400, "s")
    high = np.maximum(opens, closes)
    low = np.minimum(opens, closes)
    return Bars(times, opens, high, low, closes, np.full(BARS, 1000.0))


def test_six_hand_computed_trades_give_every_metric_exactly():
    bars = golden_bars()
    result = simulate(bars={"TEST": bars}, kind=AboveHundred(), params={}, costs=COSTS, qty=QTY, starting_cash=CASH)

    fills = [(f.side, f.price, f.commission, f.realized) for f in result.fills]
    expected = []
    for entry, exit_, pnl in TRADES:
        expected += [("buy", entry, Decimal("1.00"), Decimal("-1.00")), ("sell", exit_, Decimal("1.00"), pnl)]
    assert fills == expected
    assert [int((f.at - bars.timestamps[0]) // np.timedelta64(86400, "s")) for f in result.fills] == [
        day for k in range(6) for day in (11 + 15 * k, 17 + 15 * k)
    ]

    # The equity of every bar, by hand: cash + 10 shares at the close while held.
    cash, held, equity = CASH, False, []
    entries = {11 + 15 * k: t for k, t in enumerate(TRADES)}
    exits = {17 + 15 * k: t for k, t in enumerate(TRADES)}
    for i in range(BARS):
        if i in entries:
            cash -= QTY * entries[i][0] + 1
            held = True
        if i in exits:
            cash += QTY * exits[i][1] - 1
            held = False
        equity.append(cash + (QTY * Decimal(str(bars.close[i])) if held else 0))
    assert np.allclose(result.equity, [float(e) for e in equity], atol=1e-9, rtol=0)
    peak, deepest = equity[0], Decimal(0)
    for value in equity:
        peak = max(peak, value)
        deepest = max(deepest, (peak - value) / peak * 100)
    returns = [float(b / a - 1) for a, b in itertools.pairwise(equity)]
    sharpe = statistics.fmean(returns) / statistics.stdev(returns) * math.sqrt(252)
    days = BARS - 1
    cagr = ((float(CASH + 119) / float(CASH)) ** (365.25 / days) - 1) * 100

    metrics = metrics_compute(
        starting_cash=CASH,
        realized=result.realized,
        unrealized=result.unrealized,
        fills=len(result.fills),
        closing=[(f.realized, f.cost_removed) for f in result.fills if f.side == "sell"],
        curve_times=result.times,
        curve_values=result.equity,
        as_of=dt.datetime(2025, 5, 1, 20, tzinfo=dt.UTC),
        exposure=result.exposure,
    )
    assert metrics.as_json() == {
        "total_pnl": 119.0,  # 125 from the six sells, less six buy commissions
        "realized_pnl": 119.0,
        "unrealized_pnl": 0.0,
        "daily_pnl": 0.0,
        "monthly_pnl": 0.0,
        "total_trades": 12,
        "closed_trades": 6,
        "winning_trades": 3,
        "losing_trades": 2,
        "win_rate": 50.0,  # 3 of 6: the break-even trade is not a win
        "avg_return": 2.0973,  # mean of 19/1010, -21/1020, 49/1000, 0, -21/1030, 99/1000 in percent
        "expectancy": 20.8333,  # 125 / 6
        "profit_factor": 3.9762,  # 167 / 42
        "max_drawdown": round(float(deepest), 4),
        "sharpe_ratio": round(sharpe, 4),
        "cagr": round(cagr, 4),
        "roi": 1.19,
        "exposure": round(6 * 6 / BARS * 100, 4),  # 6 bars held per trade (entry bar to the exit signal)
    }
    assert metrics.max_drawdown > 0 and metrics.sharpe_ratio is not None


def test_under_ninety_days_cagr_and_sharpe_are_null_and_without_a_loss_profit_factor_is_null():
    times = np.datetime64("2025-01-02T14:30:00", "s") + np.arange(60) * np.timedelta64(86400, "s")
    metrics = metrics_compute(
        starting_cash=CASH,
        realized=Decimal(10),
        unrealized=Decimal(0),
        fills=2,
        closing=[(Decimal(11), Decimal(1000))],
        curve_times=times,
        curve_values=np.linspace(10000, 10010, 60),
        as_of=dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
    )
    assert metrics.cagr is None and metrics.sharpe_ratio is None and metrics.profit_factor is None
    assert metrics.win_rate == 100.0 and metrics.max_drawdown == 0.0


def test_no_nan_or_infinity_from_a_flat_or_zero_curve():
    times = np.datetime64("2025-01-02T14:30:00", "s") + np.arange(200) * np.timedelta64(86400, "s")
    metrics = metrics_compute(
        starting_cash=CASH,
        realized=Decimal(0),
        unrealized=Decimal(0),
        fills=0,
        closing=[],
        curve_times=times,
        curve_values=np.zeros(200),
        as_of=dt.datetime(2025, 9, 1, tzinfo=dt.UTC),
    )
    values = [v for v in metrics.as_json().values() if isinstance(v, float)]
    assert all(math.isfinite(v) for v in values)
    assert metrics.sharpe_ratio is None and metrics.win_rate is None and metrics.expectancy is None
