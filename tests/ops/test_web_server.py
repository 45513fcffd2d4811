"""The HTTP API's production server (tradingrobot/ops/web.py, Granian) stops gracefully: SIGTERM to its main
process (systemd, KillMode=mixed) or to its whole process group (supervisord, stopasgroup) lets a request in flight
finish, closes idle keep-alive connections, refuses new ones, and every process of the instance exits."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings

from .conftest import free_port

pytestmark = pytest.mark.slow


def web_start(tmp_path, port: int, *, workers: int, **extra_env: str) -> subprocess.Popen:
    """Production's web server (python -m tradingrobot.ops.web) on `port`, in a process group of its own, its
    output in tmp_path/web.log."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
        "SECRET_KEY": "web-server-test-only",
        "ALLOWED_HOSTS": "localhost",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        **extra_env,
    }
    return subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "tradingrobot.ops.web", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        cwd=settings.BASE_DIR, env=env, start_new_session=True,
        stdout=(tmp_path / "web.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def _connect(port: int, timeout: float = 30.0) -> socket.socket:
    give_up = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.1)


def _head(sock: socket.socket) -> list[bytes]:
    """One whole response read (its body by Content-Length); its status line and headers."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or _closed()
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    length = next((int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += sock.recv(65536) or _closed()
    return lines


def _closed() -> bytes:
    raise AssertionError("the server closed the connection before the whole answer")


@pytest.mark.parametrize("whom", ["main process", "process group"])
def test_sigterm_lets_the_request_in_flight_finish(whom, tmp_path):
    port = free_port()
    server = web_start(tmp_path, port, workers=2)
    try:
        idle = _connect(port)
        idle.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        head = _head(idle)
        assert head[0] == b"HTTP/1.1 200 OK", (tmp_path / "web.log").read_text()[-2000:]
        # Granian names itself and has no option to drop it; nginx hides it (tests/deploy: `Server: nginx`).
        assert b"server: granian" in head
        body = b'{"symbol": "TSLA"}' * 8
        busy = _connect(port)
        start = b"POST /api/health HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        busy.sendall(start + b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])  # the rest comes later
        time.sleep(0.5)
        group = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _pgid(int(pid)) == server.pid]
        assert len(group) >= 3, group  # the main process and its 2 workers
        if whom == "main process":
            server.send_signal(signal.SIGTERM)
        else:
            os.killpg(server.pid, signal.SIGTERM)
        time.sleep(1.5)
        busy.sendall(body[10:])
        assert _head(busy)[0] == b"HTTP/1.1 405 Method Not Allowed"  # answered by the app after the signal
        idle.settimeout(5)
        assert idle.recv(100) == b""  # closed by the server
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert server.wait(25) == 0
        assert [pid for pid in group if _pgid(pid) == server.pid] == []
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
