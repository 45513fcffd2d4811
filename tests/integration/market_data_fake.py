"""A loopback HTTP server answering like Yahoo's chart endpoint and Alpaca's market-data API, from the fixture
files in tests/fixtures/market_data/ (one file per answer shape). Tests choose the shape per route."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "market_data"


@dataclass
class FakeMarketData:
    url: str = ""
    # route prefix -> (status, fixture file); the longest matching prefix answers
    routes: dict[str, tuple[int, str]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, prefix: str, status: int, fixture: str) -> None:
        self.routes[prefix] = (status, fixture)

    def hits(self, prefix: str) -> int:
        with self.lock:
            return sum(path.startswith(prefix) for path in self.seen)


def server_start(fake: FakeMarketData) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
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
