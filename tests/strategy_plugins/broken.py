"""Things STRATEGY_KINDS must refuse with a clear message."""

from dataclasses import dataclass

from trading.strategies import Decision, Strategy, Target


class TakesABuiltinName(Strategy):
    kind = "sma_crossover"

    @dataclass(frozen=True)
    class Params:
        pass

    def warmup_bars(self, params):
        return 1

    def on_bar(self, context):
        return Decision(Target.FLAT, "never")


class NoOnBar(Strategy):
    kind = "no_on_bar"

    @dataclass(frozen=True)
    class Params:
        pass

    def warmup_bars(self, params):
        return 1


class MutableParams:
    kind = "mutable_params"

    @dataclass
    class Params:
        period: int = 3

    def warmup_bars(self, params):
        return 1

    def on_bar(self, context):
        return Decision(Target.FLAT, "never")


NOT_A_CLASS = 42
