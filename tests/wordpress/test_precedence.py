"""Which code answers the dashboard routes: the plugin while active, whenever and however the theme registers the
same routes (its stand-in, fake_theme_routes.php, a must-use plugin, so it is loaded before the plugin); the theme
once the plugin is deactivated."""

import pytest

from .conftest import FAKE_THEME_METRICS

pytestmark = pytest.mark.slow

ROUTES = ("/dashboard/overview", "/trades", "/performance/STRATEGY-TSLA/metrics", "/strategies", "/performance")


def ours(route: str, body: dict) -> bool:
    """The plugin's answers carry what the theme's never do (source, the stored list of /performance)."""
    return "performance" in body if route == "/performance" else "source" in body


def theirs(route: str, body: dict) -> bool:
    if route == "/dashboard/overview":
        return body["metrics"] == FAKE_THEME_METRICS
    if route == "/trades":
        return [t["trade_id"] for t in body["trades"]] == ["TRD-MADEUP01"]
    if route.endswith("/metrics"):
        return body["metrics"]["total_pnl"] == 1234.56 and "source" not in body
    if route == "/strategies":
        return [s["status"] for s in body["strategies"]] == ["active"] * 4 and "source" not in body
    return body == {"status": "active", "endpoint": "performance"}


@pytest.mark.parametrize(
    ("priority", "override"),
    [
        (10, False),  # as the real theme: default priority, before the plugin's late registration
        (1000, False),  # after the plugin: merged into the plugin's routes
        (1000, True),  # after the plugin, replacing its routes
        (1, True),
    ],
)
def test_the_plugin_answers_whenever_the_theme_registers(wordpress, priority, override):
    wordpress.set_options(trp_fake_theme_priority=priority, trp_fake_theme_override=override)
    try:
        for route in ROUTES:
            answer = wordpress.rest("GET", route)
            assert answer.status_code == 200, (route, answer.text)
            assert ours(route, answer.json()) and not theirs(route, answer.json()), (route, answer.json())
        index = wordpress.rest("GET", "").json()["routes"]
        metrics_routes = [r for r in index if r.startswith("/tradingrobotplug/v1/performance/") and "metrics" in r]
        assert metrics_routes == ["/tradingrobotplug/v1/performance/(?P<strategy_id>[A-Za-z0-9_.:\\-]{1,64})/metrics"]
        # Writes are the plugin's too: the theme has none, and nothing of it is left on the route.
        assert wordpress.rest("POST", "/trades", user="robot", json={}).status_code == 400
    finally:
        wordpress.set_options(trp_fake_theme_priority=None, trp_fake_theme_override=None)


def test_deactivated_the_theme_answers_again_and_reactivated_the_plugin(wordpress):
    wordpress.set_plugin_active(False)
    try:
        for route in ROUTES:
            answer = wordpress.rest("GET", route)
            assert answer.status_code == 200, (route, answer.text)
            assert theirs(route, answer.json()), (route, answer.json())
        # The plugin's receiver is gone with it.
        assert wordpress.rest("POST", "/strategies", user="robot", json={}).status_code == 404
    finally:
        wordpress.set_plugin_active(True)
    for route in ROUTES:
        assert ours(route, wordpress.rest("GET", route).json()), route
