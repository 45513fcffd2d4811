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


def _rendered(document: dict) -> bytes:
    from rest_framework.renderers import JSONRenderer

    return JSONRenderer().render(document)


def test_prepared_bytes_are_the_rendered_document_at_every_instant(
    priced, place, settings, django_capture_on_commit_callbacks, django_assert_num_queries, time_machine
):
    """The lean status answer is the document's own rendering, clock fields included, before and after a trade
    and with the market closed; built from the memo it costs no query."""
    from trading.documents import status_document_bytes

    settings.STATUS_CACHE_SECONDS = 60
    memo_clear()
    assert status_document_bytes() == _rendered(status_document())
    with django_assert_num_queries(0):
        status_document_bytes()
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(seconds=30, microseconds=123456), tick=False)
    prepared = status_document_bytes()
    assert prepared == _rendered(status_document())
    assert b'"age_seconds":90.123' in prepared
    with django_capture_on_commit_callbacks(execute=True):
        place(qty="10")
    prepared = status_document_bytes()
    assert prepared == _rendered(status_document())
    assert b'"total_positions":1' in prepared
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(days=4), tick=False)  # Saturday: closed, prices stale
    prepared = status_document_bytes()
    assert prepared == _rendered(status_document())
    assert b'"market_open":false' in prepared and b'"stale":true' in prepared
    memo_clear()


def test_prepared_bytes_without_the_memo(priced, settings):
    from trading.documents import status_document_bytes

    settings.STATUS_CACHE_SECONDS = 0
    assert status_document_bytes() == _rendered(status_document())
