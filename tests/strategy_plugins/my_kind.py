"""A custom strategy kind living outside the apps, loaded by dotted path from settings.STRATEGY_KINDS:

    STRATEGY_KINDS = ["tests.strategy_plugins.my_kind.CloseAboveEma"]

The README's "Strategies" section shows this file.
"""

from dataclasses import dataclass

from market import indicators
from trading.strategies import Context, Decision, Strategy, Target, bounded


class CloseAboveEma(Strategy):
    kind = "close_above_ema"
    description = "Long while the close is more than `margin` percent above its exponential moving average."

    @dataclass(frozen=True)
    class Params:
        period: int = bounded(20, low=2, high=200, help="bars in the EMA")
        margin: float = bounded(0.5, low=0.0, high=10.0, help="percent above the EMA needed to be long")

    def warmup_bars(self, params: Params) -> int:
        return indicators.warmup_bars("ema", params.period)

    def on_bar(self, context: Context) -> Decision:
        close = context.bars.close
        ema = float(indicators.ema(close, context.params.period)[-1])
        values = {"ema": ema, "close": float(close[-1])}
        if close[-1] > ema * (1 + context.params.margin / 100):
            return Decision(Target.LONG, "close above the EMA band", values)
        return Decision(Target.FLAT, "close not above the EMA band", values)
