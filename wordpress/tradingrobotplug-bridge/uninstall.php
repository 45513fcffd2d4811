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
foreach ( array( 'requests', 'trades', 'performance' ) as $trp_bridge_name ) {
	$wpdb->query( 'DROP TABLE IF EXISTS ' . esc_sql( $wpdb->prefix . 'trp_bridge_' . $trp_bridge_name ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
}
foreach ( array( 'robot_url', 'api_key', 'timeout', 'retry_base', 'max_attempts', 'db_version' ) as $trp_bridge_name ) {
	delete_option( 'trp_bridge_' . $trp_bridge_name );
}
delete_transient( 'trp_bridge_status' );
delete_transient( 'trp_bridge_portfolio' );
wp_clear_scheduled_hook( 'trp_bridge_process_queue' );
foreach ( wp_roles()->role_objects as $trp_bridge_role ) {
	$trp_bridge_role->remove_cap( 'trp_bridge_trade' );
	$trp_bridge_role->remove_cap( 'trp_bridge_receive' );
}
