"""A request's environ holds the request's keys, not the server process's environment variables
(tradingrobot/ops/request_environ.py): Granian starts every request's environ from the worker's os.environ."""

import http.client
import json
import os
import signal

import pytest

from tradingrobot.ops.request_environ import shadowing_variables, without_process_environment

from .conftest import free_port
from .test_web_server import _connect, web_start

PROCESS = {"PATH": "/usr/bin", "HTTP_X_API_KEY": "from-the-process", "CONTENT_TYPE": "text/plain", "SCRIPT_NAME": ""}


def _seen(environ: dict) -> dict:
    seen: dict = {}

    def app(environ, start_response):
        seen.update(environ)
        return [b""]

    without_process_environment(app, PROCESS)(environ, lambda *args: None)
    return seen


def test_a_variable_no_request_carries_is_dropped_and_the_servers_own_keys_are_kept():
    seen = _seen({**PROCESS, "REQUEST_METHOD": "GET", "PATH_INFO": "/api/status"})
    assert "PATH" not in seen
    assert seen["SCRIPT_NAME"] == ""  # Granian's own, over the process's
    assert seen["REQUEST_METHOD"] == "GET"


def test_a_variable_named_like_a_header_is_not_read_as_the_requests():
    seen = _seen({**PROCESS, "REQUEST_METHOD": "GET"})
    assert "HTTP_X_API_KEY" not in seen
    assert "CONTENT_TYPE" not in seen


def test_what_the_request_sent_is_kept():
    sent = {"HTTP_X_API_KEY": "the-clients", "CONTENT_TYPE": "application/json", "HTTP_ACCEPT": "*/*"}
    seen = _seen({**PROCESS, **sent})
    assert {name: seen[name] for name in sent} == sent


def test_an_environ_without_the_process_variables_is_passed_as_it_is():
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json", "HTTP_HOST": "localhost"}
    assert _seen(dict(environ)) == environ


def test_the_launcher_names_the_variables_that_look_like_request_keys():
    assert shadowing_variables(PROCESS) == ["CONTENT_TYPE", "HTTP_X_API_KEY"]


@pytest.mark.slow
def test_granian_does_not_hand_a_process_variable_to_the_api_as_a_header(tmp_path):
    """The production server: an HTTP_X_API_KEY in its environment is not an API key of every request."""
    port = free_port()
    server = web_start(tmp_path, port, workers=1, HTTP_X_API_KEY="Abcdefgh.process-environment-key-0123456789")
    try:
        _connect(port).close()  # listening
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        client.request("GET", "/api/status", headers={"Host": "localhost"})
        answer = client.getresponse()
        body = answer.read()
        log = (tmp_path / "web.log").read_text()
        assert answer.status == 401, log[-2000:]
        assert json.loads(body)["code"] == "not_authenticated"  # no key sent: not the process's key, refused
        assert "HTTP_X_API_KEY" in log  # the launcher warned about it
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(25)
