"""Output shapes of the ledger (CONTRACTS.md section 2): Alpaca's names for positions."""

from rest_framework import serializers

from tradingrobot.serializer_fields import money_field, price_field, qty_field, ratio_field


class PositionOut(serializers.Serializer):
    symbol = serializers.CharField()
    qty = qty_field()
    side = serializers.CharField(default="long")
    avg_entry_price = price_field()
    current_price = price_field()
    market_value = money_field()
    cost_basis = money_field()
    unrealized_pl = money_field()
    unrealized_plpc = ratio_field()
    realized_pl = money_field()


class SymbolPriceOut(serializers.Serializer):
    symbol = serializers.CharField()
    price = price_field(allow_null=True)
    timestamp = serializers.DateTimeField(allow_null=True)
    age_seconds = serializers.FloatField(allow_null=True)
    stale = serializers.BooleanField()
    source = serializers.CharField(allow_null=True, required=False, help_text="wordpress, or a fallback source")  # type: ignore[assignment]  # the contract's "source" key; shadows Field.source
