"""Issue 16: paper by default, live refused without both settings, keys never logged."""

import logging

import pytest
from alpaca.common.enums import BaseURL
from django.core.exceptions import ImproperlyConfigured

from integration.alpaca_broker import AlpacaBroker, trading_client_build
from integration.alpaca_stream import trading_stream_build
from trading.brokers import PaperBroker
from tradingrobot.broker_wiring import broker_configured
from tradingrobot.security.redaction import redact

from .fake_alpaca import KEY_ID, SECRET


@pytest.fixture
def keys(settings):
    settings.ALPACA_API_KEY_ID, settings.ALPACA_API_SECRET_KEY = KEY_ID, SECRET
    settings.ALPACA_TRADING_URL = settings.ALPACA_STREAM_URL = ""
    return settings


def test_paper_broker_is_the_default(settings):
    assert settings.TRADING_BROKER == "paper"
    assert isinstance(broker_configured(), PaperBroker)


def test_alpaca_uses_the_paper_urls_by_default(keys):
    keys.TRADING_BROKER = "alpaca"
    assert isinstance(broker_configured(), AlpacaBroker)
    assert trading_client_build()._base_url == BaseURL.TRADING_PAPER == "https://paper-api.alpaca.markets"
    stream = trading_stream_build(on_update=print, on_connect=lambda: None)
    assert stream._endpoint == BaseURL.TRADING_STREAM_PAPER == "wss://paper-api.alpaca.markets/stream"


@pytest.mark.parametrize("confirm", ["", "yes", "i understand this trades real money"])
def test_live_is_refused_without_the_confirmation(keys, confirm):
    keys.TRADING_BROKER, keys.ALPACA_LIVE, keys.ALPACA_LIVE_CONFIRM = "alpaca", True, confirm
    with pytest.raises(ImproperlyConfigured, match="ALPACA_LIVE_CONFIRM"):
        broker_configured()
    with pytest.raises(ImproperlyConfigured):
        trading_client_build()


def test_confirmation_alone_does_not_make_it_live(keys):
    keys.ALPACA_LIVE_CONFIRM = keys.ALPACA_LIVE_PHRASE
    assert trading_client_build()._base_url == BaseURL.TRADING_PAPER


def test_live_with_both_settings_warns(keys, caplog):
    keys.ALPACA_LIVE, keys.ALPACA_LIVE_CONFIRM = True, keys.ALPACA_LIVE_PHRASE
    with caplog.at_level(logging.WARNING, logger="integration.alpaca_broker"):
        client = trading_client_build()
    assert client._base_url == BaseURL.TRADING_LIVE
    assert "LIVE trading" in caplog.text


def test_no_keys_no_alpaca_broker(settings):
    settings.ALPACA_API_KEY_ID = settings.ALPACA_API_SECRET_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="ALPACA_API_KEY_ID"):
        trading_client_build()


def test_unknown_broker_is_refused(settings):
    settings.TRADING_BROKER = "ibkr"
    with pytest.raises(ImproperlyConfigured, match="paper, alpaca"):
        broker_configured()


def test_alpaca_keys_are_redacted(keys):
    line = f"GET /v2/account headers={{'APCA-API-KEY-ID': '{KEY_ID}', 'APCA-API-SECRET-KEY': '{SECRET}'}}"
    cleaned = redact(line)
    assert KEY_ID not in cleaned and SECRET not in cleaned
    assert redact("key AKLIVEKEY123456789AB failed") == "key [redacted] failed"  # a key id's shape, unconfigured
    assert redact(f"secret was {SECRET}") == "secret was [redacted]"
