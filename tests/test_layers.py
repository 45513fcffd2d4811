"""The layer contract (pyproject.toml, README "Architecture") holds, and breaks on a wrong import.

Each wrong import is written into a copy of the tree, so the check runs exactly as `make lint` runs it."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tradingrobot", "market", "portfolio", "trading", "integration")
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own tool, fixed arguments
        [LINT_IMPORTS, "--no-cache", "--no-logo"], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("tree")
    shutil.copy(ROOT / "pyproject.toml", copy)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "migrations"))
    return copy


def test_the_real_tree_keeps_every_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_copy_keeps_every_contract_before_a_wrong_import(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("market/probe.py", "from trading import models", "Apps: integration > trading > portfolio > market"),
        ("portfolio/probe.py", "from trading.services import trading_state_get", "Apps: integration"),
        ("trading/probe.py", "from integration import pushback", "Apps: integration"),
        ("tradingrobot/errors.py", "from market import models", "Shared code imports no app"),
        ("tradingrobot/security/probe.py", "from trading import models", "Security sits below the apps"),
        ("trading/probe.py", "from tradingrobot.ops import health", "Apps use only the ops instruments"),
        ("integration/probe.py", "from trading.realtime import hub", "Only the wiring and ops reach"),
    ],
)
def test_a_wrong_import_breaks_the_contract(tree, module, line, contract):
    """The line is appended to `module` (created when new) in the copy, and taken out again."""
    probe = tree / module
    source_module = module.removesuffix(".py").replace("/", ".")
    original = probe.read_text() if probe.exists() else None
    probe.write_text((original or "") + f"\n{line}  # noqa\n")
    try:
        result = lint_imports(tree)
    finally:
        if original is None:
            probe.unlink()
        else:
            probe.write_text(original)
    assert result.returncode == 1, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken
    assert source_module in broken


# Imports of the project's own modules inside functions, each with the reason it cannot be at the top.
# Django's app loading (`AppConfig.ready`) is the reason for every apps.py, so those are not listed.
LATE_IMPORTS_ALLOWED = {
    "tradingrobot/ops/logs.py": "LOGGING loads this module while settings load, before the apps are ready",
    "trading/backtest/pool.py": "a spawned pool worker must call django.setup() before it imports any model",
    "tradingrobot/broker_wiring.py": "alpaca-py takes seconds to import; only a process using Alpaca pays for it",
    "integration/tasks.py": "alpaca-py takes seconds to import; only the Alpaca reconciliation task pays for it",
}


def _late_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom):
                names = [("." * inner.level) + (inner.module or "")]
            elif isinstance(inner, ast.Import):
                names = [alias.name for alias in inner.names]
            else:
                continue
            if any(name.startswith(".") or name.split(".")[0] in PACKAGES for name in names):
                found.append(f"{path.relative_to(ROOT)}:{inner.lineno}: {', '.join(names)}")
    return found


def test_no_function_level_import_of_project_code_without_a_reason():
    late = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if "migrations" in path.parts or path.name == "apps.py" or relative in LATE_IMPORTS_ALLOWED:
                continue
            late += _late_imports(path)
    assert late == []
