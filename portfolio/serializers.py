"""Output shapes of the contract (CONTRACTS.md section 2): Alpaca's names for positions."""

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
