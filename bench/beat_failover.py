"""Beat failover, n times in one staging: the active beat SIGKILLed, the time until a beat holds the lock and until
it sends its first due poll, against the lock timeout.

    STAGING_DATABASE_URL=... STAGING_REDIS_URL=... .venv/bin/python bench/beat_failover.py [--runs 5]

Same short schedules as tests/deploy (poll every 2 s, lock timeout 5 s, beat loop 1 s), on PostgreSQL
`<STAGING_DATABASE_URL>_beat` and STAGING_REDIS_URL (default db 7). Target: every takeover <= the lock timeout.
"""

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.staging import Staging  # noqa: E402
from tradingrobot.beat import lock_ttl  # noqa: E402

POLL, LOCK_TIMEOUT, LOOP = 2.0, 5, 1
LOCKED = ("beat: Acquired lock", "beat: acquired the lock")
SENT = "Sending due task wordpress-poll"


def times(staging: Staging, name: str, needles: tuple[str, ...], since: dt.datetime) -> list[dt.datetime]:
    found = []
    for line in staging.log(name).read_text(errors="replace").splitlines():
        if line.startswith("{") and any(needle in line for needle in needles):
            at = dt.datetime.strptime(json.loads(line)["time"], "%Y-%m-%d %H:%M:%S,%f")
            if at > since:
                found.append(at)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = urlsplit(os.environ.get("STAGING_DATABASE_URL", Staging.database_url))
    directory = ROOT / "var" / "bench-staging" / f"beat-{uuid.uuid4().hex[:8]}"
    staging = Staging(
        dir=directory,
        database_url=base._replace(path=f"{base.path}_beat").geturl(),
        redis_url=os.environ.get("STAGING_REDIS_URL", "redis://127.0.0.1:6379/7"),
        web_workers=1,
        extra_env={
            "WP_POLL_SECONDS": str(POLL),
            "CELERY_REDBEAT_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
            "CELERY_BEAT_MAX_LOOP_INTERVAL": str(LOOP),
            "LOG_LEVEL": "INFO",
        },
    )
    beats = ("beat-a", "beat-b")
    results: list[tuple[float, float]] = []
    try:
        staging.up(timeout=300)
        origin = dt.datetime.now() - dt.timedelta(days=1)
        for run in range(args.runs):
            time.sleep(3 * POLL)
            holders = sorted((max(times(staging, b, LOCKED, origin), default=origin), b) for b in beats)
            active = holders[-1][1]
            pid = staging.pid(active)
            killed_at = dt.datetime.now()
            os.killpg(pid, signal.SIGKILL)
            give_up = time.monotonic() + 20
            taken: list[dt.datetime] = []
            while not taken and time.monotonic() < give_up:
                time.sleep(0.2)
                taken = sorted(at for b in beats for at in times(staging, b, LOCKED, killed_at))
            time.sleep(POLL + 1)
            sent = sorted(at for b in beats for at in times(staging, b, (SENT,), taken[0] if taken else killed_at))
            if not taken or not sent:
                print(f"run {run + 1}: no takeover seen")
                continue
            takeover, first = ((at - killed_at).total_seconds() for at in (taken[0], sent[0]))
            results.append((takeover, first))
            print(f"run {run + 1}: {active} killed; lock held after {takeover:.2f} s, first poll sent {first:.2f} s")
        loads = os.getloadavg()
    finally:
        staging.down()
        shutil.rmtree(directory, ignore_errors=True)
    if not results:
        raise SystemExit("no run measured")
    takeovers, firsts = [r[0] for r in results], [r[1] for r in results]
    print(
        f"{len(results)} runs, lock timeout {LOCK_TIMEOUT} s (renewed to {lock_ttl(LOCK_TIMEOUT, LOOP)} s), beat loop"
        f" {LOOP} s; load average {loads[0]:.1f}"
    )
    print(f"lock held after kill: median {statistics.median(takeovers):.2f} s, max {max(takeovers):.2f} s")
    print(f"first poll after kill: median {statistics.median(firsts):.2f} s, max {max(firsts):.2f} s")
    verdict = "PASS" if max(firsts) <= LOCK_TIMEOUT and max(takeovers) <= LOCK_TIMEOUT else "NOT MET"
    print(f"target every takeover and first poll <= {LOCK_TIMEOUT} s: {verdict}")


if __name__ == "__main__":
    main()
