"""A development stand-in for TradingRobotPlug.com: a loopback HTTP server speaking the WordPress contract.

Prices are a seeded random walk per primary symbol on a 5-minute grid around the clock; rows look like the
site's: numbers as strings from "the database", JSON numbers with `"id": null` for "live" quotes, site-local
MySQL datetimes, cumulative day volume (resets at site-local midnight). It serves `/wp-json/` (the zone),
`/stock-data`, `/stock-data/{symbol}` (with the site's `days` bug), `/strategies`, both URL styles, and
WP_Error answers. It is also the real server of the end-to-end tests, hence the fault modes, switched by
`POST /__devfeed/fault {"mode": ..., "count": n}` or `--fault`:

  ok | http500 (JSON 500) | critical (HTML critical-error page, 500) | nonjson (200, not JSON) |
  wp_error (400 WP_Error) | hang (sleeps `hang_seconds` then answers) | ratelimit (429, Retry-After: 1) |
  bad_shape (200, JSON of the wrong shape) | no_pretty (pretty URLs give an HTML 404: only ?rest_route= works)

The same request sets what `/strategies` reports per symbol: `{"strategy_status": {"QQQ": "paused"}}`
(the others stay `active`).
"""

import contextlib
import datetime as dt
import json
import math
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import numpy as np

from .devfeed_receiver import Receiver

STEP = 300  # seconds between samples
ORIGIN = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
HORIZON_STEPS = 8 * 366 * 24 * 12  # 2020..2028
BASE_PRICES = {"TSLA": 250.0, "QQQ": 480.0, "SPY": 590.0, "NVDA": 135.0}
NAMESPACE = "/tradingrobotplug/v1"
CRITICAL_PAGE = (
    '<!DOCTYPE html><html><head><title>WordPress &rsaquo; Error</title></head><body id="error-page">'
    '<div class="wp-die-message"><p>There has been a critical error on this website.</p>'
    '<p><a href="https://wordpress.org/documentation/article/faq-troubleshooting/">Learn more about '
    "troubleshooting WordPress.</a></p></div></body></html>"
)
FAULTS = ("ok", "http500", "critical", "nonjson", "wp_error", "hang", "ratelimit", "bad_shape", "no_pretty")


class Walk:
    """Prices and cumulative day volumes of one symbol, generated once for the whole grid."""

    def __init__(self, ticker: str, seed: int, zone: ZoneInfo):
        rng = np.random.default_rng([seed, sum(map(ord, ticker))])
        steps = rng.normal(0.0, 0.0012, HORIZON_STEPS)
        self.prices = BASE_PRICES.get(ticker, 100.0) * np.exp(np.cumsum(steps))
        self.traded = np.cumsum(rng.integers(1_000, 50_000, HORIZON_STEPS, dtype=np.int64))
        self.zone = zone
        self._day_start: dict[dt.date, int] = {}

    def day_start(self, day: dt.date) -> int:
        """Grid index of the first sample of a site-local day."""
        index = self._day_start.get(day)
        if index is None:
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=self.zone).astimezone(dt.UTC)
            index = math.ceil((midnight - ORIGIN).total_seconds() / STEP)
            self._day_start[day] = index
        return index

    def volume(self, index: int, day: dt.date) -> int:
        start = self.day_start(day)
        return int(self.traded[index] - (self.traded[start - 1] if start > 0 else 0))


@dataclass
class FeedState:
    zone: ZoneInfo
    symbols: list[str]
    seed: int = 7
    fault: str = "ok"
    fault_count: int = -1  # requests the fault applies to; -1 forever
    hang_seconds: float = 30.0
    live_symbols: set[str] = field(default_factory=set)  # answered as JSON numbers with id null
    strategy_status: dict[str, str] = field(default_factory=dict)  # ticker -> /strategies status ("active")
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    walks: dict[str, Walk] = field(default_factory=dict)

    def walk(self, ticker: str) -> Walk:
        with self.lock:
            if ticker not in self.walks:
                self.walks[ticker] = Walk(ticker, self.seed, self.zone)
            return self.walks[ticker]

    def take_fault(self) -> str:
        with self.lock:
            self.requests += 1
            fault = self.fault
            if fault != "ok" and self.fault_count > 0:
                self.fault_count -= 1
                if self.fault_count == 0:
                    self.fault, self.fault_count = "ok", -1
            return fault


def _index_at(at: dt.datetime) -> int:
    return int((at - ORIGIN).total_seconds() // STEP)


def _local(index: int, zone: ZoneInfo) -> dt.datetime:
    return (ORIGIN + dt.timedelta(seconds=index * STEP)).astimezone(zone)


class Feed:
    receiver: Receiver

    def __init__(self, state: FeedState):
        self.state = state

    def row(self, ticker: str, index: int, *, live: bool = False) -> dict:
        walk = self.state.walk(ticker)
        local = _local(index, self.state.zone)
        day = local.date()
        price = float(walk.prices[index])
        first = walk.day_start(day)
        previous_close = float(walk.prices[first - 1]) if first > 0 else price
        change = price - previous_close
        change_percent = change / previous_close * 100
        stamp = local.strftime("%Y-%m-%d %H:%M:%S")
        volume = walk.volume(index, day)
        if live:
            return {
                "id": None,
                "symbol": ticker,
                "price": round(price, 4),
                "previous_close": round(previous_close, 4),
                "change": round(change, 4),
                "change_percent": round(change_percent, 4),
                "volume": volume,
                "market_cap": None,
                "timestamp": stamp,
                "created_at": stamp,
                "updated_at": stamp,
            }
        return {
            "id": str(index * 8 + self.state.symbols.index(ticker)),
            "symbol": ticker,
            "price": f"{price:.4f}",
            "previous_close": f"{previous_close:.4f}",
            "change": f"{change:.4f}",
            "change_percent": f"{change_percent:.4f}",
            "volume": str(volume),
            "market_cap": None,
            "timestamp": stamp,
            "created_at": stamp,
            "updated_at": stamp,
        }

    def rows_between(self, ticker: str, first: int, last: int, start_text: str, end_text: str) -> list[str]:
        """The stored-row form of `row`, as JSON text, for the grid indexes `first`..`last` whose site-local
        stamp lies within [start_text, end_text] (MySQL compares the local datetimes); written straight from
        the numbers (a backfill asks for hundreds of thousands, and dicts then json.dumps cost 20x more)."""
        if last < first:
            return []
        walk = self.state.walk(ticker)
        zone = self.state.zone
        prices = walk.prices[first : last + 1].tolist()
        traded = walk.traded[first : last + 1].tolist()
        origin = ORIGIN.timestamp()
        symbol_no = self.state.symbols.index(ticker)
        fromtimestamp = dt.datetime.fromtimestamp
        days: dict[dt.date, tuple[float, int]] = {}
        rows = []
        for offset, (price, total) in enumerate(zip(prices, traded, strict=True)):
            index = first + offset
            local = fromtimestamp(origin + index * STEP, zone)
            stamp = local.isoformat(sep=" ")[:19]
            if not start_text <= stamp <= end_text:
                continue
            day = local.date()
            known = days.get(day)
            if known is None:
                start = walk.day_start(day)
                previous_close = float(walk.prices[start - 1]) if start > 0 else price
                known = days[day] = (previous_close, int(walk.traded[start - 1]) if start > 0 else 0)
            previous_close, traded_before = known
            change = price - previous_close
            rows.append(
                f'{{"id":"{index * 8 + symbol_no}","symbol":"{ticker}","price":"{price:.4f}",'
                f'"previous_close":"{previous_close:.4f}","change":"{change:.4f}",'
                f'"change_percent":"{change / previous_close * 100:.4f}","volume":"{total - traded_before}",'
                f'"market_cap":null,"timestamp":"{stamp}","created_at":"{stamp}","updated_at":"{stamp}"}}'
            )
        return rows

    def now_local(self) -> str:
        return dt.datetime.now(self.state.zone).strftime("%Y-%m-%d %H:%M:%S")

    def stock_data(self) -> dict:
        latest = _index_at(dt.datetime.now(dt.UTC))
        rows = [self.row(t, latest, live=t in self.state.live_symbols) for t in self.state.symbols]
        return {"stock_data": rows, "symbols": list(self.state.symbols), "timestamp": self.now_local()}

    def history(self, ticker: str, query: dict) -> tuple[int, object]:
        zone = self.state.zone
        try:
            if "start_date" in query:
                start = dt.datetime.fromisoformat(query["start_date"])
            else:
                days = float(query.get("days", "30"))
                # The site's bug, reproduced: "now minus N days" in UTC, compared with local timestamps.
                start = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days)
            end = dt.datetime.fromisoformat(query["end_date"]) if "end_date" in query else None
        except ValueError:
            return 400, _wp_error("rest_invalid_param", "Invalid parameter(s): start_date, end_date", 400)
        now_index = _index_at(dt.datetime.now(dt.UTC))
        first = max(0, _index_at(start.replace(tzinfo=zone).astimezone(dt.UTC)) - 1)
        last = now_index if end is None else min(now_index, _index_at(end.replace(tzinfo=zone).astimezone(dt.UTC)) + 1)
        start_text = start.strftime("%Y-%m-%d %H:%M:%S")
        end_text = end.strftime("%Y-%m-%d %H:%M:%S") if end else self.now_local()
        rows = self.rows_between(ticker, first, last, start_text, end_text)
        head = {"symbol": ticker, "period": {"start_date": start_text, "end_date": end_text}}
        tail = {"count": len(rows), "timestamp": self.now_local()}
        body = RawJSON(f'{_dumps(head)[:-1]},"data":[{",".join(rows)}],{_dumps(tail)[1:]}'.encode())
        return 200, body

    def strategies(self) -> dict:
        latest = _index_at(dt.datetime.now(dt.UTC))
        items = []
        for ticker in self.state.symbols:
            row = self.row(ticker, latest)
            items.append(
                {
                    "strategy_id": f"STRATEGY-{ticker}",
                    "symbol": ticker,
                    "current_price": row["price"],
                    "change_percent": row["change_percent"],
                    "status": self.state.strategy_status.get(ticker, "active"),
                }
            )
        return {"strategies": items, "total": len(items), "timestamp": self.now_local()}

    def index(self) -> dict:
        utcoffset = dt.datetime.now(self.state.zone).utcoffset()
        assert utcoffset is not None  # an aware datetime has an offset
        offset = utcoffset.total_seconds() / 3600
        return {
            "name": "TradingRobotPlug (development feed)",
            "url": "",
            "timezone_string": str(self.state.zone),
            "gmt_offset": offset,
            "namespaces": ["tradingrobotplug/v1"],
            "routes": {},
        }

    def route(self, route: str, query: dict) -> tuple[int, object]:
        route = "/" + route.strip("/")
        if route == "/":
            return 200, self.index()
        if route == f"{NAMESPACE}/stock-data":
            return 200, self.stock_data()
        if route == f"{NAMESPACE}/strategies":
            return 200, self.strategies()
        match = re.fullmatch(rf"{NAMESPACE}/stock-data/([a-zA-Z]+)", route)
        if match and len(match.group(1)) <= 10:
            ticker = match.group(1).upper()
            if ticker not in self.state.symbols:
                return 400, _wp_error("invalid_symbol", f"Invalid symbol: {ticker}", 400)
            return self.history(ticker, query)
        return 404, _wp_error("rest_no_route", "No route was found matching the URL and request method.", 404)


class RawJSON(bytes):
    """A body already encoded as JSON: sent as it is."""


def _dumps(data: object) -> str:
    return json.dumps(data, separators=(",", ":"))


def _wp_error(code: str, message: str, status: int) -> dict:
    return {"code": code, "message": message, "data": {"status": status}}


class Handler(BaseHTTPRequestHandler):
    server_version = "Apache"
    protocol_version = "HTTP/1.1"
    feed: Feed  # set on the subclass made by `server_build`

    def log_message(self, format, *args):
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: object, headers: dict | None = None) -> None:
        body = data if isinstance(data, RawJSON) else _dumps(data).encode()
        self._send(status, body, "application/json; charset=UTF-8", headers)

    def _route_of(self, parts) -> str | None:
        if parts.path.startswith("/wp-json"):
            return parts.path[len("/wp-json") :] or "/"
        return parse_qs(parts.query).get("rest_route", [None])[-1]

    def _pushback(self, route: str) -> None:
        receiver = self.feed.receiver
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)  # always read: the connection is kept alive for the next request
        fault = self.feed.state.take_fault()
        if fault in ("http500", "critical", "hang"):
            self._send(500, CRITICAL_PAGE.encode(), "text/html; charset=UTF-8")
            return
        if not receiver.authorized(self.headers.get("Authorization")):
            self._json(401, _wp_error("rest_forbidden", "Sorry, you are not allowed to do that.", 401))
            return
        try:
            document = json.loads(raw or b"null")
        except ValueError:
            self._json(400, _wp_error("rest_invalid_json", "Invalid JSON body passed.", 400))
            return
        add = {"trades": receiver.trade_add, "performance": receiver.performance_add}.get(
            route.rsplit("/", 1)[-1], receiver.strategies_replace
        )
        self._json(*add(document))

    def do_POST(self):
        parts = urlsplit(self.path)
        route = self._route_of(parts)
        if route in (f"{NAMESPACE}/trades", f"{NAMESPACE}/performance", f"{NAMESPACE}/strategies"):
            self._pushback(route)
            return
        if parts.path != "/__devfeed/fault":
            self._json(404, _wp_error("rest_no_route", "No route was found matching the URL and request method.", 404))
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            wish = json.loads(self.rfile.read(length) or b"{}")
            mode = wish.get("mode", "ok")
            if mode not in FAULTS:
                raise ValueError(mode)
        except (ValueError, AttributeError):
            self._json(400, _wp_error("bad_fault", f"mode must be one of {', '.join(FAULTS)}", 400))
            return
        state = self.feed.state
        with state.lock:
            state.fault = mode
            state.fault_count = int(wish.get("count", -1))
            state.hang_seconds = float(wish.get("hang_seconds", state.hang_seconds))
            if "live_symbols" in wish:
                state.live_symbols = set(wish["live_symbols"])
            if "strategy_status" in wish:
                state.strategy_status = dict(wish["strategy_status"])
        self._json(200, {"mode": state.fault, "count": state.fault_count, "requests": state.requests})

    def do_GET(self):
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        pretty = parts.path.startswith("/wp-json")
        if pretty:
            route = parts.path[len("/wp-json") :] or "/"
        elif "rest_route" in query:
            route = query.pop("rest_route")
        else:
            self._send(200, b"<!DOCTYPE html><html><body>TradingRobotPlug</body></html>", "text/html")
            return
        fault = self.feed.state.take_fault()
        if fault == "no_pretty" and pretty:
            self._send(404, b"<!DOCTYPE html><html><body>Page not found</body></html>", "text/html")
            return
        if fault == "hang":
            time.sleep(self.feed.state.hang_seconds)
        elif fault == "http500":
            self._json(500, _wp_error("internal_server_error", "Internal Server Error", 500))
            return
        elif fault == "critical":
            self._send(500, CRITICAL_PAGE.encode(), "text/html; charset=UTF-8")
            return
        elif fault == "nonjson":
            self._send(200, b"<br />\n<b>Warning</b>: Undefined array key in dashboard-api.php", "text/html")
            return
        elif fault == "wp_error":
            self._json(400, _wp_error("invalid_request", "The request was refused.", 400))
            return
        elif fault == "ratelimit":
            self._json(429, _wp_error("too_many_requests", "Slow down.", 429), {"Retry-After": "1"})
            return
        elif fault == "bad_shape":
            self._json(200, {"items": []})
            return
        if route.rstrip("/") == f"{NAMESPACE}/trades":
            self._json(200, self.feed.receiver.trades_list())
            return
        status, data = self.feed.route(route, query)
        self._json(status, data)


class DevFeedServer(ThreadingHTTPServer):
    """Threaded, and `stop()` also closes kept-alive connections: a site that goes down drops them."""

    daemon_threads = True
    feed: Feed

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def stop(self) -> None:
        self.shutdown()
        with self._open_lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self.server_close()


def server_build(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    zone: str = "America/New_York",
    symbols: list[str] | None = None,
    seed: int = 7,
    fault: str = "ok",
    live_symbols: set[str] | None = None,
    app_user: str = "",
    app_password: str = "",
) -> DevFeedServer:
    """A ready (bound, not yet serving) development feed. `port=0` picks a free port."""
    state = FeedState(
        zone=ZoneInfo(zone),
        symbols=list(symbols or BASE_PRICES),
        seed=seed,
        fault=fault,
        live_symbols=set(live_symbols if live_symbols is not None else {"SPY", "NVDA"}),
    )
    feed = Feed(state)
    feed.receiver = Receiver(user=app_user, password=app_password)
    handler = type("DevFeedHandler", (Handler,), {"feed": feed})
    server = DevFeedServer((host, port), handler)
    server.feed = feed
    return server
