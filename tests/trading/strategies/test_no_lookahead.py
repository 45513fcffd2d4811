"""No look-ahead: the decisions up to a cut are the same whether the history goes on past the cut or not."""

import functools
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategy_plugins.my_kind import CloseAboveEma
from trading.strategies import Decision, Strategy, Target, decisions_over, kind_get

from .series import random_bars

BARS = 500
SEEDS = (11, 12, 13)
KINDS = [
    ("sma_crossover", {"fast": 5, "slow": 20}),
    ("rsi_reversion", {"period": 5, "lower": 40, "upper": 60}),
    ("donchian_breakout", {"entry": 15, "exit": 5}),
    ("buy_and_hold", {}),
    ("close_above_ema", {"period": 5, "margin": 0.1}),
]


@functools.cache
def full_history(kind: str, seed: int) -> list[Decision | None]:
    params = dict(KINDS)[kind]
    with override_settings(STRATEGY_KINDS=["tests.strategy_plugins.my_kind.CloseAboveEma"]):
        return decisions_over(kind, params, random_bars(BARS, seed=seed, vol=0.02))


@pytest.mark.parametrize("kind", [k for k, _ in KINDS])
@settings(max_examples=100, deadline=None, database=None)
@given(seed=st.sampled_from(SEEDS), cut=st.integers(min_value=1, max_value=BARS))
def test_decisions_up_to_a_cut_ignore_what_follows(kind, seed, cut):
    full = full_history(kind, seed)
    assert sum(d is not None for d in full) > 0
    with override_settings(STRATEGY_KINDS=["tests.strategy_plugins.my_kind.CloseAboveEma"]):
        truncated = decisions_over(kind, dict(KINDS)[kind], random_bars(BARS, seed=seed, vol=0.02).upto(cut))
    assert truncated == full[:cut]


class PeeksAhead(Strategy):
    """A broken kind: its vectorized form uses the next bar's close."""

    kind = "peeks_ahead"

    @dataclass(frozen=True)
    class Params:
        pass

    def warmup_bars(self, params):
        return 1

    def on_bar(self, context):
        return Decision(Target.FLAT, "unused")

    def decide_all(self, bars, params, position: Decimal):
        rising = np.append(bars.close[1:] > bars.close[:-1], False)
        return [Decision(Target.LONG if r else Target.FLAT, "peeked") for r in rising.tolist()]


def test_the_check_catches_a_kind_that_looks_ahead():
    bars = random_bars(BARS, seed=11)
    full = decisions_over(PeeksAhead(), None, bars)
    differing = [cut for cut in range(1, BARS) if decisions_over(PeeksAhead(), None, bars.upto(cut)) != full[:cut]]
    assert len(differing) > BARS / 3


def test_the_plugin_kind_is_evaluated_bar_by_bar():
    assert not hasattr(kind_get_plugin(), "decide_all")


def kind_get_plugin() -> CloseAboveEma:
    with override_settings(STRATEGY_KINDS=["tests.strategy_plugins.my_kind.CloseAboveEma"]):
        return kind_get(kind="close_above_ema")
