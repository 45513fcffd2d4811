"""Input and output shapes of /api/strategies (one class per direction, so the API does not follow the models)."""

from typing import TypedDict

from rest_framework import serializers

from tradingrobot.serializer_fields import money_field, qty_field

from .models import Strategy, StrategyDecision


class _Digits(TypedDict):
    max_digits: int
    decimal_places: int


LIMIT_DIGITS: _Digits = {"max_digits": 14, "decimal_places": 4}  # at most 1,000,000,000 with 4 places


class StrictBooleanField(serializers.BooleanField):
    """Only JSON true/false: "yes", 1 or "on" are a 400, not a guess."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrategyPatchIn(serializers.Serializer):
    """PATCH /api/strategies/{id}: any subset; unknown fields are refused. `params` is checked by the kind's
    schema (its bounds), sizing against the account, after these types."""

    enabled = StrictBooleanField(required=False)
    mode = serializers.ChoiceField(choices=Strategy.Mode.values, required=False)
    kind = serializers.CharField(required=False, max_length=40)
    timeframe = serializers.CharField(required=False, max_length=10)
    params = serializers.DictField(required=False, allow_empty=True)
    sizing = serializers.ChoiceField(choices=Strategy.Sizing.values, required=False)
    sizing_value = serializers.DecimalField(required=False, **LIMIT_DIGITS)
    max_position_qty = serializers.DecimalField(required=False, allow_null=True, **LIMIT_DIGITS)
    max_position_notional = serializers.DecimalField(required=False, allow_null=True, **LIMIT_DIGITS)
    max_daily_loss = serializers.DecimalField(required=False, allow_null=True, **LIMIT_DIGITS)
    cooldown_bars = serializers.IntegerField(required=False, min_value=0, max_value=10_000)

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {name: [f"Unknown field; send only {', '.join(self.fields)}."] for name in unknown[:10]}
            )
        if not attrs:
            raise serializers.ValidationError(f"Send at least one of {', '.join(self.fields)}.")
        return attrs


class DecisionOut(serializers.Serializer):
    id = serializers.IntegerField()
    bar_end = serializers.DateTimeField()
    decided_at = serializers.DateTimeField()
    outcome = serializers.ChoiceField(choices=StrategyDecision.Outcome.values)
    reason = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)
    target = serializers.CharField(allow_blank=True)
    position_qty = qty_field()
    indicators = serializers.DictField(child=serializers.FloatField(allow_null=True))
    order_id = serializers.IntegerField(allow_null=True)


class StrategyOut(serializers.Serializer):
    strategy_id = serializers.CharField()
    symbol = serializers.CharField(source="symbol.ticker")
    kind = serializers.CharField()
    timeframe = serializers.CharField()
    params = serializers.DictField()
    sizing = serializers.CharField()
    sizing_value = qty_field()
    max_position_qty = qty_field(allow_null=True)
    max_position_notional = money_field(allow_null=True)
    max_daily_loss = money_field(allow_null=True)
    cooldown_bars = serializers.IntegerField()
    enabled = serializers.BooleanField()
    mode = serializers.CharField()
    site_status = serializers.CharField(allow_blank=True, help_text="What the site's GET /strategies says.")
    last_decision = DecisionOut(allow_null=True)
    updated_at = serializers.DateTimeField()


class StrategyListOut(serializers.Serializer):
    strategies = StrategyOut(many=True)
    total = serializers.IntegerField()


class DecisionListOut(serializers.Serializer):
    strategy_id = serializers.CharField()
    decisions = DecisionOut(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
