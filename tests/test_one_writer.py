"""One module writes each ledger and outbox table: a write through the model's manager anywhere else fails here."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP_CODE = ("tradingrobot", "market", "portfolio", "trading", "integration")
VERBS = "create|get_or_create|update_or_create|update|bulk_create|bulk_update|delete"
WRITES = rf"\.objects(?:\s*\.\w+\([^)]*\))*\s*\.(?:{VERBS})\("
OWNERS = {
    "OutboxMessage": {"trading/outbox.py"},
    "Account": {"portfolio/ledger.py"},
    "Position": {"portfolio/ledger.py"},
    "EquitySnapshot": {"portfolio/equity.py"},
    "EquityClose": {"portfolio/equity.py"},
    "Strategy": {"trading/engine/services.py"},
    "StrategyDecision": {"trading/engine/execution.py"},
    "BookPosition": {"portfolio/books.py"},  # its bulk writes of a booking, called by the ledger only
}


def _writers(model: str) -> set[str]:
    pattern = re.compile(rf"\b{model}{WRITES}")
    found = set()
    for package in APP_CODE:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts and pattern.search(path.read_text()):
                found.add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("model", sorted(OWNERS))
def test_one_module_writes_the_table(model):
    assert _writers(model) == OWNERS[model]


def test_the_pattern_sees_a_chained_write():
    pattern = re.compile(rf"\bOutboxMessage{WRITES}")
    assert pattern.search("OutboxMessage.objects.filter(pk__in=ids).exclude(status=x).update(status=y)")
    assert pattern.search("OutboxMessage.objects.filter(pk__in=ids)\n    .exclude(status=x)\n    .update(status=y)")
    assert not pattern.search("OutboxMessage.objects.filter(status=x).count()")
