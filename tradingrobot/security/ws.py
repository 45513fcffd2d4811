"""ASGI middleware that authenticates WebSocket connections before the consumer sees them.

Credentials: the same API keys (`Authorization: Api-Key <key>` or `X-API-Key`), an OAuth 2.0 bearer token, or
`?ticket=<ticket>` from POST /api/ws-ticket (or POST /dashboard/api/ws-ticket: a staff user's session).
Browsers must come from an allowed origin. A refused connection is
accepted, told why in one JSON message, and closed with 4401 (no or bad credentials), 4403 (scope) or 4429 (rate
limit, too many open connections for the credential, too many messages a second); the close frame carries the
reason where the server supports it (daphne sends the code only, hence the message). A foreign origin (scheme, host
and port compared) or an address outside the allowlist is refused at the handshake (HTTP 403).
"""

import asyncio
import hashlib
import json
import logging
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http.request import split_domain_port, validate_host
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from tradingrobot.error_codes import ErrorCode, WsClose, error_code, error_code_of

from .authentication import REJECTIONS, InvalidCredentials, key_from_headers
from .client_ip import client_ip
from .keys import KeyRejected, api_key_check
from .middleware import ip_refusal
from .models import ApiKey
from .principals import principal_scopes
from .scopes import READ
from .services import ws_ticket_redeem
from .throttling import rate_hit

logger = logging.getLogger(__name__)

UNAUTHENTICATED = WsClose.UNAUTHENTICATED.value  # plain ints: daphne (autobahn) refuses int subclasses
FORBIDDEN = WsClose.FORBIDDEN.value
THROTTLED = WsClose.THROTTLED.value
RECHECK_SECONDS = 60  # an open connection's credential is checked again this often (revoked keys stop streaming)


class Refused(Exception):
    """`close_code` None: refuse the handshake itself (HTTP 403), as for a foreign origin or address."""

    def __init__(self, close_code: int | None, code: ErrorCode, message: str):
        super().__init__(message)
        self.close_code, self.code, self.message = close_code, error_code(code), message


DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
PAGE_SCHEMES = {"ws": "http", "wss": "https"}


def origin_tuple(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, the port made explicit; None when it is not one."""
    try:
        parts = urlsplit(url.strip())
        scheme, host = parts.scheme.lower(), parts.hostname
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number, or out of range
        return None
    return (scheme, host, port) if host and port else None


def origin_allowed(origin: str | None, *, host: str | None = None, scheme: str = "ws") -> bool:
    """No Origin: not a browser (scripts, PHP), which must still authenticate. A browser: a configured origin
    (the WordPress site), or a page of this API itself (the handshake's own Host, if in ALLOWED_HOSTS, with the
    matching scheme). Whole origins are compared: scheme, host and port."""
    if not origin:
        return True
    presented = origin_tuple(origin)
    if presented is None:
        return False
    if presented in {origin_tuple(allowed) for allowed in settings.WS_ALLOWED_ORIGINS}:
        return True
    if not host:
        return False
    domain, _ = split_domain_port(host)
    page_scheme = PAGE_SCHEMES.get(scheme, scheme)
    return (
        bool(domain)
        and validate_host(domain, settings.ALLOWED_HOSTS)
        and (presented == origin_tuple(f"{page_scheme}://{host}"))
    )


def _token_auth(bearer: str):
    checksum = hashlib.sha256(bearer.encode()).hexdigest()
    token = get_access_token_model().objects.select_related("application").filter(token_checksum=checksum).first()
    if token is None or not token.is_valid():
        raise Refused(UNAUTHENTICATED, ErrorCode.INVALID_CREDENTIALS, "Invalid or expired bearer token.")
    return token


def _ticket_auth(ticket: str):
    principal = ws_ticket_redeem(ticket)
    if principal is None:
        raise Refused(UNAUTHENTICATED, ErrorCode.INVALID_TICKET, "Unknown, expired or already used ticket.")
    if principal["kind"] == "key":
        api_key = ApiKey.objects.filter(pk=principal["id"]).first()
        if api_key is None or api_key.revoked or api_key.has_expired:
            raise Refused(UNAUTHENTICATED, ErrorCode.INVALID_TICKET, "The key behind this ticket is no longer valid.")
        return api_key
    if principal["kind"] == "user":
        user = get_user_model().objects.filter(pk=principal["id"], is_active=True, is_staff=True).first()
        if user is None:
            raise Refused(UNAUTHENTICATED, ErrorCode.INVALID_TICKET, "The user behind this ticket is no longer staff.")
        return user
    token = get_access_token_model().objects.select_related("application").filter(pk=principal["id"]).first()
    if token is None or not token.is_valid():
        raise Refused(UNAUTHENTICATED, ErrorCode.INVALID_TICKET, "The token behind this ticket is no longer valid.")
    return token


def authenticate(headers: dict[str, str], query: dict[str, list[str]]):
    """The credential of a WebSocket handshake (ApiKey or AccessToken), or Refused."""
    try:
        plain = key_from_headers(headers.get("authorization"), headers.get("x-api-key"))
    except InvalidCredentials as error:
        raise Refused(UNAUTHENTICATED, ErrorCode.INVALID_CREDENTIALS, str(error.detail))
    if plain:
        try:
            return api_key_check(plain)
        except KeyRejected as rejected:
            raise Refused(UNAUTHENTICATED, error_code_of(REJECTIONS[rejected.reason].default_code), rejected.message)
    keyword, _, bearer = headers.get("authorization", "").partition(" ")
    if keyword.lower() == "bearer" and bearer.strip():
        return _token_auth(bearer.strip())
    ticket = (query.get("ticket") or [""])[0]
    if ticket:
        return _ticket_auth(ticket)
    raise Refused(
        UNAUTHENTICATED,
        ErrorCode.NOT_AUTHENTICATED,
        "Authentication required: send 'Authorization: Api-Key <key>', or use ?ticket= from POST /api/ws-ticket.",
    )


def _check(scope: dict, headers: dict[str, str]):
    if not origin_allowed(headers.get("origin"), host=headers.get("host"), scheme=scope.get("scheme", "ws")):
        raise Refused(None, ErrorCode.ORIGIN_NOT_ALLOWED, f"Origin {headers['origin'][:100]} is not allowed.")
    peer = (scope.get("client") or [None])[0]
    ip = client_ip(peer, headers.get("x-forwarded-for"))
    refusal = ip_refusal(ip)
    if refusal:
        raise Refused(None, *refusal)
    wait = rate_hit(bucket=f"ip:{ip}", rate=settings.THROTTLE_RATES["ip"])
    if wait is not None:
        raise Refused(THROTTLED, ErrorCode.THROTTLED, f"Too many requests from {ip}; retry in {wait} s.")
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    auth = authenticate(headers, query)
    if READ not in principal_scopes(auth):
        raise Refused(
            FORBIDDEN, ErrorCode.MISSING_SCOPE, f"This credential lacks the '{READ}' scope the updates stream needs."
        )
    return auth, ip


async def _refuse(receive, send, refused: Refused) -> None:
    message = await receive()
    if message.get("type") != "websocket.connect":
        return
    if refused.close_code is None:
        logger.info("websocket handshake refused: %s", refused.message)
        await send({"type": "websocket.close"})
        return
    await send({"type": "websocket.accept"})
    body = {"type": "error", "status": "error", "code": refused.code.value, "message": refused.message}
    await send({"type": "websocket.send", "text": json.dumps(body)})
    await send({"type": "websocket.close", "code": refused.close_code, "reason": refused.message[:120]})


_recent: dict[tuple[str, object], tuple[float, bool]] = {}  # many connections share one key: one query per key


def still_valid(auth) -> bool:
    memo_key = (type(auth).__name__, auth.pk)
    checked_at, valid = _recent.get(memo_key, (0.0, False))
    if time.monotonic() - checked_at < RECHECK_SECONDS / 2:
        return valid
    valid = _still_valid(auth)
    _recent[memo_key] = (time.monotonic(), valid)
    return valid


def _still_valid(auth) -> bool:
    if isinstance(auth, ApiKey):
        row = ApiKey.objects.filter(pk=auth.pk).values_list("revoked", "expiry_date").first()
        return row is not None and not row[0] and (row[1] is None or row[1] > timezone.now())
    if isinstance(auth, get_user_model()):
        return get_user_model().objects.filter(pk=auth.pk, is_active=True, is_staff=True).exists()
    token = get_access_token_model().objects.filter(pk=auth.pk).first()
    return token is not None and token.is_valid()


REVOKED_TEXT = "The credential of this connection was revoked or has expired."


class _Watch:
    """Every RECHECK_SECONDS, check the credential of each open connection again (one check per credential);
    once one is revoked or expired, tell its connections why and close them with 4401. One task per event loop
    for all connections, not one each: with thousands of connections a task, its timer and its frame each is
    memory that every full garbage collection walks. (The consumer's own `send` stays untouched: the realtime
    fan-out writes to daphne's socket directly when it can.)"""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.sends: dict[tuple[str, object], tuple[object, set]] = {}  # credential -> (auth, its connections' sends)
        self.task = loop.create_task(self._run(), name="ws-credential-watch")

    def add(self, auth, send) -> None:
        self.sends.setdefault(_credential(auth), (auth, set()))[1].add(send)

    def discard(self, auth, send) -> None:
        credential = _credential(auth)
        entry = self.sends.get(credential)
        if entry is not None:
            entry[1].discard(send)
            if not entry[1]:
                del self.sends[credential]

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(max(RECHECK_SECONDS, 0.05))
            for credential, (auth, sends) in list(self.sends.items()):
                try:
                    if await database_sync_to_async(still_valid)(auth):
                        continue
                except Exception:  # the database away for a moment: the next round checks again
                    logger.warning("could not re-check a WebSocket credential", exc_info=True)
                    continue
                self.sends.pop(credential, None)
                for send in list(sends):
                    await _close_revoked(send)


async def _close_revoked(send) -> None:
    body = {"type": "error", "status": "error", "code": ErrorCode.CREDENTIALS_REVOKED.value, "message": REVOKED_TEXT}
    try:
        await send({"type": "websocket.send", "text": json.dumps(body)})
        await send({"type": "websocket.close", "code": UNAUTHENTICATED, "reason": REVOKED_TEXT})
    except Exception:  # a connection that went away meanwhile: nothing left to close
        logger.debug("could not close a connection whose credential was revoked", exc_info=True)


_watches: dict[asyncio.AbstractEventLoop, _Watch] = {}


def _watch_start(auth, send) -> _Watch:
    loop = asyncio.get_running_loop()
    watch = _watches.get(loop)
    if watch is None or watch.task.done():
        for old in [other for other in _watches if other.is_closed()]:
            del _watches[old]
        watch = _watches[loop] = _Watch(loop)
    watch.add(auth, send)
    return watch


def _watch_stop(watch: _Watch, auth, send) -> None:
    watch.discard(auth, send)
    if not watch.sends:
        watch.task.cancel()
        if _watches.get(watch.loop) is watch:
            del _watches[watch.loop]


_open_connections: Counter = Counter()  # per credential, in this process (the event loop's thread only)


def _connection_refusal(auth) -> Refused | None:
    limit = settings.WS_MAX_CONNECTIONS_PER_KEY
    if _open_connections[_credential(auth)] >= limit:
        return Refused(
            THROTTLED,
            ErrorCode.WS_TOO_MANY_CONNECTIONS,
            f"This credential already has {limit} open connections (WS_MAX_CONNECTIONS_PER_KEY); close one first.",
        )
    return None


def _credential(auth) -> tuple[str, object]:
    return type(auth).__name__, auth.pk


def rate_limited_receive(receive, send, *, per_second: int):
    """`receive` for the consumer: more than `per_second` client messages within one second tells the client why,
    closes the connection with 4429 and hands the consumer a disconnect."""
    window = [0.0, 0]  # start of the current second, messages in it

    async def limited():
        message = await receive()
        if message.get("type") != "websocket.receive":
            return message
        now = time.monotonic()
        if now - window[0] >= 1.0:
            window[0], window[1] = now, 0
        window[1] += 1
        if window[1] <= per_second:
            return message
        text = f"More than {per_second} messages a second on one connection (WS_MAX_MESSAGES_PER_SECOND)."
        body = {"type": "error", "status": "error", "code": ErrorCode.WS_RATE_LIMITED.value, "message": text}
        await send({"type": "websocket.send", "text": json.dumps(body)})
        await send({"type": "websocket.close", "code": THROTTLED, "reason": text[:120]})
        return {"type": "websocket.disconnect", "code": THROTTLED}

    return limited


def _actor(auth) -> str:
    if isinstance(auth, ApiKey):
        return f"key:{auth.name}"
    if isinstance(auth, get_user_model()):
        return f"user:{auth.get_username()}"
    return f"oauth:{auth.application.name}"


class WebSocketAuthMiddleware:
    """Wrap the websocket router: `WebSocketAuthMiddleware(URLRouter([...]))`. The consumer finds the
    credential in scope["auth"], its actor name in scope["actor"], the client address in scope["client_ip"].
    It also caps open connections per credential and client messages a second per connection."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        headers = {name.decode("latin1").lower(): value.decode("latin1") for name, value in scope.get("headers", [])}
        try:
            auth, ip = await database_sync_to_async(_check)(scope, headers)
        except Refused as refused:
            return await _refuse(receive, send, refused)
        del headers  # this frame lives as long as the connection: keep no per-connection copy it no longer needs
        too_many = _connection_refusal(auth)
        if too_many is not None:
            return await _refuse(receive, send, too_many)
        actor = _actor(auth)
        # In place, not a copy: a copy would be one more dict for every open connection's lifetime.
        scope.update(auth=auth, actor=actor, client_ip=ip)
        credential = _credential(auth)
        _open_connections[credential] += 1
        watch = _watch_start(auth, send)
        limited = rate_limited_receive(receive, send, per_second=settings.WS_MAX_MESSAGES_PER_SECOND)
        try:
            return await self.inner(scope, limited, send)
        finally:
            _watch_stop(watch, auth, send)
            _open_connections[credential] -= 1
            if _open_connections[credential] <= 0:
                del _open_connections[credential]
