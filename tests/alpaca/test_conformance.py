"""Issue 16: one order script run against both brokers ends in the same ledger (market and limit, buys and sells,
a cancel, a rejection, the emergency stop with liquidation). The Alpaca run goes through alpaca-py against the fake
Alpaca and books what its trade_updates stream reports."""

import datetime as dt
from decimal import Decimal

import pytest

from portfolio.models import Account, Position
from trading.models import Fill, Order, OutboxMessage
from trading.order_request import order_request_parse
from trading.services import order_cancel, order_place, orders_execute_resting, trading_halt


class PaperDriver:
    def __init__(self, add_price, traveller, capture):
        self.add_price, self.traveller, self.capture = add_price, traveller, capture
        self.at = dt.datetime.now(dt.UTC)

    def price(self, ticker: str, price: str) -> None:
        self.at += dt.timedelta(minutes=1)
        self.traveller.move_to(self.at, tick=False)
        self.add_price(ticker, price, self.at)
        self.after_price(ticker, price)

    def after_price(self, ticker: str, price: str) -> None:
        orders_execute_resting()

    def place(self, **fields) -> Order:
        with self.capture(execute=True):
            order, _ = order_place(request=order_request_parse(**fields), placed_by="script")
        self.settle()
        order.refresh_from_db()
        return order

    def cancel(self, order: Order) -> None:
        with self.capture(execute=True):
            order_cancel(order_id=order.pk, canceled_by="script")
        self.settle()

    def halt(self) -> None:
        with self.capture(execute=True):
            trading_halt(reason="conformance", halted_by="script", liquidate=True)
        self.settle()

    def settle(self) -> None:
        pass


class AlpacaDriver(PaperDriver):
    def __init__(self, add_price, traveller, capture, fake, stream):
        super().__init__(add_price, traveller, capture)
        self.fake, self.stream = fake, stream
        fake.set_price("TSLA", "250.00")
        fake.set_price("NVDA", "100.00")

    def after_price(self, ticker: str, price: str) -> None:
        self.fake.set_price(ticker, price)
        self.settle()

    def settle(self) -> None:
        self.stream.settle()


def order_script(d: PaperDriver) -> None:
    assert d.place(ticker="TSLA", side="buy", qty="10").status == Order.Status.FILLED
    limit_buy = d.place(ticker="NVDA", side="buy", qty="5", type="limit", limit_price="95", time_in_force="gtc")
    assert limit_buy.is_open
    d.price("NVDA", "94")
    resting_sell = d.place(ticker="TSLA", side="sell", qty="4", type="limit", limit_price="300", time_in_force="gtc")
    d.cancel(resting_sell)
    d.price("TSLA", "255")
    d.place(ticker="TSLA", side="sell", qty="3")
    rejected = d.place(ticker="TSLA", side="buy", qty="1000")
    assert (rejected.status, rejected.reject_code) == (Order.Status.REJECTED, "insufficient_cash")
    d.place(ticker="NVDA", side="buy", qty="2", type="limit", limit_price="90", time_in_force="gtc")
    d.halt()


def ledger() -> dict:
    account = Account.objects.get()
    return {
        "cash": account.cash,
        "positions": sorted(
            (p.symbol.ticker, p.qty, p.cost_basis, p.realized_pl) for p in Position.objects.select_related("symbol")
        ),
        "fills": [
            (f.symbol.ticker, f.side, f.qty, f.price, f.realized_pl)
            for f in Fill.objects.select_related("symbol").order_by("id")
        ],
        "orders": [
            (
                o.symbol.ticker,
                o.side,
                o.type,
                o.source,
                o.qty,
                o.status,
                o.filled_qty,
                o.filled_avg_price,
                o.reject_code,
            )
            for o in Order.objects.select_related("symbol").order_by("id")
        ],
        "trades_for_wordpress": OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRADE).count(),
    }


EXPECTED_CASH = Decimal("100000") - 2500 - 470 + 765 + 7 * 255 + 5 * 94


@pytest.fixture
def paper_ledger(priced, add_price, market_open, django_capture_on_commit_callbacks):
    order_script(PaperDriver(add_price, market_open, django_capture_on_commit_callbacks))
    return ledger()


def test_paper_script_ledger(paper_ledger):
    assert paper_ledger["cash"] == EXPECTED_CASH
    assert [f[:4] for f in paper_ledger["fills"]] == [
        ("TSLA", "buy", 10, 250),
        ("NVDA", "buy", 5, 94),
        ("TSLA", "sell", 3, 255),
        ("NVDA", "sell", 5, 94),
        ("TSLA", "sell", 7, 255),
    ]
    statuses = [o[5] for o in paper_ledger["orders"]]
    assert statuses == ["filled", "filled", "canceled", "filled", "rejected", "canceled", "filled", "filled"]


def test_alpaca_script_ends_in_the_paper_ledger(
    priced, add_price, market_open, django_capture_on_commit_callbacks, fake, stream, alpaca
):
    order_script(AlpacaDriver(add_price, market_open, django_capture_on_commit_callbacks, fake, stream))
    alpaca_ledger = ledger()
    assert alpaca_ledger["cash"] == EXPECTED_CASH
    assert [f[:4] for f in alpaca_ledger["fills"]] == [
        ("TSLA", "buy", 10, 250),
        ("NVDA", "buy", 5, 94),
        ("TSLA", "sell", 3, 255),
        ("NVDA", "sell", 5, 94),
        ("TSLA", "sell", 7, 255),
    ]
    statuses = [o[5] for o in alpaca_ledger["orders"]]
    assert statuses == ["filled", "filled", "canceled", "filled", "rejected", "canceled", "filled", "filled"]
    # Alpaca holds exactly what the ledger holds, and got one order per order we sent it (the rejection never left).
    assert fake.cash == EXPECTED_CASH and not any(q for q, _ in fake.positions.values())
    assert len(fake.orders) == 7
    assert Order.objects.exclude(status="rejected").filter(broker_order_id="").count() == 0
