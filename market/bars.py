"""Closed bars as read-only numpy columns: what indicators, strategies and backtests read."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

COLUMNS = ("open", "high", "low", "close", "volume")


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
        """From objects with timestamp, open, high, low, close, volume (e.g. `market.selectors.BarView`)."""

        def stamp(at: dt.datetime) -> np.datetime64:
            return np.datetime64(at.astimezone(dt.UTC).replace(tzinfo=None), "s")

        return cls(
            np.array([stamp(r.timestamp) for r in rows], dtype="datetime64[s]"),
            *(
                np.array([np.nan if getattr(r, name) is None else float(getattr(r, name)) for r in rows])
                for name in COLUMNS
            ),
        )
