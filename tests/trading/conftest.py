import datetime as dt
from decimal import Decimal

import pytest

from portfolio.services import account_get_or_create
from trading.order_request import order_request_parse
from trading.services import order_place

from ..conftest import MARKET_OPEN_AT


@pytest.fixture
def account(db):
    return account_get_or_create()


@pytest.fixture
def priced(add_price, market_open):
    """TSLA at 250 and NVDA at 100, one minute old, with the market open."""
    add_price("TSLA", "250.00", MARKET_OPEN_AT - dt.timedelta(minutes=1), volume=1_000_000)
    add_price("NVDA", "100.00", MARKET_OPEN_AT - dt.timedelta(minutes=1), volume=2_000_000)


@pytest.fixture
def place(db):
    def place(ticker="TSLA", side="buy", qty="10", **kwargs):
        request = order_request_parse(ticker=ticker, side=side, qty=qty, **kwargs)
        order, _ = order_place(request=request, placed_by="test")
        return order

    return place


def money(value) -> Decimal:
    return Decimal(str(value))
