from trading.order_request import order_request_parse
from trading.services import order_place


def test_market_order_placement_query_count(priced, place, django_assert_num_queries):
    place(qty="1")  # the position row exists from now on
    request = order_request_parse(ticker="TSLA", side="buy", qty="1")
    # symbol, trading state (shared lock), account lock, position lock, latest price, cash held by open buys,
    # update account, update position, insert order (already filled), insert fill, insert outbox record,
    # lock the symbol's book positions and update the order's book (portfolio/books.py),
    # plus the SAVEPOINT/RELEASE of the atomic block nested in the test's transaction.
    with django_assert_num_queries(15):
        order_place(request=request, placed_by="test")
