"""Replay parity: 5 trading days of synthetic 5-minute samples for 4 symbols fed through the live path
(samples stored -> bars -> bar_closed -> engine -> order_place -> paper broker, PostgreSQL, the clock at each
sample, one sma_crossover strategy per symbol) give the same fills as the backtest of the same data: time,
side, quantity, price (to 1e-4: both are quantized to 4 places), commission."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
import time_machine

from market.models import PriceSample
from market.services import SampleIn, sample_upsert_many
from market.synthetic import synthetic_bars, synthetic_samples
from trading.backtest.simulate import simulate
from trading.broker import Costs
from trading.engine.services import strategy_create
from trading.models import Fill, Order

SYMBOLS = ["TSLA", "QQQ", "SPY", "NVDA"]
START, END = dt.date(2026, 3, 2), dt.date(2026, 3, 6)  # Monday to Friday, no holiday
PARAMS = {"fast": 5, "slow": 15}
pytestmark = pytest.mark.slow
COSTS = Costs(Decimal("2"), Decimal("0.005"), Decimal("1.00"))


@pytest.fixture
def live(settings, require_postgres):
    settings.STRATEGY_ENGINE_INLINE = True
    settings.PAPER_SLIPPAGE_BPS = COSTS.slippage_bps
    settings.PAPER_COMMISSION_PER_SHARE = COSTS.commission_per_share
    settings.PAPER_COMMISSION_MIN = COSTS.commission_min


def test_live_path_and_backtest_give_the_same_fills(live, symbols, account, django_capture_on_commit_callbacks):
    samples = synthetic_samples(symbols=SYMBOLS, start=START, end=END, seed=21)
    for ticker in SYMBOLS:
        fields = {"params": PARAMS, "enabled": True, "sizing_value": "10"}
        strategy_create(strategy_id=f"STRATEGY-{ticker}", ticker=ticker, fields=fields, by="test")

    stamps = samples["TSLA"].timestamps
    assert all(np.array_equal(samples[t].timestamps, stamps) for t in SYMBOLS)
    for i, at64 in enumerate(stamps.tolist()):
        at = at64.replace(tzinfo=dt.UTC)
        batch = [
            SampleIn(symbols[t].pk, at, Decimal(f"{samples[t].price[i]:.4f}"), int(samples[t].volume[i]))
            for t in SYMBOLS
        ]
        with (
            time_machine.travel(at, tick=False),  # the clock at the sample: a fill's time is its price's
            django_capture_on_commit_callbacks(execute=True),
        ):
            sample_upsert_many(samples=batch, source=PriceSample.Source.MANUAL, live=True)

    fills = Fill.objects.filter(order__source=Order.Source.STRATEGY).select_related("order__symbol")
    live_fills = sorted(
        (f.executed_at.replace(tzinfo=None), f.order.symbol.ticker, f.side, f.qty, f.price, f.commission) for f in fills
    )
    result = simulate(
        bars={t: synthetic_bars(samples[t]) for t in SYMBOLS},
        kind="sma_crossover",
        params=PARAMS,
        costs=COSTS,
        qty=Decimal(10),
        starting_cash=account.starting_cash,
        timeframe="5Min",
    )
    backtest_fills = sorted(
        (f.at.astype(dt.datetime), f.symbol, f.side, f.qty, f.price, f.commission) for f in result.fills
    )
    assert len(backtest_fills) > 20
    differences = [pair for pair in zip(live_fills, backtest_fills, strict=False) if pair[0] != pair[1]]
    assert (len(live_fills), differences) == (len(backtest_fills), [])
