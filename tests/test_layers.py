"""The layer contract (pyproject.toml, README "Architecture") holds, and breaks on a wrong import.

Each wrong import is written into a copy of the tree, so the check runs exactly as `make lint` runs it."""

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
        ("integration/probe.py", "from trading.realtime import hub", "Only the ASGI wiring and ops reach"),
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
