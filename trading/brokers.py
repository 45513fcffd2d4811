"""The broker interface `order_place`, cancels, the halt and the fill path go through, and the active broker.

Two implementations: `PaperBroker` (this process fills against stored prices; trading/broker.py prices them) and
the Alpaca broker (integration/alpaca), which sends orders to Alpaca and books the fills its trade_updates stream
reports (trading/executions.py). The wiring (tradingrobot.apps) installs the one TRADING_BROKER names.
"""

from typing import Protocol

from .models import Order


class Broker(Protocol):
    name: str
    # True: order_place fills at once against stored prices and housekeeping fills resting orders (paper).
    # False: orders are sent after commit and fills arrive from the broker.
    fills_locally: bool

    def submit(self, *, order_id: int) -> None:
        """Send a saved order to the broker (called after the placing transaction commits)."""

    def cancel(self, *, order: Order) -> None:
        """Cancel `order` at the broker, inside the caller's transaction; raise Conflict if it refuses."""


class PaperBroker:
    name = "paper"
    fills_locally = True

    def submit(self, *, order_id: int) -> None:
        raise AssertionError("the paper broker fills inside order_place; nothing is sent")

    def cancel(self, *, order: Order) -> None:
        return None  # nothing rests anywhere but in our own table


_active: Broker = PaperBroker()


def broker_active() -> Broker:
    return _active


def broker_install(broker: Broker) -> Broker:
    """Make `broker` the active one; returns the previous one (tests put it back)."""
    global _active
    previous, _active = _active, broker
    return previous
