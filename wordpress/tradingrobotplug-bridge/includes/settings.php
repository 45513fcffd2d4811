<?php
/**
 * The plugin's options and their defaults, and the robot's credentials.
 *
 * Three keys, each with the least scope its calls need: `read` (shortcodes, WebSocket tickets, test connection),
 * `trade` (the trade form and the queue) and `stop` (the admin scope, only for stop trading). Each may come from a
 * wp-config.php constant (TRP_BRIDGE_READ_KEY, TRP_BRIDGE_TRADE_KEY, TRP_BRIDGE_STOP_KEY), which wins over the
 * option and is never shown or stored; a key in wp-config.php is sent only to the URL in wp-config.php
 * (TRP_BRIDGE_ROBOT_URL). A key stored in the options is bound to the URL it was entered for: when the URL changes
 * it is not sent until it is entered again (trp_bridge_credentials()).
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

// Role => the wp-config.php constant that may hold its key.
define(
	'TRP_BRIDGE_KEY_CONSTANTS',
	array(
		'read'  => 'TRP_BRIDGE_READ_KEY',
		'trade' => 'TRP_BRIDGE_TRADE_KEY',
		'stop'  => 'TRP_BRIDGE_STOP_KEY',
	)
);

/**
 * The robot's base URL without a trailing slash, e.g. https://robot.example.com (TRP_BRIDGE_ROBOT_URL wins).
 *
 * @return string
 */
function trp_bridge_robot_url() {
	if ( defined( 'TRP_BRIDGE_ROBOT_URL' ) ) {
		return untrailingslashit( (string) constant( 'TRP_BRIDGE_ROBOT_URL' ) );
	}
	return untrailingslashit( (string) get_option( 'trp_bridge_robot_url', '' ) );
}

/**
 * Where a role's key comes from: 'constant', 'option' or '' (not set).
 *
 * @param string $role read | trade | stop.
 * @return string
 */
function trp_bridge_key_source( $role ) {
	$constant = TRP_BRIDGE_KEY_CONSTANTS[ $role ] ?? '';
	if ( '' !== $constant && defined( $constant ) && '' !== (string) constant( $constant ) ) {
		return 'constant';
	}
	return '' !== (string) get_option( 'trp_bridge_' . $role . '_key', '' ) ? 'option' : '';
}

/**
 * A role's key as configured (constant or option), whatever the URL; '' when not set.
 *
 * @param string $role read | trade | stop.
 * @return string
 */
function trp_bridge_api_key( $role ) {
	switch ( trp_bridge_key_source( $role ) ) {
		case 'constant':
			return (string) constant( TRP_BRIDGE_KEY_CONSTANTS[ $role ] );
		case 'option':
			return (string) get_option( 'trp_bridge_' . $role . '_key', '' );
		default:
			return '';
	}
}

/**
 * Store a role's key for the robot URL it was entered with ('' removes it).
 *
 * @param string $role read | trade | stop.
 * @param string $key  The key.
 * @param string $url  The robot URL it goes to.
 */
function trp_bridge_store_key( $role, $key, $url ) {
	if ( '' === $key ) {
		delete_option( 'trp_bridge_' . $role . '_key' );
		delete_option( 'trp_bridge_' . $role . '_key_url' );
		return;
	}
	update_option( 'trp_bridge_' . $role . '_key', $key, false );
	update_option( 'trp_bridge_' . $role . '_key_url', untrailingslashit( $url ), false );
}

/**
 * The URL and key for a call in a role, or why there are none: a key is sent only to the URL it belongs to.
 *
 * @param string $role read | trade | stop.
 * @return array|WP_Error ['url' => ..., 'key' => ...].
 */
function trp_bridge_credentials( $role ) {
	$url    = trp_bridge_robot_url();
	$source = trp_bridge_key_source( $role );
	if ( '' === $url || '' === $source ) {
		return new WP_Error(
			'trp_bridge_not_configured',
			/* translators: %s: read, trade or stop. */
			sprintf( __( 'The Trading Robot URL or its %s key is not set (Settings → Trading Robot).', 'tradingrobotplug-bridge' ), $role ),
			array( 'retryable' => false )
		);
	}
	if ( 'constant' === $source && ! defined( 'TRP_BRIDGE_ROBOT_URL' ) ) {
		return new WP_Error(
			'trp_bridge_key_not_for_url',
			/* translators: %s: the constant's name. */
			sprintf( __( 'A key in wp-config.php (%s) is sent only to the URL in wp-config.php: define TRP_BRIDGE_ROBOT_URL beside it.', 'tradingrobotplug-bridge' ), TRP_BRIDGE_KEY_CONSTANTS[ $role ] ),
			array( 'retryable' => false )
		);
	}
	if ( 'option' === $source && (string) get_option( 'trp_bridge_' . $role . '_key_url', '' ) !== $url ) {
		return new WP_Error(
			'trp_bridge_key_not_for_url',
			/* translators: %s: read, trade or stop. */
			sprintf( __( 'The robot URL changed since the %s key was entered: enter the key again (Settings → Trading Robot).', 'tradingrobotplug-bridge' ), $role ),
			array( 'retryable' => false )
		);
	}
	return array(
		'url' => $url,
		'key' => trp_bridge_api_key( $role ),
	);
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

/**
 * Upgrade from the single key of version 1.0 (scopes read, trade, admin): it keeps trading and stopping, bound
 * to the URL it was used with; shortcodes wait for a read-only key, as they must never carry a trade key.
 */
function trp_bridge_upgrade_single_key() {
	$old = (string) get_option( 'trp_bridge_api_key', '' );
	if ( '' !== $old ) {
		$url = untrailingslashit( (string) get_option( 'trp_bridge_robot_url', '' ) );
		foreach ( array( 'trade', 'stop' ) as $role ) {
			if ( '' === (string) get_option( 'trp_bridge_' . $role . '_key', '' ) ) {
				trp_bridge_store_key( $role, $old, $url );
			}
		}
	}
	delete_option( 'trp_bridge_api_key' );
}
