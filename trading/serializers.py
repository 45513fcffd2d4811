from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portfolio.serializers import PositionOut, SymbolPriceOut
from tradingrobot.serializer_fields import money_field, price_field, qty_field


class FillOut(serializers.Serializer):
    id = serializers.IntegerField()
    qty = qty_field()
    price = price_field()
    commission = money_field()
    realized_pl = money_field()
    executed_at = serializers.DateTimeField()


class OrderOut(serializers.Serializer):
    """`client_order_id` only for the order's own principal or an admin (context `viewer`), else null."""

    id = serializers.IntegerField()
    client_order_id = serializers.SerializerMethodField()
    symbol = serializers.CharField(source="symbol.ticker")
    side = serializers.CharField()
    qty = qty_field()
    type = serializers.CharField()
    limit_price = price_field(allow_null=True)
    time_in_force = serializers.CharField()
    status = serializers.CharField()
    filled_qty = qty_field()
    filled_avg_price = price_field(allow_null=True)
    reject_code = serializers.CharField(allow_blank=True)
    reject_reason = serializers.CharField(allow_blank=True)
    source = serializers.CharField()  # type: ignore[assignment]  # the contract's "source" key; shadows Field.source
    placed_by = serializers.CharField(allow_blank=True)
    strategy_id = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(source="created_at")
    updated_at = serializers.DateTimeField()
    filled_at = serializers.DateTimeField(allow_null=True)
    canceled_at = serializers.DateTimeField(allow_null=True)
    expired_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_client_order_id(self, order) -> str | None:
        return _client_order_id(order, self.context.get("viewer"))


def _client_order_id(order, viewer) -> str | None:
    return order.client_order_id if viewer is not None and viewer.owns(order) else None


_order_out: OrderOut | None = None  # one per process: its bound fields are built once, not per order


def order_out_data(order, viewer) -> dict:
    """`OrderOut(order, context={"viewer": viewer}).data` without building the serializer's fields per call."""
    global _order_out
    if _order_out is None:
        _order_out = OrderOut(context={})
    data = _order_out.to_representation(order)
    data["client_order_id"] = _client_order_id(order, viewer)
    return data


class OrderDetailOut(OrderOut):
    fills = FillOut(many=True)


class TradeIn(serializers.Serializer):
    """Documented body of POST /api/trade/{symbol}/{side}; every field may also come in the query string."""

    quantity = serializers.DecimalField(max_digits=18, decimal_places=4, required=False)
    type = serializers.ChoiceField(choices=["market", "limit"], required=False)
    limit_price = serializers.DecimalField(max_digits=18, decimal_places=4, required=False)
    time_in_force = serializers.ChoiceField(choices=["day", "gtc"], required=False)
    client_order_id = serializers.CharField(required=False, max_length=128)
    strategy_id = serializers.CharField(required=False, max_length=64)


class TradeOut(serializers.Serializer):
    status = serializers.CharField()
    order = OrderOut()


class TradeRejectedOut(serializers.Serializer):
    status = serializers.CharField(default="error")
    code = serializers.CharField()
    message = serializers.CharField()
    order = OrderOut()


class OrderListOut(serializers.Serializer):
    orders = OrderOut(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class StopIn(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
    liquidate = serializers.BooleanField(required=False, default=False)


class StopOut(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()
    trading_halted = serializers.BooleanField()
    canceled_orders = serializers.IntegerField()
    liquidation = serializers.ChoiceField(choices=["none", "filled", "resting", "incomplete"])
    liquidation_detail = serializers.CharField()
    liquidation_orders = OrderOut(many=True)


class ResumeOut(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()
    trading_halted = serializers.BooleanField()


# --- the account documents: /api/status, /api/portfolio, /api/performance ---


class StatusMarketDataOut(serializers.Serializer):
    source = serializers.CharField(  # type: ignore[assignment]  # the contract's "source" key; shadows Field.source
        allow_null=True, help_text="Where the newest prices come from: wordpress, or the fallback feeding them now"
    )


class StatusOut(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    market_open = serializers.BooleanField()
    next_open = serializers.DateTimeField(allow_null=True)
    next_close = serializers.DateTimeField(allow_null=True)
    portfolio_value = money_field()
    cash_balance = money_field()
    positions = PositionOut(many=True)
    total_positions = serializers.IntegerField()
    trading_halted = serializers.BooleanField()
    halt_reason = serializers.CharField(allow_blank=True)
    halted_by = serializers.CharField(allow_blank=True)
    halted_since = serializers.DateTimeField(allow_null=True)
    prices = SymbolPriceOut(many=True)
    market_data = StatusMarketDataOut(required=False)


class AccountOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    currency = serializers.CharField(default="USD")
    status = serializers.CharField(default="ACTIVE")
    trading_blocked = serializers.BooleanField()
    cash = money_field()
    buying_power = money_field()
    portfolio_value = money_field()
    equity = money_field()
    long_market_value = money_field()
    starting_cash = money_field()
    unrealized_pl = money_field()
    realized_pl = money_field()


class PortfolioOut(serializers.Serializer):
    positions = PositionOut(many=True)
    account = AccountOut()
    total_positions = serializers.IntegerField()


class MetricsOut(serializers.Serializer):
    total_pnl = serializers.FloatField()
    realized_pnl = serializers.FloatField()
    unrealized_pnl = serializers.FloatField()
    daily_pnl = serializers.FloatField()
    monthly_pnl = serializers.FloatField()
    total_trades = serializers.IntegerField()
    winning_trades = serializers.IntegerField()
    losing_trades = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True)
    avg_return = serializers.FloatField(allow_null=True)
    profit_factor = serializers.FloatField(allow_null=True)
    max_drawdown = serializers.FloatField()
    sharpe_ratio = serializers.FloatField(allow_null=True)
    roi = serializers.FloatField()


class PeriodOut(serializers.Serializer):
    start_date = serializers.DateTimeField()
    end_date = serializers.DateTimeField()


class StrategyPerformanceOut(serializers.Serializer):
    strategy_id = serializers.CharField()
    metrics = MetricsOut()


class PerformanceOut(serializers.Serializer):
    strategy_id = serializers.CharField()
    period = PeriodOut()
    metrics = MetricsOut()
    strategies = StrategyPerformanceOut(many=True, required=False)
    timestamp = serializers.DateTimeField()
