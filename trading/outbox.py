"""The outbox of records for WordPress: the one module that writes `OutboxMessage`.

Records are added inside the transaction of what they report (a fill, a performance run); the deliverer
(`integration.pushback`) claims them, posts them and settles each through the functions below; the admin's
"send again" queues them again. Nothing else writes the table.
"""

import datetime as dt
import secrets
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tradingrobot.ops import metrics
from tradingrobot.write_batch import batching, row_insert

from .models import Fill, Order, OutboxMessage, TradingState

Outcome = Literal["delivered", "deferred", "failed"]


def strategy_id_default(ticker: str) -> str:
    """The site names one strategy per primary symbol: STRATEGY-TSLA."""
    return f"STRATEGY-{ticker}"


def _fixed(value: Decimal) -> str:
    """Numbers travel as strings with 4 decimals, as the site's own decimal(15,4) columns do."""
    return str(Decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


_instance_id: str | None = None  # per process: a process talks to one database


def robot_instance_id() -> str:
    """ROBOT_INSTANCE_ID, else this database's own random id (written by migration 0008, or here the first time
    when the state row was made later), so two robot databases never push the same trade_id to one site."""
    global _instance_id
    if settings.ROBOT_INSTANCE_ID:
        return settings.ROBOT_INSTANCE_ID
    if _instance_id is None:
        state, _ = TradingState.objects.get_or_create(pk=TradingState.SINGLETON_ID)
        if not state.instance_id:
            TradingState.objects.filter(pk=state.pk, instance_id="").update(instance_id=secrets.token_hex(4))
            state.refresh_from_db(fields=["instance_id"])
        _instance_id = state.instance_id
    return _instance_id


def trade_id_of(fill: Fill) -> str:
    """TRP-<instance>-<fill id>: at most 40 characters of the receiver's [A-Za-z0-9_.:-]{1,64}."""
    return f"TRP-{robot_instance_id()}-{fill.pk}"


# --- adding ---------------------------------------------------------------------------------------------


def _trade_message(fill: Fill, order: Order, now: dt.datetime) -> OutboxMessage:
    payload = {
        "trade_id": trade_id_of(fill),
        "strategy_id": order.strategy_id or strategy_id_default(order.symbol.ticker),
        "symbol": order.symbol.ticker,
        "side": fill.side.upper(),
        "quantity": _fixed(fill.qty),
        "price": _fixed(fill.price),
        "pnl": _fixed(fill.realized_pl),
        "execution_time_utc": fill.executed_at.isoformat(),
    }
    return OutboxMessage(
        kind=OutboxMessage.Kind.TRADE, key=payload["trade_id"], payload=payload, next_attempt_at=now, created_at=now
    )


def outbox_trade_add(*, fill: Fill, order: Order) -> OutboxMessage:
    """The fill in the /trades row shape. `execution_time` is turned into the site's local time on delivery.
    In the open write batch when there is one (tradingrobot/write_batch.py): its id is then not known."""
    message = _trade_message(fill, order, timezone.now())
    if batching():
        row_insert(message)
    else:
        message.save()
    return message


def outbox_trades_add(*, fills: list[Fill]) -> list[OutboxMessage]:
    """Several fills (saved, each with its order) in one statement, in fill order."""
    now = timezone.now()
    return OutboxMessage.objects.bulk_create([_trade_message(fill, fill.order, now) for fill in fills])


def outbox_performance_add(*, documents: list[dict], at: dt.datetime) -> int:
    """Metrics documents (`strategy_id` in each), keyed by strategy and instant: adding the same run twice
    adds nothing. Returns the number of documents."""
    with transaction.atomic():
        for document in documents:
            OutboxMessage.objects.get_or_create(
                key=f"performance:{document['strategy_id']}:{at.isoformat()}",
                defaults={
                    "kind": OutboxMessage.Kind.PERFORMANCE,
                    "payload": document,
                    "next_attempt_at": at,
                    "created_at": at,
                },
            )
    return len(documents)


def outbox_strategies_add(*, key: str, reason: str) -> bool:
    """A mark that the strategy list changed. The deliverer sends the list as it is when it goes out (one
    document replaces the site's whole list, so a later state never loses to an earlier one); the same `key`
    (one bar's decisions) marks once. Returns whether the mark is new."""
    now = timezone.now()
    _, created = OutboxMessage.objects.get_or_create(
        key=key[:120],
        defaults={
            "kind": OutboxMessage.Kind.STRATEGIES,
            "payload": {"reason": reason[:500]},
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    return created


# --- delivering -----------------------------------------------------------------------------------------


def outbox_claim(*, limit: int, lease: dt.timedelta) -> list[OutboxMessage]:
    """The due prefix of the pending records in id order, leased to the caller: one still waiting for its
    backoff (or claimed by a deliverer that may still be running) holds back every record after it, so none
    overtakes it. A deliverer that dies leaves a lease that expires, and the record goes out again."""
    now = timezone.now()
    with transaction.atomic():
        pending = OutboxMessage.objects.select_for_update().filter(status=OutboxMessage.Status.PENDING)
        due = []
        for message in pending.order_by("id")[:limit]:
            if message.next_attempt_at > now or (message.claimed_until and message.claimed_until > now):
                break
            due.append(message)
        OutboxMessage.objects.filter(pk__in=[m.pk for m in due]).update(claimed_until=now + lease)
    return due


def outbox_release(*, messages: list[OutboxMessage]) -> None:
    """Give claimed records back untried: they keep their turn for the next run."""
    OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).update(claimed_until=None)


def outbox_settle(
    *, message: OutboxMessage, outcome: Outcome, error: str = "", retry_at: dt.datetime | None = None
) -> None:
    """Record one delivery attempt: delivered, deferred until `retry_at`, or failed (refused for good).
    Counted in `tradingrobot_outbox_deliveries_total{kind, outcome}`."""
    message.attempts += 1
    message.claimed_until = None
    if outcome == "delivered":
        message.status = OutboxMessage.Status.DELIVERED
        message.delivered_at = timezone.now()
        message.last_error = ""
    elif outcome == "deferred":
        if retry_at is None:
            raise ValueError("a deferred record needs retry_at")
        message.next_attempt_at = retry_at
    else:
        message.status = OutboxMessage.Status.FAILED
    if error:
        message.last_error = error[:500]
    message.save(update_fields=["attempts", "claimed_until", "status", "delivered_at", "last_error", "next_attempt_at"])
    metrics.pushback_attempt(message.kind, outcome)


def outbox_retry(*, ids: list[int]) -> int:
    """Queue failed (or waiting) records again now: the admin's "send again". Returns how many."""
    return (
        OutboxMessage.objects.filter(pk__in=ids)
        .exclude(status=OutboxMessage.Status.DELIVERED)
        .update(status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now(), claimed_until=None)
    )
