"""The built-in kinds. Each `on_bar` is the rule; each `decide_all` computes the same decisions for a whole
series at once (indicators vectorized once), which is what backtests use. Tests prove the two agree."""

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from market import indicators as ind

from .base import Bars, Context, Decision, Strategy, Target
from .params import bounded


def _held(position: Decimal) -> Target:
    return Target.LONG if position > 0 else Target.FLAT


def _enter_exit_targets(enter: np.ndarray, leave: np.ndarray, position: Decimal) -> np.ndarray:
    """True where long: the last of enter/leave seen so far wins; before any, the starting position."""
    signal = np.where(enter, 1, np.where(leave, -1, 0))
    seen = np.where(signal != 0, np.arange(len(signal)), -1)
    last = np.maximum.accumulate(seen) if len(seen) else seen
    return np.where(last >= 0, signal[np.maximum(last, 0)] == 1, position > 0)


class SmaCrossover(Strategy):
    kind = "sma_crossover"
    description = "Long while the fast simple moving average of closes is above the slow one, flat otherwise."

    @dataclass(frozen=True)
    class Params:
        fast: int = bounded(10, low=2, high=500, help="bars in the fast average")
        slow: int = bounded(30, low=3, high=1000, help="bars in the slow average")

        def check(self) -> dict[str, str]:
            return {"fast": "must be less than slow"} if self.fast >= self.slow else {}

    def warmup_bars(self, params: Params) -> int:
        return params.slow

    @staticmethod
    def _decide(fast: float, slow: float, close: float) -> Decision:
        values = {"sma_fast": fast, "sma_slow": slow, "close": close}
        if fast > slow:
            return Decision(Target.LONG, "fast SMA above slow SMA", values)
        return Decision(Target.FLAT, "fast SMA at or below slow SMA", values)

    def on_bar(self, context: Context) -> Decision:
        p, close = context.params, context.bars.close
        fast = ind.sma(close[-p.fast :], p.fast)[-1]
        slow = ind.sma(close[-p.slow :], p.slow)[-1]
        return self._decide(float(fast), float(slow), float(close[-1]))

    def decide_all(self, bars: Bars, params: Params, position: Decimal) -> list[Decision]:
        start = params.slow - 1
        fast = ind.sma(bars.close, params.fast)[start:].tolist()
        slow = ind.sma(bars.close, params.slow)[start:].tolist()
        close = bars.close[start:].tolist()
        return [self._decide(f, s, c) for f, s, c in zip(fast, slow, close, strict=True)]


class RsiReversion(Strategy):
    kind = "rsi_reversion"
    description = "Buys when Wilder's RSI falls below `lower`, sells when it rises above `upper`, holds between."

    @dataclass(frozen=True)
    class Params:
        period: int = bounded(14, low=2, high=100, help="bars in the RSI")
        lower: float = bounded(30.0, low=1.0, high=50.0, help="oversold level: go long below it")
        upper: float = bounded(70.0, low=50.0, high=99.0, help="overbought level: go flat above it")

        def check(self) -> dict[str, str]:
            return {"lower": "must be less than upper"} if self.lower >= self.upper else {}

    def warmup_bars(self, params: Params) -> int:
        return ind.warmup_bars("rsi", params.period)

    @staticmethod
    def _decide(rsi: float, close: float, params: Params, held: Target) -> Decision:
        values = {"rsi": rsi, "close": close}
        if rsi < params.lower:
            return Decision(Target.LONG, "RSI below lower: oversold", values)
        if rsi > params.upper:
            return Decision(Target.FLAT, "RSI above upper: overbought", values)
        return Decision(held, f"RSI between lower and upper: stay {held}", values)

    def on_bar(self, context: Context) -> Decision:
        # The whole window: RSI is recursive, so its last value depends (below 1e-9 after warm-up) on the start.
        close = context.bars.close
        rsi = float(ind.rsi(close, context.params.period)[-1])
        return self._decide(rsi, float(close[-1]), context.params, _held(context.position))

    def decide_all(self, bars: Bars, params: Params, position: Decimal) -> list[Decision]:
        start = self.warmup_bars(params) - 1
        rsi = ind.rsi(bars.close, params.period)[start:]
        long = _enter_exit_targets(rsi < params.lower, rsi > params.upper, position)
        held = np.concatenate(([position > 0], long[:-1]))
        closes = bars.close[start:].tolist()
        return [
            self._decide(r, c, params, Target.LONG if h else Target.FLAT)
            for r, c, h in zip(rsi.tolist(), closes, held.tolist(), strict=True)
        ]


class DonchianBreakout(Strategy):
    kind = "donchian_breakout"
    description = (
        "Buys when the close breaks above the highest high of the previous `entry` bars, sells when it breaks "
        "below the lowest low of the previous `exit` bars, holds otherwise."
    )

    @dataclass(frozen=True)
    class Params:
        entry: int = bounded(20, low=2, high=500, help="bars whose highest high a close must beat to go long")
        exit: int = bounded(10, low=2, high=500, help="bars whose lowest low a close must break to go flat")

    def warmup_bars(self, params: Params) -> int:
        return max(params.entry, params.exit) + 1

    @staticmethod
    def _decide(upper: float, lower: float, close: float, held: Target) -> Decision:
        values = {"upper": upper, "lower": lower, "close": close}
        if close > upper:
            return Decision(Target.LONG, "close above the entry channel", values)
        if close < lower:
            return Decision(Target.FLAT, "close below the exit channel", values)
        return Decision(held, f"close inside the channels: stay {held}", values)

    def on_bar(self, context: Context) -> Decision:
        p, bars = context.params, context.bars
        upper = float(np.max(bars.high[-p.entry - 1 : -1]))
        lower = float(np.min(bars.low[-p.exit - 1 : -1]))
        return self._decide(upper, lower, float(bars.close[-1]), _held(context.position))

    def decide_all(self, bars: Bars, params: Params, position: Decimal) -> list[Decision]:
        start = self.warmup_bars(params) - 1
        # Channels of the bars before t: the channel ending at t-1.
        upper = ind.donchian(bars.high, bars.low, params.entry).upper[start - 1 : -1]
        lower = ind.donchian(bars.high, bars.low, params.exit).lower[start - 1 : -1]
        close = bars.close[start:]
        long = _enter_exit_targets(close > upper, close < lower, position)
        held = np.concatenate(([position > 0], long[:-1]))
        return [
            self._decide(u, lo, c, Target.LONG if h else Target.FLAT)
            for u, lo, c, h in zip(upper.tolist(), lower.tolist(), close.tolist(), held.tolist(), strict=True)
        ]


class BuyAndHold(Strategy):
    kind = "buy_and_hold"
    description = "Long from the first bar on: the baseline every report compares with."

    @dataclass(frozen=True)
    class Params:
        pass

    def warmup_bars(self, params: Params) -> int:
        return 1

    def on_bar(self, context: Context) -> Decision:
        return Decision(Target.LONG, "buy and hold", {"close": float(context.bars.close[-1])})

    def decide_all(self, bars: Bars, params: Params, position: Decimal) -> list[Decision]:
        return [Decision(Target.LONG, "buy and hold", {"close": c}) for c in bars.close.tolist()]


BUILTIN_KINDS: tuple[type[Strategy], ...] = (SmaCrossover, RsiReversion, DonchianBreakout, BuyAndHold)
