"""Strategy kinds: the interface (`Strategy`, `Context`, `Decision`, `Bars`, params schemas), the built-in
kinds, the registry and `decisions_over`. Pure: no database, no orders. See the README's "Strategies"."""

from market.bars import Bars

from .base import Context, Decision, Strategy, Target
from .evaluate import decisions_over
from .params import StrategyParamsInvalid, bounded, params_describe, params_dump, params_parse
from .registry import StrategyKindUnknown, kind_get, kind_registry

__all__ = [
    "Bars",
    "Context",
    "Decision",
    "Strategy",
    "StrategyKindUnknown",
    "StrategyParamsInvalid",
    "Target",
    "bounded",
    "decisions_over",
    "kind_get",
    "kind_registry",
    "params_describe",
    "params_dump",
    "params_parse",
]
