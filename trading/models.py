from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from portfolio.models import MONEY, QTY

PRICE: dict[str, Any] = {"max_digits": 18, "decimal_places": 4}


class TradingState(models.Model):
    """A single row: is trading halted, why, by whom, since when. Persisted, so a restart stays halted."""

    SINGLETON_ID = 1

    halted = models.BooleanField(default=False)
    reason = models.CharField(max_length=500, blank=True)
    changed_by = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    # This database's robot in the trade ids it pushes (trading/outbox.py), unless ROBOT_INSTANCE_ID names one.
    instance_id = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        verbose_name = "trading state"
        permissions = [("halt_trading", "Can halt trading"), ("resume_trading", "Can resume trading")]

    def __str__(self) -> str:
        return "HALTED" if self.halted else "trading"


class Order(models.Model):
    class Side(models.TextChoices):
        BUY = "buy"
        SELL = "sell"

    class Type(models.TextChoices):
        MARKET = "market"
        LIMIT = "limit"

    class TimeInForce(models.TextChoices):
        DAY = "day"
        GTC = "gtc"

    class Status(models.TextChoices):
        NEW = "new"
        ACCEPTED = "accepted"
        PARTIALLY_FILLED = "partially_filled"
        FILLED = "filled"
        CANCELED = "canceled"
        EXPIRED = "expired"
        REJECTED = "rejected"

    OPEN_STATUSES = (Status.NEW, Status.ACCEPTED, Status.PARTIALLY_FILLED)

    class Source(models.TextChoices):
        API = "api"
        ADMIN = "admin"
        TASK = "task"
        COMMAND = "command"
        LIQUIDATION = "liquidation"
        STRATEGY = "strategy"

    client_order_id = models.CharField(
        max_length=128, help_text="The idempotency key: unique per principal, never across principals."
    )
    principal = models.CharField(
        max_length=160,
        blank=True,
        help_text="Who placed it: key:<prefix>, oauth:<client>, user:<id>, strategy:<id>, command, liquidation...",
    )
    request_fingerprint = models.CharField(max_length=64, blank=True)
    account = models.ForeignKey("portfolio.Account", on_delete=models.PROTECT, related_name="orders")
    symbol = models.ForeignKey("market.Symbol", on_delete=models.PROTECT, related_name="orders")
    side = models.CharField(max_length=4, choices=Side.choices)
    qty = models.DecimalField(**QTY)
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.MARKET)
    limit_price = models.DecimalField(**PRICE, null=True, blank=True)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices, default=TimeInForce.DAY)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    filled_qty = models.DecimalField(**QTY, default=0)
    filled_avg_price = models.DecimalField(**PRICE, null=True, blank=True)
    reserve_price = models.DecimalField(
        **PRICE, null=True, blank=True, help_text="Price per share held back from cash while a buy order is open."
    )
    reject_code = models.CharField(max_length=40, blank=True)
    reject_reason = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.API)
    placed_by = models.CharField(max_length=150, blank=True)
    strategy_id = models.CharField(
        max_length=64, blank=True, help_text="Reported to WordPress; STRATEGY-<ticker> by default."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    filled_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    # At a remote broker (Alpaca): its order id, and the client_order_id it knows the order by (at most 48).
    broker_order_id = models.CharField(max_length=64, blank=True, db_index=True)
    broker_client_order_id = models.CharField(max_length=48, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("cancel_order", "Can cancel open orders"),
            ("cancel_any_order", "Can cancel any principal's orders, liquidation ones included"),
        ]
        indexes = [
            models.Index(fields=["status", "symbol"], name="order_status_symbol_idx"),
            models.Index(fields=["strategy_id"], name="order_strategy_idx"),  # a strategy's fills (performance)
            # Open orders are few among many: cash and shares held back are summed over them on every order.
            models.Index(
                fields=["account", "side", "symbol"],
                condition=Q(status__in=["new", "accepted", "partially_filled"]),
                name="order_open_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["principal", "client_order_id"], name="order_principal_client_order_id_uniq"
            ),
            models.CheckConstraint(condition=Q(qty__gt=0), name="order_qty_gt0"),
            models.CheckConstraint(condition=Q(filled_qty__gte=0), name="order_filled_qty_gte0"),
            models.CheckConstraint(
                condition=Q(type="market", limit_price__isnull=True) | Q(type="limit", limit_price__gt=0),
                name="order_limit_price_matches_type",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.side} {self.qty} {self.symbol_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Fill(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="fills")
    account = models.ForeignKey("portfolio.Account", on_delete=models.PROTECT, related_name="fills")
    symbol = models.ForeignKey("market.Symbol", on_delete=models.PROTECT, related_name="fills")
    side = models.CharField(max_length=4, choices=Order.Side.choices)
    qty = models.DecimalField(**QTY)
    price = models.DecimalField(**PRICE)
    commission = models.DecimalField(**MONEY, default=0)
    realized_pl = models.DecimalField(**MONEY, default=0, help_text="P&L realized by this fill, after commission.")
    executed_at = models.DateTimeField(db_index=True)
    # A remote broker's execution id: a trade update delivered twice books once.
    execution_id = models.CharField(max_length=80, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-executed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(qty__gt=0), name="fill_qty_gt0"),
            models.CheckConstraint(condition=Q(price__gt=0), name="fill_price_gt0"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.qty} {self.symbol_id} @ {self.price}"


class OutboxMessage(models.Model):
    """A record for WordPress, written in the same transaction as what it reports (a transactional outbox).
    Delivered in order by `integration.pushback`; `key` (the trade_id) makes a repeated send harmless."""

    class Kind(models.TextChoices):
        TRADE = "trade"
        PERFORMANCE = "performance"
        STRATEGIES = "strategies", "strategies (the list, built when delivered)"

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed", "failed (refused by WordPress)"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    key = models.CharField(max_length=120, unique=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_attempt_at", "id"], name="outbox_due_idx")]
        permissions = [("retry_outboxmessage", "Can send outbox records again")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.status})"


STRATEGY_ID_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9_.:-]{1,64}$", "A strategy id is 1 to 64 letters, digits or _ . : -, like STRATEGY-TSLA."
)


class Strategy(models.Model):
    """A strategy as data: which kind runs it on which symbol and timeframe, its params, sizing and limits.
    Written only by trading/engine/services.py. Disabled until someone enables it."""

    class Timeframe(models.TextChoices):
        MIN5 = "5Min"
        MIN15 = "15Min"
        HOUR1 = "1Hour"
        DAY1 = "1Day"

    class Sizing(models.TextChoices):
        FIXED_QTY = "fixed_qty", "fixed quantity (shares)"
        FIXED_NOTIONAL = "fixed_notional", "fixed notional (USD, floored to whole shares)"
        PCT_EQUITY = "pct_equity", "percent of equity"

    class Mode(models.TextChoices):
        LIVE = "live", "live (places paper orders)"
        SIGNAL = "signal", "signal (decides and records only)"

    strategy_id = models.CharField(max_length=64, unique=True, validators=[STRATEGY_ID_VALIDATOR])
    kind = models.CharField(max_length=40)
    symbol = models.ForeignKey("market.Symbol", on_delete=models.PROTECT, related_name="strategies")
    timeframe = models.CharField(max_length=5, choices=Timeframe.choices, default=Timeframe.MIN5)
    params = models.JSONField(default=dict, blank=True, help_text="Validated by the kind's Params schema.")
    sizing = models.CharField(max_length=16, choices=Sizing.choices, default=Sizing.FIXED_QTY)
    sizing_value = models.DecimalField(**QTY, default=1, help_text="Shares, USD, or percent, per `sizing`.")
    max_position_qty = models.DecimalField(**QTY, null=True, blank=True)
    max_position_notional = models.DecimalField(**MONEY, null=True, blank=True)
    max_daily_loss = models.DecimalField(**MONEY, null=True, blank=True, help_text="Realized loss today, USD.")
    cooldown_bars = models.PositiveIntegerField(default=0, help_text="Bars to sit out after a losing exit.")
    enabled = models.BooleanField(default=False)
    mode = models.CharField(max_length=6, choices=Mode.choices, default=Mode.LIVE)
    site_status = models.CharField(max_length=32, blank=True, help_text="The status GET /strategies reports.")
    loss_exit_at = models.DateTimeField(
        null=True, blank=True, help_text="When its last losing exit filled (that fill's executed_at)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["strategy_id"]
        verbose_name_plural = "strategies"
        indexes = [models.Index(fields=["symbol", "timeframe", "enabled"], name="strategy_bar_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(sizing_value__gt=0), name="strategy_sizing_value_gt0"),
            models.CheckConstraint(
                condition=Q(timeframe__in=["5Min", "15Min", "1Hour", "1Day"]), name="strategy_timeframe_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.strategy_id


class StrategyDecision(models.Model):
    """What a strategy decided on one closed bar, and why. One row per (strategy, bar end): a bar delivered
    twice finds its row and decides nothing again. Written only by trading/engine/."""

    class Outcome(models.TextChoices):
        BUY = "buy"
        SELL = "sell"
        HOLD = "hold"
        SKIP = "skip"
        ERROR = "error"

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="decisions")
    bar_end = models.DateTimeField()
    decided_at = models.DateTimeField()
    target = models.CharField(max_length=5, blank=True, help_text="long or flat; empty when not decided.")
    position_qty = models.DecimalField(**QTY, default=0, help_text="The strategy's own position before.")
    indicators = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=5, choices=Outcome.choices)
    reason = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=500, blank=True)
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-bar_end", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "bar_end"], name="strategydecision_strategy_bar_uniq")
        ]
        indexes = [models.Index(fields=["strategy", "outcome", "-bar_end"], name="decision_outcome_idx")]

    def __str__(self) -> str:
        return f"{self.strategy_id} {self.bar_end:%Y-%m-%d %H:%M} {self.outcome} {self.reason}"
