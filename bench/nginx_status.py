"""`GET /api/status` through nginx (TLS) against the same web instances hit directly, side by side in one run.

    .venv/bin/python bench/nginx_status.py [--duration 5] [--connections 32] [--rounds 8]

Brings up its own staging (deploy/staging.py: nginx, 2 web instances of 2 worker processes (Granian,
tradingrobot/ops/web.py; nginx keeps idle upstream connections), daphne, Celery, the development feed) on PostgreSQL
`<STAGING_DATABASE_URL>_bench` and Redis STAGING_REDIS_URL (default db 7), with the rate limits lifted (one address,
one key). Then `--rounds` pairs of runs: wrk on https://localhost:PORT/api/status (nginx spreads over both
instances), and wrk on each instance's own port at once (half the connections each, the requests/s added up;
`X-Forwarded-Proto: https` and `X-Forwarded-For` as nginx would send); which of the two goes first alternates
between pairs. A shared machine's speed drifts by more than nginx costs, so the figure is the median of the pairs'
ratios (each pair measured seconds apart); the ratio of the median requests/s is printed too. Any error (non-2xx,
socket error) makes the run invalid. The CPU each request cost nginx's workers and the web workers (psutil) says
what the ratio must be where the CPU is the limit. Target: nginx >= 0.8 x direct. Needs wrk.
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

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import parse_wrk  # noqa: E402
from deploy.staging import INSTANCES, Staging  # noqa: E402

TARGET = 0.8


def wrk(url: str, connections: int, duration: int, headers: dict[str, str]) -> subprocess.Popen:
    flags = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", *flags, url]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def cpu_seconds(processes: dict[str, list[psutil.Process]]) -> dict[str, float]:
    def used(process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    return {name: sum(map(used, group)) for name, group in processes.items()}


def measure(urls: list[str], connections: int, duration: int, headers: dict[str, str], processes) -> dict:
    """wrk on every URL at once (connections split between them); requests/s and errors added up, and the CPU
    seconds per request of each process group."""
    before = cpu_seconds(processes)
    runs = [wrk(url, max(1, connections // len(urls)), duration, headers) for url in urls]
    results = [parse_wrk(run.communicate()[0]) for run in runs]
    after = cpu_seconds(processes)
    requests = sum(r["requests"] for r in results) or 1
    return {
        "rps": sum(r["rps"] for r in results),
        "p50": max(r["p50"] for r in results),
        "p99": max(r["p99"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "cpu_ms": {name: 1000 * (after[name] - before[name]) / requests for name in processes},
    }


def workers(staging: Staging, program: str) -> list[psutil.Process]:
    return psutil.Process(staging.pid(program)).children()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=8, help="pairs of nginx / direct runs")
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
        direct = [f"http://127.0.0.1:{staging.ports[f'web-{i}']}/api/status" for i in INSTANCES]
        direct_headers = {**key, "X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}
        processes = {
            "nginx": workers(staging, "nginx"),
            "web": [p for i in INSTANCES for p in workers(staging, f"web-{i}")],
        }
        measure(through, args.connections, 2, key, processes)  # warm-up: TLS sessions, worker caches
        measure(direct, args.connections, 2, direct_headers, processes)
        rounds: dict[str, list[dict]] = {"nginx": [], "direct": []}
        runs = {"nginx": (through, key), "direct": (direct, direct_headers)}
        for turn in range(args.rounds):  # which goes first alternates, so a drift of the machine favours neither
            for name in ("nginx", "direct") if turn % 2 == 0 else ("direct", "nginx"):
                urls, headers = runs[name]
                rounds[name].append(measure(urls, args.connections, args.duration, headers, processes))
    finally:
        staging.down()
        shutil.rmtree(directory, ignore_errors=True)
    report(args, rounds, loads)


def report(args, rounds: dict[str, list[dict]], loads: tuple[float, ...]) -> None:
    figures = {name: statistics.median(r["rps"] for r in runs) for name, runs in rounds.items()}
    pairs = [n["rps"] / d["rps"] for n, d in zip(rounds["nginx"], rounds["direct"], strict=True) if d["rps"]]
    ratio = statistics.median(pairs) if pairs else 0.0
    setup = f"{args.connections} connections, {args.rounds} pairs x {args.duration} s, 2 web (Granian) x 2 workers"
    print(f"GET /api/status, {setup}; load average {loads[0]:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{'path':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'CPU ms/req nginx, web':>29}")
    for name, label in (("nginx", "through nginx (TLS, 2 upstreams)"), ("direct", "direct to both web instances")):
        runs = rounds[name]
        p50 = statistics.median(r["p50"] for r in runs)
        p99 = statistics.median(r["p99"] for r in runs)
        errors = sum(r["errors"] for r in runs)
        cpu = ", ".join(f"{statistics.median(r['cpu_ms'][group] for r in runs):.2f}" for group in ("nginx", "web"))
        print(f"{label:<34}{figures[name]:>9.0f}{p50:>9.1f}{p99:>9.1f}{errors:>8}{cpu:>29}")
        each = ", ".join(f"{r['rps']:.0f}" for r in runs)
        print(f"    rounds (req/s): {each}")
    print(f"pair ratios: {', '.join(f'{p:.2f}' for p in pairs)}")
    print(f"ratio of the medians: {figures['nginx'] / figures['direct']:.2f}")
    web = statistics.median(r["cpu_ms"]["web"] for r in rounds["nginx"])
    proxy = statistics.median(r["cpu_ms"]["nginx"] for r in rounds["nginx"])
    if web:  # the CPU shared by all: each request through nginx costs web + proxy instead of web
        print(f"where CPU is the limit, nginx's share implies a ratio of {web / (web + proxy):.2f}")
    errors = sum(r["errors"] for runs in rounds.values() for r in runs)
    verdict = "INVALID (errors)" if errors else ("PASS" if ratio >= TARGET else "NOT MET")
    print(f"ratio nginx / direct (median of pairs): {ratio:.2f}   target >= {TARGET}x: {verdict}")
    print(f"per web worker process (direct / 4): {figures['direct'] / 4:.0f} req/s")


if __name__ == "__main__":
    main()
