<?php
/**
 * Uninstall: drop the plugin's tables, options, transients, capabilities and schedule.
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

global $wpdb;
foreach ( array( 'requests', 'trades', 'performance', 'strategies' ) as $trp_bridge_name ) {
	$wpdb->query( 'DROP TABLE IF EXISTS ' . esc_sql( $wpdb->prefix . 'trp_bridge_' . $trp_bridge_name ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
}
foreach ( array( 'robot_url', 'api_key', 'read_key', 'read_key_url', 'trade_key', 'trade_key_url', 'stop_key', 'stop_key_url', 'timeout', 'retry_base', 'max_attempts', 'db_version', 'data_version', 'strategies_timestamp' ) as $trp_bridge_name ) {
	delete_option( 'trp_bridge_' . $trp_bridge_name );
}
delete_transient( 'trp_bridge_status' );
delete_transient( 'trp_bridge_portfolio' );
// The cached views of every data version (trp_bridge_view_<name>_<version>) and the WebSocket ticket counters.
foreach ( array( 'trp_bridge_view_', 'trp_bridge_wst_' ) as $trp_bridge_prefix ) {
	$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->options} WHERE option_name LIKE %s OR option_name LIKE %s", $wpdb->esc_like( '_transient_' . $trp_bridge_prefix ) . '%', $wpdb->esc_like( '_transient_timeout_' . $trp_bridge_prefix ) . '%' ) );
}
wp_clear_scheduled_hook( 'trp_bridge_process_queue' );
foreach ( wp_roles()->role_objects as $trp_bridge_role ) {
	foreach ( array( 'trp_bridge_trade', 'trp_bridge_stop', 'trp_bridge_view', 'trp_bridge_receive' ) as $trp_bridge_cap ) {
		$trp_bridge_role->remove_cap( $trp_bridge_cap );
	}
}
