from rest_framework import serializers

from tradingrobot.serializer_fields import money_field, price_field, qty_field


class FillOut(serializers.Serializer):
    id = serializers.IntegerField()
    qty = qty_field()
    price = price_field()
    commission = money_field()
    realized_pl = money_field()
    executed_at = serializers.DateTimeField()


class OrderOut(serializers.Serializer):
    id = serializers.IntegerField()
    client_order_id = serializers.CharField()
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
    source = serializers.CharField()
    placed_by = serializers.CharField(allow_blank=True)
    strategy_id = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(source="created_at")
    updated_at = serializers.DateTimeField()
    filled_at = serializers.DateTimeField(allow_null=True)
    canceled_at = serializers.DateTimeField(allow_null=True)
    expired_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


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
    liquidation_orders = OrderOut(many=True)


class ResumeOut(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()
    trading_halted = serializers.BooleanField()
