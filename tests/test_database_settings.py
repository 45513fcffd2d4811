"""settings/database.py: PostgreSQL connections prepare the trade path's statements (tradingrobot/pipeline.py) unless
DATABASE_PREPARED_STATEMENTS=false; SQLite has no such option."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

SCRIPT = (
    "import json; from tradingrobot.settings import DATABASES; print(json.dumps(DATABASES['default'].get('OPTIONS')))"
)


def options_with(**env: str) -> dict | None:
    environment = {name: value for name, value in os.environ.items() if name != "DATABASE_PREPARED_STATEMENTS"}
    environment.update(SECRET_KEY="k" * 50, **env)
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", SCRIPT],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


POSTGRES = "postgres://postgres@127.0.0.1:5432/anything"  # settings only: nothing connects


@pytest.mark.parametrize(
    ("env", "threshold"),
    [({"DATABASE_URL": POSTGRES}, 5), ({"DATABASE_URL": POSTGRES, "DATABASE_PREPARED_STATEMENTS": "false"}, None)],
    ids=["default", "off"],
)
def test_postgresql_prepares_the_trade_paths_statements_unless_told_not_to(env, threshold):
    assert (options_with(**env) or {}).get("prepare_threshold") == threshold


def test_sqlite_has_no_prepared_statement_option(tmp_path):
    options = options_with(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert options is not None and "prepare_threshold" not in options
