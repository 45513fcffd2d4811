"""Issue 16: the request budget never lets more than the limit reach Alpaca in any window (here scaled down to
5 requests a second; bench/alpaca_budget.py measures the real 200 a minute)."""

import pytest
import requests

from integration.alpaca_broker import _BudgetSession

from .fake_alpaca import KEY_ID, SECRET


def most_in_window(arrivals: list[float], window: float) -> int:
    best, start = 0, 0
    for end, at in enumerate(arrivals):
        while at - arrivals[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_budget_holds_at_the_server(fake, settings):
    session = _BudgetSession(per_minute=5, window=1.0)
    headers = {"APCA-API-KEY-ID": KEY_ID, "APCA-API-SECRET-KEY": SECRET}
    for _ in range(12):
        assert session.request("GET", f"{fake.url}/v2/clock", headers=headers).status_code == 200
    assert len(fake.arrivals) == 12
    assert most_in_window(fake.arrivals, 1.0) == 5
    assert fake.arrivals[-1] - fake.arrivals[0] >= 2.0  # 12 requests at 5 a second take two full windows


def test_every_call_has_a_timeout(settings, fake):
    settings.ALPACA_TIMEOUT_SECONDS = 0.001
    session = _BudgetSession(per_minute=5)
    fake.lock.acquire()  # the fake cannot answer
    try:
        with pytest.raises(requests.Timeout):
            session.request("GET", f"{fake.url}/v2/clock")
    finally:
        fake.lock.release()
