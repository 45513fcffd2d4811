"""The ledger's booking arithmetic, called directly (trading's tests cover it through order placement)."""

from decimal import Decimal

import pytest

from portfolio.ledger import Booking, LedgerRefusal, account_get_or_create, trade_book
from portfolio.lock_objects import account_lock, position_lock
from portfolio.models import Account, Position


@pytest.fixture
def book(symbols):
    def book(side: str, qty: str, price: str, commission: str = "0") -> Decimal:
        account = account_lock()
        position = position_lock(account=account, symbol_id=symbols["TSLA"].pk)
        booking = Booking(side, "TSLA", Decimal(qty), Decimal(price), Decimal(commission))
        return trade_book(account=account, position=position, booking=booking)

    return book


def _state() -> tuple[Decimal, Decimal, Decimal, Decimal]:
    account = Account.objects.get()
    position = Position.objects.get()
    return account.cash, position.qty, position.cost_basis, position.realized_pl


def test_buy_then_sell_moves_cash_and_average_cost(book, settings):
    start = account_get_or_create().cash
    assert book("buy", "10", "250", commission="1") == Decimal("-1")
    assert _state() == (start - Decimal("2501"), Decimal("10"), Decimal("2500"), Decimal("-1"))
    # 3 of 10 shares leave with 3/10 of the cost: 750; sold for 780 less 1 commission.
    assert book("sell", "3", "260", commission="1") == Decimal("29")
    assert _state() == (start - Decimal("2501") + Decimal("779"), Decimal("7"), Decimal("1750"), Decimal("28"))


def test_selling_everything_removes_the_whole_cost(book):
    start = account_get_or_create().cash
    book("buy", "3", "100")
    book("buy", "3", "101")
    assert book("sell", "6", "102") == Decimal("9")
    assert _state() == (start + Decimal("9"), Decimal("0"), Decimal("0"), Decimal("9"))


def test_a_buy_beyond_the_cash_is_refused_and_saves_nothing(book):
    start = account_get_or_create().cash
    with pytest.raises(LedgerRefusal) as refused:
        book("buy", "1000", "250")
    assert refused.value.code == "insufficient_cash"
    assert _state() == (start, Decimal("0"), Decimal("0"), Decimal("0"))


def test_selling_shares_not_held_is_refused_and_saves_nothing(book):
    book("buy", "2", "100")
    before = _state()
    with pytest.raises(LedgerRefusal) as refused:
        book("sell", "3", "100")
    assert refused.value.code == "insufficient_position"
    assert _state() == before
