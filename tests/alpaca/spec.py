"""Answers checked against Alpaca's published OpenAPI description (alpaca-trading-openapi.yaml, origin in its header).

OpenAPI 3.0 schemas become JSON Schema: `nullable: true` allows null. Formats (uuid, date-time) are checked."""

import datetime as dt
import functools
import uuid
from pathlib import Path

import jsonschema
import yaml

SPEC = Path(__file__).with_name("alpaca-trading-openapi.yaml")


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value) -> bool:
    return not isinstance(value, str) or dt.datetime.fromisoformat(value).tzinfo is not None


@FORMATS.checks("uuid", raises=ValueError)
def _uuid(value) -> bool:
    return not isinstance(value, str) or bool(uuid.UUID(value))


def _json_schema(node):
    if isinstance(node, dict):
        converted = {k: _json_schema(v) for k, v in node.items() if k not in ("nullable", "x-examples", "example")}
        if node.get("nullable"):
            return {"anyOf": [converted, {"type": "null"}]}
        return converted
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    return node


@functools.cache
def _document() -> dict:
    return _json_schema(yaml.safe_load(SPEC.read_text()))


def spec_errors(component: str, instance) -> list[str]:
    """What is wrong with `instance` as Alpaca's `component` (Order, Account, Position, Clock, Assets...)."""
    document = _document()
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    validator = jsonschema.Draft7Validator(schema, format_checker=FORMATS)
    return [f"{component}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def spec_check(component: str, instance) -> None:
    items = instance if isinstance(instance, list) else [instance]
    problems = [p for item in items for p in spec_errors(component, item)]
    assert not problems, problems


def component_of(method: str, path: str) -> str | None:
    """The schema of a successful answer to `method path`, per the spec (assets: its Assets schema)."""
    if path.startswith("/v2/orders"):
        return None if method == "DELETE" else "Order"
    if path.startswith("/v2/positions"):
        return "Position"
    return {"/v2/account": "Account", "/v2/clock": "Clock", "/v2/calendar": "Calendar"}.get(path) or (
        "Assets" if "/v2/assets" in path else None
    )
