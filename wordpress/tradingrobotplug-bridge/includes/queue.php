<?php
/**
 * Trade requests: each one is recorded before it is sent; when the robot is unreachable it waits in the
 * queue and WP-Cron retries it with backoff under the same Idempotency-Key, so it executes at most once.
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

add_action( TRP_BRIDGE_CRON_HOOK, 'trp_bridge_process_queue' );

/**
 * Place a trade through the robot with the trade key. The current user needs TRP_BRIDGE_CAP_TRADE unless
 * $check_capability is false (code of the site's own that decided for itself, e.g. a WP-CLI command): a theme
 * that wires this to a public form cannot let visitors trade by accident.
 *
 * @param string           $symbol           Ticker, e.g. TSLA.
 * @param string           $side             buy | sell (any case).
 * @param string|int|float $quantity         Quantity (a decimal string keeps it exact).
 * @param bool             $check_capability Whether the current user must hold TRP_BRIDGE_CAP_TRADE.
 * @return array|WP_Error Executed: ['status' => 'executed', 'request_id', 'order', 'http_status'];
 *                        robot unreachable: ['status' => 'queued', 'request_id', 'message', 'next_attempt_at'];
 *                        refused by the robot (4xx, final) or bad input: WP_Error with the robot's message,
 *                        its data holding 'status' (HTTP) and 'request_id'; without the capability: WP_Error
 *                        trp_bridge_forbidden (403), nothing recorded or sent.
 */
function trp_bridge_execute_trade( $symbol, $side, $quantity, $check_capability = true ) {
	global $wpdb;
	if ( $check_capability && ! current_user_can( TRP_BRIDGE_CAP_TRADE ) ) {
		return trp_bridge_forbidden( TRP_BRIDGE_CAP_TRADE );
	}
	$symbol   = strtoupper( trim( (string) $symbol ) );
	$side     = strtolower( trim( (string) $side ) );
	$quantity = trim( (string) $quantity );
	if ( ! preg_match( '/^[A-Z][A-Z0-9.\-]{0,15}$/', $symbol ) ) {
		return new WP_Error( 'trp_bridge_invalid_symbol', __( 'The symbol must be a ticker like TSLA.', 'tradingrobotplug-bridge' ), array( 'status' => 400 ) );
	}
	if ( ! in_array( $side, array( 'buy', 'sell' ), true ) ) {
		return new WP_Error( 'trp_bridge_invalid_side', __( 'The side must be buy or sell.', 'tradingrobotplug-bridge' ), array( 'status' => 400 ) );
	}
	if ( ! is_numeric( $quantity ) || strlen( $quantity ) > 32 ) {
		return new WP_Error( 'trp_bridge_invalid_quantity', __( 'The quantity must be a number.', 'tradingrobotplug-bridge' ), array( 'status' => 400 ) );
	}
	$now = trp_bridge_now();
	$wpdb->insert(
		trp_bridge_table( 'requests' ),
		array(
			'user_id'         => get_current_user_id(),
			'symbol'          => $symbol,
			'side'            => $side,
			'quantity'        => $quantity,
			'idempotency_key' => 'wp-' . wp_generate_uuid4(),
			'status'          => 'sending',
			'locked_until'    => trp_bridge_lock_until(),
			'created_at'      => $now,
			'updated_at'      => $now,
		),
		array( '%d', '%s', '%s', '%s', '%s', '%s', '%s', '%s', '%s' )
	);
	$request_id = (int) $wpdb->insert_id;
	if ( ! $request_id ) {
		return new WP_Error( 'trp_bridge_db_error', __( 'The trade request could not be recorded.', 'tradingrobotplug-bridge' ), array( 'status' => 500 ) );
	}
	return trp_bridge_attempt( $request_id );
}

/**
 * One stored request as an array, or null. The current user needs TRP_BRIDGE_CAP_TRADE (requests name who traded
 * what) unless $check_capability is false.
 *
 * @param int  $request_id       Request id.
 * @param bool $check_capability Whether the current user must hold TRP_BRIDGE_CAP_TRADE.
 * @return array|null|WP_Error
 */
function trp_bridge_get_request( $request_id, $check_capability = true ) {
	global $wpdb;
	if ( $check_capability && ! current_user_can( TRP_BRIDGE_CAP_TRADE ) ) {
		return trp_bridge_forbidden( TRP_BRIDGE_CAP_TRADE );
	}
	$table = trp_bridge_table( 'requests' );
	return $wpdb->get_row( $wpdb->prepare( "SELECT * FROM {$table} WHERE id = %d", $request_id ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
}

/**
 * Send a claimed request (status 'sending') and record what happened.
 *
 * @param int $request_id Request id.
 * @return array|WP_Error See trp_bridge_execute_trade().
 */
function trp_bridge_attempt( $request_id ) {
	$row = trp_bridge_get_request( $request_id, false );
	if ( ! $row ) {
		return new WP_Error( 'trp_bridge_unknown_request', __( 'No such trade request.', 'tradingrobotplug-bridge' ), array( 'status' => 404 ) );
	}
	$result = trp_bridge_send_trade( $row['symbol'], $row['side'], $row['quantity'], $row['idempotency_key'] );
	$row['attempts'] = (int) $row['attempts'] + 1;

	if ( ! is_wp_error( $result ) ) {
		$order = isset( $result['order'] ) && is_array( $result['order'] ) ? $result['order'] : array();
		trp_bridge_request_update(
			$row,
			array(
				'status'             => 'executed',
				'http_status'        => (int) $result['_http_status'],
				'robot_order_id'     => isset( $order['id'] ) ? (int) $order['id'] : null,
				'robot_order_status' => isset( $order['status'] ) ? (string) $order['status'] : '',
				'error_code'         => '',
				'last_error'         => null,
				'notify_pending'     => (int) $row['was_delayed'],
			)
		);
		return array(
			'status'      => 'executed',
			'request_id'  => (int) $row['id'],
			'order'       => $order,
			'http_status' => (int) $result['_http_status'],
		);
	}

	$data        = (array) $result->get_error_data();
	$http_status = isset( $data['status'] ) ? (int) $data['status'] : null;

	if ( trp_bridge_is_retryable( $result ) && $row['attempts'] < trp_bridge_max_attempts() ) {
		$next = time() + trp_bridge_backoff( $row['attempts'] );
		trp_bridge_request_update(
			$row,
			array(
				'status'          => 'queued',
				'http_status'     => $http_status,
				'error_code'      => $result->get_error_code(),
				'last_error'      => $result->get_error_message(),
				'next_attempt_at' => gmdate( 'Y-m-d H:i:s', $next ),
				'was_delayed'     => 1,
			)
		);
		wp_schedule_single_event( $next, TRP_BRIDGE_CRON_HOOK, array( (int) $row['id'], $row['attempts'] ) );
		return array(
			'status'          => 'queued',
			'request_id'      => (int) $row['id'],
			'message'         => sprintf(
				/* translators: 1: the error, 2: date and time of the next attempt. */
				__( 'The trade is delayed: %1$s It is queued and will be retried automatically (next attempt %2$s).', 'tradingrobotplug-bridge' ),
				$result->get_error_message(),
				get_date_from_gmt( gmdate( 'Y-m-d H:i:s', $next ), 'Y-m-d H:i:s' )
			),
			'next_attempt_at' => gmdate( 'Y-m-d H:i:s', $next ),
		);
	}

	// Final: refused by the robot (4xx), or still unreachable after the last attempt.
	$message = $result->get_error_message();
	if ( trp_bridge_is_retryable( $result ) ) {
		/* translators: 1: number of attempts, 2: the last error. */
		$message = sprintf( __( 'Gave up after %1$d attempts: %2$s', 'tradingrobotplug-bridge' ), $row['attempts'], $message );
	}
	$order = isset( $data['body']['order'] ) && is_array( $data['body']['order'] ) ? $data['body']['order'] : array();
	trp_bridge_request_update(
		$row,
		array(
			'status'             => 'failed',
			'http_status'        => $http_status,
			'error_code'         => $result->get_error_code(),
			'last_error'         => $message,
			'robot_order_id'     => isset( $order['id'] ) ? (int) $order['id'] : null,
			'robot_order_status' => isset( $order['status'] ) ? (string) $order['status'] : '',
			'notify_pending'     => (int) $row['was_delayed'],
		)
	);
	return new WP_Error(
		$result->get_error_code(),
		$message,
		array(
			'status'     => $http_status,
			'request_id' => (int) $row['id'],
			'final'      => true,
		)
	);
}

/**
 * Write a request's new state; announce it when it reached an end state.
 *
 * @param array $row     The request as read, with 'attempts' already counted.
 * @param array $changes Column => value.
 */
function trp_bridge_request_update( $row, $changes ) {
	global $wpdb;
	$changes['attempts']     = (int) $row['attempts'];
	$changes['locked_until'] = null;
	$changes['updated_at']   = trp_bridge_now();
	if ( in_array( $changes['status'], array( 'executed', 'failed' ), true ) ) {
		$changes['next_attempt_at'] = null;
	}
	$wpdb->update( trp_bridge_table( 'requests' ), $changes, array( 'id' => (int) $row['id'] ) );
	if ( in_array( $changes['status'], array( 'executed', 'failed' ), true ) ) {
		/**
		 * A trade request reached its end state (executed or failed); hook here to e-mail the user.
		 *
		 * @param int    $request_id Request id.
		 * @param string $status     executed | failed.
		 */
		do_action( 'trp_bridge_request_resolved', (int) $row['id'], $changes['status'] );
	}
}

/**
 * WP-Cron: retry every queued request that is due, and requests whose attempt was cut off (lock expired).
 * Each row is claimed by one UPDATE so two cron runs never send it at the same time; the Idempotency-Key
 * makes even an overlapping send harmless.
 *
 * @return int Requests attempted.
 */
function trp_bridge_process_queue() {
	global $wpdb;
	$table = trp_bridge_table( 'requests' );
	$now   = trp_bridge_now();
	// phpcs:disable WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	$ids = $wpdb->get_col(
		$wpdb->prepare(
			"SELECT id FROM {$table}
			WHERE (status = 'queued' AND next_attempt_at <= %s) OR (status = 'sending' AND locked_until <= %s)
			ORDER BY id LIMIT 50",
			$now,
			$now
		)
	);
	$attempted = 0;
	foreach ( $ids as $id ) {
		$claimed = $wpdb->query(
			$wpdb->prepare(
				"UPDATE {$table} SET status = 'sending', locked_until = %s
				WHERE id = %d AND ((status = 'queued' AND next_attempt_at <= %s) OR (status = 'sending' AND locked_until <= %s))",
				trp_bridge_lock_until(),
				$id,
				$now,
				$now
			)
		);
		if ( 1 === $claimed ) {
			trp_bridge_attempt( (int) $id );
			++$attempted;
		}
	}
	// phpcs:enable
	return $attempted;
}

/**
 * Seconds to wait before the next attempt: the base doubled per failed attempt, at most an hour.
 *
 * @param int $attempts Attempts made so far (1 after the first failure).
 * @return int
 */
function trp_bridge_backoff( $attempts ) {
	$delay = trp_bridge_retry_base() * ( 2 ** min( 20, max( 0, $attempts - 1 ) ) );
	return (int) min( HOUR_IN_SECONDS, $delay );
}

/**
 * Now in UTC as a MySQL datetime (the queue's clock).
 *
 * @return string
 */
function trp_bridge_now() {
	return gmdate( 'Y-m-d H:i:s' );
}

/**
 * Until when a running attempt owns its row: the call's timeout plus a margin.
 *
 * @return string
 */
function trp_bridge_lock_until() {
	return gmdate( 'Y-m-d H:i:s', time() + trp_bridge_timeout() + 30 );
}

/**
 * Messages for a user about their trade requests: one per delayed request while it waits, and one per
 * delayed request that has since executed or finally failed (shown once, then marked as told).
 *
 * @param int $user_id User id.
 * @return array[] Each ['type' => warning|success|error, 'message' => string].
 */
function trp_bridge_user_notices( $user_id ) {
	global $wpdb;
	$table = trp_bridge_table( 'requests' );
	// phpcs:disable WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	$rows = $wpdb->get_results(
		$wpdb->prepare(
			"SELECT * FROM {$table} WHERE user_id = %d AND (status IN ('queued', 'sending') AND was_delayed = 1 OR notify_pending = 1)
			ORDER BY id LIMIT 20",
			$user_id
		),
		ARRAY_A
	);
	$notices = array();
	foreach ( $rows as $row ) {
		$what = sprintf( '#%d %s %s %s', $row['id'], strtoupper( $row['side'] ), $row['quantity'], $row['symbol'] );
		if ( 'executed' === $row['status'] ) {
			$notices[] = array(
				'type'    => 'success',
				/* translators: 1: the request, 2: the robot's order id, 3: its status. */
				'message' => sprintf( __( 'Delayed trade %1$s has now executed: robot order %2$s (%3$s).', 'tradingrobotplug-bridge' ), $what, $row['robot_order_id'], $row['robot_order_status'] ),
			);
		} elseif ( 'failed' === $row['status'] ) {
			$notices[] = array(
				'type'    => 'error',
				/* translators: 1: the request, 2: the reason. */
				'message' => sprintf( __( 'Delayed trade %1$s finally failed: %2$s', 'tradingrobotplug-bridge' ), $what, $row['last_error'] ),
			);
		} else {
			$notices[] = array(
				'type'    => 'warning',
				/* translators: 1: the request, 2: the reason, 3: next attempt. */
				'message' => sprintf( __( 'Trade %1$s is delayed (%2$s). It is queued and retried automatically; next attempt %3$s.', 'tradingrobotplug-bridge' ), $what, $row['last_error'], $row['next_attempt_at'] ? get_date_from_gmt( $row['next_attempt_at'], 'Y-m-d H:i:s' ) : '-' ),
			);
		}
		if ( '1' === (string) $row['notify_pending'] ) {
			$wpdb->query( $wpdb->prepare( "UPDATE {$table} SET notify_pending = 0 WHERE id = %d", $row['id'] ) );
		}
	}
	// phpcs:enable
	return $notices;
}
