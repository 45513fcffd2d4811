"""Issue 16: the request budget never lets more than the limit reach Alpaca in any window (here scaled down to
5 requests a second; bench/alpaca_budget.py measures the real 200 a minute), per account: with Redis as the cache,
every process's requests together (integration/alpaca_budget.py)."""

import subprocess
import sys
import threading
import uuid

import pytest
import requests
from django.conf import settings as django_settings

from integration.alpaca_broker import _BudgetSession
from tests.conftest import REQUIRE_SERVICES

from .fake_alpaca import KEY_ID, SECRET


def most_in_window(arrivals: list[float], window: float) -> int:
    best, start = 0, 0
    for end, at in enumerate(arrivals):
        while at - arrivals[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_budget_holds_at_the_server(fake, settings):
    session = _BudgetSession(per_minute=5, window=1.0, shared=False)
    headers = {"APCA-API-KEY-ID": KEY_ID, "APCA-API-SECRET-KEY": SECRET}
    for _ in range(12):
        assert session.request("GET", f"{fake.url}/v2/clock", headers=headers).status_code == 200
    assert len(fake.arrivals) == 12
    assert most_in_window(fake.arrivals, 1.0) == 5
    assert fake.arrivals[-1] - fake.arrivals[0] >= 2.0  # 12 requests at 5 a second take two full windows


def test_every_call_has_a_timeout(settings, fake):
    settings.ALPACA_TIMEOUT_SECONDS = 0.001
    session = _BudgetSession(per_minute=5, shared=False)
    fake.lock.acquire()  # the fake cannot answer
    try:
        with pytest.raises(requests.Timeout):
            session.request("GET", f"{fake.url}/v2/clock")
    finally:
        fake.lock.release()


def _needs_redis() -> None:
    if not django_settings.REDIS_URL:
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but REDIS_URL is not set")
        pytest.skip("the shared budget needs Redis (set REDIS_URL)")


def test_the_budget_is_the_accounts_across_processes(fake):
    """Two sessions as two processes would hold them (each its own client and window object), one account: their
    requests together stay within the limit at the server; another account has a budget of its own."""
    _needs_redis()
    key_id = f"budget-test-{uuid.uuid4().hex}"
    headers = {"APCA-API-KEY-ID": KEY_ID, "APCA-API-SECRET-KEY": SECRET}
    sessions = [_BudgetSession(per_minute=5, window=1.0, key_id=key_id) for _ in range(2)]
    assert all(session.budget.shared is not None for session in sessions)

    def send(session: _BudgetSession) -> None:
        for _ in range(6):
            assert session.request("GET", f"{fake.url}/v2/clock", headers=headers).status_code == 200

    threads = [threading.Thread(target=send, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(fake.arrivals) == 12
    assert most_in_window(sorted(fake.arrivals), 1.0) <= 5
    assert fake.arrivals[-1] - fake.arrivals[0] >= 2.0  # 12 requests at 5 a second, whoever sends them

    other = _BudgetSession(per_minute=5, window=1.0, key_id=f"{key_id}-other")
    before = len(fake.arrivals)
    for _ in range(5):
        other.request("GET", f"{fake.url}/v2/clock", headers=headers)
    assert most_in_window(sorted(fake.arrivals[before:]), 1.0) == 5  # not held back by the first account


def test_a_separate_process_shares_the_window(fake, tmp_path):
    """A real second process takes the account's whole budget; this process then waits for the window."""
    _needs_redis()
    key_id = f"budget-test-{uuid.uuid4().hex}"
    code = (
        "import django, sys; django.setup(); from integration.alpaca_broker import _BudgetSession; "
        "s = _BudgetSession(per_minute=5, window=2.0, key_id=sys.argv[1]); "
        "[s.request('GET', sys.argv[2] + '/v2/clock') for _ in range(5)]"
    )
    subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code, key_id, fake.url], check=True, timeout=60, cwd=django_settings.BASE_DIR
    )
    assert len(fake.arrivals) == 5
    session = _BudgetSession(per_minute=5, window=2.0, key_id=key_id)
    session.request("GET", f"{fake.url}/v2/clock")
    assert fake.arrivals[-1] - fake.arrivals[0] >= 2.0  # waited until the other process's first left the window
