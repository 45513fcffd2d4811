"""Checking a strategy's fields before anything is stored; each problem names its field."""

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import TextChoices

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import InvalidInput

from ..models import STRATEGY_ID_VALIDATOR, Strategy
from ..strategies import StrategyKindUnknown, StrategyParamsInvalid, kind_get, params_dump, params_parse

EDITABLE = (
    "kind",
    "params",
    "timeframe",
    "sizing",
    "sizing_value",
    "max_position_qty",
    "max_position_notional",
    "max_daily_loss",
    "cooldown_bars",
    "enabled",
    "mode",
    "site_status",
)
LIMITS = ("max_position_qty", "max_position_notional", "max_daily_loss")
MAX_PCT = Decimal(100)
MAX_AMOUNT = Decimal("1000000000")


class StrategyInvalid(InvalidInput):
    code = ErrorCode.INVALID_STRATEGY

    def __init__(self, errors: dict[str, str]):
        text = "; ".join(f"{name}: {message}" for name, message in errors.items())
        super().__init__(f"Invalid strategy: {text}.", errors=errors)
        self.errors = errors


def strategy_id_check(strategy_id: object) -> str:
    if not isinstance(strategy_id, str):
        raise StrategyInvalid({"strategy_id": "must be a string like STRATEGY-TSLA"})
    try:
        STRATEGY_ID_VALIDATOR(strategy_id)
    except ValidationError as exc:
        raise StrategyInvalid({"strategy_id": exc.messages[0]}) from None
    return strategy_id


def _decimal(value: object, *, maximum: Decimal) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"must be a number, got {str(value)[:40]!r}") from None
    if not number.is_finite() or number <= 0:
        raise ValueError("must be a positive number")
    if number > maximum:
        raise ValueError(f"must be at most {maximum}")
    if number != number.quantize(Decimal("0.0001")):
        raise ValueError("at most 4 decimal places")
    return number


def _choice(value: object, choices: type[TextChoices]) -> str:
    allowed = [c.value for c in choices]
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return str(value)


def changes_apply(strategy: Strategy, changes: Mapping[str, Any]) -> list[str]:
    """Set the validated `changes` on `strategy` (unsaved); returns the fields changed, or StrategyInvalid."""
    if not isinstance(changes, Mapping):
        raise StrategyInvalid({"changes": "must be an object of field: value"})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in EDITABLE:
            errors[str(name)] = f"not a changeable field; use one of: {', '.join(EDITABLE)}"
            continue
        try:
            if name == "timeframe":
                values[name] = _choice(value, Strategy.Timeframe)
            elif name == "sizing":
                values[name] = _choice(value, Strategy.Sizing)
            elif name == "mode":
                values[name] = _choice(value, Strategy.Mode)
            elif name == "enabled":
                if not isinstance(value, bool):
                    raise ValueError("must be true or false")
                values[name] = value
            elif name == "cooldown_bars":
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
                    raise ValueError("must be a whole number from 0 to 10000")
                values[name] = value
            elif name == "sizing_value":
                values[name] = _decimal(value, maximum=MAX_AMOUNT)
            elif name in LIMITS:
                values[name] = None if value is None else _decimal(value, maximum=MAX_AMOUNT)
            elif name == "site_status":
                if not isinstance(value, str) or len(value) > 32:
                    raise ValueError("must be a string of at most 32 characters")
                values[name] = value
            else:
                values[name] = value
        except ValueError as exc:
            errors[name] = str(exc)
    kind = values.get("kind", strategy.kind)
    try:
        schema = kind_get(kind=kind).Params
    except StrategyKindUnknown as exc:
        errors["kind"] = exc.message
        schema = None
    if schema is not None and ("params" in values or "kind" in values):
        try:
            values["params"] = params_dump(params_parse(schema, values.get("params", {})))
        except StrategyParamsInvalid as exc:
            errors.update({f"params.{field}": message for field, message in exc.errors.items()})
    sizing = values.get("sizing", strategy.sizing)
    size = values.get("sizing_value", strategy.sizing_value)
    if sizing == Strategy.Sizing.PCT_EQUITY and size is not None and Decimal(size) > MAX_PCT:
        errors.setdefault("sizing_value", "a percent of equity must be at most 100")
    if errors:
        raise StrategyInvalid(errors)
    changed = []
    for name, value in values.items():
        if getattr(strategy, name) != value:
            setattr(strategy, name, value)
            changed.append(name)
    return changed
