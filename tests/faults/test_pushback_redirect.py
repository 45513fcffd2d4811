"""Faults: a redirect in front of WordPress (issue 13 item 9). The WordPress stand-in answers every push-back POST
with a 301, then a 302, to the same path, whose GET answers 200 (the list of trades): followed, as requests does
by default, the POST would turn into that GET and every trade record would count as delivered while none was
stored. The robot (real daphne and Celery worker) must not follow it: the records wait with an error naming the
Location, readiness says 503 "outbox", and once the redirect is gone every fill reaches WordPress once.
"""

import pytest

from tests.ops.test_processes import wait_for

from .test_nothing_lost import scenario

pytestmark = [pytest.mark.faults, pytest.mark.slow]

TRADES_ROUTE = "/wp-json/tradingrobotplug/v1/trades"


@pytest.mark.parametrize("status", [301, 302])
def test_redirect_in_front_of_wordpress(stack, status):
    wordpress = stack.wordpress
    with scenario(
        stack, f"{status} in front of WordPress (POSTs)", "3 trades, push-back", expect_failing="outbox"
    ) as trader:
        (last_id,) = stack.sql("SELECT COALESCE(MAX(id), 0) FROM trading_outboxmessage")[0]
        stored_before, gets_before = len(wordpress.trades), len(wordpress.gets)
        wordpress.redirect_status = status
        try:
            for _ in range(3):
                trader.next_trade()
            location = f"redirected: HTTP {status} to {wordpress.url}{TRADES_ROUTE}"

            def named() -> list[tuple]:
                return stack.sql(
                    "SELECT id FROM trading_outboxmessage WHERE id > %s AND status = 'pending' AND last_error LIKE %s",
                    last_id,
                    location + "%",
                )

            assert wait_for(named, timeout=30), (
                stack.sql("SELECT id, status, last_error FROM trading_outboxmessage WHERE id > %s", last_id),
                stack.logs(),
            )
            # held until the scenario's watch has sampled it: the fault ends with this block
            assert wait_for(lambda: stack.watch.saw("outbox"), timeout=30), stack.ready()
            delivered = stack.sql(
                "SELECT COUNT(*) FROM trading_outboxmessage WHERE id > %s AND status <> 'pending'", last_id
            )
            assert delivered == [(0,)], "a record counted delivered (or failed for good) behind a redirect"
            assert len(wordpress.trades) == stored_before
            with wordpress.lock:
                followed = [p for p in wordpress.gets[gets_before:] if p.startswith(TRADES_ROUTE)]
            assert followed == [], f"the redirect was followed: {followed}"
            assert wordpress.redirected >= 1
        finally:
            wordpress.redirect_status = 0
