<?php
/**
 * The read views built from the push-back tables (/dashboard/overview, /strategies), cached in transients.
 *
 * A transient's key carries the data version, a new random value written after every push that stored something:
 * a view built from data older than the last push is stored under a version nobody asks for any more, so a reader
 * racing a push can never leave a stale view behind. The lifetime (TRP_BRIDGE_VIEW_SECONDS) only bounds what a push
 * does not announce: the theme's stock prices and the turn of the day (filter trp_bridge_view_seconds).
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'TRP_BRIDGE_VIEW_SECONDS', MINUTE_IN_SECONDS );
define( 'TRP_BRIDGE_VIEWS', array( 'overview', 'strategies' ) );
define( 'TRP_BRIDGE_VERSION_OPTION', 'trp_bridge_data_version' );

/**
 * The transient key of a view at the current data version.
 *
 * @param string $view overview | strategies.
 * @return string
 */
function trp_bridge_view_key( $view ) {
	return 'trp_bridge_view_' . $view . '_' . (string) get_option( TRP_BRIDGE_VERSION_OPTION, '0' );
}

/**
 * A view from its transient, or built (and stored) when missing.
 *
 * @param string   $view  overview | strategies.
 * @param callable $build Returns the view as an array.
 * @return array
 */
function trp_bridge_view_cached( $view, $build ) {
	$key    = trp_bridge_view_key( $view );
	$cached = get_transient( $key );
	if ( is_array( $cached ) ) {
		return $cached;
	}
	$fresh = call_user_func( $build );
	set_transient( $key, $fresh, max( 1, (int) apply_filters( 'trp_bridge_view_seconds', TRP_BRIDGE_VIEW_SECONDS ) ) );
	return $fresh;
}

/**
 * After a push stored something: a new data version, and the previous version's views dropped.
 */
function trp_bridge_views_invalidate() {
	$previous = array_map( 'trp_bridge_view_key', TRP_BRIDGE_VIEWS );
	update_option( TRP_BRIDGE_VERSION_OPTION, wp_generate_password( 12, false ), true );
	foreach ( $previous as $key ) {
		delete_transient( $key );
	}
}
