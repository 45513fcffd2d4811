<?php
/**
 * The Trading Robot API client: every call to the robot goes through trp_bridge_request().
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * One call to the robot with the key of a role (settings.php). Network errors, timeouts, 5xx, 429 and 409 (the
 * same Idempotency-Key still running) come back as a WP_Error whose data has 'retryable' => true; any other 4xx
 * is final and carries the robot's code and message (for logs and administrators: visitors never see it).
 *
 * The call goes through wp_safe_remote_request(): a robot on a private or loopback address, or on a port other
 * than 80, 443 or 8080, is refused until the site allows it with the http_request_host_is_external and
 * http_allowed_safe_ports filters (README, "WordPress companion plugin").
 *
 * @internal Not a public helper: it checks no capability (see trp_bridge_execute_trade() and the others below).
 *
 * @param string     $role    read | trade | stop: whose key is sent.
 * @param string     $method  GET or POST.
 * @param string     $path    Path under the robot's URL, e.g. /api/status.
 * @param array|null $body    JSON body for POST.
 * @param array      $headers Extra headers (Idempotency-Key).
 * @return array|WP_Error The decoded JSON document, with the HTTP status under '_http_status'.
 */
function trp_bridge_request( $role, $method, $path, $body = null, $headers = array() ) {
	$credentials = trp_bridge_credentials( $role );
	if ( is_wp_error( $credentials ) ) {
		return $credentials;
	}
	$url = $credentials['url'] . $path;
	if ( ! wp_http_validate_url( $url ) ) {
		return new WP_Error(
			'trp_bridge_url_refused',
			__( 'WordPress refuses to call the robot URL (a private or loopback address, or a port other than 80, 443, 8080): allow its host with the http_request_host_is_external and http_allowed_safe_ports filters.', 'tradingrobotplug-bridge' ),
			array( 'retryable' => false )
		);
	}
	$args = array(
		'method'      => $method,
		'timeout'     => trp_bridge_timeout(),
		'redirection' => 0,
		'headers'     => array_merge(
			array(
				'X-API-Key' => $credentials['key'],
				'Accept'    => 'application/json',
			),
			$headers
		),
	);
	if ( null !== $body ) {
		$args['headers']['Content-Type'] = 'application/json';
		$args['body']                    = wp_json_encode( $body );
	}
	$response = wp_safe_remote_request( $url, $args );
	if ( is_wp_error( $response ) ) {
		return new WP_Error(
			'trp_bridge_unreachable',
			/* translators: %s: the transport's error message. */
			sprintf( __( 'The trading robot could not be reached: %s', 'tradingrobotplug-bridge' ), $response->get_error_message() ),
			array( 'retryable' => true )
		);
	}
	$status   = (int) wp_remote_retrieve_response_code( $response );
	$document = json_decode( wp_remote_retrieve_body( $response ), true );
	if ( $status >= 200 && $status < 300 ) {
		if ( ! is_array( $document ) ) {
			return new WP_Error(
				'trp_bridge_bad_response',
				/* translators: %d: HTTP status. */
				sprintf( __( 'The trading robot answered HTTP %d without a JSON document.', 'tradingrobotplug-bridge' ), $status ),
				array(
					'status'    => $status,
					'retryable' => true,
				)
			);
		}
		$document['_http_status'] = $status;
		return $document;
	}
	$retryable = $status >= 500 || 429 === $status || 409 === $status;
	$code      = is_array( $document ) && ! empty( $document['code'] ) ? (string) $document['code'] : 'trp_bridge_http_' . $status;
	$message   = is_array( $document ) && ! empty( $document['message'] ) ? (string) $document['message']
		/* translators: %d: HTTP status. */
		: sprintf( __( 'The trading robot answered HTTP %d.', 'tradingrobotplug-bridge' ), $status );
	return new WP_Error(
		$code,
		$message,
		array(
			'status'    => $status,
			'retryable' => $retryable,
			'body'      => is_array( $document ) ? $document : null,
		)
	);
}

/**
 * Whether an error from trp_bridge_request() is worth retrying later.
 *
 * @param WP_Error $error The error.
 * @return bool
 */
function trp_bridge_is_retryable( $error ) {
	$data = $error->get_error_data();
	return is_array( $data ) && ! empty( $data['retryable'] );
}

/**
 * The error a public helper returns when the current user lacks its capability (nothing is sent or recorded).
 *
 * @param string $capability The capability.
 * @return WP_Error
 */
function trp_bridge_forbidden( $capability ) {
	return new WP_Error(
		'trp_bridge_forbidden',
		/* translators: %s: capability. */
		sprintf( __( 'Sorry, you are not allowed to do that (needs the %s capability).', 'tradingrobotplug-bridge' ), $capability ),
		array(
			'status'    => 403,
			'retryable' => false,
		)
	);
}

/**
 * Send one trade to the robot under an Idempotency-Key (a repeat returns the first order, never a second one).
 *
 * @internal The queue's sender: trp_bridge_execute_trade() is the public helper.
 *
 * @param string $symbol          Ticker.
 * @param string $side            buy | sell.
 * @param string $quantity        Quantity as a decimal string.
 * @param string $idempotency_key The request's key.
 * @return array|WP_Error
 */
function trp_bridge_send_trade( $symbol, $side, $quantity, $idempotency_key ) {
	$path = '/api/trade/' . rawurlencode( $symbol ) . '/' . rawurlencode( $side );
	// A decimal string keeps the exact quantity; the robot accepts numbers and numeric strings.
	return trp_bridge_request( 'trade', 'POST', $path, array( 'quantity' => $quantity ), array( 'Idempotency-Key' => $idempotency_key ) );
}

/**
 * GET /api/status with the read key. Needs TRP_BRIDGE_CAP_VIEW unless $check_capability is false (the
 * shortcodes pass false: a site that places [trp_status] on a page shows it to its visitors).
 *
 * @param bool $check_capability Whether the current user must hold TRP_BRIDGE_CAP_VIEW.
 * @return array|WP_Error
 */
function trp_bridge_get_status( $check_capability = true ) {
	if ( $check_capability && ! current_user_can( TRP_BRIDGE_CAP_VIEW ) ) {
		return trp_bridge_forbidden( TRP_BRIDGE_CAP_VIEW );
	}
	return trp_bridge_request( 'read', 'GET', '/api/status' );
}

/**
 * GET /api/portfolio with the read key (capability as trp_bridge_get_status()).
 *
 * @param bool $check_capability Whether the current user must hold TRP_BRIDGE_CAP_VIEW.
 * @return array|WP_Error
 */
function trp_bridge_get_portfolio( $check_capability = true ) {
	if ( $check_capability && ! current_user_can( TRP_BRIDGE_CAP_VIEW ) ) {
		return trp_bridge_forbidden( TRP_BRIDGE_CAP_VIEW );
	}
	return trp_bridge_request( 'read', 'GET', '/api/portfolio' );
}

/**
 * POST /api/stop_trading with the stop key (admin scope): halt all trading in the robot. Needs
 * TRP_BRIDGE_CAP_STOP unless $check_capability is false (a CLI command or cron job of the site's own).
 *
 * @param string $reason           Why (kept in the robot's audit log).
 * @param bool   $check_capability Whether the current user must hold TRP_BRIDGE_CAP_STOP.
 * @return array|WP_Error
 */
function trp_bridge_stop_trading( $reason = '', $check_capability = true ) {
	if ( $check_capability && ! current_user_can( TRP_BRIDGE_CAP_STOP ) ) {
		return trp_bridge_forbidden( TRP_BRIDGE_CAP_STOP );
	}
	return trp_bridge_request( 'stop', 'POST', '/api/stop_trading', array( 'reason' => (string) $reason ) );
}

/**
 * POST /api/ws-ticket with the read key: a single-use WebSocket ticket that lives a few seconds (the robot's
 * WS_TICKET_SECONDS), so a page's JavaScript never holds a key (ajax.php serves it to the page).
 *
 * @return array|WP_Error ['ticket', 'expires_in', ...].
 */
function trp_bridge_ws_ticket() {
	return trp_bridge_request( 'read', 'POST', '/api/ws-ticket' );
}
