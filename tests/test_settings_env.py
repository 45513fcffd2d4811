"""`.env.example` documents every environment variable the settings package reads, with its default and meaning,
and nothing else: the settings' source is parsed for `env(...)`, `env.<cast>(...)` and `os.environ` reads."""

import ast
import re
from pathlib import Path

import environ
import pytest

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ROOT / "tradingrobot" / "settings"
EXAMPLE = ROOT / ".env.example"
# Documented because a library reads it from the environment itself (not a setting).
READ_ELSEWHERE = {"PROMETHEUS_MULTIPROC_DIR": "prometheus_client"}
SECRETS = {"SECRET_KEY", "WP_APP_PASSWORD", "ALPACA_API_SECRET_KEY", "METRICS_TOKEN", "ALERT_WEBHOOK_URL"}
CASTS = {"str": str, "bool": bool, "int": int, "float": float, "list": list}
ENTRY = re.compile(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$")


class Read:
    def __init__(self, name: str, cast: str, default: ast.expr | None, where: str):
        self.name, self.cast, self.default, self.where = name, cast, default, where


def _env_call(node: ast.Call) -> str | None:
    """The cast of an `env(...)` / `env.int(...)` call, None for any other call."""
    func = node.func
    if isinstance(func, ast.Name) and func.id == "env":
        return "str"
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env":
        return func.attr
    return None


def _os_environ_key(node: ast.AST) -> ast.expr | None:
    """The key of `os.environ[...]`, `os.environ.get(...)`, `os.getenv(...)`."""
    dotted = ast.unparse(node.func) if isinstance(node, ast.Call) else ""
    if dotted in ("os.environ.get", "os.getenv", "os.environ.setdefault"):
        return node.args[0]
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
        return node.slice
    return None


def settings_reads() -> dict[str, Read]:
    reads: dict[str, Read] = {}
    for path in sorted(SETTINGS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            cast = _env_call(node) if isinstance(node, ast.Call) else None
            key = node.args[0] if cast else _os_environ_key(node)
            if key is None:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            assert isinstance(key, ast.Constant) and isinstance(key.value, str), f"{where}: name not a literal"
            default = next((k.value for k in getattr(node, "keywords", []) if k.arg == "default"), None)
            assert key.value not in reads, f"{key.value} read twice: {reads[key.value].where} and {where}"
            reads[key.value] = Read(key.value, cast or "str", default, where)
    return reads


def documented() -> dict[str, tuple[str, str]]:
    """name -> (documented value, the meaning on the line above)."""
    entries: dict[str, tuple[str, str]] = {}
    previous = ""
    for number, line in enumerate(EXAMPLE.read_text().splitlines(), 1):
        match = ENTRY.match(line)
        if match:
            name, value = match.groups()
            assert name not in entries, f".env.example:{number}: {name} documented twice"
            meaning = previous.removeprefix("#").strip()
            assert previous.startswith("#") and meaning and not ENTRY.match(previous), (
                f".env.example:{number}: {name} needs a one-line meaning on the line above"
            )
            entries[name] = (value, meaning)
        previous = line
    return entries


def test_the_parser_finds_the_reads_it_must_find():
    reads = settings_reads()
    assert {"SECRET_KEY", "DATABASE_URL", "PERFORMANCE_PUSH_SECONDS", "CELERY_TASK_TIME_LIMIT"} <= set(reads)
    assert reads["WP_RETRIES"].cast == "int" and len(reads) >= 90


def test_every_variable_the_settings_read_is_documented():
    missing = sorted(set(settings_reads()) - set(documented()))
    assert not missing, f"read by tradingrobot/settings/ but not in .env.example: {missing}"


def test_every_documented_variable_is_read():
    extra = sorted(set(documented()) - set(settings_reads()) - set(READ_ELSEWHERE))
    assert not extra, f"in .env.example but read by no setting: {extra}"


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_secrets_have_no_value_in_the_example(name):
    assert documented()[name][0] == ""


def test_documented_defaults_are_the_defaults():
    """A literal default must be what the documented value parses to (the same cast django-environ applies);
    a computed one (`"redis" if REDIS_URL else "memory"`) is explained in the meaning instead."""
    docs = documented()
    wrong = []
    for read in settings_reads().values():
        try:
            default = ast.literal_eval(read.default) if read.default is not None else None
        except ValueError:
            assert "default" in docs[read.name][1], f"{read.name}: say what the computed default is"
            continue
        value = environ.Env.parse_value(docs[read.name][0], CASTS[read.cast])
        if value != default:
            wrong.append(f"{read.name}: documented {value!r}, default {default!r} ({read.where})")
    assert not wrong, wrong
