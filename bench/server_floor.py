"""What the HTTP server itself costs: a fixed ~1 KB JSON answer (no Django) under production's server
(tradingrobot/ops/web.py: Granian, 2 workers of one thread), under gunicorn's sync workers (2, what production ran
before), and FastAPI's /api/status under uvicorn, 1 worker (bench/fastapi_status.py, the same payload) — the
floor under any endpoint each server can serve, side by side in one run.

    .venv/bin/python bench/server_floor.py [--duration 8] [--rounds 2] [--connections 64]

Needs wrk. No database, no Redis. Prints req/s per round and the load average.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.api_load import loadavg, parse_wrk  # noqa: E402 - after the path
from bench.ports import free_port  # noqa: E402

PAYLOAD = b'{"status": "running", "padding": "' + b"x" * 960 + b'"}'


def application(environ, start_response):
    """The fixed answer, as a WSGI application (what the two WSGI servers serve)."""
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(PAYLOAD)))])
    return [PAYLOAD]


def commands(port: int, payload_file: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    bind, bin_dir = f"127.0.0.1:{port}", Path(sys.executable).parent
    app = "bench.server_floor:application"
    uvicorn = [str(bin_dir / "uvicorn"), "bench.fastapi_status:app", "--host", "127.0.0.1", "--port", str(port)]
    return {
        "Granian (production, 2 workers)": (
            [sys.executable, "-m", "tradingrobot.ops.web", "--bind", bind, "--workers", "2", "--app", app],
            {},
        ),
        "gunicorn sync (2 workers)": ([str(bin_dir / "gunicorn"), "-w", "2", "-k", "sync", "-b", bind, app], {}),
        "FastAPI, uvicorn 1 worker": (
            [*uvicorn, "--workers", "1", "--log-level", "warning", "--no-access-log"],
            {"FASTAPI_STATUS_PAYLOAD": payload_file},
        ),
    }


def serve(command: list[str], extra_env: dict[str, str], url: str) -> subprocess.Popen:
    env = {**os.environ, **extra_env, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - loopback
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{command[0]} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as payload:
        payload.write(PAYLOAD)
    results: dict[str, list[float]] = {}
    print(f"load average {loadavg()}", flush=True)
    for _ in range(args.rounds):
        port = free_port()
        url = f"http://127.0.0.1:{port}/api/status"
        for name, (command, env) in commands(port, payload.name).items():
            process = serve(command, env, url)
            try:
                wrk = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency", url]
                run = parse_wrk(subprocess.run(wrk, capture_output=True, text=True, check=True).stdout)
                results.setdefault(name, []).append(run["rps"])
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
    os.unlink(payload.name)
    for name, rates in results.items():
        print(f"{name:34} {' / '.join(f'{r:,.0f}' for r in rates)} req/s")
    print(f"load average {loadavg()}")


if __name__ == "__main__":
    main()
