import datetime as dt

from trading.documents import status_document
from tradingrobot.snapshot_cache import memo_clear

from ..conftest import MARKET_OPEN_AT


def test_status_memo_is_reused_and_invalidated_by_a_trade(
    priced, place, settings, django_capture_on_commit_callbacks, django_assert_num_queries, time_machine
):
    settings.STATUS_CACHE_SECONDS = 60
    memo_clear()
    first = status_document()
    with django_assert_num_queries(0):
        again = status_document()
    assert again["cash_balance"] == first["cash_balance"]

    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(seconds=30), tick=False)
    tsla_age = next(p for p in status_document()["prices"] if p["symbol"] == "TSLA")["age_seconds"]
    assert tsla_age == 90.0  # computed for this instant, not memoized

    with django_capture_on_commit_callbacks(execute=True):
        place(qty="10")
    after = status_document()
    assert after["total_positions"] == 1
    assert float(after["cash_balance"]) == 97500.0
    memo_clear()


def test_memo_off_builds_every_time(priced, settings, django_assert_num_queries):
    settings.STATUS_CACHE_SECONDS = 0
    status_document()
    with django_assert_num_queries(4):
        status_document()
