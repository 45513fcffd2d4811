"""The error-code catalogue: complete, typed, rendered unchanged, checked on every response, listed in the README."""

import io
import json
import re
from pathlib import Path

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.http import JsonResponse
from django.urls import path
from rest_framework import exceptions as drf_exceptions

from trading.models import TradingState
from trading.realtime.frames import BadMessage
from trading.services import Rejection
from tradingrobot.error_codes import (
    MARKDOWN_BEGIN,
    MARKDOWN_END,
    ErrorCode,
    WsClose,
    error_code_of,
    error_codes_markdown,
    markdown_section_replace,
)
from tradingrobot.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    TradingHalted,
    Unprocessable,
    api_exception_handler,
    drf_error_code,
    error_body,
)
from tradingrobot.security import authentication, permissions
from tradingrobot.security.ws import Refused

from .error_catalogue import check_body, check_ws_message, stray_codes

README = Path(__file__).resolve().parent.parent / "README.md"

# The codes that were built by f-string before the catalogue: their wire values must not change.
FORMERLY_BUILT = {
    "missing_quantity",
    "missing_limit_price",
    "invalid_quantity",
    "invalid_limit_price",
    "invalid_type",
    "invalid_time_in_force",
    "invalid_client_order_id",
    "invalid_strategy_id",
    "conflicting_quantity",
    "conflicting_type",
    "conflicting_limit_price",
    "conflicting_time_in_force",
    "conflicting_client_order_id",
    "conflicting_strategy_id",
    "conflicting_reason",
    "conflicting_liquidate",
    "invalid_after",
    "invalid_until",
    "invalid_start",
    "invalid_end",
    "invalid_limit",
    "invalid_offset",
    "invalid_api_key",
    "revoked_api_key",
    "expired_api_key",
}


def test_every_code_is_snake_case_with_an_error_status_and_a_meaning():
    for code in ErrorCode:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", code.value), code
        assert 400 <= code.status <= 599, code
        assert code.meaning and "\n" not in code.meaning, code
        assert code.name == code.value.upper(), code
    assert len({c.value for c in ErrorCode}) == len(list(ErrorCode))  # no alias hides a duplicate value


def test_the_codes_once_built_at_run_time_keep_their_wire_values():
    assert FORMERLY_BUILT - set(ErrorCode) == set()


def test_websocket_refusal_close_codes_are_4000_plus_the_http_status():
    assert [close.value - 4000 for close in WsClose if close >= 4000] == [401, 403, 429]


@pytest.mark.parametrize("make", [lambda c: InvalidInput("x", code=c), lambda c: Rejection(c, "x")])
def test_a_plain_string_is_refused_as_a_code(make):
    with pytest.raises(TypeError, match="ErrorCode"):
        make("invalid_quantity")
    assert make(ErrorCode.INVALID_QUANTITY).code is ErrorCode.INVALID_QUANTITY


@pytest.mark.parametrize(
    "make",
    [
        lambda c: error_body("x", c),
        lambda c: BadMessage(c, "x"),
        lambda c: Refused(4401, c, "x"),
        lambda c: DomainError("x", code=c),
    ],
)
def test_every_error_carrier_refuses_a_plain_string(make):
    with pytest.raises(TypeError, match="ErrorCode"):
        make("made_up")


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidInput("m"), 400, "invalid_input"),
        (NotFound("m"), 404, "not_found"),
        (Conflict("m"), 409, "conflict"),
        (Unprocessable("m"), 422, "unprocessable"),
        (TradingHalted("m"), 423, "trading_halted"),
        (NotFound("m", code=ErrorCode.ORDER_NOT_FOUND), 404, "order_not_found"),
        (Unprocessable("m", code=ErrorCode.IDEMPOTENCY_KEY_REUSED), 422, "idempotency_key_reused"),
        (Conflict("m", code=ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS), 409, "idempotency_key_in_progress"),
    ],
)
def test_the_handler_renders_the_code_value_and_its_status(error, status, code):
    response = api_exception_handler(error, {})
    assert response.status_code == status
    assert response.data == {"status": "error", "code": code, "message": "m"}
    assert type(response.data["code"]) is str  # the value, not the enum member


def _drf_exception_classes():
    classes = [drf_exceptions.APIException]
    for cls in classes:
        classes.extend(cls.__subclasses__())
    return [cls for cls in classes if not cls.__module__.startswith("tests.")]  # not the stray one below


def test_every_drf_exception_has_its_code_in_the_catalogue():
    classes = _drf_exception_classes()
    assert authentication.ExpiredApiKey in classes and permissions.MissingScope in classes
    for cls in classes:
        expected = "malformed_request" if issubclass(cls, drf_exceptions.ParseError) else cls.default_code
        assert drf_error_code(cls.__new__(cls)) == expected, cls


def test_validation_field_codes_reach_the_body_and_are_catalogued(api):
    cases = [
        ({"reason": "x" * 501}, "max_length"),
        ({"reason": ["a", "b"]}, "invalid"),
        ({"reason": "a\x00b"}, "null_characters_not_allowed"),
        ({"liquidate": "perhaps"}, "invalid"),
    ]
    for body, field_code in cases:
        response = api.post("/api/stop_trading", json.dumps(body), content_type="application/json")
        assert response.status_code == 400, response.content
        data = response.json()
        assert data["code"] == "invalid"
        (field,) = body
        assert [e["code"] for e in data["errors"][field]] == [field_code]
    assert not TradingState.objects.filter(halted=True).exists()


# --- the check every test runs (tests/error_catalogue.py, wired in tests/conftest.py) ---


def test_the_check_finds_a_stray_code_wherever_a_client_would_read_it():
    assert stray_codes({"status": "error", "code": "made_up", "message": "m"}) == [("code", "made_up")]
    assert stray_codes({"type": "error", "code": "invalid_jsn"}) == [("code", "invalid_jsn")]
    assert stray_codes(
        {"status": "error", "code": "invalid", "errors": {"reason": [{"message": "m", "code": "x"}]}}
    ) == [("errors[].code", "x")]
    assert stray_codes({"orders": [{"status": "rejected", "reject_code": "no_prize"}]}) == [("reject_code", "no_prize")]
    assert stray_codes({"status": "error", "code": "no_price", "order": {"reject_code": "no_price"}}) == []
    assert stray_codes({"status": "error", "message": "no code at all"}) == [("code", None)]
    assert stray_codes({"error": "made_up"}) == [("error", "made_up")]
    assert stray_codes({"status": "success", "order": {"reject_code": ""}}) == []
    with pytest.raises(AssertionError, match="made_up"):
        check_body({"status": "error", "code": "made_up"}, "test")


def test_the_check_finds_a_stray_websocket_frame_or_close_code():
    with pytest.raises(AssertionError, match="made_up"):
        check_ws_message({"type": "websocket.send", "text": json.dumps({"type": "error", "code": "made_up"})})
    with pytest.raises(AssertionError, match="4999"):
        check_ws_message({"type": "websocket.close", "code": 4999})
    check_ws_message({"type": "websocket.send", "text": json.dumps({"type": "error", "code": "invalid_json"})})
    check_ws_message({"type": "websocket.close", "code": 4401})
    check_ws_message({"type": "websocket.close", "code": 1000})


def stray_view(request):
    return JsonResponse({"status": "error", "code": "made_up", "message": "a typo makes a new public code"}, status=400)


urlpatterns = [path("stray", stray_view)]


@pytest.mark.urls(__name__)
def test_a_response_with_a_stray_code_fails_the_test_that_receives_it(client, db):
    with pytest.raises(AssertionError, match="made_up"):
        client.get("/stray")


class StrayConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.send(json.dumps({"type": "error", "code": "made_up", "message": "m"}))


@pytest.mark.asyncio
async def test_a_websocket_frame_with_a_stray_code_fails_the_test_that_receives_it():
    communicator = WebsocketCommunicator(StrayConsumer.as_asgi(), "/ws/stray")
    connected, _ = await communicator.connect()
    assert connected
    with pytest.raises(AssertionError, match="made_up"):
        await communicator.receive_from()
    await communicator.disconnect()


# --- the README lists them all ---


def test_the_readme_error_tables_are_the_catalogue():
    text = README.read_text()
    listed = text[text.index(MARKDOWN_BEGIN) + len(MARKDOWN_BEGIN) : text.index(MARKDOWN_END)]
    assert listed.strip() == error_codes_markdown().strip(), "run: python manage.py error_codes --write README.md"
    for code in ErrorCode:
        assert f"| `{code.value}` | {code.status.value} |" in listed


def test_the_command_prints_and_writes_the_tables(tmp_path):
    out = io.StringIO()
    call_command("error_codes", "--markdown", stdout=out)
    assert out.getvalue() == error_codes_markdown()
    stale = tmp_path / "README.md"
    stale.write_text(f"intro\n{MARKDOWN_BEGIN}\n| `old_code` | 400 |\n{MARKDOWN_END}\nrest\n")
    call_command("error_codes", "--write", str(stale), stdout=io.StringIO())
    assert stale.read_text() == f"intro\n{MARKDOWN_BEGIN}\n{error_codes_markdown()}{MARKDOWN_END}\nrest\n"
    assert markdown_section_replace(stale.read_text()) == stale.read_text()


def test_a_drf_exception_with_an_uncatalogued_code_is_answered_as_error_and_logged(caplog):
    class Stray(drf_exceptions.APIException):
        default_code = "made_up"

    assert drf_error_code(Stray()) is ErrorCode.ERROR
    assert "made_up" in caplog.text
    assert error_code_of("no_price") is ErrorCode.NO_PRICE
    with pytest.raises(KeyError):
        error_code_of("made_up")


def test_a_domain_error_class_with_a_plain_string_code_is_refused_when_defined():
    with pytest.raises(TypeError, match="ErrorCode"):

        class Stray(InvalidInput):
            code = "made_up"


def test_the_check_reads_what_a_real_websocket_client_receives():
    from websockets.exceptions import ConnectionClosedError
    from websockets.frames import Close

    from .error_catalogue import check_ws_closed, check_ws_received

    with pytest.raises(AssertionError, match="4999"):
        check_ws_closed(ConnectionClosedError(Close(4999, ""), None))
    with pytest.raises(AssertionError, match="made_up"):
        check_ws_received(json.dumps({"type": "error", "code": "made_up"}))
    check_ws_closed(ConnectionClosedError(Close(4401, ""), None))
    check_ws_closed(ConnectionClosedError(None, None))  # dropped without a close frame
