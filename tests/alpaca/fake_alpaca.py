"""A fake Alpaca on loopback: the trading API's HTTP routes (orders, positions, account, clock, assets) and the
trade_updates WebSocket, in Alpaca's shapes; every JSON answer is checked against Alpaca's OpenAPI description
(spec.py) and a mismatch is recorded in `spec_problems`.

It fills market orders at the price the test set, limit orders when a new price crosses them (at that price), and
sends new/partial_fill/fill/canceled events only to connected stream clients: like Alpaca, it never replays.
Faults: `answer_504` (the next N order POSTs are stored but answered 504), `drop_before_fill` (the stream is cut
instead of sending the next fill), `auto_fill=False` (orders rest until `execute` fills them in parts).
"""

import datetime as dt
import json
import queue
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from websockets.sync.server import serve

from .spec import component_of, spec_errors

KEY_ID, SECRET = "PKTESTKEY0000000000A", "fake-alpaca-secret-0000000000000000000000"
ZERO = Decimal("0")
ERRORS = {
    "unauthorized": (401, 40110000, "request is not authorized"),
    "duplicate": (422, 40010001, "client_order_id must be unique"),
    "not_found": (404, 40410000, "order not found"),
    "not_cancelable": (422, 42210000, "order is not cancelable"),
    "buying_power": (403, 40310000, "insufficient buying power"),
    "qty": (403, 40310000, "insufficient qty available for order"),
    "asset": (422, 40010001, "asset not found or not tradable"),
    "gateway": (504, None, "Gateway Timeout"),
}


def _iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if at else None


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


class FakeAlpaca:
    def __init__(self, http_port: int, ws_port: int, symbols=("TSLA", "NVDA", "QQQ", "SPY")):
        self.lock = threading.RLock()
        self.cash = Decimal("100000")
        self.positions: dict[str, list[Decimal]] = {}  # symbol -> [qty, cost]
        self.orders: dict[str, dict] = {}
        self.prices: dict[str, Decimal] = {}
        self.assets = {s: str(uuid.uuid5(uuid.NAMESPACE_URL, s)) for s in symbols}
        self.auto_fill, self.answer_504, self.drop_before_fill = True, 0, False
        self.market_open = True
        self.requests: list[tuple[str, str]] = []
        self.answered: list[tuple[str, str, int]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each request
        self.spec_problems: list[str] = []
        self.sent: list[str] = []  # every trade update, in order
        self.clients: list[tuple[object, queue.Queue]] = []
        self.connections = 0
        self.http = ThreadingHTTPServer(("127.0.0.1", http_port), self._handler())
        self.ws = serve(self._stream, "127.0.0.1", ws_port)
        self.url, self.stream_url = f"http://127.0.0.1:{http_port}", f"ws://127.0.0.1:{ws_port}/stream"
        for target in (self.http.serve_forever, self.ws.serve_forever):
            threading.Thread(target=target, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.drop_stream()  # the server's shutdown waits for its connection handlers
        self.ws.shutdown()

    # --- what a test does -------------------------------------------------------------------------

    def set_price(self, symbol: str, price) -> None:
        with self.lock:
            self.prices[symbol] = Decimal(str(price))
            if self.auto_fill:
                for order in list(self.orders.values()):
                    if order["symbol"] == symbol and order["status"] in ("new", "partially_filled"):
                        self._try_fill(order)

    def execute(self, order_id: str, qty, price) -> None:
        with self.lock:
            self._execute(self.orders[order_id], Decimal(str(qty)), Decimal(str(price)))

    def resend(self, message: str) -> None:
        with self.lock:
            for _, outbox in self.clients:
                outbox.put(message)

    def drop_stream(self) -> None:
        with self.lock:
            for _, outbox in self.clients:
                outbox.put(None)

    def by_client_id(self, client_order_id: str) -> list[dict]:
        return [o for o in self.orders.values() if o["client_order_id"] == client_order_id]

    # --- the trading logic ----------------------------------------------------------------------

    def _submit(self, body: dict) -> tuple[int, object]:
        symbol, side, kind = body.get("symbol"), body.get("side"), body.get("type")
        qty = Decimal(str(body.get("qty") or 0))
        coid = body.get("client_order_id") or uuid.uuid4().hex
        if self.by_client_id(coid):
            return self._error("duplicate")
        if symbol not in self.assets or side not in ("buy", "sell") or kind not in ("market", "limit") or qty <= 0:
            return self._error("asset")
        limit = Decimal(str(body["limit_price"])) if kind == "limit" else None
        estimate = limit or self.prices.get(symbol, ZERO)
        if side == "buy" and qty * estimate > self.cash - self._buys_open():
            return self._error("buying_power")
        if side == "sell" and qty > self.positions.get(symbol, [ZERO, ZERO])[0] - self._sells_open(symbol):
            return self._error("qty")
        now = dt.datetime.now(dt.UTC)
        order = {
            "id": str(uuid.uuid4()),
            "client_order_id": coid,
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "symbol": symbol,
            "side": side,
            "type": kind,
            "qty": qty,
            "limit_price": limit,
            "time_in_force": body.get("time_in_force", "day"),
            "status": "new",
            "filled_qty": ZERO,
            "filled_avg_price": None,
            "filled_at": None,
            "canceled_at": None,
        }
        self.orders[order["id"]] = order
        self._emit("new", order)
        if self.auto_fill:
            self._try_fill(order)
        return 200, self._order_json(order)

    def _buys_open(self) -> Decimal:
        return (
            sum(
                ((o["qty"] - o["filled_qty"]) * (o["limit_price"] or self.prices.get(o["symbol"], ZERO)))
                for o in self.orders.values()
                if o["side"] == "buy" and o["status"] in ("new", "partially_filled")
            )
            or ZERO
        )

    def _sells_open(self, symbol: str) -> Decimal:
        return (
            sum(
                (o["qty"] - o["filled_qty"])
                for o in self.orders.values()
                if o["side"] == "sell" and o["symbol"] == symbol and o["status"] in ("new", "partially_filled")
            )
            or ZERO
        )

    def _try_fill(self, order: dict) -> None:
        price = self.prices.get(order["symbol"])
        if price is None or not self.market_open:
            return
        limit = order["limit_price"]
        if limit is not None and (price > limit if order["side"] == "buy" else price < limit):
            return
        self._execute(order, order["qty"] - order["filled_qty"], price)

    def _execute(self, order: dict, qty: Decimal, price: Decimal) -> None:
        held = self.positions.setdefault(order["symbol"], [ZERO, ZERO])
        if order["side"] == "buy":
            self.cash -= qty * price
            held[0], held[1] = held[0] + qty, held[1] + qty * price
        else:
            cost = held[1] * qty / held[0]
            self.cash += qty * price
            held[0], held[1] = held[0] - qty, held[1] - cost
        total = order["filled_qty"] + qty
        average = ((order["filled_avg_price"] or ZERO) * order["filled_qty"] + price * qty) / total
        order.update(filled_qty=total, filled_avg_price=average.quantize(Decimal("0.0001")))
        order["updated_at"] = dt.datetime.now(dt.UTC)
        complete = total >= order["qty"]
        order["status"] = "filled" if complete else "partially_filled"
        if complete:
            order["filled_at"] = order["updated_at"]
        if self.drop_before_fill:
            self.drop_before_fill = False
            self.drop_stream()
            return
        self._emit("fill" if complete else "partial_fill", order, price=price, qty=qty, position_qty=held[0])

    def _cancel(self, order: dict) -> tuple[int, object]:
        if order["status"] not in ("new", "partially_filled"):
            return self._error("not_cancelable")
        order["status"], order["canceled_at"] = "canceled", dt.datetime.now(dt.UTC)
        self._emit("canceled", order)
        return 204, None

    # --- wire shapes ----------------------------------------------------------------------------

    def _order_json(self, o: dict) -> dict:
        return {
            "id": o["id"],
            "client_order_id": o["client_order_id"],
            "created_at": _iso(o["created_at"]),
            "updated_at": _iso(o["updated_at"]),
            "submitted_at": _iso(o["submitted_at"]),
            "filled_at": _iso(o["filled_at"]),
            "expired_at": None,
            "canceled_at": _iso(o["canceled_at"]),
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": self.assets[o["symbol"]],
            "symbol": o["symbol"],
            "asset_class": "us_equity",
            "notional": None,
            "qty": _num(o["qty"]),
            "filled_qty": _num(o["filled_qty"]),
            "filled_avg_price": _num(o["filled_avg_price"]) if o["filled_avg_price"] is not None else None,
            "order_class": "simple",
            "order_type": o["type"],
            "type": o["type"],
            "side": o["side"],
            "time_in_force": o["time_in_force"],
            "limit_price": _num(o["limit_price"]) if o["limit_price"] is not None else None,
            "stop_price": None,
            "status": o["status"],
            "extended_hours": False,
            "legs": None,
        }  # trail_percent, trail_price, hwm: strings in the spec (not nullable), so left out for simple orders

    def _position_json(self, symbol: str, held: list[Decimal]) -> dict:
        qty, cost = held
        price = self.prices.get(symbol, cost / qty)
        value = qty * price
        return {
            "asset_id": self.assets[symbol],
            "symbol": symbol,
            "exchange": "NASDAQ",
            "asset_class": "us_equity",
            "asset_marginable": True,
            "avg_entry_price": _num((cost / qty).quantize(Decimal("0.0001"))),
            "qty": _num(qty),
            "qty_available": _num(qty - self._sells_open(symbol)),
            "side": "long",
            "market_value": _num(value),
            "cost_basis": _num(cost),
            "unrealized_pl": _num(value - cost),
            "unrealized_plpc": _num(((value - cost) / cost).quantize(Decimal("0.0001"))),
            "unrealized_intraday_pl": _num(value - cost),
            "unrealized_intraday_plpc": _num(((value - cost) / cost).quantize(Decimal("0.0001"))),
            "current_price": _num(price),
            "lastday_price": _num(price),
            "change_today": "0",
        }

    def _account_json(self) -> dict:
        long_value = sum((q * self.prices.get(s, c / q)) for s, (q, c) in self.positions.items() if q) or ZERO
        equity = self.cash + long_value
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "account")),
            "account_number": "PA0000FAKE",
            "status": "ACTIVE",
            "currency": "USD",
            "cash": _num(self.cash),
            "portfolio_value": _num(equity),
            "equity": _num(equity),
            "last_equity": _num(equity),
            "long_market_value": _num(long_value),
            "short_market_value": "0",
            "buying_power": _num(self.cash - self._buys_open()),
            "regt_buying_power": _num(self.cash - self._buys_open()),
            "daytrading_buying_power": "0",
            "non_marginable_buying_power": _num(self.cash - self._buys_open()),
            "initial_margin": "0",
            "maintenance_margin": "0",
            "last_maintenance_margin": "0",
            "sma": "0",
            "multiplier": "1",
            "daytrade_count": 0,
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "trade_suspended_by_user": False,
            "shorting_enabled": False,
            "created_at": "2025-01-02T15:00:00Z",
        }

    def _asset_json(self, symbol: str) -> dict:
        return {
            "id": self.assets[symbol],
            "class": "us_equity",
            "exchange": "NASDAQ",
            "symbol": symbol,
            "name": f"{symbol} common stock",
            "status": "active",
            "tradable": True,
            "marginable": True,
            "shortable": False,
            "easy_to_borrow": False,
            "fractionable": True,
        }

    def _clock_json(self) -> dict:
        now = dt.datetime.now(dt.UTC)
        return {
            "timestamp": _iso(now),
            "is_open": self.market_open,
            "next_open": _iso(now + dt.timedelta(hours=20)),
            "next_close": _iso(now + dt.timedelta(hours=4)),
        }

    @staticmethod
    def _calendar(query: dict) -> list[dict]:
        """Weekdays 09:30-16:00 New York between start and end (no holidays in this fake)."""
        day, end = dt.date.fromisoformat(query["start"]), dt.date.fromisoformat(query["end"])
        days = []
        while day <= end:
            if day.weekday() < 5:
                days.append(
                    {
                        "date": day.isoformat(),
                        "open": "09:30",
                        "close": "16:00",
                        "session_open": "0400",
                        "session_close": "2000",
                    }
                )
            day += dt.timedelta(days=1)
        return days

    @staticmethod
    def _error(name: str) -> tuple[int, object]:
        status, code, message = ERRORS[name]
        return status, ({"code": code, "message": message} if code else message)

    # --- HTTP -----------------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict, body: dict) -> tuple[int, object]:
        if path == "/v2/orders" and method == "POST":
            return self._submit(body)
        if path == "/v2/orders" and method == "GET":
            return 200, self._orders_list(query)
        if path == "/v2/orders:by_client_order_id":
            found = self.by_client_id(query.get("client_order_id", ""))
            return (200, self._order_json(found[0])) if found else self._error("not_found")
        if path.startswith("/v2/orders/"):
            order = self.orders.get(path.rsplit("/", 1)[1])
            if order is None:
                return self._error("not_found")
            return self._cancel(order) if method == "DELETE" else (200, self._order_json(order))
        if path == "/v2/positions":
            return 200, [self._position_json(s, h) for s, h in sorted(self.positions.items()) if h[0]]
        if path.startswith("/v2/positions/"):
            held = self.positions.get(path.rsplit("/", 1)[1])
            return (
                (200, self._position_json(path.rsplit("/", 1)[1], held))
                if held and held[0]
                else (404, {"code": 40410000, "message": "position does not exist"})
            )
        if path == "/v2/account":
            return 200, self._account_json()
        if path == "/v2/clock":
            return 200, self._clock_json()
        if path == "/v2/calendar":
            return 200, self._calendar(query)
        if path == "/v2/assets":
            return 200, [self._asset_json(s) for s in sorted(self.assets)]
        if path.startswith("/v2/assets/") and path.rsplit("/", 1)[1] in self.assets:
            return 200, self._asset_json(path.rsplit("/", 1)[1])
        return 404, {"code": 40410000, "message": "endpoint not found"}

    def _orders_list(self, query: dict) -> list[dict]:
        status = query.get("status", "open")
        after = dt.datetime.fromisoformat(query["after"].replace("Z", "+00:00")) if query.get("after") else None
        found = [
            o
            for o in self.orders.values()
            if (status == "all" or (status == "open") == (o["status"] in ("new", "partially_filled")))
            and (after is None or o["submitted_at"] > after)
        ]
        found.sort(key=lambda o: o["submitted_at"], reverse=query.get("direction", "desc") == "desc")
        return [self._order_json(o) for o in found[: int(query.get("limit", 50))]]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self, method: str) -> None:
                url = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                with fake.lock:
                    fake.arrivals.append(time.monotonic())
                    fake.requests.append((method, url.path))
                    if (self.headers.get("APCA-API-KEY-ID"), self.headers.get("APCA-API-SECRET-KEY")) != (
                        KEY_ID,
                        SECRET,
                    ):
                        status, answer = fake._error("unauthorized")
                    else:
                        status, answer = fake.route(method, url.path, query, body)
                        if status < 300 and answer is not None:
                            fake._spec_check(method, url.path, answer)
                        if method == "POST" and url.path == "/v2/orders" and fake.answer_504:
                            fake.answer_504 -= 1
                            status, answer = fake._error("gateway")
                    fake.answered.append((method, url.path, status))
                payload = (
                    b"" if answer is None else (answer if isinstance(answer, str) else json.dumps(answer)).encode()
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_DELETE(self):
                self._serve("DELETE")

        return Handler

    def _spec_check(self, method: str, path: str, answer) -> None:
        component = component_of(method, path.split(":")[0] if ":" in path else path)
        if component is None:
            return
        for item in answer if isinstance(answer, list) else [answer]:
            self.spec_problems.extend(f"{method} {path}: {p}" for p in spec_errors(component, item))

    # --- the trade_updates stream ----------------------------------------------------------------

    def _emit(self, event: str, order: dict, **execution) -> None:
        data = {"event": event, "order": self._order_json(order), "timestamp": _iso(dt.datetime.now(dt.UTC))}
        if execution:
            data.update(
                execution_id=str(uuid.uuid4()),
                price=_num(execution["price"]),
                qty=_num(execution["qty"]),
                position_qty=_num(execution["position_qty"]),
            )
        message = json.dumps({"stream": "trade_updates", "data": data})
        self.sent.append(message)
        for _, outbox in self.clients:
            outbox.put(message)

    def _stream(self, connection) -> None:
        auth = json.loads(connection.recv())
        credentials = (auth.get("data") or {}).get("key_id"), (auth.get("data") or {}).get("secret_key")
        if auth.get("action") != "authenticate" or credentials != (KEY_ID, SECRET):
            connection.send(
                json.dumps({"stream": "authorization", "data": {"status": "unauthorized", "action": "authenticate"}})
            )
            return
        connection.send(
            json.dumps({"stream": "authorization", "data": {"status": "authorized", "action": "authenticate"}})
        )
        listen = json.loads(connection.recv())
        streams = (listen.get("data") or {}).get("streams", [])
        outbox: queue.Queue = queue.Queue()
        with self.lock:
            connection.send(json.dumps({"stream": "listening", "data": {"streams": streams}}))
            entry = (connection, outbox)
            self.clients.append(entry)
            self.connections += 1
        try:
            while (message := outbox.get()) is not None:
                connection.send(message)
        finally:
            with self.lock:
                self.clients.remove(entry)
            connection.close()
