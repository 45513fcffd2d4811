"""WebSocket authentication: the same keys (header), a single-use ticket (browsers), OAuth bearer tokens;
origin validation; refusals closed with 4401/4403 and a JSON message saying why."""

import asyncio
import json

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import override_settings

from tradingrobot.security.principals import principal_ticket
from tradingrobot.security.services import api_key_create, api_key_revoke, ws_ticket_issue
from tradingrobot.security.ws import WebSocketAuthMiddleware

# serialized_rollback: the flush after each test must not drop the rows migrations seeded (symbols, content types).
pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WP_ORIGIN = (b"origin", b"https://tradingrobotplug.com")


@pytest_asyncio.fixture(autouse=True)
async def close_thread_connections():
    yield
    await database_sync_to_async(connections.close_all)()  # the worker thread's connection outlives the test


class WhoAmI(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()
        await self.send(json.dumps({"actor": self.scope["actor"], "client_ip": self.scope["client_ip"]}))


def from_address(app, ip: str):
    """The test communicator sets no client address; a server does."""

    async def with_client(scope, receive, send):
        return await app(dict(scope, client=[ip, 50000]), receive, send)

    return with_client


APP = from_address(WebSocketAuthMiddleware(WhoAmI.as_asgi()), "127.0.0.1")


class Echo(WhoAmI):
    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data)


@database_sync_to_async
def make_key(scopes="read"):
    return api_key_create(name="ws", scopes=scopes, created_by="tests")


async def refused_with(app, path="/ws/updates", headers=()) -> tuple[int, dict]:
    ws = WebsocketCommunicator(app, path, headers=list(headers))
    connected, _ = await ws.connect(timeout=5)
    assert connected, "a refusal is accepted first so that the close code and the reason reach the client"
    message = json.loads(await ws.receive_from(timeout=5))
    closed = await ws.receive_output(timeout=5)
    assert closed["type"] == "websocket.close"
    await ws.wait()
    return closed["code"], message


async def test_no_credentials_on_the_real_application_is_closed_4401_with_a_reason():
    from tradingrobot.asgi import application

    code, message = await refused_with(application, headers=[WP_ORIGIN])
    assert code == 4401
    assert (message["type"], message["code"]) == ("error", "not_authenticated")
    assert "Api-Key" in message["message"]


async def test_a_bad_or_revoked_key_is_closed_4401():
    code, message = await refused_with(APP, headers=[(b"x-api-key", b"abcdefgh.wrong")])
    assert (code, message["code"]) == (4401, "invalid_api_key")
    api_key, plain = await make_key()
    await database_sync_to_async(api_key_revoke)(api_key=api_key, revoked_by="tests")
    code, message = await refused_with(APP, headers=[(b"authorization", f"Api-Key {plain}".encode())])
    assert (code, message["code"]) == (4401, "revoked_api_key")


async def test_a_key_without_read_is_closed_4403():
    _, plain = await make_key("trade")
    code, message = await refused_with(APP, headers=[(b"x-api-key", plain.encode())])
    assert (code, message["code"]) == (4403, "missing_scope")


@pytest.mark.parametrize("header", ["authorization", "x-api-key"])
async def test_a_read_key_in_a_header_connects(header):
    _, plain = await make_key()
    value = f"Api-Key {plain}" if header == "authorization" else plain
    ws = WebsocketCommunicator(APP, "/ws/updates", headers=[WP_ORIGIN, (header.encode(), value.encode())])
    connected, _ = await ws.connect(timeout=5)
    assert connected
    assert json.loads(await ws.receive_from(timeout=5)) == {"actor": "key:ws", "client_ip": "127.0.0.1"}
    await ws.disconnect()


async def test_a_foreign_origin_is_refused_at_the_handshake_even_with_a_key():
    _, plain = await make_key()
    ws = WebsocketCommunicator(
        APP, "/ws/updates", headers=[(b"origin", b"https://evil.example"), (b"x-api-key", plain.encode())]
    )
    connected, _ = await ws.connect(timeout=5)
    assert connected is False


async def test_the_allowlist_applies_and_a_forged_forwarded_for_does_not_pass_it():
    _, plain = await make_key()
    inner = WebSocketAuthMiddleware(WhoAmI.as_asgi())
    key = (b"x-api-key", plain.encode())
    with override_settings(API_IP_ALLOWLIST=["192.0.2.0/24"]):
        forged = WebsocketCommunicator(
            from_address(inner, "198.51.100.7"), "/ws/updates", headers=[key, (b"x-forwarded-for", b"192.0.2.10")]
        )
        assert (await forged.connect(timeout=5))[0] is False
        inside = WebsocketCommunicator(from_address(inner, "192.0.2.10"), "/ws/updates", headers=[key])
        assert (await inside.connect(timeout=5))[0] is True
        await inside.disconnect()


async def test_a_ticket_works_once():
    api_key, _ = await make_key()
    ticket = ws_ticket_issue(principal=principal_ticket(api_key))
    ws = WebsocketCommunicator(APP, f"/ws/updates?ticket={ticket}", headers=[WP_ORIGIN])
    connected, _ = await ws.connect(timeout=5)
    assert connected
    assert json.loads(await ws.receive_from(timeout=5))["actor"] == "key:ws"
    await ws.disconnect()
    code, message = await refused_with(APP, f"/ws/updates?ticket={ticket}", headers=[WP_ORIGIN])
    assert (code, message["code"]) == (4401, "invalid_ticket")


async def test_a_ticket_of_a_key_revoked_since_is_refused():
    api_key, _ = await make_key()
    ticket = ws_ticket_issue(principal=principal_ticket(api_key))
    await database_sync_to_async(api_key_revoke)(api_key=api_key, revoked_by="tests")
    code, message = await refused_with(APP, f"/ws/updates?ticket={ticket}")
    assert (code, message["code"]) == (4401, "invalid_ticket")


async def test_an_open_connection_stops_when_its_key_is_revoked(monkeypatch):
    monkeypatch.setattr("tradingrobot.security.ws.RECHECK_SECONDS", 0.1)
    api_key, plain = await make_key()
    app = from_address(WebSocketAuthMiddleware(Echo.as_asgi()), "127.0.0.1")
    ws = WebsocketCommunicator(app, "/ws/updates", headers=[(b"x-api-key", plain.encode())])
    assert (await ws.connect(timeout=5))[0]
    await ws.receive_from(timeout=5)
    await asyncio.sleep(0.3)  # a few checks pass while the key is valid
    await ws.send_to(text_data="ping")
    assert await ws.receive_from(timeout=5) == "ping"
    await database_sync_to_async(api_key_revoke)(api_key=api_key, revoked_by="tests")
    assert json.loads(await ws.receive_from(timeout=5))["code"] == "credentials_revoked"
    closed = await ws.receive_output(timeout=5)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4401)
    await ws.disconnect()


# --- issue 13, item 15: whole origins, connection and message caps -------------------------------------------


async def handshake(app, headers, scheme="ws") -> bool:
    ws = WebsocketCommunicator(app, "/ws/updates", headers=list(headers))
    ws.scope["scheme"] = scheme
    connected, _ = await ws.connect(timeout=5)
    if connected:
        await ws.disconnect()
    return connected


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "allowed"),
    [
        ("https://tradingrobotplug.com", None, "ws", True),  # the configured origin
        ("https://tradingrobotplug.com:443", None, "ws", True),  # the same origin, port written out
        ("http://tradingrobotplug.com", None, "ws", False),  # another scheme
        ("https://tradingrobotplug.com:8443", None, "ws", False),  # another port
        ("https://evil.tradingrobotplug.com", None, "ws", False),
        ("http://127.0.0.1:8000", "127.0.0.1:8000", "ws", True),  # a page of the API itself
        ("http://127.0.0.1:9999", "127.0.0.1:8000", "ws", False),  # same host, another port (another app)
        ("https://127.0.0.1:8000", "127.0.0.1:8000", "ws", False),  # https page, plain ws: not the same origin
        ("https://localhost", "localhost", "wss", True),
        ("http://localhost", None, "ws", False),  # a host in ALLOWED_HOSTS is not an origin by itself
        ("http://evil.example", "evil.example", "ws", False),  # Host outside ALLOWED_HOSTS
        ("http://127.0.0.1:notaport", "127.0.0.1:8000", "ws", False),
        ("null", None, "ws", False),
    ],
)
async def test_origins_are_compared_whole(origin, host, scheme, allowed):
    _, plain = await make_key()
    headers = [(b"origin", origin.encode()), (b"x-api-key", plain.encode())]
    if host:
        headers.append((b"host", host.encode()))
    with override_settings(ALLOWED_HOSTS=["localhost", "127.0.0.1"]):
        assert await handshake(APP, headers, scheme) is allowed


async def test_connections_per_key_are_capped():
    _, plain = await make_key()
    _, other = await make_key()
    key = (b"x-api-key", plain.encode())
    with override_settings(WS_MAX_CONNECTIONS_PER_KEY=2):
        opened = []
        for _ in range(2):
            ws = WebsocketCommunicator(APP, "/ws/updates", headers=[key])
            assert (await ws.connect(timeout=5))[0]
            await ws.receive_from(timeout=5)
            opened.append(ws)
        code, message = await refused_with(APP, headers=[key])
        assert (code, message["code"]) == (4429, "ws_too_many_connections")
        assert await handshake(APP, [(b"x-api-key", other.encode())])  # another key is not affected
        await opened.pop().disconnect()
        await asyncio.sleep(0.05)
        assert await handshake(APP, [key])  # a slot is free again
        for ws in opened:
            await ws.disconnect()


async def test_messages_per_second_per_connection_are_capped():
    _, plain = await make_key()
    app = from_address(WebSocketAuthMiddleware(Echo.as_asgi()), "127.0.0.1")
    with override_settings(WS_MAX_MESSAGES_PER_SECOND=5):
        ws = WebsocketCommunicator(app, "/ws/updates", headers=[(b"x-api-key", plain.encode())])
        assert (await ws.connect(timeout=5))[0]
        await ws.receive_from(timeout=5)
        for n in range(5):
            await ws.send_to(text_data=f"m{n}")
            assert await ws.receive_from(timeout=5) == f"m{n}"
        await ws.send_to(text_data="one too many")
        refusal = json.loads(await ws.receive_from(timeout=5))
        assert refusal["code"] == "ws_rate_limited"
        closed = await ws.receive_output(timeout=5)
        assert (closed["type"], closed["code"]) == ("websocket.close", 4429)
        await ws.wait()
