"""The check tests/conftest.py runs on every test-client response and WebSocket message: each error code a
client receives must be an `ErrorCode` value, each close code a `WsClose` (or a normal closure)."""

import json
from collections.abc import Iterator

from websockets.exceptions import ConnectionClosed

from tradingrobot.error_codes import ErrorCode, WsClose

CODES = frozenset(ErrorCode)
CLOSE_CODES = frozenset(WsClose) | {1000, 1001}  # normal closure, going away
OAUTH_PREFIX = "/o/"  # django-oauth-toolkit answers RFC 6749 errors ({"error": "invalid_grant"}), not ours


def codes_in(body: object) -> Iterator[tuple[str, object]]:
    """(where, value) for every error code in a decoded JSON body: the `code` (and a string `error`) of an
    error body or frame, the codes in its `errors` (DRF field details), and any order's `reject_code`."""
    if isinstance(body, list):
        for item in body:
            yield from codes_in(item)
        return
    if not isinstance(body, dict):
        return
    if body.get("status") == "error" or body.get("type") == "error":
        yield "code", body.get("code")
        yield from _field_codes(body.get("errors"))
    if isinstance(body.get("error"), str):
        yield "error", body["error"]
    if body.get("reject_code"):
        yield "reject_code", body["reject_code"]
    for key, value in body.items():
        if key != "errors":
            yield from codes_in(value)


def _field_codes(details: object) -> Iterator[tuple[str, object]]:
    if isinstance(details, list):
        for item in details:
            yield from _field_codes(item)
    elif isinstance(details, dict):
        if "code" in details and "message" in details:
            yield "errors[].code", details["code"]
        else:
            for value in details.values():
                yield from _field_codes(value)


def stray_codes(body: object) -> list[tuple[str, object]]:
    return [(where, value) for where, value in codes_in(body) if value not in CODES]


def check_body(body: object, context: str) -> None:
    stray = stray_codes(body)
    assert not stray, f"{context} carries codes missing from tradingrobot/error_codes.py: {stray}"


def check_response(response, path: str) -> None:
    """An HTTP response of the test client; only JSON bodies carry codes."""
    if path.startswith(OAUTH_PREFIX) or getattr(response, "streaming", False):
        return
    if not response.get("Content-Type", "").startswith("application/json") or not response.content:
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        return  # not ours to judge here; the tests of that route read the body
    check_body(body, f"{response.status_code} from {path}")


def check_ws_message(message: dict) -> None:
    """An ASGI message the application sent to a WebSocket client."""
    if message.get("type") == "websocket.close" and message.get("code") is not None:
        assert message["code"] in CLOSE_CODES, f"close code {message['code']} is missing from WsClose"
    elif message.get("type") == "websocket.send" and message.get("text"):
        try:
            frame = json.loads(message["text"])
        except ValueError:
            return
        check_body(frame, "a WebSocket frame")


def check_ws_received(data: object) -> None:
    """A message a real WebSocket client (the `websockets` library, against daphne) received."""
    if isinstance(data, str):
        check_ws_message({"type": "websocket.send", "text": data})


def check_ws_closed(closed: ConnectionClosed) -> None:
    """The close frame the server sent, when it sent one (none: the connection just dropped)."""
    if closed.rcvd is not None:
        check_ws_message({"type": "websocket.close", "code": closed.rcvd.code})
