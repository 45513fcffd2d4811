"""`GET /api/status` through nginx (TLS) against the same gunicorn instances hit directly, side by side in one run.

    .venv/bin/python bench/nginx_status.py [--duration 10] [--connections 32] [--rounds 2]

Brings up its own staging (deploy/staging.py: nginx, 2 gunicorn instances of 2 sync workers, daphne, Celery, the
development feed) on PostgreSQL `<STAGING_DATABASE_URL>_bench` and Redis STAGING_REDIS_URL (default db 7), with the
rate limits lifted (one address, one key). Then, in alternating rounds: wrk on https://localhost:PORT/api/status
(nginx spreads over both instances), and wrk on each instance's own port at once (half the connections each, the
requests/s added up; `X-Forwarded-Proto: https` as nginx would send), which of the two goes first alternating
between rounds. Target: nginx >= 0.8 x direct. Needs wrk.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import parse_wrk  # noqa: E402
from deploy.staging import Staging  # noqa: E402

TARGET = 0.8


def wrk(url: str, connections: int, duration: int, headers: dict[str, str]) -> subprocess.Popen:
    flags = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", *flags, url]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def measure(urls: list[str], connections: int, duration: int, headers: dict[str, str]) -> dict:
    """wrk on every URL at once (connections split between them); requests/s and errors added up."""
    runs = [wrk(url, max(1, connections // len(urls)), duration, headers) for url in urls]
    results = [parse_wrk(run.communicate()[0]) for run in runs]
    return {
        "rps": sum(r["rps"] for r in results),
        "p50": max(r["p50"] for r in results),
        "p99": max(r["p99"] for r in results),
        "errors": sum(r["errors"] for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="alternating nginx / direct rounds")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    base = urlsplit(os.environ.get("STAGING_DATABASE_URL", Staging.database_url))
    database_url = base._replace(path=f"{base.path}_bench").geturl()
    redis_url = os.environ.get("STAGING_REDIS_URL", "redis://127.0.0.1:6379/7")
    directory = ROOT / "var" / "bench-staging" / uuid.uuid4().hex[:8]
    unlimited = "100000000/min"
    staging = Staging(
        dir=directory,
        database_url=database_url,
        redis_url=redis_url,
        extra_env={"THROTTLE_RATE_IP": unlimited, "THROTTLE_RATE_KEY": unlimited, "LOG_LEVEL": "WARNING"},
    )
    try:
        staging.up(timeout=300)
        loads = os.getloadavg()
        key = {"X-API-Key": staging.api_key}
        through = [f"{staging.url}/api/status"]
        direct = [f"http://127.0.0.1:{staging.ports[f'gunicorn-{i}']}/api/status" for i in ("a", "b")]
        direct_headers = {**key, "X-Forwarded-Proto": "https"}
        measure(through, args.connections, 2, key)  # warm-up: TLS sessions, worker caches
        measure(direct, args.connections, 2, direct_headers)
        rounds: dict[str, list[dict]] = {"nginx": [], "direct": []}
        runs = {"nginx": (through, key), "direct": (direct, direct_headers)}
        for turn in range(args.rounds):  # which goes first alternates, so a drift of the machine favours neither
            for name in ("nginx", "direct") if turn % 2 == 0 else ("direct", "nginx"):
                urls, headers = runs[name]
                rounds[name].append(measure(urls, args.connections, args.duration, headers))
    finally:
        staging.down()
        shutil.rmtree(directory, ignore_errors=True)

    figures = {name: statistics.median(r["rps"] for r in runs) for name, runs in rounds.items()}
    ratio = figures["nginx"] / figures["direct"]
    setup = f"{args.connections} connections, {args.rounds} x {args.duration} s each, 2 gunicorn x 2 workers"
    print(f"GET /api/status, {setup}; load average {loads[0]:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{'path':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}   rounds (req/s)")
    for name, label in (("nginx", "through nginx (TLS, 2 upstreams)"), ("direct", "direct to both gunicorns")):
        runs = rounds[name]
        p50 = statistics.median(r["p50"] for r in runs)
        p99 = statistics.median(r["p99"] for r in runs)
        errors = sum(r["errors"] for r in runs)
        each = ", ".join(f"{r['rps']:.0f}" for r in runs)
        print(f"{label:<34}{figures[name]:>9.0f}{p50:>9.1f}{p99:>9.1f}{errors:>8}   {each}")
    verdict = "PASS" if ratio >= TARGET else "NOT MET"
    print(f"ratio nginx / direct: {ratio:.2f}   target >= {TARGET}x: {verdict}")
    print(f"per gunicorn worker process (direct / 4): {figures['direct'] / 4:.0f} req/s")


if __name__ == "__main__":
    main()
