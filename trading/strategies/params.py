"""Parameter schemas: a frozen dataclass whose fields carry their bounds.

    @dataclass(frozen=True)
    class Params:
        fast: int = bounded(10, low=2, high=500, help="bars in the fast average")

        def check(self) -> dict[str, str]:  # optional cross-field rules
            return {"fast": "must be less than slow"} if self.fast >= self.slow else {}

`params_parse` turns untrusted input (JSON, a command line) into an instance or raises `StrategyParamsInvalid`
with one message per field; `params_dump` gives the plain dict that is stored.
"""

import dataclasses
import math
import typing
from collections.abc import Mapping
from typing import Any

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import InvalidInput

SUPPORTED = (int, float)


class StrategyParamsInvalid(InvalidInput):
    code = ErrorCode.INVALID_STRATEGY_PARAMS

    def __init__(self, errors: dict[str, str]):
        text = "; ".join(f"{name}: {message}" for name, message in errors.items())
        super().__init__(f"Invalid strategy parameters: {text}.", errors=errors)
        self.errors = errors


def bounded(default: int | float, *, low: int | float, high: int | float, help: str = "") -> Any:
    return dataclasses.field(default=default, metadata={"low": low, "high": high, "help": help})


def _types(schema: type) -> dict[str, type]:
    hints = typing.get_type_hints(schema)
    return {f.name: hints[f.name] for f in dataclasses.fields(schema)}


def _coerce(value: object, kind: type) -> int | float:
    """The value as `kind`, or ValueError with what is wrong. Strings are accepted (command lines)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if kind is int else float(text)
        except ValueError:
            raise ValueError(f"must be {'a whole number' if kind is int else 'a number'}, got {text!r}") from None
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise ValueError("must be a whole number")
        return value
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("must be a finite number")
    return float(value)


def params_parse(schema: type, raw: Mapping[str, object] | None) -> Any:
    """An instance of `schema` from `raw` (missing fields take their defaults), or StrategyParamsInvalid."""
    raw = {} if raw is None else raw
    if not isinstance(raw, Mapping):
        raise StrategyParamsInvalid({"params": "must be an object of name: value"})
    types = _types(schema)
    errors: dict[str, str] = {}
    for name in raw:
        if name not in types:
            known = ", ".join(types) or "none"
            errors[str(name)] = f"unknown parameter; this kind takes: {known}"
    values: dict[str, int | float] = {}
    for f in dataclasses.fields(schema):
        if f.name not in raw:
            continue
        try:
            value = _coerce(raw[f.name], types[f.name])
        except ValueError as exc:
            errors[f.name] = str(exc)
            continue
        low, high = f.metadata.get("low"), f.metadata.get("high")
        if low is not None and high is not None and not low <= value <= high:
            errors[f.name] = f"must be between {low} and {high}"
            continue
        values[f.name] = value
    if errors:
        raise StrategyParamsInvalid(errors)
    params = schema(**values)
    check = getattr(params, "check", None)
    if check is not None and (rule_errors := check()):
        raise StrategyParamsInvalid(dict(rule_errors))
    return params


def params_dump(params: Any) -> dict[str, int | float]:
    return dataclasses.asdict(params)


def params_describe(schema: type) -> list[dict[str, object]]:
    """Each field's name, type, default and bounds: for the API's documentation and the admin."""
    types = _types(schema)
    return [
        {
            "name": f.name,
            "type": types[f.name].__name__,
            "default": f.default,
            "min": f.metadata.get("low"),
            "max": f.metadata.get("high"),
            "help": f.metadata.get("help", ""),
        }
        for f in dataclasses.fields(schema)
    ]


def schema_problems(schema: object) -> list[str]:
    """Why `schema` is not a usable params class (empty when it is)."""
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        return ["Params must be a dataclass"]
    if not schema.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        return ["Params must be a frozen dataclass"]
    problems = []
    for name, kind in _types(schema).items():
        f = next(f for f in dataclasses.fields(schema) if f.name == name)
        if kind not in SUPPORTED:
            problems.append(f"Params.{name} must be int or float")
        if f.default is dataclasses.MISSING:
            problems.append(f"Params.{name} needs a default")
    return problems
