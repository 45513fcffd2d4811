"""One staging (deploy/staging.py: real nginx over TLS, 2 web (Granian), 2 daphne, 2 workers, 2 beats, the development
feed, under a private supervisord) for the whole module, on a PostgreSQL database of its own
(`<DATABASE_URL's name>_deploy`) and a Redis db of its own (the next one after REDIS_URL's), with short schedules
so a failover takes seconds. Without nginx, supervisor, PostgreSQL or Redis the tests skip, unless REQUIRE_SERVICES=1.
"""

import os
import shutil
import time
import uuid
from decimal import Decimal
from urllib.parse import urlsplit

import psycopg
import pytest
import requests

from deploy.staging import ROOT, Staging
from tests.conftest import REQUIRE_SERVICES
from tests.faults.ledger import Trader

POLL_SECONDS = 2.0
LOCK_TIMEOUT = 5
BEAT_LOOP = 1


def need(condition: bool, why: str) -> None:
    if not condition:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {why}")
        pytest.skip(why)


def database_url(suffix: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return parts._replace(path=f"{parts.path}_{suffix}"[:64]).geturl()


def database_drop(url: str) -> None:
    parts = urlsplit(url)
    admin = parts._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def database_create(url: str) -> None:
    parts = urlsplit(url)
    admin = parts._replace(scheme="postgresql", path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')


def redis_url_next() -> str:
    """The db after REDIS_URL's: the staging's cache keys (ledger version, throttles) are not prefixed."""
    parts = urlsplit(os.environ["REDIS_URL"])
    db = int(parts.path.lstrip("/") or 0)
    return parts._replace(path=f"/{(db + 1) % 16}").geturl()


class Site:
    """The staging as tests/faults/ledger.py's Trader and check_ledger expect it (url, api_key, get, sql)."""

    def __init__(self, staging: Staging):
        self.staging = staging
        self.url, self.api_key = staging.url, staging.api_key

    def get(self, path: str) -> dict:
        answer = requests.get(f"{self.url}{path}", headers={"X-API-Key": self.api_key}, timeout=10)
        answer.raise_for_status()
        return answer.json(parse_float=Decimal)

    def sql(self, query: str, *params) -> list[tuple]:
        with psycopg.connect(self.staging.database_url.replace("postgres://", "postgresql://")) as conn:
            return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def staging():
    for tool in ("nginx", "supervisord", "supervisorctl", "openssl", "pg_dump", "pg_restore"):
        need(shutil.which(tool) is not None, f"{tool} is not installed (apt-get install nginx supervisor)")
    need(os.environ.get("DATABASE_URL", "").startswith("postgres"), "the staging needs PostgreSQL (DATABASE_URL)")
    need(bool(os.environ.get("REDIS_URL")), "the staging needs Redis (REDIS_URL)")
    url = database_url("deploy")
    database_drop(url)
    # Under the repository (not /tmp/pytest-of-root, mode 0700): nginx's workers (www-data) use its temp folders.
    directory = ROOT / "var" / "deploy-tests" / f"staging-{uuid.uuid4().hex[:8]}"
    site = Staging(
        dir=directory,
        database_url=url,
        redis_url=redis_url_next(),
        web_workers=1,
        extra_env={
            "WP_POLL_SECONDS": str(POLL_SECONDS),
            "CELERY_REDBEAT_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
            "CELERY_BEAT_MAX_LOOP_INTERVAL": str(BEAT_LOOP),
            "OPS_HEARTBEAT_SECONDS": "1",
            "OPS_WORKER_MAX_AGE_SECONDS": "10",
            "OPS_BEAT_HEARTBEAT_SECONDS": "2",
            "OPS_BEAT_MAX_AGE_SECONDS": "30",
            "OPS_POLL_MAX_AGE_SECONDS": "30",
            "PUSHBACK_SECONDS": "1",
            "PUSHBACK_BACKOFF_SECONDS": "0.5",
            "PUSHBACK_BACKOFF_MAX_SECONDS": "2",
            "EQUITY_SNAPSHOT_SECONDS": "3600",
            "PERFORMANCE_PUSH_SECONDS": "3600",
            "OPS_ALERT_SECONDS": "3600",
            "THROTTLE_RATE_IP": "100000/min",
            "THROTTLE_RATE_KEY": "100000/min",
            "THROTTLE_RATE_TRADE": "100000/min",
        },
    )
    previous_bundle = os.environ.get("REQUESTS_CA_BUNDLE")
    try:
        started = time.monotonic()
        site.up(timeout=240)
        print(f"staging up in {time.monotonic() - started:.1f} s")
        os.environ["REQUESTS_CA_BUNDLE"] = str(site.cert)  # requests trusts the staging's self-signed certificate
        yield site
    finally:
        site.down()
        if previous_bundle is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous_bundle
        database_drop(url)
        database_drop(database_url("deploy_restore"))
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def site(staging) -> Site:
    return Site(staging)


@pytest.fixture(scope="module")
def trader(site) -> Trader:
    """Every order of the module goes through this client, so the ledger check knows each one."""
    return Trader(site)
