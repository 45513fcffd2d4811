"""Which requests are audited, and what is recorded about them.

API views name their action next to their scope (`audit_action = "order_place"`, or a dict per method);
the trading admin's bulk actions are mapped below. Only authenticated attempts are recorded (whatever the
outcome, except 429), so a flood of bad keys cannot fill the table.
"""

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from tradingrobot.actors import actor_of

from .client_ip import request_client_ip
from .models import ApiKey, AuditEvent
from .services import audit_record

logger = logging.getLogger(__name__)

ADMIN_ACTIONS = {
    "halt_trading": AuditEvent.Action.TRADING_HALT,
    "resume_trading": AuditEvent.Action.TRADING_RESUME,
    "cancel_orders": AuditEvent.Action.ORDER_CANCEL,
}


def _view_action(request) -> str | None:
    match = getattr(request, "resolver_match", None)
    view_class = getattr(getattr(match, "func", None), "view_class", None)
    declared = getattr(view_class, "audit_action", None)
    if isinstance(declared, dict):
        return declared.get(request.method)
    return declared


def _target(kwargs: dict, data) -> str:
    order = data.get("order") if isinstance(data, dict) else None
    order_id = (order or {}).get("id") if isinstance(order, dict) else None
    order_id = order_id or kwargs.get("order_id")
    if "symbol" in kwargs:
        text = f"{kwargs['symbol']}/{kwargs.get('side', '')}"
        return f"{text} order:{order_id}" if order_id else text
    return f"order:{order_id}" if order_id else ""


def _api_event(request, response) -> dict | None:
    action = _view_action(request)
    auth = getattr(request, "auth", None)
    staff_session = auth is None and getattr(getattr(request, "user", None), "is_staff", False)  # the live page
    if action is None or (auth is None and not staff_session) or response.status_code == 429:
        return None
    data = getattr(response, "data", None)
    detail = {"method": request.method, "path": request.path}
    if isinstance(data, dict):
        detail.update({k: data[k] for k in ("code", "message", "canceled_orders") if k in data})
    return {
        "action": action,
        "actor": actor_of(request),
        "api_key": auth if isinstance(auth, ApiKey) else None,
        "target": _target(request.resolver_match.kwargs, data),
        "detail": detail,
    }


def _admin_event(request, response) -> dict | None:
    if request.method != "POST" or not request.path.startswith("/admin/"):
        return None
    action = ADMIN_ACTIONS.get(request.POST.get("action", ""))
    user = getattr(request, "user", None)
    if action is None or not getattr(user, "is_staff", False):
        return None
    assert user is not None  # None has no is_staff
    selected = request.POST.getlist("_selected_action")
    return {
        "action": action,
        "actor": f"admin:{user.get_username()}",
        "target": ",".join(selected)[:200],
        "detail": {"method": "POST", "path": request.path, "admin_action": request.POST["action"]},
    }


AUDITED = "_audit_in_transaction"  # set on a request whose audit row went into the operation's transaction


@contextlib.contextmanager
def audit_in_transaction(request) -> Iterator[Callable[[Any], None]]:
    """For a view that records its API audit row inside the transaction of the operation it audits (both commit
    or neither): call the yielded function with the response, inside that transaction, as its last step. The
    middleware then records nothing more for the request; when an error leaves the block (the transaction, with
    the row, rolled back), it records the request's final outcome as for any other request."""
    http_request = getattr(request, "_request", request)  # DRF's Request wraps Django's

    def record(response) -> None:
        event = _api_event(http_request, response)
        if event is None:
            return
        audit_record(ip=request_client_ip(http_request), outcome=response.status_code, batched=True, **event)
        setattr(http_request, AUDITED, True)

    try:
        yield record
    except BaseException:
        setattr(http_request, AUDITED, False)
        raise


def audit_request(request, response) -> None:
    if getattr(request, AUDITED, False):
        return
    event = _api_event(request, response) or _admin_event(request, response)
    if event is None:
        return
    try:
        audit_record(ip=request_client_ip(request), outcome=response.status_code, **event)
    except Exception:  # the operation already happened; a lost audit row must be loud, not a 500
        logger.exception("audit record failed for %s %s", request.method, request.path)
