"""Activation and uninstall on a second site in the same database (table prefix wpun_)."""

import json

import pytest

from .conftest import drop_prefixed_tables

pytestmark = pytest.mark.slow

PREFIX = "wpun_"

STATE = """
global $wpdb;
echo wp_json_encode([
    'tables' => $wpdb->get_col($wpdb->prepare('SHOW TABLES LIKE %s', $wpdb->esc_like('wpun_trp_bridge_') . '%')),
    'options' => $wpdb->get_col($wpdb->prepare(
        "SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE %s", $wpdb->esc_like('trp_bridge_') . '%')),
    'views' => $wpdb->get_col($wpdb->prepare(
        "SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE %s",
        '%' . $wpdb->esc_like('trp_bridge_view_') . '%')),
    'admin_caps' => array_values(array_filter(array_keys(get_role('administrator')->capabilities),
        fn($c) => str_starts_with($c, 'trp_bridge_'))),
    'scheduled' => (bool) wp_next_scheduled('trp_bridge_process_queue'),
]);
"""


def test_activation_creates_tables_and_uninstall_removes_everything(wordpress):
    try:
        installed = json.loads(wordpress.php("", script="install_site.php", TRP_WP_TABLE_PREFIX=PREFIX))
        assert installed["plugin_active"] and installed["tables_present"]
        wordpress.php(
            "update_option('trp_bridge_robot_url', 'http://x');"
            "foreach (['read', 'trade', 'stop'] as $role) { trp_bridge_store_key($role, 'secret', 'http://x'); }"
            # What pushes leave behind: a data version, the strategy list's time, cached views.
            "trp_bridge_views_invalidate(); update_option('trp_bridge_strategies_timestamp', '2025-12-26T20:30:00Z');"
            "trp_bridge_view_cached('overview', 'trp_bridge_overview_build');",
            TRP_WP_TABLE_PREFIX=PREFIX,
        )
        before = wordpress.php_json(STATE, TRP_WP_TABLE_PREFIX=PREFIX)
        tables = ("performance", "requests", "strategies", "trades")
        assert sorted(before["tables"]) == [f"{PREFIX}trp_bridge_{t}" for t in tables]
        assert {
            "trp_bridge_read_key",
            "trp_bridge_trade_key_url",
            "trp_bridge_stop_key",
            "trp_bridge_robot_url",
            "trp_bridge_db_version",
            "trp_bridge_data_version",
            "trp_bridge_strategies_timestamp",
        } <= set(before["options"])
        assert len(before["views"]) == 2, before["views"]  # the overview's transient and its timeout
        caps = ["trp_bridge_receive", "trp_bridge_stop", "trp_bridge_trade", "trp_bridge_view"]
        assert sorted(before["admin_caps"]) == caps
        assert before["scheduled"] is True

        wordpress.php(
            "require_once ABSPATH . 'wp-admin/includes/plugin.php';"
            "deactivate_plugins('tradingrobotplug-bridge/tradingrobotplug-bridge.php');"
            "uninstall_plugin('tradingrobotplug-bridge/tradingrobotplug-bridge.php');",
            TRP_WP_TABLE_PREFIX=PREFIX,
        )
        after = wordpress.php_json(STATE, TRP_WP_TABLE_PREFIX=PREFIX)
        assert after == {"tables": [], "options": [], "views": [], "admin_caps": [], "scheduled": False}
        # The main site is untouched.
        assert wordpress.rest("GET", "/trades").status_code == 200
    finally:
        drop_prefixed_tables(PREFIX)
