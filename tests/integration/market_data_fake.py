"""A loopback HTTP server answering like Yahoo's chart endpoint and Alpaca's market-data API, from the fixture
files in tests/fixtures/market_data/ (one file per answer shape). Tests choose the shape per route."""

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "market_data"


@dataclass
class FakeMarketData:
    url: str = ""
    # route prefix -> (status, fixture file); the longest matching prefix answers
    routes: dict[str, tuple[int, str]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    follow_clock: bool = False  # move the fixture's times so its newest minute is the one before "now"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, prefix: str, status: int, fixture: str) -> None:
        self.routes[prefix] = (status, fixture)

    def hits(self, prefix: str) -> int:
        with self.lock:
            return sum(path.startswith(prefix) for path in self.seen)


def server_start(fake: FakeMarketData) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            path = urlsplit(self.path).path
            with fake.lock:
                fake.seen.append(self.path)
            matches = [p for p in fake.routes if path.startswith(p)]
            if not matches:
                self.send_response(404)
                self.end_headers()
                return
            status, name = fake.routes[max(matches, key=len)]
            body = (FIXTURES / name).read_bytes()
            if fake.follow_clock and status == 200 and name.endswith(".json"):
                asked = parse_qs(urlsplit(self.path).query).get("symbols", [""])[0]
                body = json.dumps(clock_followed(json.loads(body), asked=asked)).encode()
            self.send_response(status)
            kind = "application/json" if name.endswith(".json") else "text/plain"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def clock_followed(body: dict, *, asked: str = "") -> dict:
    """The same answer, its newest minute moved to the minute before the (frozen) clock's; a history answer of one
    symbol is given the one symbol `asked` for (so one fixture serves every symbol's history)."""
    last = int(time.time()) // 60 * 60 - 60
    for result in (body.get("chart") or {}).get("result") or []:
        stamps = result.get("timestamp") or []
        if stamps:
            result["timestamp"] = [t - stamps[-1] + last for t in stamps]
    bars = body.get("bars")
    if isinstance(bars, dict) and asked and "," not in asked and len(bars) == 1:
        bars = body["bars"] = {asked: next(iter(bars.values()))}
    if isinstance(bars, dict):
        stamp = dt.datetime.fromtimestamp(last, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for bar in bars.values():
            if isinstance(bar, dict):
                bar["t"] = stamp
            elif isinstance(bar, list) and bar and all(isinstance(b, dict) and "t" in b for b in bar):
                newest = dt.datetime.fromisoformat(bar[-1]["t"]).timestamp()
                for b in bar:  # a history answer: its minutes moved together, the newest one before "now"
                    moved = dt.datetime.fromisoformat(b["t"]).timestamp() - newest + last
                    b["t"] = dt.datetime.fromtimestamp(moved, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return body
