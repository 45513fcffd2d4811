"""Frames sent on /ws/updates and the client messages it understands. Pure functions, no I/O.

Every frame is a JSON object with `type` and `seq` (1, 2, 3... per connection, so a gap is visible) and
`server_time`. A frame is serialised once per process; `with_seq` splices the per-connection number in front.
"""

import datetime as dt
import json
import re
from dataclasses import dataclass

from rest_framework.utils.encoders import JSONEncoder

from tradingrobot.error_codes import ErrorCode, error_code

STATUS, ORDERS, PRICES, STRATEGIES = "status", "orders", "prices", "strategies"
TOPICS = frozenset({STATUS, ORDERS, PRICES, STRATEGIES})

# Which topic an event belongs to. Halts change the status document, so they ride with `status`.
EVENT_TOPICS = {
    "order_accepted": ORDERS,
    "order_filled": ORDERS,
    "order_rejected": ORDERS,
    "order_canceled": ORDERS,
    "order_expired": ORDERS,
    "trading_halted": STATUS,
    "trading_resumed": STATUS,
    "prices_stored": PRICES,
    "data_stale": PRICES,
    "data_fresh": PRICES,
    "market_data_switched": STATUS,
    "strategy_decision": STRATEGIES,
}
DEFAULT_TOPIC = STATUS

MAX_CLIENT_MESSAGE = 4096
MAX_SYMBOLS = 100
SYMBOL_RE = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")


def server_time() -> str:
    """Wall-clock time of the server (not the market clock, which tests may freeze)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode(frame: dict) -> str:
    """Compact JSON, numbers and dates rendered like the REST API renders them."""
    return json.dumps(frame, cls=JSONEncoder, separators=(",", ":"), ensure_ascii=False)


def with_seq(body: str, seq: int) -> str:
    """Put `"seq": N` first in an already serialised frame (a JSON object) without re-serialising it."""
    return f'{{"seq":{seq},{body[1:]}'


def status_frame(status: dict, *, tick: int | None) -> str:
    """The /api/status document plus type, tick (None for the snapshot sent on connect) and server time."""
    return encode({"type": "status", "snapshot": tick is None, "tick": tick, "server_time": server_time(), **status})


def event_frame(event: dict) -> str:
    return encode({**event, "server_time": server_time()})


def reply_frame(frame_type: str, **fields) -> str:
    return encode({"type": frame_type, **fields, "server_time": server_time()})


def event_topic(event_type: str) -> str:
    return EVENT_TOPICS.get(event_type, DEFAULT_TOPIC)


def event_symbols(event: dict) -> frozenset[str] | None:
    """The symbols an event is about, or None when it concerns all (a halt)."""
    if event.get("symbol"):
        return frozenset({event["symbol"]})
    if event.get("symbols"):
        return frozenset(event["symbols"])
    return None


class BadMessage(ValueError):
    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = error_code(code)
        self.message = message


@dataclass(frozen=True)
class ClientMessage:
    action: str
    topics: frozenset[str] | None = None
    symbols: frozenset[str] | None = None
    id: str | int | None = None


def parse_client_message(text: str | None) -> ClientMessage:
    """Parse one text frame from a client; BadMessage says what is wrong."""
    if text is None:
        raise BadMessage(ErrorCode.BINARY_NOT_SUPPORTED, "Send JSON text frames; binary frames are not understood.")
    if len(text) > MAX_CLIENT_MESSAGE:
        raise BadMessage(ErrorCode.MESSAGE_TOO_LARGE, f"Messages are limited to {MAX_CLIENT_MESSAGE} characters.")
    try:
        data = json.loads(text)
    except ValueError as error:
        raise BadMessage(ErrorCode.INVALID_JSON, f"Not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise BadMessage(
            ErrorCode.INVALID_MESSAGE, 'Send a JSON object such as {"action": "subscribe", "topics": ["status"]}.'
        )
    action = data.get("action")
    actions = ("subscribe", "unsubscribe", "ping")
    if action not in actions:
        raise BadMessage(ErrorCode.UNKNOWN_ACTION, f"Unknown action {action!r}; use one of: {', '.join(actions)}.")
    message_id = data.get("id")
    if message_id is not None and not isinstance(message_id, (str, int)):
        raise BadMessage(ErrorCode.INVALID_ID, "id must be a string or an integer when given.")
    if action == "ping":
        return ClientMessage(action, id=message_id)
    topics = _parse_topics(data.get("topics"))
    symbols = _parse_symbols(data.get("symbols"))
    if topics is None and symbols is None:
        raise BadMessage(ErrorCode.NOTHING_TO_CHANGE, f"{action} needs `topics` and/or `symbols`.")
    return ClientMessage(action, topics, symbols, message_id)


def _parse_topics(value) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise BadMessage(ErrorCode.INVALID_TOPICS, 'topics must be a list of strings, e.g. ["status", "orders"].')
    unknown = sorted(set(value) - TOPICS)
    if unknown:
        raise BadMessage(ErrorCode.UNKNOWN_TOPIC, f"Unknown topic(s) {unknown}; topics are {sorted(TOPICS)}.")
    return frozenset(value)


def _parse_symbols(value) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise BadMessage(ErrorCode.INVALID_SYMBOLS, 'symbols must be a list of tickers, e.g. ["TSLA"].')
    if len(value) > MAX_SYMBOLS:
        raise BadMessage(ErrorCode.INVALID_SYMBOLS, f"At most {MAX_SYMBOLS} symbols per message.")
    symbols = frozenset(s.strip().upper() for s in value)
    bad = sorted(s for s in symbols if not SYMBOL_RE.match(s))
    if bad:
        raise BadMessage(ErrorCode.INVALID_SYMBOLS, f"Not a ticker: {bad[:5]}.")
    return symbols


@dataclass(frozen=True)
class Subscription:
    """What a client receives: topics, and symbols (None = every symbol). Starts with everything."""

    topics: frozenset[str] = TOPICS
    symbols: frozenset[str] | None = None
    narrowed: bool = False

    def wants(self, topic: str, symbols: frozenset[str] | None) -> bool:
        if topic not in self.topics:
            return False
        return symbols is None or self.symbols is None or not self.symbols.isdisjoint(symbols)

    def subscribe(self, topics: frozenset[str] | None, symbols: frozenset[str] | None) -> "Subscription":
        """The first subscribe narrows "everything" to what it names; later ones add to it."""
        base_topics = self.topics if self.narrowed else frozenset()
        new_topics = base_topics | topics if topics is not None else (self.topics if self.narrowed else TOPICS)
        if symbols is None:
            new_symbols = self.symbols if self.narrowed else None
        else:
            new_symbols = symbols if (self.symbols is None or not self.narrowed) else self.symbols | symbols
        if new_symbols is not None and len(new_symbols) > MAX_SYMBOLS:
            raise BadMessage(
                ErrorCode.TOO_MANY_SYMBOLS,
                f"A connection may follow at most {MAX_SYMBOLS} symbols; unsubscribe some first.",
            )
        return Subscription(new_topics, new_symbols, narrowed=True)

    def unsubscribe(self, topics: frozenset[str] | None, symbols: frozenset[str] | None) -> "Subscription":
        new_topics = self.topics - topics if topics is not None else self.topics
        new_symbols = self.symbols
        if symbols is not None:
            if self.symbols is None:
                raise BadMessage(
                    ErrorCode.NOT_SUBSCRIBED_TO_SYMBOLS,
                    "You receive every symbol; subscribe to the symbols you want instead of leaving some.",
                )
            new_symbols = self.symbols - symbols
        return Subscription(new_topics, new_symbols, narrowed=True)

    def describe(self) -> dict:
        return {"topics": sorted(self.topics), "symbols": None if self.symbols is None else sorted(self.symbols)}
