<?php
/**
 * The plugin's REST routes in tradingrobotplug/v1, and why they win over the theme's.
 *
 * The site's theme registers /dashboard/overview, /trades, /performance, /performance/{id}/metrics and
 * /strategies in the same namespace with made-up numbers (on rest_api_init, default priority). While this plugin
 * is active it answers them:
 * 1. it registers late (TRP_BRIDGE_REST_PRIORITY) with override, replacing a registration made before it;
 * 2. a rest_endpoints filter, applied by WordPress when it matches every request (so after all registrations,
 *    whatever their priority), puts back only the plugin's handlers on its routes and removes any other route of
 *    the namespace with the same shape (the theme's /performance/(?P<strategy_id>[a-zA-Z0-9-]+)/metrics).
 * Deactivated, the plugin's code is not loaded, and the theme's routes answer again.
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'TRP_BRIDGE_REST_NAMESPACE', 'tradingrobotplug/v1' );
define( 'TRP_BRIDGE_REST_PRIORITY', 99 );
define( 'TRP_BRIDGE_ID_PATTERN', '[A-Za-z0-9_.:\-]{1,64}' );

add_action( 'rest_api_init', 'trp_bridge_register_routes', TRP_BRIDGE_REST_PRIORITY );
add_filter( 'rest_endpoints', 'trp_bridge_rest_endpoints_precedence', 999 );

/**
 * The plugin's routes (relative to the namespace) and their handlers.
 *
 * @return array<string, array>
 */
function trp_bridge_rest_routes() {
	$read  = static fn( $callback ) => array(
		'methods'             => WP_REST_Server::READABLE,
		'callback'            => $callback,
		'permission_callback' => '__return_true',
		'args'                => array(),
	);
	$write = static fn( $callback ) => array(
		'methods'             => WP_REST_Server::CREATABLE,
		'callback'            => $callback,
		'permission_callback' => 'trp_bridge_rest_can_write',
		'args'                => array(),
	);
	return array(
		'/trades'                                                     => array( $read( 'trp_bridge_rest_trades_list' ), $write( 'trp_bridge_rest_trade_create' ) ),
		'/performance'                                                => array( $read( 'trp_bridge_rest_performance_list' ), $write( 'trp_bridge_rest_performance_create' ) ),
		'/performance/(?P<strategy_id>' . TRP_BRIDGE_ID_PATTERN . ')/metrics' => array( $read( 'trp_bridge_rest_metrics_get' ) ),
		'/strategies'                                                 => array( $read( 'trp_bridge_rest_strategies_list' ), $write( 'trp_bridge_rest_strategies_replace' ) ),
		'/dashboard/overview'                                         => array( $read( 'trp_bridge_rest_overview_get' ) ),
	);
}

/**
 * Register the routes, replacing whatever was registered under the same keys before.
 */
function trp_bridge_register_routes() {
	foreach ( trp_bridge_rest_routes() as $route => $handlers ) {
		register_rest_route( TRP_BRIDGE_REST_NAMESPACE, $route, $handlers, true );
	}
}

/**
 * A route key with its parameters' patterns blanked: '/ns/performance/(?P<id>[a-z]+)/metrics' and
 * '/ns/performance/(?P<strategy_id>[A-Z]{1,64})/metrics' are the same path.
 *
 * @param string $route Full route key.
 * @return string
 */
function trp_bridge_route_shape( $route ) {
	return (string) preg_replace( '/\(\?P<\w+>[^)]*\)/', '{}', $route );
}

/**
 * The rest_endpoints filter: only the plugin's handlers on the plugin's paths. Only keys present are touched
 * (WordPress filters one namespace's endpoints at a time).
 *
 * @param array $endpoints Route key => handlers.
 * @return array
 */
function trp_bridge_rest_endpoints_precedence( $endpoints ) {
	if ( ! is_array( $endpoints ) ) {
		return $endpoints;
	}
	$prefix = '/' . TRP_BRIDGE_REST_NAMESPACE . '/';
	$ours   = array();
	foreach ( trp_bridge_rest_routes() as $route => $handlers ) {
		$key                                   = $prefix . ltrim( $route, '/' );
		$ours[ trp_bridge_route_shape( $key ) ] = $key;
		if ( isset( $endpoints[ $key ] ) ) {
			$endpoints[ $key ] = array_merge( $handlers, array( 'namespace' => TRP_BRIDGE_REST_NAMESPACE ) );
		}
	}
	foreach ( array_keys( $endpoints ) as $key ) {
		if ( ! is_string( $key ) || ! str_starts_with( $key, $prefix ) ) {
			continue;
		}
		$shape = trp_bridge_route_shape( $key );
		if ( isset( $ours[ $shape ] ) && $ours[ $shape ] !== $key ) {
			unset( $endpoints[ $key ] );
		}
	}
	return $endpoints;
}
