from django.db import connection

from trading.order_request import order_request_parse
from trading.services import order_place


def test_market_order_placement_query_count(priced, place, django_assert_num_queries):
    place(qty="1")  # the position row exists from now on
    request = order_request_parse(ticker="TSLA", side="buy", qty="1")
    # symbol + trading state (shared lock) + latest price in one; then in one round trip the account lock, the
    # position lock + cash held by open buys + the order and fill ids, and the lock of the symbol's book positions
    # (portfolio/books.py), in that order; then one round trip of writes (the book, account and position updates,
    # the order, fill and outbox inserts: tradingrobot/write_batch.py), plus the SAVEPOINT/RELEASE of the atomic
    # block nested in the test's transaction. (15 before issue 18; 7 before the account, position and book rows
    # took one round trip.) The one-query locks and the write batch are PostgreSQL's; SQLite (the local fallback)
    # takes the ORM's statements one by one.
    with django_assert_num_queries(5 if connection.vendor == "postgresql" else 15):
        order_place(request=request, placed_by="test")
