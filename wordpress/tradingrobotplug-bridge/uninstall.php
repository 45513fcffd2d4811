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
foreach ( array( 'robot_url', 'api_key', 'timeout', 'retry_base', 'max_attempts', 'db_version', 'data_version', 'strategies_timestamp' ) as $trp_bridge_name ) {
	delete_option( 'trp_bridge_' . $trp_bridge_name );
}
delete_transient( 'trp_bridge_status' );
delete_transient( 'trp_bridge_portfolio' );
// The cached views of every data version (trp_bridge_view_<name>_<version>).
$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->options} WHERE option_name LIKE %s OR option_name LIKE %s", $wpdb->esc_like( '_transient_trp_bridge_view_' ) . '%', $wpdb->esc_like( '_transient_timeout_trp_bridge_view_' ) . '%' ) );
wp_clear_scheduled_hook( 'trp_bridge_process_queue' );
foreach ( wp_roles()->role_objects as $trp_bridge_role ) {
	$trp_bridge_role->remove_cap( 'trp_bridge_trade' );
	$trp_bridge_role->remove_cap( 'trp_bridge_receive' );
}
