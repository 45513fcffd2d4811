from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from tests.strategy_plugins.my_kind import CloseAboveEma
from trading.strategies import StrategyKindUnknown, decisions_over, kind_get, kind_registry

from .series import random_bars

BUILTINS = ["buy_and_hold", "donchian_breakout", "rsi_reversion", "sma_crossover"]
PLUGIN = "tests.strategy_plugins.my_kind.CloseAboveEma"


def test_builtins_without_setting():
    assert sorted(kind_registry()) == BUILTINS


def test_unknown_kind_is_a_400_listing_the_known_ones():
    with pytest.raises(StrategyKindUnknown) as caught:
        kind_get(kind="macd_magic")
    assert caught.value.status_code == 400
    assert caught.value.code == "unknown_strategy_kind"
    assert caught.value.message == (
        "Unknown strategy kind 'macd_magic'; use one of: buy_and_hold, donchian_breakout, rsi_reversion, sma_crossover."
    )
    with pytest.raises(StrategyKindUnknown):
        kind_get(kind=["sma_crossover"])


@override_settings(STRATEGY_KINDS=[PLUGIN])
def test_a_kind_from_a_module_outside_the_apps():
    assert sorted(kind_registry()) == sorted([*BUILTINS, "close_above_ema"])
    strategy = kind_get(kind="close_above_ema")
    assert isinstance(strategy, CloseAboveEma)
    bars = random_bars(400, seed=3)
    decisions = decisions_over("close_above_ema", {"period": 5, "margin": 0.2}, bars)
    warmup = strategy.warmup_bars(strategy.Params(period=5))
    assert decisions[: warmup - 1] == [None] * (warmup - 1)
    made = decisions[warmup - 1 :]
    assert {d.target for d in made} == {"long", "flat"}
    for decision, close in zip(made, bars.close[warmup - 1 :], strict=True):
        assert decision.indicators["close"] == close
        assert (decision.target == "long") == (close > decision.indicators["ema"] * 1.002)
    assert np.isfinite([d.indicators["ema"] for d in made]).all()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("nodots", "'nodots' is not a dotted path like 'package.module.Class'."),
        ("tests.strategy_plugins.absent.Kind", "cannot import 'tests.strategy_plugins.absent' (No module named"),
        ("tests.strategy_plugins.my_kind.Nope", "module 'tests.strategy_plugins.my_kind' has no 'Nope'."),
        ("tests.strategy_plugins.broken.NOT_A_CLASS", "is not a strategy kind: it is not a class"),
        ("tests.strategy_plugins.broken.TakesABuiltinName", "the kind 'sma_crossover' is already taken."),
        ("tests.strategy_plugins.broken.NoOnBar", "it leaves on_bar unimplemented."),
        ("tests.strategy_plugins.broken.MutableParams", "Params must be a frozen dataclass."),
        ("datetime.date", "`kind` must be a lower-case name"),
    ],
)
def test_bad_entries_in_the_setting_say_what_is_wrong(path, message):
    with override_settings(STRATEGY_KINDS=[path]), pytest.raises(ImproperlyConfigured) as caught:
        kind_registry()
    assert f"STRATEGY_KINDS entry {path!r}" in str(caught.value)
    assert message in str(caught.value)


def test_the_same_plugin_twice_is_refused():
    with override_settings(STRATEGY_KINDS=[PLUGIN, PLUGIN]), pytest.raises(ImproperlyConfigured, match="already taken"):
        kind_registry()


def test_the_readme_shows_the_plugin_as_it_is():
    root = Path(__file__).resolve().parents[3]
    readme = (root / "README.md").read_text()
    plugin = (root / "tests" / "strategy_plugins" / "my_kind.py").read_text()
    assert f"```python\n{plugin}```" in readme
