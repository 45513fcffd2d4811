"""Faults: nothing lost (issue 6). Real processes — daphne, a Celery worker, Celery beat on RedBeat, PostgreSQL, a
redis-server of our own, the development feed as WordPress — and one fault at a time: WordPress down, Redis
restarted, a worker killed with SIGKILL in the middle of a delivery and of a poll, the web server restarted under
load.
After each: the ledger reconciles exactly, every fill reached WordPress once by trade_id with equal content, and
readiness went 503 (no answer, for the web server) during the fault and 200 after. The table of what was
injected and checked is printed at the end of the run (tests/faults/conftest.py).
"""

import contextlib
import datetime as dt
import signal
import time
from decimal import Decimal

import pytest

from tests.ops.test_processes import wait_for

from .conftest import SUMMARY, ReadinessWatch
from .ledger import Trader, check_ledger, check_wordpress, outbox_drained

pytestmark = [pytest.mark.faults, pytest.mark.slow]


@contextlib.contextmanager
def scenario(stack, fault: str, load: str, *, down: set[int] = frozenset({503}), expect_failing: str = ""):
    """Ready before; readiness watched throughout; after: ready again, the invariants, a row in the summary."""
    stack.ensure()
    ready = wait_for(lambda: stack.ready()[0] == 200 and outbox_drained(stack, timeout=0.1), timeout=90)
    assert ready, f"not ready before the fault: {stack.ready()}\n{stack.logs()}"
    row = {"fault": fault, "load": load, "orders": "-", "fills": "-", "wordpress": "-", "readiness": "-"}
    SUMMARY.append(row)
    watch = stack.watch = ReadinessWatch(stack)
    trader = Trader(stack)
    trader.known = {key for (key,) in stack.sql("SELECT client_order_id FROM trading_order")}
    started = time.monotonic()
    try:
        yield trader
        # Recovered: ready and the outbox drained (records older than OPS_OUTBOX_MAX_AGE_SECONDS would turn
        # readiness 503 "outbox" again while the backlog is delivered).
        assert wait_for(lambda: stack.ready()[0] == 200 and outbox_drained(stack, timeout=0.1), timeout=60), (
            f"never ready again: {stack.ready()}\n{stack.logs()}"
        )
        time.sleep(0.5)  # one more readiness sample after recovery
    finally:
        watch.stop()
        stack.watch = None
    went, seen = watch.went_down_and_up(down=set(down))
    row["readiness"] = seen
    assert went, f"readiness during the fault: {seen}"
    if expect_failing:
        assert any(expect_failing in names for _, _, names in watch.seen), seen
    assert not stack.crashed(), f"robot processes exited: {stack.crashed()}\n{stack.logs()}"
    trader.acknowledged.update(
        {key: oid for oid, key in stack.sql("SELECT id, client_order_id FROM trading_order") if key in trader.known}
    )
    figures = check_ledger(stack, trader)
    repeats = check_wordpress(stack)
    row["orders"] = f"{len(trader.acknowledged) - len(trader.known)}+{trader.retries} retries"
    row["fills"] = figures["fills"]
    row["wordpress"] = f"1x +{repeats}"
    row["passed"] = True
    row["seconds"] = round(time.monotonic() - started, 1)


def latest_stored(stack, ticker: str) -> tuple[dt.datetime, Decimal]:
    return stack.sql(
        "SELECT p.timestamp, p.price FROM market_pricesample p JOIN market_symbol s ON s.id = p.symbol_id"
        " WHERE s.ticker = %s ORDER BY p.timestamp DESC LIMIT 1",
        ticker,
    )[0]


def last_good_poll(stack) -> dt.datetime | None:
    rows = stack.sql("SELECT last_success_at FROM integration_feedstatus WHERE kind = 'poll'")
    return rows[0][0] if rows else None


def test_wordpress_down_then_back(stack):
    wordpress = stack.wordpress
    with scenario(
        stack, "WordPress 500s, then stopped", "8 trades, polls, push-back", expect_failing="wordpress"
    ) as trader:
        for _ in range(2):
            trader.next_trade()
        wordpress.fault("critical")  # GET and POST answer WordPress's critical-error page (500)
        assert wait_for(lambda: "wordpress" in stack.ready()[1].get("failing", ()), timeout=30), stack.ready()
        for _ in range(3):
            trader.next_trade()  # fills on the last stored prices; the trade records wait in the outbox
        wordpress.down()  # then the site is gone altogether: connections refused
        for _ in range(3):
            trader.next_trade()
        time.sleep(2)
        (pending,) = stack.sql("SELECT COUNT(*) FROM trading_outboxmessage WHERE status = 'pending'")[0]
        assert pending >= 6, "the records made during the outage should be waiting"
        back_at = dt.datetime.now(dt.UTC)
        wordpress.fault("ok")
        wordpress.up()
        assert wait_for(lambda: (last_good_poll(stack) or back_at) > back_at, timeout=30), "no poll after the outage"
    # The price store caught up: the newest stored row of every symbol is the site's newest.
    for ticker in ("TSLA", "QQQ", "SPY", "NVDA"):
        row = wordpress.latest_row(ticker)
        _, price = latest_stored(stack, ticker)
        assert price == Decimal(str(row["price"])), (ticker, price, row)


def test_redis_restarted_while_polling_and_trading(stack):
    with scenario(
        stack, "Redis killed (SIGKILL), 5 s, restarted", "a trade every 0.2 s", expect_failing="redis"
    ) as trader:
        stream = trader.stream(period=0.2)
        time.sleep(1.5)
        stack.redis.kill()
        assert wait_for(lambda: "redis" in stack.ready()[1].get("failing", ()), timeout=15), stack.ready()
        time.sleep(4)
        back_at = dt.datetime.now(dt.UTC)
        stack.redis.start()  # empty: the broker's queue, RedBeat's schedule and lock, the cache are gone
        time.sleep(3)
        stream.stop()
        assert wait_for(lambda: (last_good_poll(stack) or back_at) > back_at, timeout=45), (
            f"polling did not resume after the Redis restart\n{stack.logs()}"
        )
        beat_again = "SELECT COUNT(*) FROM ops_heartbeat WHERE kind = 'beat' AND seen_at > %s"
        assert wait_for(lambda: stack.sql(beat_again, back_at)[0][0] == 1, timeout=45), (
            f"beat did not schedule after the Redis restart\n{stack.logs()}"
        )


def test_worker_killed_in_the_middle_of_a_delivery(stack):
    wordpress = stack.wordpress
    with scenario(
        stack,
        "worker SIGKILL, a POST /trades in flight",
        "3 trades, 1 delivery hanging",
        expect_failing="celery_worker",
    ) as trader:
        wordpress.post_release.clear()
        wordpress.post_hang.set()  # WordPress stores the trade and never answers
        trader.next_trade()
        assert wait_for(lambda: wordpress.in_flight > 0, timeout=30), f"no delivery in flight\n{stack.logs()}"
        trader.next_trade()
        trader.next_trade()
        stack.kill("worker")
        wordpress.post_hang.clear()
        wordpress.post_release.set()
        assert wait_for(lambda: "celery_worker" in stack.ready()[1].get("failing", ()), timeout=15), stack.ready()
        stack.worker()
    with wordpress.lock:
        sent = [doc["trade_id"] for doc in wordpress.posts]
    assert max(sent.count(trade_id) for trade_id in set(sent)) >= 2, "the killed delivery was not redone"


def test_worker_killed_in_the_middle_of_a_poll(stack):
    wordpress = stack.wordpress
    with scenario(
        stack, "worker SIGKILL, a GET /stock-data in flight", "polls every 2 s", expect_failing="celery_worker"
    ) as trader:
        before = len(wordpress.gets)
        wordpress.feed.state.hang_seconds = 20.0
        wordpress.fault("hang")  # the site takes 20 s to answer

        def poll_in_flight() -> bool:
            with wordpress.lock:
                return any("stock-data" in path for path in wordpress.gets[before:])

        assert wait_for(poll_in_flight, timeout=30), f"no poll in flight\n{stack.logs()}"
        time.sleep(0.5)
        stack.kill("worker")  # its poll lock stays behind in Redis
        wordpress.fault("ok")
        assert wait_for(lambda: "celery_worker" in stack.ready()[1].get("failing", ()), timeout=15), stack.ready()
        restarted_at = dt.datetime.now(dt.UTC)
        stack.worker()
        assert wait_for(lambda: (last_good_poll(stack) or restarted_at) > restarted_at, timeout=30), (
            f"polling did not resume after the killed poll\n{stack.logs()}"
        )
        trader.next_trade()
    for ticker in ("TSLA", "QQQ", "SPY", "NVDA"):
        _, price = latest_stored(stack, ticker)
        assert price == Decimal(str(wordpress.latest_row(ticker)["price"])), ticker


def test_web_server_restarted_while_trades_stream_in(stack):
    with scenario(stack, "daphne SIGKILL + restart, SIGTERM + restart", "a trade every 0.1 s", down={0}) as trader:
        stream = trader.stream(period=0.1)
        time.sleep(1.5)
        stack.kill("web")
        time.sleep(1)
        stack.web()
        assert wait_for(lambda: stack.ready()[0] == 200, timeout=30), stack.logs()
        time.sleep(1.5)
        stack.kill("web", signal.SIGTERM)
        stack.web()
        time.sleep(2)
        stream.stop()
        assert trader.retries > 0, "the client never saw the restart: the fault did not happen under load"
