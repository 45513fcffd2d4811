"""portfolio.selectors.valuation_get: the account's and its books' open positions valued in one query, as the
portfolio view and the books value them."""

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from market.models import Symbol
from portfolio.books import books_unrealized_pl
from portfolio.models import Position
from portfolio.selectors import portfolio_get, valuation_get
from trading.models import Order
from trading.order_request import order_request_parse
from trading.services import order_place

from ..conftest import MARKET_OPEN_AT


def _strategy_buy(ticker: str, qty: str, strategy_id: str) -> None:
    request = order_request_parse(ticker=ticker, side="buy", qty=qty, strategy_id=strategy_id)
    order_place(request=request, placed_by="tests", source=Order.Source.STRATEGY)


def test_the_valuation_is_the_portfolio_views_and_the_books(priced, place, add_price, account):
    place(qty="10")  # manual
    _strategy_buy("TSLA", "3", "S-A")
    _strategy_buy("NVDA", "5", "S-B")
    add_price("TSLA", "261.37", MARKET_OPEN_AT - dt.timedelta(seconds=5))
    unpriced = Symbol.objects.exclude(ticker__in=["TSLA", "NVDA"]).first()
    assert unpriced is not None
    Position.objects.create(account=account, symbol=unpriced, qty=Decimal("3"), cost_basis=Decimal("100.00"))
    books = ["S-A", "S-B", "S-NONE"]
    account.refresh_from_db()
    with CaptureQueriesContext(connection) as captured:
        valued = valuation_get(account=account, books=books)
    assert len(captured.captured_queries) == 1
    view = portfolio_get(account=account)
    assert (valued.market_value, valued.unrealized_pl) == (view.long_market_value, view.unrealized_pl)
    assert valued.unrealized_pl != 0 and valued.market_value > 0
    assert valued.books_unrealized_pl == books_unrealized_pl(account_id=account.pk, books=books)
    assert valued.books_unrealized_pl["S-A"] == Decimal(3) * (Decimal("261.37") - Decimal("250"))
    assert valued.books_unrealized_pl["S-NONE"] == 0
