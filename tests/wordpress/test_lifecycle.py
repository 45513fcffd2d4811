"""Activation and uninstall on a second site in the same database (table prefix wpun_)."""

import json
import subprocess

import pytest

from .conftest import WP_DB

pytestmark = pytest.mark.slow

PREFIX = "wpun_"

STATE = """
global $wpdb;
echo wp_json_encode([
    'tables' => $wpdb->get_col($wpdb->prepare('SHOW TABLES LIKE %s', $wpdb->esc_like('wpun_trp_bridge_') . '%')),
    'options' => $wpdb->get_col($wpdb->prepare(
        "SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE %s", $wpdb->esc_like('trp_bridge_') . '%')),
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
            "update_option('trp_bridge_api_key', 'secret', false); update_option('trp_bridge_robot_url', 'http://x');",
            TRP_WP_TABLE_PREFIX=PREFIX,
        )
        before = wordpress.php_json(STATE, TRP_WP_TABLE_PREFIX=PREFIX)
        assert sorted(before["tables"]) == [f"{PREFIX}trp_bridge_{t}" for t in ("performance", "requests", "trades")]
        assert {"trp_bridge_api_key", "trp_bridge_robot_url", "trp_bridge_db_version"} <= set(before["options"])
        assert sorted(before["admin_caps"]) == ["trp_bridge_receive", "trp_bridge_trade"]
        assert before["scheduled"] is True

        wordpress.php(
            "require_once ABSPATH . 'wp-admin/includes/plugin.php';"
            "deactivate_plugins('tradingrobotplug-bridge/tradingrobotplug-bridge.php');"
            "uninstall_plugin('tradingrobotplug-bridge/tradingrobotplug-bridge.php');",
            TRP_WP_TABLE_PREFIX=PREFIX,
        )
        after = wordpress.php_json(STATE, TRP_WP_TABLE_PREFIX=PREFIX)
        assert after == {"tables": [], "options": [], "admin_caps": [], "scheduled": False}
        # The main site is untouched.
        assert wordpress.rest("GET", "/trades").status_code == 200
    finally:
        drop_prefixed_tables()


def drop_prefixed_tables() -> None:
    """Straight in MariaDB: WordPress cannot load a half-installed site."""
    sql = (
        "SELECT CONCAT('DROP TABLE `', table_name, '`;') FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND table_name LIKE 'wpun\\_%'"
    )
    mariadb = ["/usr/bin/mariadb", "-h", "127.0.0.1", "-uroot", "-N", "-e"]
    drops = subprocess.run([*mariadb, sql, WP_DB], capture_output=True, text=True, check=True).stdout  # noqa: S603
    if drops.strip():
        subprocess.run([*mariadb, drops, WP_DB], check=True)  # noqa: S603
