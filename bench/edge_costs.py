"""What a request without credentials costs the server (issue 13, item 7), each figure beside its ceiling: the
same operation as it was before the fix, measured in the same run.

    .venv/bin/python bench/edge_costs.py [--runs 20]

1. POST /o/token/ with the cheap client-secret hasher vs the same request against a client whose secret is hashed
   with Django's default PBKDF2 (what every client had).
2. GET /api/schema/ served from the process's copy vs built and rendered on every call.
3. POST /admin/login/ for a locked-out address (django-axes) vs a wrong password checked with PBKDF2 (what every
   attempt cost, without limit).
Target for each: the median at most 10 % of the "before" median measured in the same run.
In-process (Django's test client), a fresh SQLite database in a temporary folder, production password hashers.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = tempfile.mkdtemp(prefix="edge-bench-")
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
        "DATABASE_URL": f"sqlite:///{WORK}/bench.sqlite3",
        "SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40,
        "LOG_LEVEL": "ERROR",
        "THROTTLE_RATE_IP": "1000000/min",
        "THROTTLE_RATE_TOKEN": "1000000/min",
        "ALLOWED_HOSTS": "testserver",
    }
)
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

from tradingrobot.security.models import OAuthClientScopes  # noqa: E402
from tradingrobot.security.schema import CachedSchemaView  # noqa: E402

SECRET = "bench-client-secret-" + "s" * 100


def timed(call, runs: int) -> float:
    """Median milliseconds of `call()` over `runs` calls."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def oauth_client(name: str, *, legacy_hash: bool) -> Application:
    app = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=SECRET,
    )
    if legacy_hash:  # as stored before: Django's default hasher (PBKDF2)
        Application.objects.filter(pk=app.pk).update(client_secret=make_password(SECRET))
    OAuthClientScopes.objects.create(application=app, scopes="read")
    return app


def token_request(app: Application, ip: str):
    def call():
        form = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": SECRET}
        response = Client(REMOTE_ADDR=ip).post("/o/token/", form)
        assert response.status_code == 200, response.content

    return call


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    runs, slow_runs = args.runs, max(3, args.runs // 4)
    call_command("migrate", verbosity=0)
    rows = []

    cheap, legacy = oauth_client("cheap", legacy_hash=False), oauth_client("legacy", legacy_hash=True)
    rows.append(
        (
            "POST /o/token/",
            timed(token_request(cheap, "192.0.2.1"), runs),
            timed(token_request(legacy, "192.0.2.2"), slow_runs),
        )
    )

    client = Client()

    def schema_cached():
        assert client.get("/api/schema/").status_code == 200

    def schema_rebuilt():
        CachedSchemaView._built.clear()
        schema_cached()

    schema_cached()
    rebuilt = timed(schema_rebuilt, slow_runs)
    rows.append(("GET /api/schema/", timed(schema_cached, runs), rebuilt))

    for username in ("boss", "other"):
        get_user_model().objects.create_superuser(username, f"{username}@example.com", "a-real-password-0123")

    def login(ip: str, username: str):
        return lambda: Client(REMOTE_ADDR=ip).post("/admin/login/", {"username": username, "password": "wrong"})

    for n in range(5):
        login("198.51.100.1", f"guess{n}")()  # the address is now locked out
    locked = timed(login("198.51.100.1", "boss"), runs)
    # "boss" is locked by now too (failures per username); a user with fewer than 5 failures pays PBKDF2
    wrong_password = timed(lambda: login(f"203.0.113.{next(addresses)}", "other")(), slow_runs)
    rows.append(("POST /admin/login/ (locked out)", locked, wrong_password))

    print(f"{'operation':32} {'now ms':>8} {'before ms':>10} {'ratio':>7}  target <= 10 %")
    for name, now_ms, before_ms in rows:
        verdict = "MET" if now_ms <= 0.1 * before_ms else "NOT MET"
        print(f"{name:32} {now_ms:>8.2f} {before_ms:>10.2f} {now_ms / before_ms:>6.1%}  {verdict}")


addresses = iter(range(1, 250))

if __name__ == "__main__":
    main()
