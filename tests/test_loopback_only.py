"""The session-wide guard (tests/loopback_guard.py) is in force: outside addresses are refused before any packet."""

import socket

import pytest
import requests

from tests import loopback_guard


@pytest.fixture
def forget_refusals():
    before = list(loopback_guard.refused)
    yield
    loopback_guard.refused[:] = before  # these refusals are the point of the test, not a leak


@pytest.mark.parametrize("address", [("203.0.113.7", 443), ("query1.finance.yahoo.com", 443), ("8.8.8.8", 53)])
def test_a_non_loopback_connect_is_refused_and_recorded(address, forget_refusals):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(loopback_guard.OutboundRefused):
        sock.connect(address)
    assert loopback_guard.refused[-1] == repr(address)


def test_requests_through_urllib3_are_refused_too(forget_refusals):
    with pytest.raises(requests.ConnectionError, match="only connect to loopback"):
        requests.get("https://203.0.113.9/v8/finance/chart/TSLA", timeout=2)
    assert loopback_guard.refused[-1] == repr(("203.0.113.9", 443))


def test_loopback_is_allowed():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
    assert loopback_guard.is_loopback(socket.AF_INET6, ("::1", 80, 0, 0))
    assert not loopback_guard.is_loopback(socket.AF_INET, ("10.0.0.1", 80))


def test_fallback_sources_are_off_by_default(settings):
    assert settings.MARKET_DATA_FALLBACK == []
