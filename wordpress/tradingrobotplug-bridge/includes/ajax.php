<?php
/**
 * The trp_bridge_ws_ticket AJAX action: a page's JavaScript asks WordPress for a single-use WebSocket ticket and
 * opens the robot's /ws/updates with it, so no key ever reaches the browser. WordPress asks the robot with the
 * read key (POST /api/ws-ticket).
 *
 * A page gets what it needs from trp_bridge_ws_client_config() (e.g. through wp_add_inline_script), then:
 *   const body = new URLSearchParams({action: cfg.action, nonce: cfg.nonce});
 *   const r = await (await fetch(cfg.ajax_url, {method: 'POST', body})).json();
 *   if (r.success) new WebSocket(r.data.url);   // r.data.ticket, r.data.expires_in (seconds)
 *
 * Who may ask: anyone who may see the shortcodes (visitors included), unless the filter
 * trp_bridge_ws_ticket_capability names a capability; each address at most TRP_BRIDGE_WS_TICKETS_PER_MINUTE
 * tickets a minute (filter trp_bridge_ws_tickets_per_minute).
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'TRP_BRIDGE_WS_TICKET_ACTION', 'trp_bridge_ws_ticket' );
define( 'TRP_BRIDGE_WS_TICKETS_PER_MINUTE', 20 );

add_action( 'wp_ajax_' . TRP_BRIDGE_WS_TICKET_ACTION, 'trp_bridge_ajax_ws_ticket' );
add_action( 'wp_ajax_nopriv_' . TRP_BRIDGE_WS_TICKET_ACTION, 'trp_bridge_ajax_ws_ticket' );

/**
 * What a page's script needs to ask for a ticket (no key in it).
 *
 * @return array{ajax_url: string, action: string, nonce: string}
 */
function trp_bridge_ws_client_config() {
	return array(
		'ajax_url' => admin_url( 'admin-ajax.php' ),
		'action'   => TRP_BRIDGE_WS_TICKET_ACTION,
		'nonce'    => wp_create_nonce( TRP_BRIDGE_WS_TICKET_ACTION ),
	);
}

/**
 * The robot's WebSocket address for browsers: the robot URL with ws(s):// and /ws/updates (filter
 * trp_bridge_ws_url when browsers reach the robot at another address than WordPress does).
 *
 * @return string
 */
function trp_bridge_ws_url() {
	$base = (string) preg_replace( '#^http(s?)://#i', 'ws$1://', trp_bridge_robot_url() );
	return (string) apply_filters( 'trp_bridge_ws_url', $base . '/ws/updates' );
}

/**
 * Whether this address may have one more ticket this minute (counted in a transient per address).
 *
 * @return bool
 */
function trp_bridge_ws_ticket_allowed() {
	$limit  = max( 1, (int) apply_filters( 'trp_bridge_ws_tickets_per_minute', TRP_BRIDGE_WS_TICKETS_PER_MINUTE ) );
	$ip     = isset( $_SERVER['REMOTE_ADDR'] ) ? sanitize_text_field( wp_unslash( $_SERVER['REMOTE_ADDR'] ) ) : '';
	$window = (int) floor( time() / MINUTE_IN_SECONDS );
	$key    = 'trp_bridge_wst_' . md5( $ip . '|' . $window );
	$count  = (int) get_transient( $key );
	if ( $count >= $limit ) {
		return false;
	}
	set_transient( $key, $count + 1, MINUTE_IN_SECONDS );
	return true;
}

/**
 * admin-ajax.php?action=trp_bridge_ws_ticket (POST, nonce): {"success": true, "data": {"ticket", "expires_in",
 * "url"}}; refusals are {"success": false, "data": {"code", "message"}} with 403, 429 or 503, and a robot failure
 * is a generic message (the robot's own text is for the site's logs, not for visitors).
 */
function trp_bridge_ajax_ws_ticket() {
	if ( false === check_ajax_referer( TRP_BRIDGE_WS_TICKET_ACTION, 'nonce', false ) ) {
		wp_send_json_error(
			array(
				'code'    => 'trp_bridge_bad_nonce',
				'message' => __( 'The page is out of date: reload it.', 'tradingrobotplug-bridge' ),
			),
			403
		);
	}
	$capability = (string) apply_filters( 'trp_bridge_ws_ticket_capability', '' );
	if ( '' !== $capability && ! current_user_can( $capability ) ) {
		wp_send_json_error(
			array(
				'code'    => 'trp_bridge_forbidden',
				'message' => __( 'Sorry, you are not allowed to receive live updates.', 'tradingrobotplug-bridge' ),
			),
			403
		);
	}
	if ( ! trp_bridge_ws_ticket_allowed() ) {
		wp_send_json_error(
			array(
				'code'    => 'trp_bridge_too_many_tickets',
				'message' => __( 'Too many live-update requests: try again in a minute.', 'tradingrobotplug-bridge' ),
			),
			429
		);
	}
	$answer = trp_bridge_ws_ticket();
	if ( is_wp_error( $answer ) || empty( $answer['ticket'] ) || ! is_string( $answer['ticket'] ) ) {
		wp_send_json_error(
			array(
				'code'    => 'trp_bridge_unavailable',
				'message' => __( 'Live updates are unavailable right now. Please try again later.', 'tradingrobotplug-bridge' ),
			),
			503
		);
	}
	wp_send_json_success(
		array(
			'ticket'     => $answer['ticket'],
			'expires_in' => (int) ( $answer['expires_in'] ?? 0 ),
			'url'        => add_query_arg( 'ticket', rawurlencode( $answer['ticket'] ), trp_bridge_ws_url() ),
		)
	);
}
