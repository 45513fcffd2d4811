"""API keys, WebSocket tickets and the audit log. Keys are created and revoked only here."""

import datetime as dt
import hashlib
import secrets
from typing import cast

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import DomainError, InvalidInput
from tradingrobot.snapshot_cache import CACHE_DOWN
from tradingrobot.write_batch import row_insert

from .models import ApiKey, AuditEvent
from .scopes import ALL

WS_TICKET_SECONDS = 30


def audit_record(
    *,
    action: str,
    actor: str,
    ip: str | None = None,
    api_key: ApiKey | None = None,
    target: str = "",
    outcome: int | None = None,
    detail: dict | None = None,
    batched: bool = False,
) -> AuditEvent:
    """Write one audit row. `batched`: in the open write batch (tradingrobot/write_batch.py: it goes out with the
    trade's other writes, in its transaction), else at once; a batched row's id is not known."""
    event = AuditEvent(
        action=action,
        actor=actor[:200],
        ip=ip,
        api_key=api_key,
        key_prefix=api_key.prefix if api_key else "",
        target=target[:200],
        outcome=outcome,
        detail=detail or {},
    )
    if batched:
        row_insert(event)
    else:
        event.save(force_insert=True)
    return event


def scopes_parse(text: str) -> list[str]:
    """'read,trade' or 'read trade' -> ['read', 'trade'] in canonical order; unknown names are an error."""
    names = {part.strip().lower() for part in text.replace(",", " ").split() if part.strip()}
    unknown = sorted(names - set(ALL))
    if unknown:
        raise InvalidInput(
            f"Unknown scope(s) {', '.join(unknown)}; use {', '.join(ALL)}.", code=ErrorCode.INVALID_SCOPE
        )
    if not names:
        raise InvalidInput(f"Give at least one scope: {', '.join(ALL)}.", code=ErrorCode.INVALID_SCOPE)
    return [name for name in ALL if name in names]


def api_key_create(
    *,
    name: str,
    scopes: str | list[str],
    created_by: str,
    expires_at: dt.datetime | None = None,
    ip: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it with the plain key, which is not stored and cannot be shown again."""
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise InvalidInput("A key needs a name of 1 to 50 characters.", code=ErrorCode.INVALID_NAME)
    scope_list = scopes_parse(scopes if isinstance(scopes, str) else " ".join(scopes))
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry must be in the future.", code=ErrorCode.INVALID_EXPIRY)
    with transaction.atomic():
        created, plain = ApiKey.objects.create_key(
            name=name, scopes=" ".join(scope_list), expiry_date=expires_at, created_by=created_by[:150]
        )
        api_key = cast(ApiKey, created)  # the stub types the manager's key as the abstract base
        audit_record(
            action=AuditEvent.Action.KEY_CREATE,
            actor=created_by,
            ip=ip,
            api_key=api_key,
            target=f"key:{api_key.label}",
            detail={"scopes": scope_list, "expires_at": expires_at.isoformat() if expires_at else None},
        )
    return api_key, plain


def api_key_revoke(*, api_key: ApiKey, revoked_by: str, ip: str | None = None) -> ApiKey:
    """Revoke for good (idempotent): the key stops working on its next request."""
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if api_key.revoked:
            return api_key
        api_key.revoked = True
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked", "revoked_at"])
        audit_record(
            action=AuditEvent.Action.KEY_REVOKE,
            actor=revoked_by,
            ip=ip,
            api_key=api_key,
            target=f"key:{api_key.label}",
        )
    return api_key


# --- WebSocket tickets ----------------------------------------------------------------
# A browser cannot set headers on a WebSocket, so it trades its credential for a ticket that lives
# WS_TICKET_SECONDS and works once; long-lived keys never appear in URLs or access logs.


def _ticket_cache_key(ticket: str) -> str:
    return "ws-ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


def ws_ticket_issue(*, principal: dict) -> str:
    """`principal` names the credential: {"kind": "key", "id": ...} or {"kind": "oauth", "id": ...}."""
    ticket = secrets.token_urlsafe(32)
    try:
        cache.set(_ticket_cache_key(ticket), principal, timeout=WS_TICKET_SECONDS)
    except CACHE_DOWN as error:
        raise DomainError(
            "WebSocket tickets live in the cache, which is unreachable just now; retry shortly, or connect with"
            " the 'X-API-Key' header.",
            code=ErrorCode.TICKETS_UNAVAILABLE,
        ) from error
    return ticket


def ws_ticket_redeem(ticket: str) -> dict | None:
    """The principal of a live ticket, once; None for an unknown, expired or already used ticket."""
    if not ticket or len(ticket) > 100:
        return None
    key = _ticket_cache_key(ticket)
    try:
        principal = cache.get(key)
        if principal is None or not cache.delete(key):  # delete wins once, even under races
            return None
    except CACHE_DOWN:  # no ticket can be checked (nor have been issued) while the cache is down
        return None
    return principal
