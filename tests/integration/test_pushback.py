"""Push-back against the development feed's receiver: a real HTTP server on loopback."""

import datetime as dt
import time

import pytest
import time_machine

from integration.client import WordPressClient
from integration.pushback import PUSHBACK_LOCK, outbox_deliver
from trading.models import Fill, OutboxMessage
from trading.outbox import outbox_retry, trade_id_of
from trading.performance import performance_push_enqueue
from tradingrobot.locks import CacheLock, cache_lock

from ..conftest import MARKET_OPEN_AT


@pytest.fixture
def receiver(devfeed, settings):
    settings.WP_TIMEZONE = "America/New_York"
    settings.WP_APP_USER, settings.WP_APP_PASSWORD = "robot", "abcd efgh ijkl mnop"
    settings.PUSHBACK_BACKOFF_SECONDS = 10
    settings.PUSHBACK_BACKOFF_MAX_SECONDS = 60
    devfeed.server.feed.receiver.user = "robot"
    devfeed.server.feed.receiver.password = "abcd efgh ijkl mnop"
    return devfeed.server.feed.receiver


def statuses() -> list[str]:
    return list(OutboxMessage.objects.order_by("id").values_list("status", flat=True))


def test_fills_reach_wordpress_once_with_site_local_times(priced, place, receiver):
    place(qty="10")
    place(side="sell", qty="4")
    report = outbox_deliver()
    assert (report.delivered, report.failed, report.deferred) == (2, 0, 0)
    fills = list(Fill.objects.order_by("id"))
    assert list(receiver.trades) == [trade_id_of(f) for f in fills]
    first = receiver.trades[trade_id_of(fills[0])]
    assert {k: first[k] for k in ("symbol", "side", "quantity", "price", "pnl", "execution_time")} == {
        "symbol": "TSLA",
        "side": "BUY",
        "quantity": "10.0000",
        "price": "250.0000",
        "pnl": "0.0000",
        "execution_time": "2025-12-16 10:30:00",  # 15:30 UTC in New York
    }
    assert statuses() == ["delivered", "delivered"]
    assert outbox_deliver().delivered == 0
    assert receiver.posts == 2


def test_site_down_records_wait_in_order_and_go_out_when_it_returns(priced, place, receiver, devfeed, time_machine):
    place(qty="1")
    place(qty="2")
    devfeed.fault("http500")
    report = outbox_deliver()
    assert (report.delivered, report.deferred) == (0, 1)  # stopped at the first: the second keeps its turn
    first, second = OutboxMessage.objects.order_by("id")
    assert first.attempts == 1 and first.last_error.startswith("critical_error")
    assert second.attempts == 0 and second.claimed_until is None
    assert first.next_attempt_at > MARKET_OPEN_AT + dt.timedelta(seconds=9)

    devfeed.fault("ok")
    assert outbox_deliver().delivered == 0  # first waits for its backoff; second must not overtake it
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(minutes=5), tick=False)
    assert outbox_deliver().delivered == 2
    assert [row["quantity"] for row in receiver.trades.values()] == ["1.0000", "2.0000"]


def test_wrong_password_waits_instead_of_losing_the_record(priced, place, receiver, settings, time_machine):
    settings.WP_APP_PASSWORD = "wrong"
    place(qty="1")
    report = outbox_deliver()
    assert report.deferred == 1 and "rest_forbidden" in report.errors[0]
    assert statuses() == ["pending"]
    settings.WP_APP_PASSWORD = "abcd efgh ijkl mnop"
    time_machine.move_to(MARKET_OPEN_AT + dt.timedelta(hours=1), tick=False)
    assert outbox_deliver().delivered == 1


def test_a_refused_record_fails_visibly_and_can_be_retried(priced, place, receiver):
    place(qty="1")
    message = OutboxMessage.objects.get()
    good = dict(message.payload)
    message.payload = {**good, "symbol": ""}
    message.save()
    report = outbox_deliver()
    assert report.failed == 1
    message.refresh_from_db()
    assert message.status == "failed" and "rest_missing_callback_param" in message.last_error
    message.payload = good
    message.save()
    assert outbox_retry(ids=[message.pk]) == 1
    assert outbox_deliver().delivered == 1


def test_a_repeated_send_is_harmless(priced, place, receiver):
    place(qty="1")
    outbox_deliver()
    OutboxMessage.objects.update(status="pending", claimed_until=None)  # as if a worker died before settling
    assert outbox_deliver().delivered == 1
    assert len(receiver.trades) == 1 and receiver.posts == 2


def test_one_deliverer_at_a_time(priced, place, receiver):
    place(qty="1")
    with cache_lock(PUSHBACK_LOCK, ttl=60, owner="another deliverer") as held:
        assert outbox_deliver().skipped == "another delivery is running"
        assert held.owned()
    assert outbox_deliver().delivered == 1


class SlowClient(WordPressClient):
    """The real client, each POST taking `seconds` longer: a site that answers slowly."""

    def __init__(self, seconds: float, during=None):
        super().__init__()
        self.seconds, self.during, self.posts = seconds, during, 0

    def post(self, route, document):
        self.posts += 1
        time.sleep(self.seconds)
        if self.during:
            self.during(self.posts)
        return super().post(route, document)


def test_a_batch_slower_than_the_lease_is_never_delivered_twice(priced, place, receiver, settings):
    """Issue 13 item 22: the lock is renewed per record, so while the first deliverer lives a second one, started
    after the first lease ran out, neither takes the lock nor claims the records again."""
    for qty in ("1", "2", "3"):
        place(qty=qty)
    settings.PUSHBACK_LEASE_SECONDS = 1.0
    second = []

    def second_deliverer(post: int) -> None:
        if post == 3:  # 1.8 s into the batch: well past the first lease
            second.append(outbox_deliver(client=WordPressClient()))

    with time_machine.travel(MARKET_OPEN_AT, tick=True):  # leases end on a running clock
        first = outbox_deliver(client=SlowClient(0.6, during=second_deliverer))
    assert second[0].skipped == "another delivery is running" and second[0].delivered == 0
    assert (first.delivered, first.failed, first.deferred, first.skipped) == (3, 0, 0, "")
    assert receiver.posts == 3 and statuses() == ["delivered"] * 3


def test_the_lock_of_a_deliverer_that_died_is_taken_over_after_its_lease(priced, place, receiver, settings):
    place(qty="1")
    settings.PUSHBACK_LEASE_SECONDS = 0.5
    with time_machine.travel(MARKET_OPEN_AT, tick=True):
        dead = CacheLock(PUSHBACK_LOCK, ttl=settings.PUSHBACK_LEASE_SECONDS, owner="a worker killed mid-batch")
        assert dead.acquire()  # and never renewed nor released
        assert outbox_deliver().skipped == "another delivery is running"
        time.sleep(0.7)
        assert outbox_deliver().delivered == 1
    assert not dead.owned() and receiver.posts == 1


def test_a_deliverer_whose_lock_was_taken_over_stops_before_the_next_record(priced, place, receiver):
    for qty in ("1", "2", "3"):
        place(qty=qty)
    rival = CacheLock(PUSHBACK_LOCK, ttl=60, owner="rival")

    def take_over(post: int) -> None:
        if post == 1:  # as if the first lease had run out during this post and another deliverer took the lock
            assert rival.acquire(stale=lambda owner: True)

    report = outbox_deliver(client=SlowClient(0, during=take_over))
    assert report.delivered == 1 and report.skipped.startswith("the delivery lock was lost")
    assert receiver.posts == 1 and statuses() == ["delivered", "pending", "pending"]
    assert rival.owned()
    rival.release()


def test_performance_reaches_wordpress_with_site_local_period(priced, place, receiver):
    place(qty="1")
    performance_push_enqueue()
    assert outbox_deliver().delivered == 3  # the trade, then the account's and the strategy's metrics
    overall = receiver.performance[0]
    assert overall["strategy_id"] == "ALL"
    assert overall["period"]["end_date"] == "2025-12-16 10:30:00"
    assert overall["metrics"]["total_trades"] == 1
