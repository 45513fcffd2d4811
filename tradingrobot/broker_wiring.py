"""Which broker orders go to (TRADING_BROKER, paper by default) and where market sessions come from
(MARKET_CLOCK_SOURCE), installed once by `tradingrobot.apps`."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from market.clock import clock_provider_install
from trading.brokers import Broker, PaperBroker, broker_install

BROKERS = ("paper", "alpaca")
CLOCK_SOURCES = ("exchange_calendars", "alpaca")


def broker_configured() -> Broker:
    name = settings.TRADING_BROKER
    if name == "paper":
        return PaperBroker()
    if name == "alpaca":
        from integration.alpaca_broker import AlpacaBroker, alpaca_live  # the SDK: seconds to import, only if used

        alpaca_live()  # a live setting without its confirmation stops the process here
        return AlpacaBroker()
    raise ImproperlyConfigured(f"TRADING_BROKER={name!r}: use one of {', '.join(BROKERS)}")


def clock_install_configured() -> None:
    source = settings.MARKET_CLOCK_SOURCE
    if source not in CLOCK_SOURCES:
        raise ImproperlyConfigured(f"MARKET_CLOCK_SOURCE={source!r}: use one of {', '.join(CLOCK_SOURCES)}")
    if source == "alpaca":
        from integration.alpaca_market import alpaca_clock  # the SDK: seconds to import, only if used

        clock_provider_install(alpaca_clock)
    else:
        clock_provider_install(None)


def broker_install_configured() -> None:
    broker_install(broker_configured())
    clock_install_configured()
