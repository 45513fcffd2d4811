import datetime as dt
import itertools
import uuid

import pytest
from rest_framework.test import APIClient

from tradingrobot.security.services import api_key_create

_addresses = itertools.count(1)


@pytest.fixture
def make_key(db):
    """make_key("read,trade", expires_at=...) -> (ApiKey, plain key), through the service."""

    def make(scopes="read", name="sec-test", expires_at: dt.datetime | None = None):
        return api_key_create(name=name, scopes=scopes, created_by="tests", expires_at=expires_at)

    return make


@pytest.fixture
def address():
    """A client address of its own per test, so rate counters kept in a shared Redis never collide across runs."""
    n = next(_addresses) + uuid.uuid4().int % 60000
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256 or 1}"


@pytest.fixture
def client_from(address):
    def client(plain_key: str | None = None, remote_addr: str | None = None) -> APIClient:
        api = APIClient(REMOTE_ADDR=remote_addr or address)
        if plain_key:
            api.credentials(HTTP_X_API_KEY=plain_key)
        return api

    return client


def assert_error(response, status: int, code: str, *fragments: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert (body["status"], body["code"]) == ("error", code), body
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    return body
