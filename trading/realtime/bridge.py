"""An event listener (tradingrobot/listeners.py): committed events go to the broker, which reaches every web process."""

from collections.abc import Mapping
from typing import Any

from .broker import get_broker


def forward_event(event: Mapping[str, Any]) -> None:
    get_broker().publish(dict(event))
