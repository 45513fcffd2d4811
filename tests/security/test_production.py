"""Production mode: `check --deploy` is clean; HTTPS redirect honours the proxy's header; DEBUG off by default."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "PRODUCTION": "1",
    "SECRET_KEY": "p" * 10 + "roduction-secret-for-the-deploy-check-0123456789-xyz",
    "ALLOWED_HOSTS": "api.tradingrobotplug.com",
    "TRUSTED_PROXY_COUNT": "1",
}


def manage(*args, env_extra: dict, drop=("DEBUG",)) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in drop and k != "DJANGO_SETTINGS_MODULE"}
    env.update(env_extra)
    command = [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # noqa: S603


def test_check_deploy_prints_no_warning_in_production_mode():
    result = manage("check", "--deploy", env_extra=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "WARNING" not in output.upper(), output
    assert "System check identified no issues (0 silenced)." in output


def test_debug_is_off_unless_asked_for():
    code = ["shell", "-v", "0", "-c", "from django.conf import settings as s; print(s.DEBUG, s.SECURE_SSL_REDIRECT)"]
    assert manage(*code, env_extra=PRODUCTION_ENV).stdout.split() == ["False", "True"]
    local = {"SECRET_KEY": "x" * 60}
    assert manage(*code, env_extra=local).stdout.split() == ["False", "False"]


def test_https_redirect_behind_the_proxy(settings, client, api):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    plain_http = client.get("/api/status")
    assert plain_http.status_code == 301
    assert plain_http["Location"] == "https://testserver/api/status"
    via_tls = api.get("/api/status", HTTP_X_FORWARDED_PROTO="https")
    assert via_tls.status_code == 200
    assert via_tls["Strict-Transport-Security"].startswith("max-age=31536000")


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", env_extra={"PRODUCTION": "1"}, drop=("DEBUG", "SECRET_KEY"))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_local_commands_need_no_secret_key():
    result = manage("check", env_extra={}, drop=("DEBUG", "SECRET_KEY", "PRODUCTION"))
    assert result.returncode == 0, result.stderr


def test_testserver_is_not_an_allowed_host_outside_tests():
    """Issue 13, item 15: the test client's host is no origin a browser page of the API can have."""
    code = ["shell", "-v", "0", "-c", "from django.conf import settings as s; print(s.ALLOWED_HOSTS)"]
    result = manage(*code, env_extra={"SECRET_KEY": "x" * 60}, drop=("DEBUG", "ALLOWED_HOSTS"))
    assert result.returncode == 0, result.stderr
    assert "testserver" not in result.stdout and "localhost" in result.stdout
