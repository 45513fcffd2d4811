"""Which broker orders go to: TRADING_BROKER (paper by default), installed once by `tradingrobot.apps`."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from integration.alpaca_broker import AlpacaBroker, alpaca_live
from trading.brokers import Broker, PaperBroker, broker_install

BROKERS = ("paper", "alpaca")


def broker_configured() -> Broker:
    name = settings.TRADING_BROKER
    if name == "paper":
        return PaperBroker()
    if name == "alpaca":
        alpaca_live()  # a live setting without its confirmation stops the process here
        return AlpacaBroker()
    raise ImproperlyConfigured(f"TRADING_BROKER={name!r}: use one of {', '.join(BROKERS)}")


def broker_install_configured() -> None:
    broker_install(broker_configured())
