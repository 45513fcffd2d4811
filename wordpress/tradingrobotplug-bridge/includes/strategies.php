<?php
/**
 * The robot's strategy list: POST /strategies replaces it (newest document wins), GET /strategies answers the
 * site's shape (strategy_id, symbol, current_price, change_percent, status) plus the robot's fields.
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'TRP_BRIDGE_STRATEGIES_MAX', 200 );
define( 'TRP_BRIDGE_REASON_MAX', 500 );
define( 'TRP_BRIDGE_STRATEGIES_AT_OPTION', 'trp_bridge_strategies_timestamp' );
define( 'TRP_BRIDGE_MODES', array( 'live', 'signal' ) );
define( 'TRP_BRIDGE_OUTCOMES', array( 'buy', 'sell', 'hold', 'skip', 'error' ) );

/**
 * One strategy of a pushed document, checked and normalized; WP_Error naming the field otherwise.
 *
 * @param mixed  $item  The strategy object.
 * @param string $where Its place for error messages ("strategies[3]").
 * @return array|WP_Error
 */
function trp_bridge_strategy_clean( $item, $where ) {
	if ( ! is_array( $item ) || array_is_list( $item ) && array() !== $item ) {
		return trp_bridge_invalid( $where, 'must be an object' );
	}
	$text = static fn( $name ) => isset( $item[ $name ] ) && is_string( $item[ $name ] ) ? trim( $item[ $name ] ) : '';
	$out  = array(
		'strategy_id' => $text( 'strategy_id' ),
		'symbol'      => strtoupper( $text( 'symbol' ) ),
		'kind'        => $text( 'kind' ),
		'mode'        => $text( 'mode' ),
		'timeframe'   => $text( 'timeframe' ),
	);
	$checks = array(
		'strategy_id' => array( '/^' . TRP_BRIDGE_ID_PATTERN . '$/', 'required; up to 64 letters, digits, _ . : -' ),
		'symbol'      => array( '/^[A-Z][A-Z0-9.\-]{0,9}$/', 'required; a ticker of at most 10 characters' ),
		'kind'        => array( '/^[a-z][a-z0-9_]{0,31}$/', 'required; up to 32 lower-case letters, digits, _ (sma_crossover)' ),
		'mode'        => array( '/^(' . implode( '|', TRP_BRIDGE_MODES ) . ')$/', 'must be live or signal' ),
		'timeframe'   => array( '/^[1-9]\d{0,2}(Min|Hour|Day|Week|Month)$/', 'must be a timeframe like 1Min, 5Min, 1Hour, 1Day' ),
	);
	foreach ( $checks as $name => list( $pattern, $reason ) ) {
		if ( ! preg_match( $pattern, $out[ $name ] ) ) {
			return trp_bridge_invalid( "{$where}.{$name}", $reason );
		}
	}
	if ( ! isset( $item['enabled'] ) || ! is_bool( $item['enabled'] ) ) {
		return trp_bridge_invalid( "{$where}.enabled", 'required; true or false' );
	}
	$out['enabled'] = $item['enabled'];
	$pnl            = trp_bridge_decimal( $item['pnl'] ?? null, "{$where}.pnl", false, 18, 4 ); // decimal(18,4)
	if ( is_wp_error( $pnl ) ) {
		return $pnl;
	}
	$out['pnl']      = $pnl;
	$decision        = trp_bridge_decision_clean( $item['last_decision'] ?? null, "{$where}.last_decision" );
	$out['decision'] = $decision;
	return is_wp_error( $decision ) ? $decision : $out;
}

/**
 * A strategy's last decision: null, or {outcome, reason, bar_end, decided_at} with the times in UTC.
 *
 * @param mixed  $value The decision.
 * @param string $where Its place for error messages.
 * @return array|null|WP_Error
 */
function trp_bridge_decision_clean( $value, $where ) {
	if ( null === $value ) {
		return null;
	}
	if ( ! is_array( $value ) || array_is_list( $value ) ) {
		return trp_bridge_invalid( $where, 'must be an object or null' );
	}
	$outcome = isset( $value['outcome'] ) && is_string( $value['outcome'] ) ? $value['outcome'] : '';
	if ( ! in_array( $outcome, TRP_BRIDGE_OUTCOMES, true ) ) {
		return trp_bridge_invalid( "{$where}.outcome", 'must be one of ' . implode( ', ', TRP_BRIDGE_OUTCOMES ) );
	}
	$reason = $value['reason'] ?? '';
	if ( ! is_string( $reason ) || mb_strlen( $reason ) > TRP_BRIDGE_REASON_MAX || preg_match( '/[\x00-\x1F\x7F]/', $reason ) ) {
		/* translators: %d: maximum length. */
		return trp_bridge_invalid( "{$where}.reason", sprintf( 'must be text of at most %d characters, without control characters', TRP_BRIDGE_REASON_MAX ) );
	}
	$decision = array(
		'outcome' => $outcome,
		'reason'  => $reason,
	);
	foreach ( array( 'bar_end', 'decided_at' ) as $name ) {
		$time = trp_bridge_utc_datetime( $value[ $name ] ?? null, "{$where}.{$name}" );
		if ( is_wp_error( $time ) ) {
			return $time;
		}
		$decision[ $name ] = $time;
	}
	return $decision;
}

/**
 * POST /strategies: {"strategies": [...], "timestamp"}; replaces the stored list unless an equal or newer
 * document is already stored ("ignored", 200). Checked whole before anything is written.
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response|WP_Error
 */
function trp_bridge_rest_strategies_replace( $request ) {
	$in = $request->get_json_params();
	if ( ! is_array( $in ) || array_is_list( $in ) && array() !== $in ) {
		return trp_bridge_invalid( 'body', 'must be a JSON object {"strategies": [...], "timestamp": "..."}' );
	}
	$timestamp = trp_bridge_utc_datetime( $in['timestamp'] ?? null, 'timestamp' );
	if ( is_wp_error( $timestamp ) ) {
		return $timestamp;
	}
	if ( ! isset( $in['strategies'] ) || ! is_array( $in['strategies'] ) || ! array_is_list( $in['strategies'] ) ) {
		return trp_bridge_invalid( 'strategies', 'required; a list (may be empty)' );
	}
	if ( count( $in['strategies'] ) > TRP_BRIDGE_STRATEGIES_MAX ) {
		/* translators: %d: maximum. */
		return trp_bridge_invalid( 'strategies', sprintf( 'at most %d strategies', TRP_BRIDGE_STRATEGIES_MAX ) );
	}
	$clean = array();
	foreach ( $in['strategies'] as $index => $item ) {
		$strategy = trp_bridge_strategy_clean( $item, "strategies[{$index}]" );
		if ( is_wp_error( $strategy ) ) {
			return $strategy;
		}
		if ( isset( $clean[ $strategy['strategy_id'] ] ) ) {
			return trp_bridge_invalid( "strategies[{$index}].strategy_id", 'appears twice in the list' );
		}
		$clean[ $strategy['strategy_id'] ] = $strategy;
	}
	$outcome = trp_bridge_strategies_store( array_values( $clean ), $timestamp );
	if ( is_wp_error( $outcome ) ) {
		return $outcome;
	}
	return new WP_REST_Response(
		array(
			'status'           => $outcome,
			'total'            => count( $clean ),
			'timestamp'        => $timestamp,
			'stored_timestamp' => trp_bridge_strategies_timestamp(),
		)
	);
}

/**
 * The timestamp of the stored document (UTC, ISO 8601), straight from the database; null before the first.
 *
 * @return string|null
 */
function trp_bridge_strategies_timestamp() {
	global $wpdb;
	$value = $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", TRP_BRIDGE_STRATEGIES_AT_OPTION ) );
	return is_string( $value ) && '' !== $value ? $value : null;
}

/**
 * Replace the stored list in one transaction, under a named lock so two pushes compare and write one at a time.
 *
 * @param array  $strategies Clean strategies, in the robot's order.
 * @param string $timestamp  The document's time (UTC, ISO 8601).
 * @return string|WP_Error replaced | ignored.
 */
function trp_bridge_strategies_store( $strategies, $timestamp ) {
	global $wpdb;
	$lock = 'trp_bridge_strategies_' . md5( DB_NAME . '|' . $wpdb->prefix );
	if ( '1' !== (string) $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 10)', $lock ) ) ) {
		return new WP_Error( 'trp_bridge_busy', __( 'Another strategy list is being stored; send it again.', 'tradingrobotplug-bridge' ), array( 'status' => 503 ) );
	}
	try {
		$stored = trp_bridge_strategies_timestamp();
		if ( null !== $stored && trp_bridge_utc_compare( $timestamp, $stored ) < 0 ) {
			return 'ignored';
		}
		$table = trp_bridge_table( 'strategies' );
		$now   = current_time( 'mysql' );
		$wpdb->query( 'START TRANSACTION' );
		// phpcs:disable WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		$ok = false !== $wpdb->query( "DELETE FROM {$table}" );
		foreach ( $strategies as $position => $s ) {
			$pnl_sql = null === $s['pnl'] ? 'NULL' : '%s';
			$values  = array( $s['strategy_id'], $position, $s['symbol'], $s['kind'], $s['enabled'] ? 1 : 0, $s['mode'], $s['timeframe'] );
			$values  = array_merge( $values, null === $s['decision'] ? array() : array( wp_json_encode( $s['decision'] ) ), null === $s['pnl'] ? array() : array( $s['pnl'] ), array( $now ) );
			$ok      = $ok && false !== $wpdb->query(
				$wpdb->prepare(
					"INSERT INTO {$table} (strategy_id, position, symbol, kind, enabled, mode, timeframe, last_decision, pnl, received_at)
					VALUES (%s, %d, %s, %s, %d, %s, %s, " . ( null === $s['decision'] ? 'NULL' : '%s' ) . ", {$pnl_sql}, %s)",
					$values
				)
			);
		}
		// phpcs:enable
		if ( $ok && $stored !== $timestamp ) {
			$ok = update_option( TRP_BRIDGE_STRATEGIES_AT_OPTION, $timestamp, false );
		}
		if ( ! $ok ) {
			$wpdb->query( 'ROLLBACK' );
			wp_cache_delete( TRP_BRIDGE_STRATEGIES_AT_OPTION, 'options' );
			return new WP_Error( 'trp_bridge_db_error', __( 'The strategy list could not be stored.', 'tradingrobotplug-bridge' ), array( 'status' => 500 ) );
		}
		$wpdb->query( 'COMMIT' );
	} finally {
		$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $lock ) );
	}
	trp_bridge_views_invalidate();
	return 'replaced';
}

/**
 * Order of two UTC ISO 8601 times.
 *
 * @param string $a Time.
 * @param string $b Time.
 * @return int
 */
function trp_bridge_utc_compare( $a, $b ) {
	return new DateTimeImmutable( $a ) <=> new DateTimeImmutable( $b );
}

/**
 * The latest row of the theme's stock table (wp_trp_stock_data) per symbol: price, change, change_percent,
 * volume as the database gives them (strings). Empty when the theme's table does not exist.
 *
 * @param string[] $symbols Tickers.
 * @return array<string, array>
 */
function trp_bridge_stock_quotes( $symbols ) {
	global $wpdb;
	$table = $wpdb->prefix . 'trp_stock_data';
	if ( ! $symbols || $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $wpdb->esc_like( $table ) ) ) !== $table ) {
		return array();
	}
	$in = implode( ', ', array_fill( 0, count( $symbols ), '%s' ) );
	// phpcs:disable WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	$rows = $wpdb->get_results(
		$wpdb->prepare(
			"SELECT s.symbol, s.price, s.`change`, s.change_percent, s.volume FROM {$table} s
			JOIN (SELECT symbol, MAX(timestamp) AS latest FROM {$table} WHERE symbol IN ({$in}) GROUP BY symbol) m
			ON m.symbol = s.symbol AND m.latest = s.timestamp ORDER BY s.id",
			array_values( $symbols )
		),
		ARRAY_A
	);
	// phpcs:enable
	$quotes = array();
	foreach ( (array) $rows as $row ) {
		$quotes[ $row['symbol'] ] = $row;
	}
	return $quotes;
}

/**
 * The stored strategies in the site's shape plus the robot's fields, with the latest quote of each symbol.
 *
 * @return array{strategies: array, quotes: array}
 */
function trp_bridge_strategies_rows() {
	global $wpdb;
	$table = trp_bridge_table( 'strategies' );
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	$rows   = $wpdb->get_results( "SELECT * FROM {$table} ORDER BY position, id", ARRAY_A );
	$quotes = trp_bridge_stock_quotes( array_values( array_unique( array_column( (array) $rows, 'symbol' ) ) ) );
	$out    = array();
	foreach ( (array) $rows as $row ) {
		$quote    = $quotes[ $row['symbol'] ] ?? array();
		$decision = null === $row['last_decision'] ? null : json_decode( $row['last_decision'], true );
		$out[]    = array(
			'strategy_id'    => $row['strategy_id'],
			'symbol'         => $row['symbol'],
			'current_price'  => $quote['price'] ?? null,
			'change_percent' => $quote['change_percent'] ?? null,
			'status'         => '1' === (string) $row['enabled'] ? 'active' : 'inactive',
			'enabled'        => '1' === (string) $row['enabled'],
			'mode'           => $row['mode'],
			'kind'           => $row['kind'],
			'timeframe'      => $row['timeframe'],
			'last_decision'  => $decision,
			'pnl'            => $row['pnl'],
			'change'         => $quote['change'] ?? null,
			'volume'         => $quote['volume'] ?? null,
		);
	}
	return $out;
}

/**
 * GET /strategies: {"strategies", "total", "source", "as_of", "timestamp"} from the cached view.
 *
 * @return WP_REST_Response
 */
function trp_bridge_rest_strategies_list() {
	$view = trp_bridge_view_cached(
		'strategies',
		static function () {
			$as_of = trp_bridge_strategies_timestamp();
			$rows  = array_map( static fn( $row ) => array_diff_key( $row, array_flip( array( 'change', 'volume' ) ) ), trp_bridge_strategies_rows() );
			return array(
				'strategies' => $rows,
				'total'      => count( $rows ),
				'source'     => null === $as_of ? TRP_BRIDGE_SOURCE_NONE : TRP_BRIDGE_SOURCE_ROBOT,
				'as_of'      => $as_of,
			);
		}
	);
	return new WP_REST_Response( array_merge( $view, array( 'timestamp' => current_time( 'mysql' ) ) ) );
}
