"""The robot's own alerts, for an operator without Prometheus: the same conditions as `prometheus/alerts.yml`,
evaluated by a beat-scheduled task, told in the log and to an optional webhook (ALERT_WEBHOOK_URL).

Rate limits per alert: a firing alert is told once, then again every OPS_ALERT_REPEAT_SECONDS while it lasts;
a new firing within OPS_ALERT_MIN_INTERVAL_SECONDS of the previous message waits (a flapping condition sends at
most one firing/resolved pair per interval); once the condition clears, a recovery message follows. A message the
webhook did not accept is tried again on the next run.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import requests
from django.conf import settings

from integration.broker_mismatch import broker_mismatch_get
from market.clock import now
from market.selectors import price_quarantined_list
from trading.services import trading_state_get
from tradingrobot.locks import cache_lock
from tradingrobot.serializer_fields import iso_z

from . import selectors
from .metrics import ALERT_NOTIFICATIONS
from .models import AlertState

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Condition:
    name: str
    severity: str
    evaluate: Callable[[dt.datetime], str | None]  # the problem, or None when all is well


def _wordpress_down(at: dt.datetime) -> str | None:
    down = selectors.wordpress_feed_get().down(at=at)
    return f"WordPress feed down: {down}" if down else None


def _data_stale(at: dt.datetime) -> str | None:
    if not selectors.market_is_open(at=at):
        return None
    limit = settings.OPS_ALERT_STALE_SECONDS
    stale = [
        f"{r.ticker} ({'no price' if r.age_seconds is None else f'{r.age_seconds / 60:.0f} min old'})"
        for r in selectors.price_freshness_list(at=at)
        if r.age_seconds is None or r.age_seconds > limit
    ]
    if not stale:
        return None
    return f"prices older than {limit / 60:.0f} min while the market is open: {', '.join(stale)}"


def _error_rate(at: dt.datetime) -> str | None:
    window, threshold = settings.OPS_ALERT_ERRORS_WINDOW_SECONDS, settings.OPS_ALERT_ERRORS_THRESHOLD
    errors = selectors.errors_recent(at=at, seconds=window)
    if errors < threshold:
        return None
    return f"{errors} server errors (HTTP 5xx, failed tasks) in the last {window / 60:.0f} min (threshold {threshold})"


def _outbox_backlog(at: dt.datetime) -> str | None:
    backlog = selectors.outbox_backlog_get(at=at)
    problems = []
    if backlog.oldest_pending_age > settings.OPS_OUTBOX_MAX_AGE_SECONDS:
        problems.append(
            f"{backlog.pending} records wait for WordPress, the oldest for {backlog.oldest_pending_age / 60:.0f} min"
        )
    elif backlog.pending > settings.OPS_OUTBOX_MAX_PENDING:
        problems.append(f"{backlog.pending} records wait for WordPress")
    if backlog.failed:
        problems.append(f"{backlog.failed} records refused by WordPress (admin: retry)")
    return "; ".join(problems) or None


QUARANTINE_WINDOW = dt.timedelta(minutes=15)  # as TradingRobotPriceQuarantined's increase(...[15m])


def _price_quarantined(at: dt.datetime) -> str | None:
    held = price_quarantined_list(since=at - QUARANTINE_WINDOW)
    if not held:
        return None
    parts = [f"{q.ticker} {q.price} at {iso_z(q.timestamp)}" for q in held[:10]]
    return (
        f"prices outside the {settings.PRICE_BAND_PERCENT:g}% band quarantined (not used for fills or bars until the"
        f" next sample confirms them): {', '.join(parts)}"
    )


def _trading_halted(at: dt.datetime) -> str | None:
    state = trading_state_get()
    if not state.halted:
        return None
    return f"trading halted since {iso_z(state.changed_at)} by {state.changed_by or '?'}: {state.reason or 'no reason'}"


def _broker_mismatch(at: dt.datetime) -> str | None:
    problems = broker_mismatch_get()
    return f"ledger and Alpaca's account differ: {'; '.join(problems)}" if problems else None


CONDITIONS = [
    Condition("wordpress_down", "critical", _wordpress_down),
    Condition("data_stale", "critical", _data_stale),
    Condition("error_rate", "warning", _error_rate),
    Condition("outbox_backlog", "warning", _outbox_backlog),
    Condition("trading_halted", "warning", _trading_halted),
    Condition("price_quarantined", "warning", _price_quarantined),
    Condition("broker_mismatch", "critical", _broker_mismatch),
]


def webhook_send(document: dict) -> bool:
    """POST the message to ALERT_WEBHOOK_URL; True when accepted (or when no webhook is configured)."""
    url = settings.ALERT_WEBHOOK_URL
    if not url:
        return True
    try:
        response = requests.post(url, json=document, timeout=settings.OPS_ALERT_WEBHOOK_TIMEOUT_SECONDS)
    except requests.RequestException as error:
        logger.warning(
            "alert webhook unreachable (%s): %s will be tried again", type(error).__name__, document["alert"]
        )
        return False
    if response.status_code >= 300:
        logger.warning("alert webhook answered %s: %s will be tried again", response.status_code, document["alert"])
        return False
    return True


def _notify(condition: Condition, state: AlertState, kind: str, at: dt.datetime) -> bool:
    text = f"[{kind.upper()}] {condition.name}: {state.message}"
    if kind == "resolved":
        text = f"[RESOLVED] {condition.name}: back to normal (was: {state.message})"
    (logger.warning if kind == "firing" else logger.info)("ALERT %s", text, extra={"alert": condition.name})
    document = {
        "alert": condition.name,
        "state": kind,
        "severity": condition.severity,
        "message": state.message,
        "since": iso_z(state.since),
        "at": iso_z(at),
        "text": text,  # the field chat webhooks (Slack, Mattermost...) display
    }
    if not webhook_send(document):
        return False
    ALERT_NOTIFICATIONS.labels(condition.name, kind).inc()
    return True


def _evaluate(condition: Condition, at: dt.datetime) -> str | None:
    try:
        return condition.evaluate(at)
    except Exception as error:
        logger.warning("alert condition %s could not be evaluated", condition.name, exc_info=True)
        return f"could not be evaluated: {type(error).__name__}: {error}"


def alert_step(condition: Condition, at: dt.datetime) -> str | None:
    """Evaluate one condition and tell the operator if due. Returns 'firing'/'resolved' when a message went out."""
    problem = _evaluate(condition, at)
    state, _ = AlertState.objects.get_or_create(name=condition.name)
    sent = None
    last = state.notified_at
    if problem:
        if not state.firing:
            state.firing, state.since = True, at
        state.message = problem
        if state.notified_firing:
            due = last is None or (at - last).total_seconds() >= settings.OPS_ALERT_REPEAT_SECONDS
        else:
            due = last is None or (at - last).total_seconds() >= settings.OPS_ALERT_MIN_INTERVAL_SECONDS
        if due and _notify(condition, state, "firing", at):
            state.notified_at, state.notified_firing, sent = at, True, "firing"
    else:
        state.firing = False
        if state.notified_firing and _notify(condition, state, "resolved", at):
            state.notified_at, state.notified_firing, sent = at, False, "resolved"
        if not state.notified_firing:
            state.since, state.message = None, ""
    state.save()
    return sent


def alerts_dispatch() -> dict:
    """One round over every condition. One round at a time (a cache lock)."""
    with cache_lock("ops:alerts", ttl=300) as lock:
        if not lock.acquired:
            return {"skipped": "another alert round is running"}
        at = now()
        sent = {}
        for condition in CONDITIONS:
            outcome = alert_step(condition, at)
            if outcome:
                sent[condition.name] = outcome
        firing = list(AlertState.objects.filter(firing=True).values_list("name", flat=True))
        return {"firing": sorted(firing), "sent": sent}
