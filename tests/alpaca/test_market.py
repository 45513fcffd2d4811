"""Issue 16: the market clock and the asset list can come from Alpaca when it is the broker; exchange_calendars
stays the default."""

import datetime as dt

import pytest

from integration.alpaca_market import alpaca_clock_build, assets_sync
from market.clock import clock_provider_install, market_clock
from market.models import Symbol
from tradingrobot.broker_wiring import clock_install_configured

from ..conftest import MARKET_CLOSED_AT, MARKET_OPEN_AT


@pytest.fixture
def provider_restored():
    yield
    clock_provider_install(None)


def test_exchange_calendars_by_default(settings, provider_restored):
    assert settings.MARKET_CLOCK_SOURCE == "exchange_calendars"
    clock_install_configured()
    assert market_clock().name == settings.TRADING_CALENDAR


def test_sessions_from_alpacas_calendar(alpaca, fake, provider_restored, market_open):
    clock = alpaca_clock_build(client=alpaca.client)
    clock_provider_install(lambda: clock)
    assert ("GET", "/v2/calendar") in fake.requests
    session = market_clock().session_at(MARKET_OPEN_AT)
    assert session is not None and (session.open, session.close) == (
        dt.datetime(2025, 12, 16, 14, 30, tzinfo=dt.UTC),
        dt.datetime(2025, 12, 16, 21, 0, tzinfo=dt.UTC),
    )
    assert market_clock().session_at(MARKET_CLOSED_AT) is None  # a Saturday
    assert market_clock().next_open(MARKET_CLOSED_AT) == dt.datetime(2025, 12, 22, 14, 30, tzinfo=dt.UTC)


def test_unknown_clock_source_is_refused(settings, provider_restored):
    settings.MARKET_CLOCK_SOURCE = "sundial"
    with pytest.raises(Exception, match="exchange_calendars, alpaca"):
        clock_install_configured()


def test_assets_mark_what_alpaca_does_not_list_untradable(alpaca, fake):
    del fake.assets["SPY"]
    assert assets_sync(client=alpaca.client) == ["SPY"]
    assert not Symbol.objects.get(ticker="SPY").is_active and Symbol.objects.get(ticker="TSLA").is_active
    assert assets_sync(client=alpaca.client) == []
