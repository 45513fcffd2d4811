"""Outbound WordPress credentials: read from the environment, used only for the configured site, never logged."""

import base64
import io
import logging
import os
import subprocess
import sys

import pytest

from tradingrobot.security.outbound import wordpress_auth
from tradingrobot.security.redaction import MASK

PASSWORD = "abcd EFGH ijkl MNOP qrst UVWX"


@pytest.fixture
def wp_credentials(settings):
    settings.WP_BASE_URL = "https://tradingrobotplug.com"
    settings.WP_APP_USER = "robot"
    settings.WP_APP_PASSWORD = PASSWORD
    return settings


@pytest.fixture
def console_output():
    """What the configured console handler (with its redaction filter) writes."""
    handler = next(h for h in logging.getLogger().handlers if h.filters)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_secrets_never_reach_the_log(wp_credentials, console_output, make_key):
    _, key = make_key("read")
    basic = base64.b64encode(f"robot:{PASSWORD}".encode()).decode()
    log = logging.getLogger("integration.wordpress")
    log.warning("posting with password %s", PASSWORD)
    log.warning("headers: {'Authorization': 'Basic %s'}", basic)
    log.warning("compact form %s", PASSWORD.replace(" ", ""))
    log.warning("client sent X-API-Key: %s and Authorization: Api-Key %s", key, key)
    try:
        raise RuntimeError(f"WordPress said no to robot:{PASSWORD}")
    except RuntimeError:
        log.exception("push failed")
    output = console_output.getvalue()
    for secret in (PASSWORD, PASSWORD.replace(" ", ""), basic, key, key.split(".")[1]):
        assert secret not in output
    assert output.count(MASK) >= 6
    assert "push failed" in output and "RuntimeError" in output


def test_credentials_are_handed_out_only_for_the_configured_site(wp_credentials):
    assert wordpress_auth("https://tradingrobotplug.com/wp-json/tradingrobotplug/v1/trades") == ("robot", PASSWORD)
    for url in (
        "https://tradingrobotplug.com.evil.example/wp-json/",
        "http://tradingrobotplug.com/wp-json/",
        "https://evil.example/?u=https://tradingrobotplug.com/",
    ):
        assert wordpress_auth(url) is None, url


def test_credentials_come_from_the_environment_and_not_from_code():
    code = "import django;django.setup();from django.conf import settings as s; print(s.WP_APP_USER, s.WP_APP_PASSWORD)"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tradingrobot.test_settings",
        "WP_APP_USER": "u1",
        "WP_APP_PASSWORD": "p w",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)  # noqa: S603
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.splitlines()[-1].split() == ["u1", "p", "w"]
    env.pop("WP_APP_USER"), env.pop("WP_APP_PASSWORD")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)  # noqa: S603
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == ""


def test_an_error_page_does_not_show_the_password(wp_credentials):
    from django.views.debug import SafeExceptionReporterFilter

    shown = SafeExceptionReporterFilter().get_safe_settings()
    assert shown["WP_APP_PASSWORD"] != PASSWORD


def test_key_shapes_secret_fields_and_encoded_passwords_are_masked(wp_credentials, console_output, make_key):
    """Issue 13, item 19: what the header rules alone let through."""
    from urllib.parse import quote, quote_plus

    _, key = make_key("read")
    log = logging.getLogger("tradingrobot.tests")
    log.warning("a client sent %s in the body", key)  # the bare key, no header name before it
    log.warning("request body %s", '{"api_key": "k-123456", "client_secret": "cs-7890", "symbol": "TSLA"}')
    log.warning("kwargs %s", {"password": "hunter2", "user": "bob", "access_token": "tok-abc"})
    log.warning("form grant_type=client_credentials&client_secret=s%2Fx%3D&client_id=app1")
    log.warning("encoded %s and %s", quote(PASSWORD, safe=""), quote_plus(PASSWORD))
    log.warning("fetching https://robot:%s@wp.example/wp-json/", quote(PASSWORD, safe=""))
    output = console_output.getvalue()
    secrets_seen = [key, key.split(".")[1], "k-123456", "cs-7890", "hunter2", "tok-abc", "s%2Fx%3D"]
    secrets_seen += [quote(PASSWORD, safe=""), quote_plus(PASSWORD), "abcd%20EFGH"]
    for secret in secrets_seen:
        assert secret not in output, (secret, output)
    for kept in ('"symbol": "TSLA"', "'user': 'bob'", "client_id=app1", "grant_type=client_credentials", "robot:"):
        assert kept in output, (kept, output)
