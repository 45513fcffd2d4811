"""End to end on a real daphne: ws /ws/updates refuses a connection without credentials (close code 4401 and a
JSON reason), refuses a foreign origin at the handshake, and streams status to a key with the read scope."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    for port in range(8310, 8399):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 8310-8398")


def run(args: list[str], env: dict) -> str:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)  # noqa: S603
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("daphne") / "db.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "DATABASE_URL")}
    env.update(SECRET_KEY="e2e-only-" + "k" * 50, DATABASE_URL=f"sqlite:///{db}", TRADING_CALENDAR="24/7")
    manage = [sys.executable, "manage.py"]
    run([*manage, "migrate", "--noinput", "-v", "0"], env)
    key = run([*manage, "create_api_key", "--name", "e2e", "--scopes", "read"], env).strip().splitlines()[-1]
    port = free_port()
    daphne = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "tradingrobot.asgi:application"]
    process = subprocess.Popen(daphne, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        time.sleep(0.1)
    yield f"ws://127.0.0.1:{port}/ws/updates", key
    process.terminate()
    process.wait(timeout=10)


def test_no_credentials_is_closed_4401_with_a_reason(server):
    url, _ = server
    with connect(url, open_timeout=10) as ws:
        message = json.loads(ws.recv(timeout=10))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert (message["type"], message["code"]) == ("error", "not_authenticated")
    assert closed.value.rcvd.code == 4401


def test_a_bad_key_is_closed_4401(server):
    url, _ = server
    with connect(url, additional_headers={"X-API-Key": "abcdefgh.bad"}, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["code"] == "invalid_api_key"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd.code == 4401


def test_a_foreign_origin_is_refused_at_the_handshake(server):
    url, key = server
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin="https://evil.example", additional_headers={"X-API-Key": key}, open_timeout=10)
    assert refused.value.response.status_code == 403


def test_a_read_key_from_the_wordpress_origin_gets_the_status_stream(server):
    url, key = server
    headers = {"Authorization": f"Api-Key {key}"}
    with connect(url, origin="https://tradingrobotplug.com", additional_headers=headers, open_timeout=10) as ws:
        frame = json.loads(ws.recv(timeout=15))
    assert frame["type"] == "status"
    assert {"portfolio_value", "cash_balance", "positions"} <= set(frame)
