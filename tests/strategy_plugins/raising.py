"""A kind whose code raises: the engine records `error` and goes on with the other strategies."""

from dataclasses import dataclass

from trading.strategies import Strategy


class Explodes(Strategy):
    kind = "explodes"

    @dataclass(frozen=True)
    class Params:
        pass

    def warmup_bars(self, params):
        return 1

    def on_bar(self, context):
        raise ZeroDivisionError("boom")
