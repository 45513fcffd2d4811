"""The settings package's shape: each setting is bound in exactly one module, and no module changes a list or
dict after it is declared (no `MIDDLEWARE = [..., *MIDDLEWARE]`, `LOGGING[...] = ...`, `INSTALLED_APPS += ...`)."""

import ast
from pathlib import Path

SETTINGS = Path(__file__).resolve().parents[1] / "tradingrobot" / "settings"
DECLARED_ONCE = {"INSTALLED_APPS", "MIDDLEWARE", "LOGGING", "CELERY_BEAT_SCHEDULE"}
MUTATORS = {"append", "extend", "insert", "update", "setdefault", "pop", "remove", "__setitem__"}


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text()) for path in sorted(SETTINGS.glob("*.py"))}


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Subscript | ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def test_each_setting_is_bound_in_one_module_only():
    owners: dict[str, str] = {}
    for module, tree in modules().items():
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    assert owners.setdefault(target.id, module) == module, f"{target.id}: {owners[target.id]}, {module}"
    assert owners["MIDDLEWARE"] == owners["INSTALLED_APPS"] == "base"
    assert owners["LOGGING"] == "ops" and owners["CELERY_BEAT_SCHEDULE"] == "celery"


def test_the_lists_are_declared_once_and_never_changed_afterwards():
    changes = []
    for module, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.AugAssign) and _root(node.target) in DECLARED_ONCE:
                changes.append(f"{module}:{node.lineno}")
            if isinstance(node, ast.Assign):
                changes += [
                    f"{module}:{node.lineno}"
                    for t in node.targets
                    if not isinstance(t, ast.Name) and _root(t) in DECLARED_ONCE
                ]
                names = [t.id for t in node.targets if isinstance(t, ast.Name) and t.id in DECLARED_ONCE]
                reads = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
                changes += [f"{module}:{node.lineno} re-binds {name}" for name in names if name in reads]
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MUTATORS
                and _root(node.func.value) in DECLARED_ONCE
            ):
                changes.append(f"{module}:{node.lineno}")
    assert not changes, changes
