"""An event listener (tradingrobot/listeners.py): committed events go to the broker, which reaches every web process."""

from .broker import get_broker


def forward_event(event: dict) -> None:
    get_broker().publish(event)
