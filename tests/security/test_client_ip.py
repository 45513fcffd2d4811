"""The client address behind N trusted proxies, and the optional allowlist."""

import pytest

from tradingrobot.security.client_ip import client_ip

from .conftest import assert_error


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "expected"),
    [
        ("198.51.100.7", None, 0, "198.51.100.7"),
        ("198.51.100.7", "10.0.0.1", 0, "198.51.100.7"),  # no proxy trusted: the header is the client's word
        ("10.0.0.2", "203.0.113.9", 1, "203.0.113.9"),
        ("10.0.0.2", "10.0.0.1, 203.0.113.9", 1, "203.0.113.9"),  # the forged left entry is ignored
        ("10.0.0.2", "1.1.1.1, 203.0.113.9, 10.0.0.3", 2, "203.0.113.9"),
        ("10.0.0.2", "203.0.113.9", 2, "203.0.113.9"),  # fewer hops than proxies: all written by proxies
        ("10.0.0.2", "not-an-ip", 1, "10.0.0.2"),
        ("10.0.0.2", "[2001:db8::1]:443", 1, "2001:db8::1"),
        ("10.0.0.2", "203.0.113.9:5555", 1, "203.0.113.9"),
    ],
)
def test_client_ip(remote, forwarded, proxies, expected):
    assert client_ip(remote, forwarded, proxies) == expected


def test_allowlist_lets_in_only_listed_networks(settings, make_key, client_from):
    settings.API_IP_ALLOWLIST = ["192.0.2.0/24", "2001:db8::/32"]
    _, plain = make_key("read")
    assert client_from(plain, remote_addr="192.0.2.44").get("/api/status").status_code == 200
    assert client_from(plain, remote_addr="2001:db8::5").get("/api/status").status_code == 200
    assert_error(client_from(plain, remote_addr="198.51.100.7").get("/api/status"), 403, "ip_not_allowed")


def test_a_forged_forwarded_for_does_not_pass_the_allowlist(settings, make_key, client_from):
    settings.API_IP_ALLOWLIST = ["192.0.2.0/24"]
    _, plain = make_key("read")
    settings.TRUSTED_PROXY_COUNT = 0
    direct = client_from(plain, remote_addr="198.51.100.7")
    assert_error(direct.get("/api/status", HTTP_X_FORWARDED_FOR="192.0.2.44"), 403, "ip_not_allowed")
    settings.TRUSTED_PROXY_COUNT = 1
    via_proxy = client_from(plain, remote_addr="10.0.0.1")
    forged = "192.0.2.44, 198.51.100.7"  # the client wrote the first entry, the proxy appended its real address
    assert_error(via_proxy.get("/api/status", HTTP_X_FORWARDED_FOR=forged), 403, "ip_not_allowed")
    assert via_proxy.get("/api/status", HTTP_X_FORWARDED_FOR="198.51.100.7, 192.0.2.44").status_code == 200


def test_allowlist_also_guards_the_token_endpoint_the_admin_and_metrics(settings, client_from):
    settings.API_IP_ALLOWLIST = ["192.0.2.0/24"]
    settings.METRICS_IP_ALLOWLIST = ["0.0.0.0/0"]  # metrics' own allowlist would let it in: the API's comes first
    outsider = client_from(remote_addr="198.51.100.7")
    assert_error(outsider.post("/o/token/", {"grant_type": "client_credentials"}), 403, "ip_not_allowed")
    assert_error(outsider.get("/admin/login/"), 403, "ip_not_allowed")
    assert_error(outsider.post("/admin/login/", {"username": "a", "password": "b"}), 403, "ip_not_allowed")
    assert_error(outsider.get("/metrics"), 403, "ip_not_allowed")
    insider = client_from(remote_addr="192.0.2.9")
    assert insider.get("/admin/login/").status_code == 200
    assert insider.get("/metrics").status_code == 200


def test_health_answers_without_a_key_even_outside_the_allowlist(settings, client_from):
    settings.API_IP_ALLOWLIST = ["192.0.2.0/24"]
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "ip": "1/min"}
    outsider = client_from(remote_addr="198.51.100.7")
    assert [outsider.get("/api/health").status_code for _ in range(3)] == [200, 200, 200]
    assert outsider.get("/api/health/ready").status_code in (200, 503)
    assert_error(outsider.get("/api/status"), 403, "ip_not_allowed")
