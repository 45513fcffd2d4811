"""What each middleware costs per request of GET /api/status, in process (no HTTP server, no load generator).

    .venv/bin/python bench/middleware_cost.py [--requests 2000] [--rounds 5]

Uses bench/api_load.py's database (created and seeded when missing) and settings. Times one request (the CPU
time of this process: waiting for Redis or for a busy CPU is left out) through Django's WSGI handler with the
full MIDDLEWARE list, then with each middleware left out in turn (its cost is the difference), through the lean
list (tradingrobot/lean.py), with no middleware at all, and through the fast path (tradingrobot/fast_path.py:
production's WSGI application). The order of the variants is shuffled per round and
the median per-request time over the rounds is printed, in microseconds, with the load average (the machine is
shared: only differences measured in the same run mean anything).
"""

import argparse
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import api_load  # noqa: E402 - after the path

SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
NEEDS_SESSION = (
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)


def environ(headers: list[str], *, method: str = "GET", path: str = "/api/status", body: bytes = b"") -> dict:
    """A loopback WSGI environ for `path` with the bench's key header (`headers`: wrk's -H pair), and `body`'s
    content type and length when there is one (wsgi.input is the caller's)."""
    name, value = headers[1].split(": ", 1) if headers else ("", "")
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    if body:
        env.update(CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(body)))
    if name:
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


FAST = "fast path (tradingrobot/fast_path.py)"


def handler_for(middleware: list[str] | str | None):
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from tradingrobot.fast_path import lean_dispatch
    from tradingrobot.lean import LeanWSGIHandler

    if middleware == FAST:
        return lean_dispatch(WSGIHandler())
    if middleware is None:
        return LeanWSGIHandler()
    with override_settings(MIDDLEWARE=middleware):
        return WSGIHandler()


def time_per_request(handler, env: dict, requests: int) -> float:
    def start_response(status, headers, exc_info=None):
        assert status.startswith("200"), status

    started = time.process_time()  # this process's CPU: waiting for Redis or for a CPU is left out
    for _ in range(requests):
        chunks = handler({**env, "wsgi.input": io.BytesIO(b"")}, start_response)
        for _chunk in chunks:
            pass
        getattr(chunks, "close", lambda: None)()  # a list (the prepared reply) has none
    return (time.process_time() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per variant per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=1_000_000, help="as bench/api_load.py seeds")
    args = parser.parse_args()
    api_load.django_setup()
    api_load.prepare_database(args.samples)
    headers = api_load.api_key_header()
    from django.conf import settings

    full = list(settings.MIDDLEWARE)
    variants: dict[str, list[str] | str | None] = {"full list": full}
    for path in full:
        if path in NEEDS_SESSION:
            continue
        gone = {path, *NEEDS_SESSION} if path == SESSION else {path}
        label = f"without {path}" + (" (+ auth, messages: they need it)" if path == SESSION else "")
        variants[label] = [m for m in full if m not in gone]
    for path in NEEDS_SESSION:
        variants[f"without {path}"] = [m for m in full if m != path]
    variants["lean list (tradingrobot/lean.py)"] = None
    variants["no middleware"] = []
    variants[FAST] = FAST
    handlers = {name: handler_for(mw) for name, mw in variants.items()}
    env = environ(headers)
    for handler in handlers.values():
        time_per_request(handler, env, 50)  # warm: imports, memo, key memo
    loads = [os.getloadavg()]
    times: dict[str, list[float]] = {name: [] for name in handlers}
    for _ in range(args.rounds):
        order = list(handlers)
        random.shuffle(order)
        for name in order:
            times[name].append(time_per_request(handlers[name], env, args.requests))
        loads.append(os.getloadavg())
    median = {name: statistics.median(values) for name, values in times.items()}
    base = median["full list"]
    print(f"GET /api/status in process, {args.requests} requests x {args.rounds} rounds, median CPU us per request")
    print(f"load average before and after each round: {' | '.join(' '.join(f'{x:.2f}' for x in la) for la in loads)}")
    print(f"{'variant':66} {'us/req':>8} {'cost us':>8}")
    for name, value in median.items():
        cost = base - value if name.startswith("without") else value - base
        label = "(the middleware's cost)" if name.startswith("without") else "(vs the full list)"
        print(f"{name:66} {value:>8.1f} {cost:>+8.1f} {label}")


if __name__ == "__main__":
    main()
