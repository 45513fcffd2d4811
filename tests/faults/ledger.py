"""A trading client that behaves as a real one (an Idempotency-Key per order, retried until the robot answers),
and the invariants checked after every fault, read from the robot's database, its API and the WordPress stand-in."""

import os
import threading
import time
import uuid
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

import requests

from tests.ops.test_processes import wait_for

FOUR = Decimal("0.0001")
MONEY = Decimal("0.00000001")
SITE_ZONE = zoneinfo.ZoneInfo("America/New_York")
RETRYABLE = {409, 429, 500, 502, 503, 504}  # 409: the same key still in progress


@dataclass
class Trader:
    """Places market orders; on a refused connection, a timeout, a 5xx or 409 it sends the same request with the
    same Idempotency-Key again, as a client that must not lose or double an order does."""

    stack: object
    acknowledged: dict[str, int] = field(default_factory=dict)  # key -> order id from a 2xx/422 answer
    known: set[str] = field(default_factory=set)  # keys of orders placed before this scenario
    retries: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _turn: int = 0

    def place(self, ticker: str, side: str, quantity: int, *, deadline: float = 60.0) -> dict:
        key = f"faults-{uuid.uuid4().hex}"
        url = f"{self.stack.url}/api/trade/{ticker}/{side}"
        headers = {"X-API-Key": self.stack.api_key, "Idempotency-Key": key}
        give_up = time.monotonic() + deadline
        while True:
            try:
                answer = requests.post(url, json={"quantity": quantity}, headers=headers, timeout=10)
                status = answer.status_code
            except requests.RequestException as error:
                answer, status = None, type(error).__name__
            if answer is not None and status not in RETRYABLE:
                body = answer.json()
                if status not in (200, 201, 422):
                    raise AssertionError(f"{ticker} {side} {quantity}: {status} {body}")
                with self.lock:
                    self.acknowledged[key] = body["order"]["id"]
                return body["order"]
            if time.monotonic() > give_up:
                raise AssertionError(f"{ticker} {side} {quantity}: no answer within {deadline} s (last: {status})")
            with self.lock:
                self.retries += 1
            time.sleep(0.25)

    def next_trade(self) -> dict:
        """Round robin over the symbols: buy 2, later sell 1, so a position never goes short."""
        tickers = ("TSLA", "NVDA", "SPY", "QQQ")
        ticker = tickers[self._turn % 4]
        side = "buy" if (self._turn // 4) % 2 == 0 else "sell"
        self._turn += 1
        return self.place(ticker, side, 2 if side == "buy" else 1)

    def stream(self, period: float = 0.2) -> "Stream":
        return Stream(self, period)


class Stream:
    """Trades one after another in a thread until stopped."""

    def __init__(self, trader: Trader, period: float):
        self.trader, self.period, self.errors = trader, period, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.trader.next_trade()
            except AssertionError as error:
                self.errors.append(str(error))
                return
            self._stop.wait(self.period)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(90)
        assert not self._thread.is_alive(), "the trading client hangs"
        assert not self.errors, self.errors


def _fixed(value: Decimal) -> str:
    return str(Decimal(value).quantize(FOUR, rounding=ROUND_HALF_EVEN))


def fills_of(stack) -> list[dict]:
    rows = stack.sql(
        "SELECT f.id, s.ticker, f.side, f.qty, f.price, f.commission, f.realized_pl, f.executed_at, o.strategy_id,"
        " o.id FROM trading_fill f JOIN market_symbol s ON s.id = f.symbol_id JOIN trading_order o ON o.id = f.order_id"
        " ORDER BY f.id"
    )
    names = ("id", "ticker", "side", "qty", "price", "commission", "realized_pl", "executed_at", "strategy_id", "order")
    return [dict(zip(names, row, strict=True)) for row in rows]


def trade_record(fill: dict, instance: str) -> dict:
    """What WordPress must have received for a fill (CONTRACTS.md, push-back)."""
    return {
        "trade_id": f"TRP-{instance}-{fill['id']}",
        "strategy_id": fill["strategy_id"],
        "symbol": fill["ticker"],
        "side": fill["side"].upper(),
        "quantity": _fixed(fill["qty"]),
        "price": _fixed(fill["price"]),
        "pnl": _fixed(fill["realized_pl"]),
        "execution_time": fill["executed_at"].astimezone(SITE_ZONE).strftime("%Y-%m-%d %H:%M:%S"),
    }


def outbox_drained(stack, timeout: float = 60.0) -> bool:
    def drained() -> bool:
        (pending,) = stack.sql("SELECT COUNT(*) FROM trading_outboxmessage WHERE status <> 'delivered'")[0]
        return pending == 0

    return bool(wait_for(drained, timeout=timeout))


def check_ledger(stack, trader: Trader) -> dict:
    """Orders, fills, cash and positions agree exactly; every acknowledged order is in the ledger, once per key."""
    orders = {
        key: (oid, status) for oid, key, status in stack.sql("SELECT id, client_order_id, status FROM trading_order")
    }
    missing = {key: oid for key, oid in trader.acknowledged.items() if orders.get(key, (None,))[0] != oid}
    assert not missing, f"acknowledged orders not in the ledger (key: id): {missing}"
    assert set(orders) == set(trader.acknowledged), "orders in the ledger that no client call acknowledged"

    fills = fills_of(stack)
    per_order = defaultdict(int)
    for fill in fills:
        per_order[fill["order"]] += 1
    filled = {oid for oid, status in orders.values() if status == "filled"}
    assert set(per_order) == filled and all(n == 1 for n in per_order.values()), "a filled order without one fill"

    ((starting, cash),) = stack.sql("SELECT starting_cash, cash FROM portfolio_account")
    expected_cash, qty, cost, realized = (
        Decimal(starting),
        defaultdict(Decimal),
        defaultdict(Decimal),
        defaultdict(Decimal),
    )
    for fill in fills:  # the fill rules of trading/services.py, in order
        ticker, notional = fill["ticker"], fill["qty"] * fill["price"]
        if fill["side"] == "buy":
            expected_cash -= notional + fill["commission"]
            cost[ticker] += notional
        else:
            whole = fill["qty"] == qty[ticker]
            cost[ticker] -= cost[ticker] if whole else (cost[ticker] * fill["qty"] / qty[ticker]).quantize(MONEY)
            expected_cash += notional - fill["commission"]
        qty[ticker] += fill["qty"] if fill["side"] == "buy" else -fill["qty"]
        realized[ticker] += fill["realized_pl"]
    assert cash == expected_cash, f"cash {cash} != {expected_cash} from {len(fills)} fills"
    positions = {
        ticker: (q, c, r)
        for ticker, q, c, r in stack.sql(
            "SELECT s.ticker, p.qty, p.cost_basis, p.realized_pl FROM portfolio_position p"
            " JOIN market_symbol s ON s.id = p.symbol_id"
        )
    }
    for ticker in set(positions) | set(qty):
        q, c, r = positions.get(ticker, (Decimal(0), Decimal(0), Decimal(0)))
        assert (q, c, r) == (qty[ticker], cost[ticker], realized[ticker]), f"{ticker}: position != fills"

    portfolio = stack.get("/api/portfolio")
    assert Decimal(str(portfolio["account"]["cash"])) == expected_cash, (portfolio["account"], expected_cash)
    served = {p["symbol"]: Decimal(str(p["qty"])) for p in portfolio["positions"]}
    assert served == {t: q for t, q in qty.items() if q > 0}, (served, dict(qty))
    return {"orders": len(orders), "fills": len(fills), "cash": expected_cash}


def check_wordpress(stack) -> int:
    """Every fill reached WordPress exactly once by trade_id, and every POST of it carried the same content."""
    undelivered = "SELECT key, status, attempts, last_error FROM trading_outboxmessage WHERE status <> 'delivered'"
    assert outbox_drained(stack), f"outbox not delivered: {stack.sql(undelivered)}"
    ((instance,),) = stack.sql("SELECT instance_id FROM trading_tradingstate WHERE id = 1")
    instance = os.environ.get("ROBOT_INSTANCE_ID") or instance  # the stack's robots inherit the environment
    expected = {record["trade_id"]: record for record in (trade_record(f, instance) for f in fills_of(stack))}
    outbox = {key for (key,) in stack.sql("SELECT key FROM trading_outboxmessage WHERE kind = 'trade'")}
    assert outbox == set(expected), "outbox rows != fills"
    received = stack.wordpress.trades
    assert set(received) == set(expected), {
        "lost": sorted(set(expected) - set(received)),
        "unknown": sorted(set(received) - set(expected)),
    }
    for trade_id, row in received.items():
        assert {k: v for k, v in row.items() if k != "created_at"} == expected[trade_id], trade_id
    with stack.wordpress.lock:
        posts = list(stack.wordpress.posts)
    for document in posts:
        assert document == expected[document["trade_id"]], f"a POST with other content: {document}"
    return len(posts) - len(received)  # repeated POSTs (harmless: same trade_id, same content)
