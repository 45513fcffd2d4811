"""Sizing a strategy can meet: a change asking more than the account's equity is refused before it is stored.
`strategy_create` and `strategy_update` call it, so the API, the admin, commands and the site sync all do."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from market.clock import now
from market.selectors import price_latest

from ..models import Strategy
from .books import book_for
from .validation import StrategyInvalid


def strategy_sizing_check(*, strategy: Strategy, changes: Mapping[str, Any]) -> None:
    """StrategyInvalid naming `sizing_value` when the sizing, as changed, needs more than the account's equity.
    `strategy` carries the validated changes already (trading/engine/validation.changes_apply); `changes` are
    the requested ones: only a request that touches the sizing is checked."""
    sizing = strategy.sizing
    value = strategy.sizing_value
    if not {"sizing", "sizing_value"} & changes.keys() or sizing == Strategy.Sizing.PCT_EQUITY:
        return
    equity = book_for(strategy=strategy, at=now()).equity
    if sizing == Strategy.Sizing.FIXED_NOTIONAL:
        needed = Decimal(value)
        what = f"{needed} USD"
    else:
        latest = price_latest(symbol_id=strategy.symbol_id)
        if latest is None:
            return  # no price yet: the engine sizes (and refuses as risk_limit) on the first bar
        needed = Decimal(value) * latest.price
        what = f"{Decimal(value).normalize():f} shares x {latest.price} = {needed:.2f} USD"
    if needed > equity:
        raise StrategyInvalid(
            {"sizing_value": f"{what} is more than the account's equity ({equity:.2f} USD); ask for less"}
        )
