"""The push-back receiver: POST/GET tradingrobotplug/v1/trades and /performance on a real WordPress."""

import uuid

import pytest

pytestmark = pytest.mark.slow


def a_trade(**changes) -> dict:
    trade = {
        "trade_id": f"T-{uuid.uuid4().hex[:12]}",
        "strategy_id": "STRATEGY-TSLA",
        "symbol": "TSLA",
        "side": "BUY",
        "quantity": 3,
        "price": "250.5",
        "pnl": None,
        "execution_time": "2025-12-26T20:30:00Z",
    }
    trade.update(changes)
    return trade


def test_trade_is_stored_once_per_trade_id(wordpress):
    trade = a_trade()
    first = wordpress.rest("POST", "/trades", user="robot", json=trade)
    assert first.status_code == 201, first.text
    stored = first.json()
    # Stored like the site's own rows: strings from the database, site-local time (New York, UTC-5 in December).
    assert stored == {
        "trade_id": trade["trade_id"],
        "strategy_id": "STRATEGY-TSLA",
        "symbol": "TSLA",
        "side": "BUY",
        "quantity": "3.0000",
        "price": "250.5000",
        "pnl": None,
        "execution_time": "2025-12-26 15:30:00",
        "created_at": stored["created_at"],
    }
    again = wordpress.rest("POST", "/trades", user="robot", json=trade)
    assert again.status_code == 200 and again.json() == stored
    # Other content under the same trade_id is a conflict, and the stored row stays (test_security.py).
    assert wordpress.rest("POST", "/trades", user="robot", json={**trade, "quantity": 99}).status_code == 409

    listed = wordpress.rest("GET", "/trades", params={"strategy_id": "STRATEGY-TSLA", "limit": 500}).json()
    assert [t["trade_id"] for t in listed["trades"]].count(trade["trade_id"]) == 1
    assert set(listed) == {"trades", "total", "limit", "offset", "filters", "source", "timestamp"}
    assert listed["source"] == "robot"


def test_trades_list_filters_and_pages(wordpress):
    strategy = f"S-{uuid.uuid4().hex[:8]}"
    for day in ("2025-12-01", "2025-12-02", "2025-12-03"):
        answer = wordpress.rest(
            "POST",
            "/trades",
            user="robot",
            json=a_trade(strategy_id=strategy, execution_time=f"{day} 10:00:00", pnl="-1.25"),
        )
        assert answer.status_code == 201
    window = wordpress.rest(
        "GET",
        "/trades",
        params={"strategy_id": strategy, "start_date": "2025-12-02 00:00:00", "end_date": "2025-12-03 23:59:59"},
    ).json()
    assert window["total"] == 2
    assert [t["execution_time"] for t in window["trades"]] == ["2025-12-03 10:00:00", "2025-12-02 10:00:00"]
    assert window["trades"][0]["pnl"] == "-1.2500"
    page = wordpress.rest("GET", "/trades", params={"strategy_id": strategy, "limit": 1, "offset": 2}).json()
    assert (page["total"], page["limit"], page["offset"], len(page["trades"])) == (3, 1, 2, 1)
    assert wordpress.rest("GET", "/trades", params={"limit": "lots"}).status_code == 400


def test_writes_need_an_application_password_and_the_capability(wordpress):
    trade = a_trade()
    assert wordpress.rest("POST", "/trades", json=trade).status_code == 401
    wrong = wordpress.rest("POST", "/trades", json=trade, auth=("robot", "abcd efgh ijkl mnop qrst uvwx"))
    assert wrong.status_code == 401
    assert wordpress.rest("POST", "/trades", user="reader", json=trade).status_code == 403
    assert wordpress.rest("POST", "/performance", user="reader", json={"strategy_id": "X"}).status_code == 403
    # Nothing was stored by the refused writes.
    listed = wordpress.rest("GET", "/trades", params={"limit": 500}).json()
    assert trade["trade_id"] not in [t["trade_id"] for t in listed["trades"]]
    # The administrator holds the capability too.
    assert wordpress.rest("POST", "/trades", user="admin", json=trade).status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("side", "HOLD"),
        ("quantity", 0),
        ("quantity", "abc"),
        ("price", -5),
        ("symbol", "<b>"),
        ("trade_id", ""),
        ("execution_time", "yesterday"),
        ("pnl", "1e5"),
    ],
)
def test_bad_trades_are_refused_with_400(wordpress, field, value):
    trade = a_trade(**{field: value})
    answer = wordpress.rest("POST", "/trades", user="robot", json=trade)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "rest_invalid_param" and field in answer.json()["message"]


def test_performance_is_upserted_per_strategy_and_period(wordpress):
    strategy = f"STRATEGY-{uuid.uuid4().hex[:6].upper()}"
    document = {
        "strategy_id": strategy,
        "period": "all",
        "metrics": {
            "total_pnl": "1234.5",
            "win_rate": "0.6",
            "sharpe_ratio": "1.8",
            "max_drawdown": "-250.25",
            "total_trades": 10,
            "winning_trades": 6,
            "losing_trades": 4,
            "profit_factor": "2.1",
        },
    }
    first = wordpress.rest("POST", "/performance", user="robot", json=document)
    assert first.status_code == 201, first.text
    assert first.json()["metrics"]["total_pnl"] == "1234.5000"
    assert first.json()["metrics"]["profit_factor"] == "2.1"
    assert wordpress.rest("POST", "/performance", user="robot", json=document).status_code == 200
    document["metrics"]["total_trades"] = 11
    updated = wordpress.rest("POST", "/performance", user="robot", json=document)
    assert updated.status_code == 200 and updated.json()["metrics"]["total_trades"] == "11"

    metrics = wordpress.rest("GET", f"/performance/{strategy}/metrics").json()
    assert metrics["strategy_id"] == strategy and metrics["source"] == "robot"
    assert metrics["period"] == {"start_date": None, "end_date": None} and metrics["period_label"] == "all"
    assert metrics["metrics"]["win_rate"] == "0.6000" and metrics["metrics"]["total_trades"] == "11"
    listed = wordpress.rest("GET", "/performance", params={"strategy_id": strategy}).json()
    assert listed["total"] == 1
    nothing = wordpress.rest("GET", "/performance/NOPE/metrics")
    assert nothing.status_code == 200 and nothing.json()["source"] == "none yet"
    assert nothing.json()["metrics"] == {
        "total_pnl": "0.0000",
        "win_rate": "0.0000",
        "sharpe_ratio": "0.0000",
        "max_drawdown": "0.0000",
        "total_trades": "0",
        "winning_trades": "0",
        "losing_trades": "0",
    }
    assert wordpress.rest("GET", "/performance/NOPE/metrics", params={"period": "<b>"}).status_code == 400
    bad = wordpress.rest("POST", "/performance", user="robot", json={"strategy_id": strategy, "win_rate": "lots"})
    assert bad.status_code == 400
