"""The robot's strategy list: POST /strategies as the robot will send it (Application Password, over HTTP), GET
/strategies in the site's shape plus the robot's fields, and the overview's strategy counts."""

import datetime as dt
import itertools
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.slow

_clock = itertools.count()


def stamp(seconds_later: int = 0) -> str:
    """A document time newer than any earlier one of this session, the robot's own pushes included (they carry
    microseconds; the plugin keeps the newest list)."""
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1 + next(_clock) + seconds_later)
    return moment.isoformat().replace("+00:00", "Z")


def tsla(**changes) -> dict:
    return {
        "strategy_id": "STRATEGY-TSLA",
        "symbol": "TSLA",
        "kind": "sma_crossover",
        "enabled": True,
        "mode": "live",
        "timeframe": "5Min",
        "last_decision": {
            "outcome": "buy",
            "reason": "fast SMA 250.1 crossed above slow SMA 249.8",
            "bar_end": "2025-12-26T20:30:00Z",
            "decided_at": "2025-12-26T20:30:02Z",
        },
        "pnl": "12.3400",
        **changes,
    }


def spy(**changes) -> dict:
    return {
        "strategy_id": "STRATEGY-SPY",
        "symbol": "SPY",
        "kind": "sma_crossover",
        "enabled": False,
        "mode": "signal",
        "timeframe": "1Day",
        "last_decision": None,
        "pnl": None,
        **changes,
    }


def push(wordpress, strategies: list, timestamp: str, user: str = "robot"):
    return wordpress.rest("POST", "/strategies", user=user, json={"strategies": strategies, "timestamp": timestamp})


def stored(wordpress) -> dict:
    answer = wordpress.rest("GET", "/strategies")
    assert answer.status_code == 200, answer.text
    return answer.json()


STOCK_TABLE = """
global $wpdb;
$wpdb->query("CREATE TABLE IF NOT EXISTS {$wpdb->prefix}trp_stock_data (
  id bigint(20) NOT NULL AUTO_INCREMENT, symbol varchar(10) NOT NULL, price decimal(15,4) NOT NULL,
  previous_close decimal(15,4) NULL, `change` decimal(15,4) NULL, change_percent decimal(10,4) NULL,
  volume bigint(20) NULL, market_cap bigint(20) NULL, timestamp datetime NOT NULL,
  created_at datetime NULL, updated_at datetime NULL, PRIMARY KEY (id))");
$wpdb->query("INSERT INTO {$wpdb->prefix}trp_stock_data
  (symbol, price, previous_close, `change`, change_percent, volume, timestamp) VALUES
  ('TSLA', 240, 238, 2, 0.8403, 1000, '2025-12-26 15:25:00'),
  ('TSLA', 250.5, 247.45, 3.05, 1.2325, 80312345, '2025-12-26 15:30:00'),
  ('QQQ', 520, 519, 1, 0.1927, 5, '2025-12-26 15:30:00')");
"""


@pytest.fixture
def stock_table(wordpress):
    """The theme's stock table with a few rows, as its WP-Cron job writes them."""
    wordpress.php(STOCK_TABLE)
    try:
        yield
    finally:
        wordpress.php('global $wpdb; $wpdb->query("DROP TABLE IF EXISTS {$wpdb->prefix}trp_stock_data");')


def test_the_pushed_list_is_what_strategies_answers(wordpress, stock_table):
    when = stamp()
    answer = push(wordpress, [tsla(), spy()], when)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "replaced", "total": 2, "timestamp": when, "stored_timestamp": when}

    body = stored(wordpress)
    assert (body["source"], body["as_of"], body["total"]) == ("robot", when, 2)
    assert body["strategies"] == [
        {
            "strategy_id": "STRATEGY-TSLA",
            "symbol": "TSLA",
            "current_price": "250.5000",  # the theme's newest row for the symbol, a string as from the database
            "change_percent": "1.2325",
            "status": "active",
            "enabled": True,
            "mode": "live",
            "kind": "sma_crossover",
            "timeframe": "5Min",
            "last_decision": tsla()["last_decision"],
            "pnl": "12.3400",
        },
        {
            "strategy_id": "STRATEGY-SPY",
            "symbol": "SPY",
            "current_price": None,  # no row for SPY in the theme's table
            "change_percent": None,
            "status": "inactive",
            "enabled": False,
            "mode": "signal",
            "kind": "sma_crossover",
            "timeframe": "1Day",
            "last_decision": None,
            "pnl": None,
        },
    ]
    overview = wordpress.rest("GET", "/dashboard/overview").json()
    assert (overview["metrics"]["total_strategies"], overview["metrics"]["active_strategies"]) == (2, 1)
    assert [s["strategy_id"] for s in overview["active_strategies"]] == ["STRATEGY-TSLA"]
    assert overview["active_strategies"][0]["volume"] == "80312345"
    assert overview["sources"]["strategies_as_of"] == when


def test_enabling_a_strategy_shows_it_active_after_the_next_push(wordpress):
    assert push(wordpress, [tsla(), spy()], stamp()).status_code == 200
    assert [s["status"] for s in stored(wordpress)["strategies"]] == ["active", "inactive"]
    later = stamp()
    enabled = spy(enabled=True, mode="live", last_decision={**tsla()["last_decision"], "outcome": "hold"})
    assert push(wordpress, [enabled], later).json()["status"] == "replaced"
    body = stored(wordpress)
    listed = [(s["strategy_id"], s["status"], s["mode"]) for s in body["strategies"]]
    assert listed == [("STRATEGY-SPY", "active", "live")]
    assert body["strategies"][0]["last_decision"]["outcome"] == "hold" and body["as_of"] == later
    assert wordpress.rest("GET", "/dashboard/overview").json()["metrics"]["active_strategies"] == 1


def test_an_older_document_is_ignored_and_the_same_one_again_changes_nothing(wordpress):
    newer = stamp(60)
    assert push(wordpress, [tsla()], newer).status_code == 200
    before = stored(wordpress)
    older = push(wordpress, [spy()], stamp(-3600))
    assert older.status_code == 200 and older.json()["status"] == "ignored"
    assert older.json()["stored_timestamp"] == newer
    again = push(wordpress, [tsla()], newer)
    assert again.status_code == 200 and again.json()["status"] == "replaced"
    after = stored(wordpress)
    assert {k: v for k, v in after.items() if k != "timestamp"} == {k: v for k, v in before.items() if k != "timestamp"}


def test_concurrent_pushes_leave_the_newest_document(wordpress):
    """Twenty documents sent at once, in shuffled order, over the server's four workers: the newest one is stored."""
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=90)
    documents = [
        ([tsla(pnl=f"{n}.0000")], (base + dt.timedelta(milliseconds=10 * n)).isoformat().replace("+00:00", "Z"))
        for n in range(20)
    ]
    random.Random(7).shuffle(documents)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda d: push(wordpress, *d), documents))
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers if a.status_code != 200]
    body = stored(wordpress)
    assert body["strategies"][0]["pnl"] == "19.0000"
    assert body["as_of"] == f"{base:%Y-%m-%dT%H:%M:%S}.19Z"


def test_site_local_times_without_zone_are_taken_in_the_sites_zone(wordpress):
    """The robot's outbox turns `*_utc` fields into site-local times: those are read in the site's zone (New York)."""
    decision = {"outcome": "skip", "reason": "", "bar_end": "2025-12-26 15:30:00", "decided_at": "2025-12-26 15:30:01"}
    assert push(wordpress, [tsla(last_decision=decision)], stamp(120)).status_code == 200
    kept = stored(wordpress)["strategies"][0]["last_decision"]
    assert (kept["bar_end"], kept["decided_at"]) == ("2025-12-26T20:30:00Z", "2025-12-26T20:30:01Z")


def test_an_empty_list_means_no_strategies(wordpress):
    when = stamp(180)
    answer = push(wordpress, [], when).json()
    assert answer == {"status": "replaced", "total": 0, "timestamp": when, "stored_timestamp": when}
    body = stored(wordpress)
    assert (body["strategies"], body["total"], body["source"], body["as_of"]) == ([], 0, "robot", when)
    assert wordpress.rest("GET", "/dashboard/overview").json()["metrics"]["total_strategies"] == 0


def test_writes_need_the_robots_application_password(wordpress):
    assert push(wordpress, [tsla()], stamp(240)).status_code == 200
    before = stored(wordpress)
    document = {"strategies": [spy()], "timestamp": stamp(300)}
    assert wordpress.rest("POST", "/strategies", json=document).status_code == 401
    wrong = ("robot", "abcd efgh ijkl mnop qrst uvwx")
    assert wordpress.rest("POST", "/strategies", json=document, auth=wrong).status_code == 401
    assert wordpress.rest("POST", "/strategies", user="reader", json=document).status_code == 403
    assert stored(wordpress)["strategies"] == before["strategies"]


FUTURE = "2030-01-01T00:00:00Z"


def doc(*strategies, timestamp: str = FUTURE) -> dict:
    return {"strategies": list(strategies), "timestamp": timestamp}


def decided(**changes) -> dict:
    return tsla(last_decision={**tsla()["last_decision"], **changes})


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"strategies": [tsla()]}, "timestamp"),
        (doc(tsla(), timestamp="yesterday"), "timestamp"),
        (doc(tsla(), timestamp="2025-02-31T10:00:00Z"), "timestamp"),
        ({"strategies": "TSLA", "timestamp": FUTURE}, "strategies"),
        ({"strategies": {"a": tsla()}, "timestamp": FUTURE}, "strategies"),
        (doc(*[tsla()] * 201), "strategies"),
        (doc("TSLA"), "strategies[0]"),
        (doc(tsla(strategy_id="a b")), "strategies[0].strategy_id"),
        (doc(tsla(strategy_id="S" * 65)), "strategies[0].strategy_id"),
        (doc(tsla(), tsla()), "strategies[1].strategy_id"),
        (doc(tsla(symbol="<b>")), "strategies[0].symbol"),
        (doc(tsla(kind="")), "strategies[0].kind"),
        (doc(tsla(enabled="yes")), "strategies[0].enabled"),
        (doc(tsla(enabled=1)), "strategies[0].enabled"),
        (doc(tsla(mode="paper")), "strategies[0].mode"),
        (doc(tsla(timeframe="5m")), "strategies[0].timeframe"),
        (doc(tsla(pnl="lots")), "strategies[0].pnl"),
        (doc(tsla(last_decision="buy")), "strategies[0].last_decision"),
        (doc(decided(outcome="maybe")), "strategies[0].last_decision.outcome"),
        (doc(decided(reason="x" * 501)), "strategies[0].last_decision.reason"),
        (doc(decided(reason="a\x00b")), "strategies[0].last_decision.reason"),
        (doc(decided(bar_end=None)), "strategies[0].last_decision.bar_end"),
        ([tsla()], "body"),
    ],
)
def test_bad_documents_are_refused_with_400_and_change_nothing(wordpress, document, field):
    before = stored(wordpress)
    answer = wordpress.rest("POST", "/strategies", user="robot", json=document)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "rest_invalid_param" and field in answer.json()["message"], answer.json()
    after = stored(wordpress)
    assert (after["strategies"], after["as_of"]) == (before["strategies"], before["as_of"])


def test_a_body_that_is_not_json_is_a_400(wordpress):
    answer = wordpress.rest(
        "POST", "/strategies", user="robot", data="strategies=TSLA", headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 400 and answer.json()["code"] == "rest_invalid_param"
