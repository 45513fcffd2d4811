<?php
/**
 * Shortcodes [trp_status] and [trp_portfolio]: the robot's status and positions, cached briefly.
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

add_shortcode( 'trp_status', 'trp_bridge_shortcode_status' );
add_shortcode( 'trp_portfolio', 'trp_bridge_shortcode_portfolio' );

// Shortest cache a shortcode may ask for: a page view must never cost a call to the robot (nor, while the robot
// is down, a timeout) per visitor. An answer and a failure are both kept at least this long.
define( 'TRP_BRIDGE_SHORTCODE_MIN_SECONDS', 5 );

/**
 * A robot document through a transient, kept for $seconds; a failure is kept TRP_BRIDGE_SHORTCODE_MIN_SECONDS
 * (as ['_error' => code, '_message' => text]), so an outage costs one call per few seconds, not one per view.
 *
 * @param string   $name    status | portfolio.
 * @param callable $fetch   Client function.
 * @param int      $seconds Cache lifetime (at least TRP_BRIDGE_SHORTCODE_MIN_SECONDS).
 * @return array|WP_Error
 */
function trp_bridge_cached( $name, $fetch, $seconds ) {
	$key    = 'trp_bridge_' . $name;
	$cached = get_transient( $key );
	if ( is_array( $cached ) && isset( $cached['_error'] ) ) {
		return new WP_Error( (string) $cached['_error'], (string) ( $cached['_message'] ?? '' ) );
	}
	if ( is_array( $cached ) ) {
		return $cached;
	}
	$fresh = call_user_func( $fetch );
	if ( is_wp_error( $fresh ) ) {
		$failure = array(
			'_error'   => $fresh->get_error_code(),
			'_message' => $fresh->get_error_message(),
		);
		set_transient( $key, $failure, TRP_BRIDGE_SHORTCODE_MIN_SECONDS );
	} else {
		set_transient( $key, $fresh, max( TRP_BRIDGE_SHORTCODE_MIN_SECONDS, $seconds ) );
	}
	return $fresh;
}

/**
 * Cache seconds from the shortcode's cache attribute (default 30, from TRP_BRIDGE_SHORTCODE_MIN_SECONDS to 300).
 *
 * @param array|string $atts Attributes.
 * @param string       $tag  Shortcode.
 * @return int
 */
function trp_bridge_cache_seconds( $atts, $tag ) {
	$atts = shortcode_atts( array( 'cache' => 30 ), $atts, $tag );
	return max( TRP_BRIDGE_SHORTCODE_MIN_SECONDS, min( 300, (int) $atts['cache'] ) );
}

/**
 * A scalar from the robot as display text.
 *
 * @param mixed $value Value.
 * @return string
 */
function trp_bridge_text( $value ) {
	if ( is_bool( $value ) ) {
		return $value ? __( 'yes', 'tradingrobotplug-bridge' ) : __( 'no', 'tradingrobotplug-bridge' );
	}
	return is_scalar( $value ) ? (string) $value : '';
}

/**
 * The box shown instead of data: a generic message for visitors, never the robot's own text (it may name hosts,
 * keys' problems or internal states); administrators also see the reason, to fix it.
 *
 * @param WP_Error $error Error.
 * @return string
 */
function trp_bridge_error_html( $error ) {
	$html = '<p class="trp-bridge-error">' . esc_html__( 'Trading data is unavailable right now. Please try again later.', 'tradingrobotplug-bridge' );
	if ( current_user_can( 'manage_options' ) ) {
		$html .= ' <span class="trp-bridge-error-detail">' . esc_html( $error->get_error_code() . ': ' . $error->get_error_message() ) . '</span>';
	}
	return $html . '</p>';
}

/**
 * The status for the shortcode (the page's author chose to show it: no capability asked of the visitor).
 *
 * @return array|WP_Error
 */
function trp_bridge_shortcode_fetch_status() {
	return trp_bridge_get_status( false );
}

/**
 * The portfolio for the shortcode (as trp_bridge_shortcode_fetch_status()).
 *
 * @return array|WP_Error
 */
function trp_bridge_shortcode_fetch_portfolio() {
	return trp_bridge_get_portfolio( false );
}

/**
 * [trp_status cache="30"]
 *
 * @param array|string $atts Attributes.
 * @return string
 */
function trp_bridge_shortcode_status( $atts = array() ) {
	$status = trp_bridge_cached( 'status', 'trp_bridge_shortcode_fetch_status', trp_bridge_cache_seconds( $atts, 'trp_status' ) );
	if ( is_wp_error( $status ) ) {
		return trp_bridge_error_html( $status );
	}
	$rows = array(
		__( 'Market open', 'tradingrobotplug-bridge' )     => $status['market_open'] ?? null,
		__( 'Portfolio value', 'tradingrobotplug-bridge' ) => $status['portfolio_value'] ?? null,
		__( 'Cash balance', 'tradingrobotplug-bridge' )    => $status['cash_balance'] ?? null,
		__( 'Positions', 'tradingrobotplug-bridge' )       => $status['total_positions'] ?? null,
		__( 'As of', 'tradingrobotplug-bridge' )           => $status['timestamp'] ?? null,
	);
	$html = '<dl class="trp-bridge-status">';
	foreach ( $rows as $label => $value ) {
		$html .= '<dt>' . esc_html( $label ) . '</dt><dd>' . esc_html( trp_bridge_text( $value ) ) . '</dd>';
	}
	return $html . '</dl>';
}

/**
 * [trp_portfolio cache="30"]
 *
 * @param array|string $atts Attributes.
 * @return string
 */
function trp_bridge_shortcode_portfolio( $atts = array() ) {
	$portfolio = trp_bridge_cached( 'portfolio', 'trp_bridge_shortcode_fetch_portfolio', trp_bridge_cache_seconds( $atts, 'trp_portfolio' ) );
	if ( is_wp_error( $portfolio ) ) {
		return trp_bridge_error_html( $portfolio );
	}
	$positions = isset( $portfolio['positions'] ) && is_array( $portfolio['positions'] ) ? $portfolio['positions'] : array();
	if ( ! $positions ) {
		return '<p class="trp-bridge-portfolio-empty">' . esc_html__( 'No open positions.', 'tradingrobotplug-bridge' ) . '</p>';
	}
	$columns = array(
		'symbol'          => __( 'Symbol', 'tradingrobotplug-bridge' ),
		'qty'             => __( 'Quantity', 'tradingrobotplug-bridge' ),
		'avg_entry_price' => __( 'Average entry', 'tradingrobotplug-bridge' ),
		'current_price'   => __( 'Price', 'tradingrobotplug-bridge' ),
		'market_value'    => __( 'Market value', 'tradingrobotplug-bridge' ),
		'unrealized_pl'   => __( 'Unrealized P/L', 'tradingrobotplug-bridge' ),
	);
	$html = '<table class="trp-bridge-portfolio"><thead><tr>';
	foreach ( $columns as $label ) {
		$html .= '<th>' . esc_html( $label ) . '</th>';
	}
	$html .= '</tr></thead><tbody>';
	foreach ( $positions as $position ) {
		$html .= '<tr>';
		foreach ( array_keys( $columns ) as $field ) {
			$html .= '<td>' . esc_html( trp_bridge_text( is_array( $position ) ? ( $position[ $field ] ?? '' ) : '' ) ) . '</td>';
		}
		$html .= '</tr>';
	}
	return $html . '</tbody></table>';
}
