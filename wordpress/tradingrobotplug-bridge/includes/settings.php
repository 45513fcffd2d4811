<?php
/**
 * The plugin's options and their defaults.
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The robot's base URL without a trailing slash, e.g. http://127.0.0.1:8000.
 *
 * @return string
 */
function trp_bridge_robot_url() {
	return untrailingslashit( (string) get_option( 'trp_bridge_robot_url', '' ) );
}

/**
 * The API key sent as X-API-Key (stored with autoload off; never rendered back in full).
 *
 * @return string
 */
function trp_bridge_api_key() {
	return (string) get_option( 'trp_bridge_api_key', '' );
}

/**
 * Seconds one call to the robot may take.
 *
 * @return int
 */
function trp_bridge_timeout() {
	return max( 1, min( 60, (int) get_option( 'trp_bridge_timeout', 10 ) ) );
}

/**
 * Seconds before the first retry of a queued request; each later retry waits twice as long (capped at an hour).
 *
 * @return int
 */
function trp_bridge_retry_base() {
	return max( 1, min( 3600, (int) get_option( 'trp_bridge_retry_base', 30 ) ) );
}

/**
 * Attempts after which a queued request finally fails.
 *
 * @return int
 */
function trp_bridge_max_attempts() {
	return max( 1, min( 50, (int) get_option( 'trp_bridge_max_attempts', 8 ) ) );
}

/**
 * The key as shown in the admin: only its last four characters.
 *
 * @param string $key The key.
 * @return string
 */
function trp_bridge_mask_key( $key ) {
	if ( '' === $key ) {
		return '';
	}
	return str_repeat( '•', 8 ) . substr( $key, -4 );
}
