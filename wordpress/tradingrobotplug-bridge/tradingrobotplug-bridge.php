<?php
/**
 * Plugin Name:       TradingRobotPlug Bridge
 * Description:       Trades through the Trading Robot API, receives its trades, performance and strategies (push-back) and answers the site's dashboard routes from them.
 * Version:           1.0.0
 * Requires at least: 6.1
 * Requires PHP:      8.2
 * Author:            Trading Robot project
 * License:           GPL-2.0-or-later
 * Text Domain:       tradingrobotplug-bridge
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'TRP_BRIDGE_VERSION', '1.0.0' );
define( 'TRP_BRIDGE_DB_VERSION', '4' );
define( 'TRP_BRIDGE_FILE', __FILE__ );
define( 'TRP_BRIDGE_DIR', plugin_dir_path( __FILE__ ) );

// Capabilities: placing trades from the site, stopping all trading, reading the robot's status and portfolio
// through the PHP helpers, and writing push-back records through the REST API. Administrators get them all.
define( 'TRP_BRIDGE_CAP_TRADE', 'trp_bridge_trade' );
define( 'TRP_BRIDGE_CAP_STOP', 'trp_bridge_stop' );
define( 'TRP_BRIDGE_CAP_VIEW', 'trp_bridge_view' );
define( 'TRP_BRIDGE_CAP_RECEIVE', 'trp_bridge_receive' );
define( 'TRP_BRIDGE_CAPS', array( TRP_BRIDGE_CAP_TRADE, TRP_BRIDGE_CAP_STOP, TRP_BRIDGE_CAP_VIEW, TRP_BRIDGE_CAP_RECEIVE ) );

// The WP-Cron hook that retries queued trade requests.
define( 'TRP_BRIDGE_CRON_HOOK', 'trp_bridge_process_queue' );

require_once TRP_BRIDGE_DIR . 'includes/schema.php';
require_once TRP_BRIDGE_DIR . 'includes/settings.php';
require_once TRP_BRIDGE_DIR . 'includes/client.php';
require_once TRP_BRIDGE_DIR . 'includes/queue.php';
require_once TRP_BRIDGE_DIR . 'includes/routes.php';
require_once TRP_BRIDGE_DIR . 'includes/cache.php';
require_once TRP_BRIDGE_DIR . 'includes/receiver.php';
require_once TRP_BRIDGE_DIR . 'includes/strategies.php';
require_once TRP_BRIDGE_DIR . 'includes/overview.php';
require_once TRP_BRIDGE_DIR . 'includes/shortcodes.php';
require_once TRP_BRIDGE_DIR . 'includes/ajax.php';

if ( is_admin() ) {
	require_once TRP_BRIDGE_DIR . 'includes/admin.php';
}

register_activation_hook( __FILE__, 'trp_bridge_activate' );
register_deactivation_hook( __FILE__, 'trp_bridge_deactivate' );

/**
 * Activation: tables, capabilities for administrators, the retry schedule.
 */
function trp_bridge_activate() {
	trp_bridge_install_tables();
	trp_bridge_grant_caps();
	trp_bridge_upgrade_single_key();
	if ( ! wp_next_scheduled( TRP_BRIDGE_CRON_HOOK ) ) {
		wp_schedule_event( time() + MINUTE_IN_SECONDS, 'trp_bridge_minute', TRP_BRIDGE_CRON_HOOK );
	}
}

/**
 * Every capability of the plugin for administrators.
 */
function trp_bridge_grant_caps() {
	$admin = get_role( 'administrator' );
	if ( $admin ) {
		foreach ( TRP_BRIDGE_CAPS as $capability ) {
			$admin->add_cap( $capability );
		}
	}
}

/**
 * Deactivation: stop the retry schedule; queued requests stay and resume on reactivation.
 */
function trp_bridge_deactivate() {
	wp_clear_scheduled_hook( TRP_BRIDGE_CRON_HOOK );
}

add_filter( 'cron_schedules', 'trp_bridge_cron_schedules' );

/**
 * A one-minute schedule for the queue sweep.
 *
 * @param array $schedules Known schedules.
 * @return array
 */
function trp_bridge_cron_schedules( $schedules ) {
	$schedules['trp_bridge_minute'] = array(
		'interval' => MINUTE_IN_SECONDS,
		'display'  => __( 'Every minute (Trading Robot queue)', 'tradingrobotplug-bridge' ),
	);
	return $schedules;
}

// Upgrades without reactivation: bring the tables to the current version.
add_action( 'plugins_loaded', 'trp_bridge_maybe_upgrade' );

/**
 * When the stored version is older than the code's: dbDelta, the capabilities added since, and the single key
 * of version 1.0 split into the trade and stop keys (settings.php).
 */
function trp_bridge_maybe_upgrade() {
	if ( get_option( 'trp_bridge_db_version' ) !== TRP_BRIDGE_DB_VERSION ) {
		trp_bridge_install_tables();
		trp_bridge_grant_caps();
		trp_bridge_upgrade_single_key();
	}
}
