"""What a strategy sees and what it answers.

A strategy kind is a class with a `kind` name, a `Params` schema (see `params.py`), `warmup_bars(params)` and a
pure `on_bar(context) -> Decision`. The context holds only closed bars up to now and the strategy's own position;
the decision is the position it wants to hold from here on, a reason, and the indicator values it used (floats,
for display: money stays Decimal in the engine). Sizing, risk limits and orders are the engine's business.
"""

import abc
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np

COLUMNS = ("open", "high", "low", "close", "volume")


class Target(StrEnum):
    LONG = "long"
    FLAT = "flat"


@dataclass(frozen=True, slots=True)
class Decision:
    target: Target
    reason: str
    indicators: Mapping[str, float] = field(default_factory=dict)


def _read_only(values, dtype) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    if array.flags.writeable:
        array = array.copy()
        array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Bars:
    """Closed bars, oldest first, as read-only numpy columns. `timestamps` are bar starts (UTC, datetime64[s]);
    a missing volume is NaN."""

    timestamps: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "timestamps", _read_only(self.timestamps, "datetime64[s]"))
        for name in COLUMNS:
            object.__setattr__(self, name, _read_only(getattr(self, name), np.float64))
        arrays = [self.timestamps, *(getattr(self, name) for name in COLUMNS)]
        if any(a.ndim != 1 for a in arrays) or len({len(a) for a in arrays}) != 1:
            raise ValueError("bars need one-dimensional columns of equal length")
        if len(self.timestamps) > 1 and not bool(np.all(self.timestamps[1:] > self.timestamps[:-1])):
            raise ValueError("bar timestamps must be strictly increasing")

    def __len__(self) -> int:
        return len(self.timestamps)

    def upto(self, count: int) -> "Bars":
        """The first `count` bars (views of the same read-only columns: nothing is copied or checked again)."""
        view = object.__new__(Bars)
        for name in ("timestamps", *COLUMNS):
            object.__setattr__(view, name, getattr(self, name)[:count])
        return view

    @classmethod
    def from_rows(cls, rows: Sequence[Any]) -> "Bars":
        """From objects with timestamp, open, high, low, close, volume (e.g. `market.selectors.BarOut`)."""

        def stamp(at: dt.datetime) -> np.datetime64:
            return np.datetime64(at.astimezone(dt.UTC).replace(tzinfo=None), "s")

        return cls(
            np.array([stamp(r.timestamp) for r in rows], dtype="datetime64[s]"),
            *(
                np.array([np.nan if getattr(r, name) is None else float(getattr(r, name)) for r in rows])
                for name in COLUMNS
            ),
        )


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
