"""Which code runs a strategy: the built-in kinds plus the classes named by dotted path in
`settings.STRATEGY_KINDS` (e.g. `("myproject.strategies.MeanReversion",)`)."""

import functools
import importlib
import re
from typing import cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import InvalidInput

from .base import Strategy
from .builtin import BUILTIN_KINDS
from .params import schema_problems

KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class StrategyKindUnknown(InvalidInput):
    code = ErrorCode.UNKNOWN_STRATEGY_KIND


def _import(path: str) -> object:
    module_path, _, name = path.rpartition(".")
    if not module_path or not name:
        raise ImproperlyConfigured(f"STRATEGY_KINDS entry {path!r} is not a dotted path like 'package.module.Class'.")
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"STRATEGY_KINDS entry {path!r}: cannot import {module_path!r} ({exc}).") from exc
    try:
        return getattr(module, name)
    except AttributeError:
        raise ImproperlyConfigured(f"STRATEGY_KINDS entry {path!r}: module {module_path!r} has no {name!r}.") from None


def _problems(cls: object) -> list[str]:
    if not isinstance(cls, type):
        return ["it is not a class"]
    problems = []
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not KIND_NAME.match(kind):
        problems.append("`kind` must be a lower-case name like 'my_kind' (letters, digits, _; at most 40)")
    problems += schema_problems(getattr(cls, "Params", None))
    for method in ("warmup_bars", "on_bar"):
        if not callable(getattr(cls, method, None)):
            problems.append(f"it has no {method}() method")
    abstract = getattr(cls, "__abstractmethods__", None)
    if abstract:
        problems.append(f"it leaves {', '.join(sorted(abstract))} unimplemented")
    return problems


@functools.cache
def _load(paths: tuple[str, ...]) -> dict[str, Strategy]:
    kinds: dict[str, Strategy] = {cls.kind: cls() for cls in BUILTIN_KINDS}
    for path in paths:
        found = _import(path)
        problems = _problems(found)
        if problems:
            raise ImproperlyConfigured(f"STRATEGY_KINDS entry {path!r} is not a strategy kind: {'; '.join(problems)}.")
        cls = cast("type[Strategy]", found)  # _problems found nothing missing: a strategy kind
        if cls.kind in kinds:
            raise ImproperlyConfigured(f"STRATEGY_KINDS entry {path!r}: the kind {cls.kind!r} is already taken.")
        kinds[cls.kind] = cls()
    return kinds


def kind_registry() -> dict[str, Strategy]:
    paths = getattr(settings, "STRATEGY_KINDS", ())
    if isinstance(paths, str):
        paths = (paths,)
    return _load(tuple(paths))


def kind_get(*, kind: str) -> Strategy:
    kinds = kind_registry()
    try:
        return kinds[kind]
    except (KeyError, TypeError):
        raise StrategyKindUnknown(f"Unknown strategy kind {kind!r}; use one of: {', '.join(sorted(kinds))}.") from None
