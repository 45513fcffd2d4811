from django.apps import AppConfig


class BacktestConfig(AppConfig):
    name = "trading.backtest"
    label = "backtest"
    verbose_name = "Backtests"
