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
 * One call to the robot. Network errors, timeouts, 5xx, 429 and 409 (the same Idempotency-Key still running)
 * come back as a WP_Error whose data has 'retryable' => true; any other 4xx is final and carries the robot's
 * code and message.
 *
 * @param string     $method  GET or POST.
 * @param string     $path    Path under the robot's URL, e.g. /api/status.
 * @param array|null $body    JSON body for POST.
 * @param array      $headers Extra headers (Idempotency-Key).
 * @return array|WP_Error The decoded JSON document, with the HTTP status under '_http_status'.
 */
function trp_bridge_request( $method, $path, $body = null, $headers = array() ) {
	$base = trp_bridge_robot_url();
	$key  = trp_bridge_api_key();
	if ( '' === $base || '' === $key ) {
		return new WP_Error(
			'trp_bridge_not_configured',
			__( 'The Trading Robot URL and API key are not set (Settings → Trading Robot).', 'tradingrobotplug-bridge' ),
			array( 'retryable' => false )
		);
	}
	$args = array(
		'method'      => $method,
		'timeout'     => trp_bridge_timeout(),
		'redirection' => 0,
		'headers'     => array_merge(
			array(
				'X-API-Key' => $key,
				'Accept'    => 'application/json',
			),
			$headers
		),
	);
	if ( null !== $body ) {
		$args['headers']['Content-Type'] = 'application/json';
		$args['body']                    = wp_json_encode( $body );
	}
	$response = wp_remote_request( $base . $path, $args );
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
 * Send one trade to the robot under an Idempotency-Key (a repeat returns the first order, never a second one).
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
	return trp_bridge_request( 'POST', $path, array( 'quantity' => $quantity ), array( 'Idempotency-Key' => $idempotency_key ) );
}

/**
 * GET /api/status.
 *
 * @return array|WP_Error
 */
function trp_bridge_get_status() {
	return trp_bridge_request( 'GET', '/api/status' );
}

/**
 * GET /api/portfolio.
 *
 * @return array|WP_Error
 */
function trp_bridge_get_portfolio() {
	return trp_bridge_request( 'GET', '/api/portfolio' );
}

/**
 * POST /api/stop_trading: halt all trading in the robot.
 *
 * @param string $reason Why (kept in the robot's audit log).
 * @return array|WP_Error
 */
function trp_bridge_stop_trading( $reason = '' ) {
	return trp_bridge_request( 'POST', '/api/stop_trading', array( 'reason' => (string) $reason ) );
}
