"""The push-back half of the development feed: what the site's companion plugin does with the robot's records.

`POST /trades` is idempotent on `trade_id` (201 when new, 200 with the stored row when repeated),
`POST /performance` stores a metrics document, `POST /strategies` replaces the robot's strategy list (an older
`timestamp` changes nothing), `GET /trades` lists what arrived. With credentials configured,
writes need them as HTTP Basic (an Application Password), as WordPress does: 401 `rest_forbidden` otherwise.
"""

import base64
import datetime as dt
import threading
from dataclasses import dataclass, field

TRADE_FIELDS = ("trade_id", "strategy_id", "symbol", "side", "quantity", "price", "pnl", "execution_time")


@dataclass
class Receiver:
    user: str = ""
    password: str = ""
    trades: dict[str, dict] = field(default_factory=dict)  # trade_id -> stored row, in arrival order
    performance: list[dict] = field(default_factory=list)
    strategies: dict | None = None  # the last strategy list document kept (the newest by timestamp)
    posts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def authorized(self, header: str | None) -> bool:
        if not self.user:
            return True
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return header == f"Basic {expected}"

    def trade_add(self, row: object) -> tuple[int, dict]:
        if not isinstance(row, dict) or any(row.get(name) in (None, "") for name in TRADE_FIELDS):
            missing = [n for n in TRADE_FIELDS if not isinstance(row, dict) or row.get(n) in (None, "")]
            return 400, _error("rest_missing_callback_param", f"Missing parameter(s): {', '.join(missing)}", 400)
        with self.lock:
            self.posts += 1
            stored = self.trades.get(row["trade_id"])
            if stored is not None:
                return 200, stored
            stored = {name: str(row[name]) for name in TRADE_FIELDS}
            stored["created_at"] = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
            self.trades[row["trade_id"]] = stored
            return 201, stored

    def performance_add(self, document: object) -> tuple[int, dict]:
        if not isinstance(document, dict) or "strategy_id" not in document or "metrics" not in document:
            return 400, _error("rest_missing_callback_param", "Missing parameter(s): strategy_id, metrics", 400)
        with self.lock:
            self.posts += 1
            self.performance.append(document)
        return 201, document

    def strategies_replace(self, document: object) -> tuple[int, dict]:
        """As the plugin: the whole list is replaced, unless the stored document is newer; `total` counts the list
        sent either way (the push-back checks it)."""
        if not isinstance(document, dict) or not isinstance(document.get("strategies"), list):
            return 400, _error("rest_invalid_param", "Invalid parameter(s): strategies", 400)
        timestamp = document.get("timestamp")
        if not isinstance(timestamp, str):
            return 400, _error("rest_invalid_param", "Invalid parameter(s): timestamp", 400)
        with self.lock:
            self.posts += 1
            stored = self.strategies
            if stored is not None and _instant(stored["timestamp"]) > _instant(timestamp):
                return 200, {"status": "ignored", "total": len(document["strategies"]), "timestamp": timestamp}
            self.strategies = document
        return 200, {"status": "replaced", "total": len(document["strategies"]), "timestamp": timestamp}

    def trades_list(self) -> dict:
        with self.lock:
            rows = list(self.trades.values())
        return {"trades": rows, "total": len(rows), "limit": 50, "offset": 0, "filters": {}}


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _error(code: str, message: str, status: int) -> dict:
    return {"code": code, "message": message, "data": {"status": status}}
