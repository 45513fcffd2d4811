"""The plugin's /dashboard/overview on a real WordPress: query sets per push, and what a view costs.

    .venv/bin/python bench/wp_overview.py [--trades 20000] [--views 100]

Sets up the test site (tests/wordpress/setup_wordpress.sh --reset, as root; it holds the same lock as the
tests/wordpress session, so the two never share the site), serves it with `php -S` on 127.0.0.1:8480, stores
`--trades` trades straight in the plugin's table, then pushes as the robot does (HTTP, Application Password): the
account's performance document and a strategy list. Then:
1. `--views` overview requests after that one push: how many of them ran the overview's queries (the test site's
   query counter, a must-use plugin), and their latency;
2. the ceiling, measured the same way: a new trade pushed before each view, so every view rebuilds.
Target: 1 query set per push for --views views (the ceiling is one per view).
"""

import argparse
import datetime as dt
import fcntl
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.wordpress.conftest import HERE, WP_DB, WP_PORT, WordPress, php_binary, stop, wait_for  # noqa: E402

SEED = """
global $wpdb;
$table = trp_bridge_table('trades');
$wpdb->query("DELETE FROM {$table}");
$rows = [];
for ($i = 1; $i <= %d; $i++) {
    $side = $i %% 2 ? 'BUY' : 'SELL';
    $pnl = $side === 'SELL' ? sprintf('%%.4F', (($i * 37) %% 200 - 90) / 10) : '0.0000';
    $when = date('Y-m-d H:i:s', strtotime('2025-01-01 09:30:00') + $i * 300);
    $rows[] = $wpdb->prepare('(%%s, %%s, %%s, %%s, %%s, %%s, %%s, %%s, %%s)',
        "SEED-$i", 'STRATEGY-TSLA', 'TSLA', $side, '1.0000', '250.5000', $pnl, $when, $when);
    if (count($rows) === 1000) {
        $wpdb->query("INSERT INTO {$table} (trade_id, strategy_id, symbol, side, quantity, price, pnl,
            execution_time, created_at) VALUES " . implode(',', $rows));
        $rows = [];
    }
}
if ($rows) {
    $wpdb->query("INSERT INTO {$table} (trade_id, strategy_id, symbol, side, quantity, price, pnl,
        execution_time, created_at) VALUES " . implode(',', $rows));
}
echo $wpdb->get_var("SELECT COUNT(*) FROM {$table}");
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def timed_view(site: WordPress) -> float:
    started = time.perf_counter()
    answer = site.rest("GET", "/dashboard/overview")
    elapsed = (time.perf_counter() - started) * 1000
    assert answer.status_code == 200 and answer.json()["source"] == "robot", answer.text
    return elapsed


def push_trade(site: WordPress) -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    trade = {"trade_id": f"B-{uuid.uuid4().hex[:12]}", "symbol": "TSLA", "side": "SELL", "quantity": "1"}
    trade |= {"price": "251", "pnl": "0.5", "execution_time": now}
    assert site.rest("POST", "/trades", user="robot", json=trade).status_code == 201


def overview_counts(log: Path, start: int) -> list[int]:
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    return [line["queries"] for line in lines if "dashboard/overview" in line["uri"]][start:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trades", type=int, default=20000)
    parser.add_argument("--views", type=int, default=100)
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="wp-overview-bench-"))
    env = {**os.environ, "TRP_WP_URL": f"http://127.0.0.1:{WP_PORT}", "TRP_WP_DB": WP_DB}
    env["TRP_WP_STATE"] = str(work / "state.json")
    lock = open(Path(tempfile.gettempdir()) / "trp-bridge-wordpress.lock", "w")  # noqa: SIM115 - held to the end
    fcntl.flock(lock, fcntl.LOCK_EX)
    subprocess.run(["/bin/bash", str(HERE / "setup_wordpress.sh"), "--reset"], env=env, check=True, timeout=600)
    facts = json.loads((work / "state.json").read_text())
    server = subprocess.Popen(
        [php_binary(), "-S", f"127.0.0.1:{WP_PORT}", "-t", "/usr/share/wordpress", str(HERE / "router.php")],
        env={**env, "PHP_CLI_SERVER_WORKERS": "4"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    site = WordPress(url=facts["url"], users=facts["users"], env=env, process=server)
    log = work / "queries.jsonl"
    try:
        wait_for(f"{site.url}/wp-json/", process=server)
        stored = site.php(SEED % options.trades)
        document = {"strategy_id": "ALL", "period": "all", "metrics": {"total_pnl": "10", "unrealized_pnl": "2.5"}}
        assert site.rest("POST", "/performance", user="robot", json=document).status_code == 201
        strategies = [
            {"strategy_id": "STRATEGY-TSLA", "symbol": "TSLA", "kind": "sma_crossover", "enabled": True}
            | {"mode": "live", "timeframe": "5Min", "last_decision": None, "pnl": "1"}
        ]
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert site.rest("POST", "/strategies", user="robot", json={"strategies": strategies, "timestamp": now}).ok
        site.set_options(trp_test_query_log=str(log))

        cached = [timed_view(site) for _ in range(options.views)]
        after_one_push = overview_counts(log, 0)
        rebuilt = []
        for _ in range(options.views):
            push_trade(site)
            rebuilt.append(timed_view(site))
        per_view_push = overview_counts(log, options.views)
    finally:
        stop(server)
        lock.close()

    sets = sum(1 for count in after_one_push if count)
    ceiling = sum(1 for count in per_view_push if count)
    print(f"trades stored: {stored}; overview queries of one build: {max(after_one_push)}")
    print(f"query sets for {options.views} views after one push: {sets} (target 1; one push per view: {ceiling})")
    print(
        f"view latency, cached: median {statistics.median(cached):.1f} ms, p95 {percentile(cached, 0.95):.1f} ms; "
        f"rebuilt after a push: median {statistics.median(rebuilt):.1f} ms, p95 {percentile(rebuilt, 0.95):.1f} ms"
    )
    if sets != 1:
        sys.exit("FAIL: the overview was built more than once for one push")


if __name__ == "__main__":
    main()
