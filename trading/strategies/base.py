"""What a strategy sees and what it answers.

A strategy kind is a class with a `kind` name, a `Params` schema (see `params.py`), `warmup_bars(params)` and a
pure `on_bar(context) -> Decision`. The context holds only closed bars up to now and the strategy's own position;
the decision is the position it wants to hold from here on, a reason, and the indicator values it used (floats,
for display: money stays Decimal in the engine). Sizing, risk limits and orders are the engine's business.
"""

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

from market.bars import Bars


class Target(StrEnum):
    LONG = "long"
    FLAT = "flat"


class Decision(NamedTuple):
    """Immutable; a tuple so that a backtest can make 150,000 of them cheaply."""

    target: Target
    reason: str
    indicators: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Context:
    bars: Bars  # the last one is the bar that just closed
    position: Decimal  # this strategy's own quantity; 0 when flat
    params: Any


class Strategy(abc.ABC):
    """Subclass this to add a kind. Keep it stateless: one instance serves every strategy of its kind."""

    kind: ClassVar[str]
    Params: ClassVar[type]
    description: ClassVar[str] = ""

    @abc.abstractmethod
    def warmup_bars(self, params: Any) -> int:
        """How many closed bars `on_bar` needs; the engine decides `warming_up` below that."""

    @abc.abstractmethod
    def on_bar(self, context: Context) -> Decision:
        """The position to hold after the last bar of `context.bars`. Must not raise for valid params."""

    # Optional, for speed: `decide_all(bars, params, position) -> list[Decision]`, the decisions for bars
    # warmup_bars-1 .. len-1 as if `on_bar` were called on each prefix and every target were reached.
