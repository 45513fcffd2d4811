"""The SMA-crossover fills against two independent computations of the same rule on the same data: a pandas
vectorized one and backtrader (bench/test-only dependencies); and costs: 0 → 5 bps strictly lowers P&L."""

import datetime as dt
from decimal import Decimal

import backtrader as bt
import pandas as pd
import pytest

from market.synthetic import synthetic_bars, synthetic_samples
from trading.backtest.simulate import simulate
from trading.broker import Costs

NO_COSTS = Costs(Decimal(0), Decimal(0), Decimal(0))
FAST, SLOW = 10, 30


@pytest.fixture(scope="module")
def bars():
    samples = synthetic_samples(symbols=["TSLA"], start=dt.date(2026, 3, 2), end=dt.date(2026, 4, 30), seed=11)
    return synthetic_bars(samples["TSLA"])


def _ours(bars, costs=NO_COSTS):
    return simulate(
        bars={"TSLA": bars},
        kind="sma_crossover",
        params={"fast": FAST, "slow": SLOW},
        costs=costs,
        qty=Decimal(10),
        starting_cash=Decimal(1_000_000),
    )


def _frame(bars) -> pd.DataFrame:
    return pd.DataFrame(
        {"open": bars.open, "high": bars.high, "low": bars.low, "close": bars.close, "volume": bars.volume},
        index=pd.DatetimeIndex(bars.timestamps),
    )


def test_fills_equal_a_pandas_vectorized_computation_of_the_rule(bars):
    frame = _frame(bars)
    long = frame["close"].rolling(FAST).mean() > frame["close"].rolling(SLOW).mean()
    change = long.astype(int).diff().fillna(long.astype(int))
    decided = change[change != 0].index
    positions = [frame.index.get_loc(at) for at in decided if frame.index.get_loc(at) + 1 < len(frame)]
    expected = [
        (str(frame.index[p + 1]), "buy" if change.iloc[p] > 0 else "sell", round(frame["open"].iloc[p + 1], 4))
        for p in positions
    ]
    fills = [(str(pd.Timestamp(f.at)), f.side, float(f.price)) for f in _ours(bars).fills]
    assert len(fills) > 20
    assert fills == expected


class _SmaCross(bt.Strategy):
    def __init__(self):
        self.fast = bt.indicators.SMA(self.data.close, period=FAST)
        self.slow = bt.indicators.SMA(self.data.close, period=SLOW)

    def next(self):
        if self.fast[0] > self.slow[0] and not self.position:
            self.buy(size=10)
        elif self.fast[0] <= self.slow[0] and self.position:
            self.sell(size=10)


class _Fills(bt.Analyzer):
    def start(self):
        self.fills = []

    def notify_order(self, order):
        if order.status == order.Completed:
            at = bt.num2date(order.executed.dt)
            self.fills.append((at, "buy" if order.isbuy() else "sell", round(order.executed.price, 4)))


def backtrader_fills(bars) -> list:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=_frame(bars), timeframe=bt.TimeFrame.Minutes, compression=5))
    cerebro.addstrategy(_SmaCross)
    cerebro.addanalyzer(_Fills, _name="fills")
    cerebro.broker.setcash(1_000_000)
    (strategy,) = cerebro.run()
    return strategy.analyzers.fills.fills


def test_backtrader_on_the_same_data_and_rule_gives_the_same_trades(bars):
    theirs = [(pd.Timestamp(at), side, price) for at, side, price in backtrader_fills(bars)]
    ours = [(pd.Timestamp(f.at), f.side, float(f.price)) for f in _ours(bars).fills]
    assert len(ours) > 20
    assert ours == theirs


def test_slippage_from_0_to_5_bps_strictly_lowers_total_pnl(bars):
    def total(bps: int) -> Decimal:
        result = _ours(bars, Costs(Decimal(bps), Decimal("0.005"), Decimal(1)))
        assert result.fills
        return result.realized + result.unrealized

    pnl = [total(bps) for bps in (0, 1, 2, 5)]
    assert pnl[0] > pnl[1] > pnl[2] > pnl[3]
