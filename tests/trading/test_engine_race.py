"""Two workers on the same closed bar, on PostgreSQL with real transactions: exactly one order."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from market.models import PriceSample, Symbol
from market.services import SampleIn, sample_upsert_many
from portfolio.ledger import account_get_or_create
from trading.engine.execution import bar_evaluate
from trading.engine.services import strategy_create
from trading.models import Order, StrategyDecision

from .test_race import postgres_only, run_threads  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
OPEN = dt.datetime(2025, 12, 16, 14, 30, tzinfo=dt.UTC)
BAR = dt.timedelta(minutes=5)


def test_four_workers_on_one_bar_place_one_order_per_strategy(postgres_only):  # noqa: F811
    tsla = Symbol.objects.get(ticker="TSLA")
    account_get_or_create()
    samples = [SampleIn(tsla.pk, OPEN + i * BAR, Decimal(100 + i), 1000 + i) for i in range(4)]
    sample_upsert_many(samples=samples, source=PriceSample.Source.CSV, live=False)  # bars 1-3 closed, no trading
    pks = [
        strategy_create(
            strategy_id=f"R{i}",
            ticker="TSLA",
            fields={"params": {"fast": 2, "slow": 3}, "enabled": True, "sizing_value": "1"},
            by="t",
        ).pk
        for i in range(3)
    ]
    bar_end = OPEN + 3 * BAR
    with time_machine.travel(bar_end + dt.timedelta(seconds=5), tick=False):
        results = run_threads(
            4, lambda i: bar_evaluate(ticker="TSLA", timeframe="5Min", bar_end=bar_end.isoformat(), strategy_pks=pks)
        )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 3  # each strategy decided once, by whichever worker got there first
    orders = Order.objects.filter(source=Order.Source.STRATEGY)
    stamp = int(bar_end.timestamp())
    assert sorted(orders.values_list("client_order_id", flat=True)) == [
        f"strat:R{i}:TSLA:5Min:{stamp}" for i in range(3)
    ]
    assert set(orders.values_list("status", flat=True)) == {"filled"}
    assert StrategyDecision.objects.filter(bar_end=bar_end, outcome="buy").count() == 3
