"""Writing records for WordPress into the outbox, inside the caller's transaction."""

from decimal import ROUND_HALF_EVEN, Decimal

from django.utils import timezone

from .models import Fill, Order, OutboxMessage


def strategy_id_default(ticker: str) -> str:
    """The site names one strategy per primary symbol: STRATEGY-TSLA."""
    return f"STRATEGY-{ticker}"


def _fixed(value: Decimal) -> str:
    """Numbers travel as strings with 4 decimals, as the site's own decimal(15,4) columns do."""
    return str(Decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


def trade_id_of(fill: Fill) -> str:
    return f"TRP-{fill.pk}"


def outbox_trade_add(*, fill: Fill, order: Order) -> OutboxMessage:
    """The fill in the /trades row shape. `execution_time` is turned into the site's local time on delivery."""
    now = timezone.now()
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
    return OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.TRADE, key=payload["trade_id"], payload=payload, next_attempt_at=now, created_at=now
    )
