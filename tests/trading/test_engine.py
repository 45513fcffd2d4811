"""The strategy engine on closed bars: guards, exactly-once orders, per-strategy books."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from market.models import PriceSample
from market.services import SampleIn, sample_upsert_many
from trading.engine.execution import bar_evaluate, client_order_id_for
from trading.engine.services import strategy_create, strategy_update
from trading.engine.validation import StrategyInvalid
from trading.models import Order, Strategy, StrategyDecision
from trading.services import trading_halt

pytestmark = pytest.mark.django_db
OPEN = dt.datetime(2025, 12, 16, 14, 30, tzinfo=dt.UTC)  # 09:30 New York, a Tuesday
BAR = dt.timedelta(minutes=5)


@pytest.fixture(autouse=True)
def inline(settings):
    settings.STRATEGY_ENGINE_INLINE = True
    settings.STRATEGY_KINDS = ["tests.strategy_plugins.raising.Explodes"]


@pytest.fixture
def feed(symbols, django_capture_on_commit_callbacks):
    """Store one live sample per 5-minute step (each closes the previous bar), the clock at the sample."""

    def feed(prices, *, ticker="TSLA", start=OPEN, step=BAR):
        for i, price in enumerate(prices):
            at = start + i * step
            with (
                time_machine.travel(at + dt.timedelta(seconds=1), tick=False),
                django_capture_on_commit_callbacks(execute=True),
            ):
                sample_upsert_many(
                    samples=[SampleIn(symbols[ticker].pk, at, Decimal(str(price)), 1000 + i)],
                    source=PriceSample.Source.MANUAL,
                    live=True,
                )
        return start + (len(prices) - 1) * step

    return feed


def sma(strategy_id="S-TSLA", ticker="TSLA", **fields):
    fields = {"params": {"fast": 2, "slow": 3}, "enabled": True, "sizing_value": "10", **fields}
    return strategy_create(strategy_id=strategy_id, ticker=ticker, fields=fields, by="test")


def decisions(strategy_id="S-TSLA"):
    rows = StrategyDecision.objects.filter(strategy__strategy_id=strategy_id).order_by("bar_end")
    return [(row.outcome, row.reason) for row in rows]


def engine_orders():
    return list(Order.objects.filter(source=Order.Source.STRATEGY).order_by("id"))


def test_warm_up_places_nothing_then_the_crossover_buys_once_and_holds(feed, account):
    sma()
    feed([100, 101, 102, 103, 104, 105])  # five closed bars (the sixth sample closes the fifth)
    assert decisions() == [
        ("skip", "warming_up"),
        ("skip", "warming_up"),
        ("buy", "entry"),
        ("hold", "no_change"),
        ("hold", "no_change"),
    ]
    [order] = engine_orders()
    assert order.status == Order.Status.FILLED and order.qty == 10 and order.strategy_id == "S-TSLA"
    third_bar_end = OPEN + 3 * BAR
    assert order.client_order_id == client_order_id_for(
        strategy_id="S-TSLA", ticker="TSLA", timeframe="5Min", bar_end=third_bar_end
    )
    assert StrategyDecision.objects.get(outcome="buy").order == order


def store_backfill(symbols, at, price, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sample_upsert_many(
            samples=[SampleIn(symbols["TSLA"].pk, at, Decimal(price), 5000)], source=PriceSample.Source.CSV, live=False
        )


def test_a_backfill_never_trades_and_a_bar_delivered_twice_orders_once(
    feed, account, symbols, django_capture_on_commit_callbacks
):
    strategy = sma()
    feed([100, 101, 102])  # two closed bars: warming up
    bar_end = OPEN + 3 * BAR
    store_backfill(symbols, bar_end, "103", django_capture_on_commit_callbacks)  # closes bar 3, not live
    assert len(decisions()) == 2 and engine_orders() == []
    with time_machine.travel(bar_end + dt.timedelta(seconds=2), tick=False):
        for _ in range(3):  # the task delivered again (Celery redelivery, the same event twice)
            bar_evaluate(ticker="TSLA", timeframe="5Min", bar_end=bar_end.isoformat(), strategy_pks=[strategy.pk])
    assert decisions()[-1] == ("buy", "entry")
    [order] = engine_orders()
    assert order.client_order_id == f"strat:S-TSLA:TSLA:5Min:{int(bar_end.timestamp())}"


def test_stale_bar_is_recorded_stale_without_an_order(feed, account):
    strategy = sma()
    last = feed([100, 101, 102])
    StrategyDecision.objects.all().delete()
    with time_machine.travel(last + 2 * BAR + dt.timedelta(minutes=5, seconds=1), tick=False):
        bar_evaluate(ticker="TSLA", timeframe="5Min", bar_end=last, strategy_pks=[strategy.pk])
    assert decisions() == [("skip", "stale")]
    assert engine_orders() == []


def test_halted_for_a_hundred_bars_places_no_engine_order(feed, account, settings):
    settings.PRICE_BAND_PERCENT = 0  # the zig-zag below jumps by up to 98%: no sample may be quarantined
    sma()
    with time_machine.travel(OPEN - BAR, tick=False):
        trading_halt(reason="test", halted_by="test")
    feed([100 + i * (1 if (i // 7) % 2 == 0 else -1) for i in range(101)])
    assert len(decisions()) == 100
    assert {reason for _, reason in decisions()} == {"halted"}
    assert engine_orders() == []


def test_a_strategy_that_raises_is_recorded_as_error_and_the_others_still_trade(feed, account):
    strategy_create(strategy_id="BOOM", ticker="TSLA", kind="explodes", fields={"enabled": True}, by="test")
    sma()
    feed([100, 101, 102, 103])
    assert set(decisions("BOOM")) == {("error", "error")}
    assert "ZeroDivisionError: boom" in StrategyDecision.objects.filter(strategy__strategy_id="BOOM").first().message
    assert decisions()[-1] == ("buy", "entry")
    assert [o.strategy_id for o in engine_orders()] == ["S-TSLA"]


def test_signal_mode_decides_without_ordering_and_disabled_strategies_are_not_run(feed, account):
    sma(mode="signal")
    sma(strategy_id="OFF", enabled=False)
    feed([100, 101, 102, 103])
    assert decisions() == [("skip", "warming_up"), ("skip", "warming_up"), ("buy", "entry")]
    assert decisions("OFF") == []
    assert engine_orders() == []


def test_sizing_that_cannot_be_met_is_skipped_as_risk_limit(feed, account):
    sma(sizing="fixed_notional", sizing_value="50")  # 50 USD buys no share at 102
    sma(strategy_id="BIG", sizing_value="5000")  # 5000 x 102 > 100000 cash
    feed([100, 101, 102, 103])
    assert decisions()[2] == ("skip", "risk_limit")
    assert decisions("BIG")[2] == ("skip", "risk_limit")
    assert engine_orders() == []


def test_bad_fields_name_what_to_fix_and_store_nothing(symbols):
    with pytest.raises(StrategyInvalid) as refused:
        strategy_create(strategy_id="X", ticker="TSLA", fields={"params": {"fast": 1, "slow": 3}}, by="t")
    assert "params.fast" in refused.value.errors
    with pytest.raises(StrategyInvalid) as refused:
        strategy_create(strategy_id="bad id!", ticker="TSLA", by="t")
    assert "strategy_id" in refused.value.errors
    sma(enabled=False)
    with pytest.raises(StrategyInvalid) as refused:
        strategy_update(
            strategy_id="S-TSLA", changes={"timeframe": "1Min", "sizing_value": "-1", "enabled": True}, by="t"
        )
    assert set(refused.value.errors) == {"timeframe", "sizing_value"}
    assert Strategy.objects.get(strategy_id="S-TSLA").enabled is False


def test_two_strategies_on_one_symbol_keep_their_own_shares_and_exact_pl(feed, account, symbols, place):
    from portfolio.models import BookPosition, Position

    sma(strategy_id="A")
    strategy_create(
        strategy_id="B", ticker="TSLA", kind="buy_and_hold", fields={"enabled": True, "sizing_value": "4"}, by="t"
    )
    # Orders fill at the latest price: the sample that closed the bar. B buys when bar 1 closes (at 101), A when
    # bar 3 closes (at 103); bar 5 closes at 99, the fast SMA falls below the slow one, and A sells at 98.
    feed([100, 101, 102, 103, 99, 98, 97])
    books = {row.book: row for row in BookPosition.objects.filter(symbol=symbols["TSLA"])}
    assert (books["A"].qty, books["A"].cost_basis) == (0, 0)
    assert books["A"].realized_pl == 10 * (Decimal("98") - Decimal("103"))
    assert (books["B"].qty, books["B"].cost_basis, books["B"].realized_pl) == (4, 404, 0)
    position = Position.objects.get(symbol=symbols["TSLA"])
    assert position.qty == sum(b.qty for b in books.values()) == 4
    assert position.realized_pl == sum(b.realized_pl for b in books.values())
    sells = [o for o in engine_orders() if o.side == "sell"]
    assert [(o.strategy_id, o.qty) for o in sells] == [("A", 10)]  # B's shares were never touched

    from trading.performance import performance_compute

    with time_machine.travel(OPEN + 7 * BAR, tick=False):
        a, b = performance_compute(strategy_id="A"), performance_compute(strategy_id="B")
    assert (a.realized_pnl, a.unrealized_pnl) == (Decimal("-50"), 0)
    assert (b.realized_pnl, b.unrealized_pnl, b.total_pnl) == (0, 4 * (Decimal("97") - Decimal("101")), Decimal("-16"))


def test_a_strategy_cannot_sell_shares_it_does_not_hold(feed, account, symbols, place):
    from trading.order_request import order_request_parse
    from trading.services import order_place

    strategy_create(
        strategy_id="B", ticker="TSLA", kind="buy_and_hold", fields={"enabled": True, "sizing_value": "4"}, by="t"
    )
    feed([100, 101])
    with time_machine.travel(OPEN + BAR + dt.timedelta(seconds=2), tick=False):
        place(qty="6")  # manual shares: 6 in the manual book, 4 in B's
        request = order_request_parse(ticker="TSLA", side="sell", qty="5", strategy_id="B")
        order, _ = order_place(request=request, placed_by="t", source=Order.Source.STRATEGY)
    assert order.status == Order.Status.REJECTED and order.reject_code == "insufficient_position"
    assert "its own position is 4" in order.reject_reason


def test_disabling_cancels_the_strategy_open_orders(feed, account, symbols):
    from trading.order_request import order_request_parse
    from trading.services import order_place

    sma()
    with time_machine.travel(OPEN + dt.timedelta(seconds=2), tick=False):
        request = order_request_parse(
            ticker="TSLA", side="buy", qty="1", type="limit", limit_price="1", strategy_id="S-TSLA"
        )
        resting, _ = order_place(request=request, placed_by="t", source=Order.Source.STRATEGY)
        manual, _ = order_place(
            request=order_request_parse(ticker="TSLA", side="buy", qty="1", type="limit", limit_price="1"),
            placed_by="t",
        )
        strategy_update(strategy_id="S-TSLA", changes={"enabled": False}, by="t")
    resting.refresh_from_db(), manual.refresh_from_db()
    assert (resting.status, manual.status) == (Order.Status.CANCELED, Order.Status.ACCEPTED)


def test_after_a_losing_exit_the_strategy_sits_out_its_cooldown_bars(feed, account):
    sma(cooldown_bars=3)
    feed([100, 101, 102, 103, 99, 98, 105, 110, 115, 120, 125, 130, 135])
    reasons = [reason for _, reason in decisions()]
    exit_at = reasons.index("exit")
    after = reasons[exit_at + 1 :]
    first_entry = after.index("entry")
    # flat (no_change) while the fast SMA is below; then entries the cooldown refuses, until 3 bars have passed
    assert "cooldown" in after[:first_entry]
    assert first_entry >= 3
    assert [o.side for o in engine_orders()] == ["buy", "sell", "buy"]


def test_a_closed_market_skips_live_entries(feed, account):
    sma()
    saturday = dt.datetime(2025, 12, 20, 15, 0, tzinfo=dt.UTC)
    feed([100, 101, 102, 103], start=saturday)
    assert decisions()[-1] == ("skip", "market_closed")
    assert engine_orders() == []


def test_a_resting_sell_that_fills_later_at_a_loss_starts_the_cooldown(feed, account):
    from trading.order_request import order_request_parse
    from trading.services import order_place, orders_execute_resting

    strategy_create(
        strategy_id="S-TSLA",
        ticker="TSLA",
        kind="buy_and_hold",
        fields={"enabled": True, "sizing_value": "10", "cooldown_bars": 3},
        by="t",
    )
    last = feed([100, 101, 95])  # buys 10 when bar 0 closes (at 101), holds through the drop
    assert [o.side for o in engine_orders()] == ["buy"]
    with time_machine.travel(last + dt.timedelta(seconds=2), tick=False):
        request = order_request_parse(
            ticker="TSLA", side="sell", qty="10", type="limit", limit_price="98", strategy_id="S-TSLA"
        )
        exit_order, _ = order_place(request=request, placed_by="t", source=Order.Source.STRATEGY)
    assert exit_order.status == Order.Status.ACCEPTED  # 95 is below the limit: it rests
    fill_at = feed([99], start=last + BAR)  # closes bar 2 (still held: hold), then the resting sell fills
    with time_machine.travel(fill_at + dt.timedelta(seconds=3), tick=False):
        assert orders_execute_resting(symbol_ids=[exit_order.symbol_id]) == 1
    exit_order.refresh_from_db()
    assert exit_order.status == Order.Status.FILLED and exit_order.fills.get().realized_pl < 0
    feed([100, 101, 102, 103, 104], start=fill_at + BAR)
    after = decisions()[3:]  # the bars that closed after the losing exit
    assert after == [("skip", "cooldown")] * 3 + [("buy", "entry"), ("hold", "no_change")]
    assert Strategy.objects.get(strategy_id="S-TSLA").loss_exit_at == exit_order.fills.get().executed_at


def test_sizing_beyond_the_equity_is_refused_by_the_service_for_every_caller(feed, account):
    feed([250])
    sma(enabled=False)
    with pytest.raises(StrategyInvalid) as refused:
        strategy_update(strategy_id="S-TSLA", changes={"sizing_value": "100000", "enabled": True}, by="command")
    assert "100000 shares x 250" in refused.value.errors["sizing_value"]
    stored = Strategy.objects.get(strategy_id="S-TSLA")
    assert (stored.sizing_value, stored.enabled) == (Decimal("10"), False)
    with pytest.raises(StrategyInvalid, match="equity"):
        strategy_create(
            strategy_id="BIG", ticker="TSLA", fields={"sizing": "fixed_notional", "sizing_value": "1e8"}, by="t"
        )
    assert not Strategy.objects.filter(strategy_id="BIG").exists()


def test_every_strategy_change_is_audited_with_who_and_before_after(feed, account):
    from tradingrobot.security.models import AuditEvent

    sma(enabled=False)
    strategy_update(strategy_id="S-TSLA", changes={"enabled": True, "cooldown_bars": 2}, by="user:ops", ip="10.0.0.9")
    strategy_update(strategy_id="S-TSLA", changes={"enabled": True}, by="user:ops")  # no change: nothing to audit
    created, changed = AuditEvent.objects.filter(target="strategy:S-TSLA").order_by("at", "id")
    assert (created.action, created.actor, created.detail["fields"]["enabled"]) == ("strategy_create", "test", False)
    assert (changed.action, changed.actor, changed.ip) == ("strategy_update", "user:ops", "10.0.0.9")
    assert changed.detail == {
        "changes": {"enabled": {"before": False, "after": True}, "cooldown_bars": {"before": 0, "after": 2}}
    }
