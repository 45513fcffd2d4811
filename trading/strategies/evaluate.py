"""Evaluating a kind over a whole series, bar by bar, as the engine would have on each bar's close."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .base import Bars, Context, Decision, Strategy, Target
from .params import params_parse
from .registry import kind_get

UNIT = Decimal(1)


def decisions_over(
    kind: str | Strategy, params: Any, bars: Bars, *, position: Decimal = Decimal(0), vectorized: bool = True
) -> list[Decision | None]:
    """One entry per bar: None while warming up, then the decision `on_bar` makes with the bars up to and
    including that one. The position a decision sees is the one the previous targets imply (every target
    reached: flat is 0, long keeps the quantity held or 1), starting from `position`.
    `params` is an instance of the kind's Params or a raw mapping (validated). A kind's `decide_all` is used
    when it has one, unless `vectorized=False` (tests prove both ways agree)."""
    strategy = kind_get(kind=kind) if isinstance(kind, str) else kind
    if params is None or isinstance(params, Mapping):
        params = params_parse(strategy.Params, params)
    warmup = max(1, strategy.warmup_bars(params))
    count = len(bars)
    if count < warmup:
        return [None] * count
    decide_all = getattr(strategy, "decide_all", None) if vectorized else None
    if decide_all is not None:
        decisions = decide_all(bars, params, position)
        if len(decisions) != count - warmup + 1:
            raise RuntimeError(
                f"{type(strategy).__name__}.decide_all gave {len(decisions)} decisions, not {count - warmup + 1}"
            )
    else:
        decisions = []
        held = position
        for end in range(warmup, count + 1):
            decision = strategy.on_bar(Context(bars.upto(end), held, params))
            decisions.append(decision)
            held = (held if held > 0 else UNIT) if decision.target == Target.LONG else Decimal(0)
    return [None] * (warmup - 1) + decisions
