<?php
/**
 * The push-back receiver: the robot POSTs every fill to /trades and its metrics to /performance
 * (tradingrobotplug/v1, as in the project's contract); the site's dashboard reads them back with GET
 * (routes in routes.php).
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'TRP_BRIDGE_METRIC_DECIMALS', array( 'total_pnl', 'win_rate', 'sharpe_ratio', 'max_drawdown' ) );
define( 'TRP_BRIDGE_METRIC_COUNTS', array( 'total_trades', 'winning_trades', 'losing_trades' ) );
// Each decimal column's (precision, scale), as schema.php declares it; counts are int unsigned.
define(
	'TRP_BRIDGE_COLUMN_WIDTHS',
	array(
		'quantity'     => array( 18, 4 ),
		'price'        => array( 15, 4 ),
		'pnl'          => array( 15, 4 ),
		'total_pnl'    => array( 18, 4 ),
		'win_rate'     => array( 10, 4 ),
		'sharpe_ratio' => array( 12, 4 ),
		'max_drawdown' => array( 18, 4 ),
	)
);
define( 'TRP_BRIDGE_COUNT_MAX', 4294967295 );
// Extra metrics travel in a JSON column: any decimal up to 14 digits before the point and 10 after.
define( 'TRP_BRIDGE_EXTRA_WIDTH', array( 24, 10 ) );
// The deepest page GET /trades serves (a deep OFFSET makes MariaDB read and skip every row before it).
define( 'TRP_BRIDGE_MAX_OFFSET', 10000 );
define( 'TRP_BRIDGE_SOURCE_ROBOT', 'robot' );
define( 'TRP_BRIDGE_SOURCE_NONE', 'none yet' );

/**
 * Writes: a user signed in with an Application Password (HTTP Basic) who holds the receive capability.
 * A wrong password never gets here: WordPress itself answers 401 incorrect_password.
 *
 * @return true|WP_Error
 */
function trp_bridge_rest_can_write() {
	if ( ! is_user_logged_in() ) {
		return new WP_Error( 'rest_forbidden', __( 'Authenticate with an Application Password (HTTP Basic).', 'tradingrobotplug-bridge' ), array( 'status' => 401 ) );
	}
	if ( null === rest_get_authenticated_app_password() ) {
		return new WP_Error( 'trp_bridge_app_password_required', __( 'Push-back writes must authenticate with an Application Password.', 'tradingrobotplug-bridge' ), array( 'status' => 401 ) );
	}
	$capability = apply_filters( 'trp_bridge_receive_capability', TRP_BRIDGE_CAP_RECEIVE );
	if ( ! current_user_can( $capability ) ) {
		return new WP_Error( 'rest_forbidden', __( 'Sorry, you are not allowed to write trading records.', 'tradingrobotplug-bridge' ), array( 'status' => 403 ) );
	}
	return true;
}

/**
 * A 400 naming the field.
 *
 * @param string $field  Field name.
 * @param string $reason What is wrong.
 * @return WP_Error
 */
function trp_bridge_invalid( $field, $reason ) {
	return new WP_Error(
		'rest_invalid_param',
		/* translators: 1: field, 2: reason. */
		sprintf( __( 'Invalid parameter %1$s: %2$s', 'tradingrobotplug-bridge' ), $field, $reason ),
		array(
			'status' => 400,
			'params' => array( $field => $reason ),
		)
	);
}

/**
 * A decimal as an exact canonical string ("250.5", "-3", never "-0" or trailing zeros), or null when absent;
 * WP_Error when malformed or wider than its column: decimal($digits, $scale) holds $digits - $scale digits
 * before the point and $scale after (MariaDB would round the rest silently, or refuse the row).
 *
 * @param mixed  $value    The value (JSON number or string).
 * @param string $field    Field name for the error.
 * @param bool   $positive Whether it must be greater than zero.
 * @param int    $digits   The column's precision.
 * @param int    $scale    The column's scale.
 * @return string|null|WP_Error
 */
function trp_bridge_decimal( $value, $field, $positive = false, $digits = 15, $scale = 4 ) {
	if ( null === $value || '' === $value ) {
		return null;
	}
	if ( is_bool( $value ) || ! is_scalar( $value ) ) {
		return trp_bridge_invalid( $field, 'must be a number' );
	}
	if ( is_float( $value ) ) {
		if ( ! is_finite( $value ) ) {
			return trp_bridge_invalid( $field, 'must be a finite number' );
		}
		// A JSON number: fixed notation (never 1.0E-5).
		$value = sprintf( '%.10F', $value );
	}
	$text = trim( (string) $value );
	if ( strlen( $text ) > 64 || ! preg_match( '/^(-?)(\d+)(?:\.(\d+))?$/', $text, $parts ) ) {
		return trp_bridge_invalid( $field, 'must be a decimal number like 250.5' );
	}
	$whole    = ltrim( $parts[2], '0' );
	$fraction = rtrim( $parts[3] ?? '', '0' );
	if ( strlen( $whole ) > $digits - $scale || strlen( $fraction ) > $scale ) {
		/* translators: 1: digits before the point, 2: digits after. */
		return trp_bridge_invalid( $field, sprintf( 'must have at most %1$d digits before the point and %2$d after', $digits - $scale, $scale ) );
	}
	$zero      = '' === $whole && '' === $fraction;
	$canonical = ( $zero || '' === $parts[1] ? '' : '-' ) . ( '' === $whole ? '0' : $whole ) . ( '' === $fraction ? '' : '.' . $fraction );
	if ( $positive && ( $zero || '-' === $parts[1] ) ) {
		return trp_bridge_invalid( $field, 'must be greater than zero' );
	}
	return $canonical;
}

/**
 * A timestamp: "Y-m-d H:i:s" without a zone is site-local (the site's convention); ISO 8601 with Z or an
 * offset is taken as written. Impossible dates and times (2025-02-30, 24:00, 23:59:60) are refused rather than
 * rolled over, and so is anything a DATETIME column cannot hold in the site's zone (years 1000 to 9999).
 *
 * @param mixed  $value The value.
 * @param string $field Field name for the error.
 * @return DateTimeImmutable|WP_Error
 */
function trp_bridge_datetime( $value, $field ) {
	$pattern = '/^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-](?:0\d|1[0-4]):?[0-5]\d)?$/';
	if ( ! is_string( $value ) || ! preg_match( $pattern, trim( $value ), $parts ) ) {
		return trp_bridge_invalid( $field, 'must be a datetime like 2025-12-26 15:30:00 or 2025-12-26T20:30:00Z' );
	}
	try {
		$zone = ! empty( $parts[7] ) ? null : wp_timezone();
		$time = new DateTimeImmutable( trim( $value ), $zone );
	} catch ( Exception $e ) {
		return trp_bridge_invalid( $field, 'is not a valid datetime' );
	}
	// As written, in the zone it was written in: anything PHP rolled over (Feb 30 -> Mar 2) is not a real time.
	$written = sprintf( '%s-%s-%s %s:%s:%s', $parts[1], $parts[2], $parts[3], $parts[4], $parts[5], '' === ( $parts[6] ?? '' ) ? '00' : $parts[6] );
	if ( $time->format( 'Y-m-d H:i:s' ) !== $written ) {
		return trp_bridge_invalid( $field, 'is not a valid date and time' );
	}
	$year = (int) $time->setTimezone( wp_timezone() )->format( 'Y' );
	if ( $year < 1000 || $year > 9999 ) {
		return trp_bridge_invalid( $field, 'must be between the years 1000 and 9999' );
	}
	return $time;
}

/**
 * A timestamp as a site-local MySQL datetime (see trp_bridge_datetime()).
 *
 * @param mixed  $value The value.
 * @param string $field Field name for the error.
 * @return string|WP_Error
 */
function trp_bridge_local_datetime( $value, $field ) {
	$time = trp_bridge_datetime( $value, $field );
	return is_wp_error( $time ) ? $time : $time->setTimezone( wp_timezone() )->format( 'Y-m-d H:i:s' );
}

/**
 * A timestamp in UTC, ISO 8601 with Z ("2025-12-26T20:30:00Z", microseconds kept when given).
 *
 * @param mixed  $value The value.
 * @param string $field Field name for the error.
 * @return string|WP_Error
 */
function trp_bridge_utc_datetime( $value, $field ) {
	$time = trp_bridge_datetime( $value, $field );
	if ( is_wp_error( $time ) ) {
		return $time;
	}
	$utc      = $time->setTimezone( new DateTimeZone( 'UTC' ) );
	$fraction = rtrim( $utc->format( 'u' ), '0' );
	return $utc->format( 'Y-m-d\TH:i:s' ) . ( '' === $fraction ? '' : '.' . $fraction ) . 'Z';
}

/**
 * POST /trades: store one trade; idempotent on trade_id (201 new, 200 with the stored row when the same trade
 * comes again, 409 trp_bridge_trade_conflict when its trade_id comes again with other content).
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response|WP_Error
 */
function trp_bridge_rest_trade_create( $request ) {
	global $wpdb;
	$in = $request->get_json_params();
	if ( ! is_array( $in ) ) {
		$in = $request->get_body_params();
	}
	$trade_id = isset( $in['trade_id'] ) && is_scalar( $in['trade_id'] ) ? trim( (string) $in['trade_id'] ) : '';
	if ( ! preg_match( '/^[A-Za-z0-9_.:\-]{1,64}$/', $trade_id ) ) {
		return trp_bridge_invalid( 'trade_id', 'required; up to 64 letters, digits, _ . : -' );
	}
	$symbol = isset( $in['symbol'] ) && is_string( $in['symbol'] ) ? strtoupper( trim( $in['symbol'] ) ) : '';
	if ( ! preg_match( '/^[A-Z][A-Z0-9.\-]{0,9}$/', $symbol ) ) {
		return trp_bridge_invalid( 'symbol', 'required; a ticker of at most 10 characters' );
	}
	$side = isset( $in['side'] ) && is_string( $in['side'] ) ? strtoupper( trim( $in['side'] ) ) : '';
	if ( ! in_array( $side, array( 'BUY', 'SELL' ), true ) ) {
		return trp_bridge_invalid( 'side', 'must be BUY or SELL' );
	}
	$strategy_id = isset( $in['strategy_id'] ) && is_scalar( $in['strategy_id'] ) && '' !== trim( (string) $in['strategy_id'] )
		? trim( (string) $in['strategy_id'] ) : 'STRATEGY-' . $symbol;
	if ( ! preg_match( '/^[A-Za-z0-9_.:\-]{1,64}$/', $strategy_id ) ) {
		return trp_bridge_invalid( 'strategy_id', 'up to 64 letters, digits, _ . : -' );
	}
	$quantity = trp_bridge_decimal( $in['quantity'] ?? null, 'quantity', true, ...TRP_BRIDGE_COLUMN_WIDTHS['quantity'] );
	$price    = trp_bridge_decimal( $in['price'] ?? null, 'price', true, ...TRP_BRIDGE_COLUMN_WIDTHS['price'] );
	$pnl      = trp_bridge_decimal( $in['pnl'] ?? null, 'pnl', false, ...TRP_BRIDGE_COLUMN_WIDTHS['pnl'] );
	foreach ( array( $quantity, $price, $pnl ) as $checked ) {
		if ( is_wp_error( $checked ) ) {
			return $checked;
		}
	}
	if ( null === $quantity || null === $price ) {
		return trp_bridge_invalid( null === $quantity ? 'quantity' : 'price', 'required' );
	}
	$execution_time = trp_bridge_local_datetime( $in['execution_time'] ?? null, 'execution_time' );
	if ( is_wp_error( $execution_time ) ) {
		return $execution_time;
	}

	$table = trp_bridge_table( 'trades' );
	$pnl_sql = null === $pnl ? 'NULL' : '%s';
	$values  = array( $trade_id, $strategy_id, $symbol, $side, $quantity, $price );
	if ( null !== $pnl ) {
		$values[] = $pnl;
	}
	$values[] = $execution_time;
	$values[] = current_time( 'mysql' );
	// A repeated trade_id hits the unique key and changes nothing (affected rows 0).
	// phpcs:disable WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	$inserted = $wpdb->query(
		$wpdb->prepare(
			"INSERT INTO {$table} (trade_id, strategy_id, symbol, side, quantity, price, pnl, execution_time, created_at)
			VALUES (%s, %s, %s, %s, %s, %s, {$pnl_sql}, %s, %s) ON DUPLICATE KEY UPDATE id = id",
			$values
		)
	);
	if ( false === $inserted ) {
		return new WP_Error( 'trp_bridge_db_error', __( 'The trade could not be stored.', 'tradingrobotplug-bridge' ), array( 'status' => 500 ) );
	}
	$row = $wpdb->get_row(
		$wpdb->prepare(
			"SELECT trade_id, strategy_id, symbol, side, quantity, price, pnl, execution_time, created_at FROM {$table} WHERE trade_id = %s",
			$trade_id
		),
		ARRAY_A
	);
	// phpcs:enable
	if ( 1 === $inserted ) {
		trp_bridge_views_invalidate();
		return new WP_REST_Response( $row, 201 );
	}
	$sent = array(
		'strategy_id'    => $strategy_id,
		'symbol'         => $symbol,
		'side'           => $side,
		'quantity'       => $quantity,
		'price'          => $price,
		'pnl'            => $pnl,
		'execution_time' => $execution_time,
	);
	$differ = trp_bridge_trade_differences( $row, $sent );
	if ( $differ ) {
		return new WP_Error(
			'trp_bridge_trade_conflict',
			/* translators: %s: field names. */
			sprintf( __( 'A trade with this trade_id is already stored with other content (%s): a trade_id names one trade.', 'tradingrobotplug-bridge' ), implode( ', ', $differ ) ),
			array(
				'status' => 409,
				'fields' => $differ,
			)
		);
	}
	return new WP_REST_Response( $row, 200 );
}

/**
 * The fields in which a stored trade row and a repeated POST of its trade_id differ (numbers compared exactly,
 * whatever their trailing zeros).
 *
 * @param array $row  The stored row.
 * @param array $sent The repeated trade, validated (canonical decimals, site-local execution_time).
 * @return string[]
 */
function trp_bridge_trade_differences( $row, $sent ) {
	$differ = array();
	foreach ( $sent as $name => $value ) {
		$stored = $row[ $name ] ?? null;
		if ( isset( TRP_BRIDGE_COLUMN_WIDTHS[ $name ] ) && null !== $stored ) {
			$stored = trp_bridge_decimal( $stored, $name, false, ...TRP_BRIDGE_COLUMN_WIDTHS[ $name ] );
		}
		if ( (string) $stored !== (string) $value || ( null === $stored ) !== ( null === $value ) ) {
			$differ[] = $name;
		}
	}
	return $differ;
}

/**
 * A whole-number query parameter within bounds.
 *
 * @param WP_REST_Request $request The request.
 * @param string          $name    Parameter.
 * @param int             $fallback Default.
 * @param int             $maximum Largest allowed.
 * @return int|WP_Error
 */
function trp_bridge_int_param( $request, $name, $fallback, $maximum ) {
	$value = $request->get_param( $name );
	if ( null === $value || '' === $value ) {
		return $fallback;
	}
	if ( ! is_scalar( $value ) || ! ctype_digit( (string) $value ) || strlen( (string) $value ) > 10 || (int) $value > $maximum ) {
		/* translators: %d: maximum. */
		return trp_bridge_invalid( $name, sprintf( 'must be a whole number from 0 to %d', $maximum ) );
	}
	return (int) $value;
}

/**
 * GET /trades: newest first; filters strategy_id, start_date, end_date (site-local), limit (50), offset.
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response|WP_Error
 */
function trp_bridge_rest_trades_list( $request ) {
	global $wpdb;
	$limit  = trp_bridge_int_param( $request, 'limit', 50, 500 );
	$offset = trp_bridge_int_param( $request, 'offset', 0, TRP_BRIDGE_MAX_OFFSET );
	if ( is_wp_error( $limit ) || is_wp_error( $offset ) ) {
		return is_wp_error( $limit ) ? $limit : $offset;
	}
	$limit   = max( 1, $limit );
	$filters = array(
		'strategy_id' => $request->get_param( 'strategy_id' ),
		'start_date'  => $request->get_param( 'start_date' ),
		'end_date'    => $request->get_param( 'end_date' ),
	);
	$where  = array( '1 = 1' );
	$values = array();
	if ( is_string( $filters['strategy_id'] ) && '' !== $filters['strategy_id'] ) {
		$where[]  = 'strategy_id = %s';
		$values[] = $filters['strategy_id'];
	}
	foreach ( array( 'start_date' => '>=', 'end_date' => '<=' ) as $name => $operator ) {
		if ( null === $filters[ $name ] || '' === $filters[ $name ] ) {
			continue;
		}
		$local = trp_bridge_local_datetime( $filters[ $name ], $name );
		if ( is_wp_error( $local ) ) {
			return $local;
		}
		$where[]  = "execution_time {$operator} %s";
		$values[] = $local;
	}
	$table = trp_bridge_table( 'trades' );
	$sql   = implode( ' AND ', $where );
	// phpcs:disable WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	$total = (int) $wpdb->get_var( $values ? $wpdb->prepare( "SELECT COUNT(*) FROM {$table} WHERE {$sql}", $values ) : "SELECT COUNT(*) FROM {$table}" );
	$rows  = $wpdb->get_results(
		$wpdb->prepare(
			"SELECT trade_id, strategy_id, symbol, side, quantity, price, pnl, execution_time, created_at FROM {$table}
			WHERE {$sql} ORDER BY execution_time DESC, id DESC LIMIT %d OFFSET %d",
			array_merge( $values, array( $limit, $offset ) )
		),
		ARRAY_A
	);
	// A filter that matches nothing is not "nothing pushed yet": ask the whole table then.
	$any = $total > 0 || ( $values && (int) $wpdb->get_var( "SELECT COUNT(*) FROM {$table}" ) > 0 );
	// phpcs:enable
	return new WP_REST_Response(
		array(
			'trades'    => $rows,
			'total'     => $total,
			'limit'     => $limit,
			'offset'    => $offset,
			'filters'   => $filters,
			'source'    => $any ? TRP_BRIDGE_SOURCE_ROBOT : TRP_BRIDGE_SOURCE_NONE,
			'timestamp' => current_time( 'mysql' ),
		)
	);
}

/**
 * POST /performance: {"strategy_id", "period", "metrics": {...}} (or the metrics at the top level);
 * one row per strategy and period, replaced by newer documents (201 new, 200 updated or unchanged).
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response|WP_Error
 */
function trp_bridge_rest_performance_create( $request ) {
	global $wpdb;
	$in = $request->get_json_params();
	if ( ! is_array( $in ) ) {
		return trp_bridge_invalid( 'body', 'must be a JSON object' );
	}
	$strategy_id = isset( $in['strategy_id'] ) && is_scalar( $in['strategy_id'] ) ? trim( (string) $in['strategy_id'] ) : '';
	if ( ! preg_match( '/^[A-Za-z0-9_.:\-]{1,64}$/', $strategy_id ) ) {
		return trp_bridge_invalid( 'strategy_id', 'required; up to 64 letters, digits, _ . : -' );
	}
	// period: a label ("all", "2025-12"), or the robot's {"start_date", "end_date"} window (kept under its
	// period_label, default "all", so each push replaces the previous one instead of adding a row).
	$period       = 'all';
	$period_start = null;
	$period_end   = null;
	if ( isset( $in['period'] ) && is_array( $in['period'] ) ) {
		foreach ( array( 'start_date', 'end_date' ) as $name ) {
			if ( isset( $in['period'][ $name ] ) ) {
				$local = trp_bridge_local_datetime( $in['period'][ $name ], 'period.' . $name );
				if ( is_wp_error( $local ) ) {
					return $local;
				}
				if ( 'start_date' === $name ) {
					$period_start = $local;
				} else {
					$period_end = $local;
				}
			}
		}
		$period = isset( $in['period_label'] ) && is_scalar( $in['period_label'] ) ? trim( (string) $in['period_label'] ) : 'all';
	} elseif ( isset( $in['period'] ) && is_scalar( $in['period'] ) && '' !== trim( (string) $in['period'] ) ) {
		$period = trim( (string) $in['period'] );
	}
	if ( ! preg_match( '/^[A-Za-z0-9_.:\-]{1,32}$/', $period ) ) {
		return trp_bridge_invalid( 'period', 'a label of up to 32 letters, digits, _ . : - or {"start_date", "end_date"}' );
	}
	$metrics = isset( $in['metrics'] ) && is_array( $in['metrics'] ) ? $in['metrics'] : $in;
	$columns = array();
	foreach ( TRP_BRIDGE_METRIC_DECIMALS as $name ) {
		$value = trp_bridge_decimal( $metrics[ $name ] ?? null, $name, false, ...TRP_BRIDGE_COLUMN_WIDTHS[ $name ] );
		if ( is_wp_error( $value ) ) {
			return $value;
		}
		$columns[ $name ] = $value;
	}
	foreach ( TRP_BRIDGE_METRIC_COUNTS as $name ) {
		$value = $metrics[ $name ] ?? null;
		if ( null !== $value && ( ! is_scalar( $value ) || ! ctype_digit( (string) $value ) || strlen( (string) $value ) > 10 || (int) $value > TRP_BRIDGE_COUNT_MAX ) ) {
			/* translators: %d: the largest count. */
			return trp_bridge_invalid( $name, sprintf( 'must be a whole number from 0 to %d', TRP_BRIDGE_COUNT_MAX ) );
		}
		$columns[ $name ] = null === $value ? null : (int) $value;
	}
	$extra = array();
	foreach ( $metrics as $name => $value ) {
		if ( array_key_exists( $name, $columns ) || in_array( $name, array( 'strategy_id', 'period', 'period_label', 'metrics' ), true ) ) {
			continue;
		}
		$checked = trp_bridge_decimal( $value, (string) $name, false, ...TRP_BRIDGE_EXTRA_WIDTH );
		if ( is_wp_error( $checked ) || ! preg_match( '/^[a-z_]{1,40}$/', (string) $name ) ) {
			return trp_bridge_invalid( (string) $name, 'extra metrics must be named in snake_case and be numbers' );
		}
		$extra[ $name ] = $checked;
	}

	$table = trp_bridge_table( 'performance' );
	$now   = current_time( 'mysql' );
	$place = array();
	$vals  = array( $strategy_id, $period );
	foreach ( $columns as $value ) {
		if ( null === $value ) {
			$place[] = 'NULL';
		} else {
			$place[] = is_int( $value ) ? '%d' : '%s';
			$vals[]  = $value;
		}
	}
	$columns['period_start'] = $period_start;
	$columns['period_end']   = $period_end;
	$names                   = array_keys( $columns );
	foreach ( array( $period_start, $period_end ) as $value ) {
		$place[] = null === $value ? 'NULL' : '%s';
		if ( null !== $value ) {
			$vals[] = $value;
		}
	}
	$vals[]  = wp_json_encode( (object) $extra );
	$vals[]  = $now;
	$vals[]  = $now;
	$updates = array();
	foreach ( array_merge( $names, array( 'extra' ) ) as $name ) {
		$updates[] = "{$name} = VALUES({$name})";
	}
	// updated_at changes only when a value did (MySQL then reports 2 affected rows; unchanged reports 0).
	$changed = implode( ' OR ', array_map( static fn( $n ) => "NOT ({$n} <=> VALUES({$n}))", array_merge( $names, array( 'extra' ) ) ) );
	// phpcs:disable WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	$affected = $wpdb->query(
		$wpdb->prepare(
			"INSERT INTO {$table} (strategy_id, period, " . implode( ', ', $names ) . ', extra, created_at, updated_at)
			VALUES (%s, %s, ' . implode( ', ', $place ) . ", %s, %s, %s)
			ON DUPLICATE KEY UPDATE updated_at = IF({$changed}, VALUES(updated_at), updated_at), " . implode( ', ', $updates ),
			$vals
		)
	);
	// phpcs:enable
	if ( false === $affected ) {
		return new WP_Error( 'trp_bridge_db_error', __( 'The metrics could not be stored.', 'tradingrobotplug-bridge' ), array( 'status' => 500 ) );
	}
	if ( $affected > 0 ) {
		trp_bridge_views_invalidate();
	}
	return new WP_REST_Response( trp_bridge_metrics_document( trp_bridge_metrics_row( $strategy_id, $period ) ), 1 === $affected ? 201 : 200 );
}

/**
 * The stored metrics row of a strategy: one period, or the most recently updated one.
 *
 * @param string      $strategy_id Strategy id.
 * @param string|null $period      Period or null.
 * @return array|null
 */
function trp_bridge_metrics_row( $strategy_id, $period = null ) {
	global $wpdb;
	$table = trp_bridge_table( 'performance' );
	// phpcs:disable WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	if ( null !== $period ) {
		return $wpdb->get_row( $wpdb->prepare( "SELECT * FROM {$table} WHERE strategy_id = %s AND period = %s", $strategy_id, $period ), ARRAY_A );
	}
	return $wpdb->get_row( $wpdb->prepare( "SELECT * FROM {$table} WHERE strategy_id = %s ORDER BY updated_at DESC, id DESC LIMIT 1", $strategy_id ), ARRAY_A );
	// phpcs:enable
}

/**
 * A stored row in the theme's shape: {strategy_id, period: {start_date, end_date}, metrics: {...}, timestamp},
 * plus period_label, updated_at and source. Values are strings, as the site's own database rows are.
 *
 * @param array $row Row.
 * @return array
 */
function trp_bridge_metrics_document( $row ) {
	$metrics = array();
	foreach ( array_merge( TRP_BRIDGE_METRIC_DECIMALS, TRP_BRIDGE_METRIC_COUNTS ) as $name ) {
		$metrics[ $name ] = $row[ $name ];
	}
	$extra = json_decode( (string) $row['extra'], true );
	return array(
		'strategy_id'  => $row['strategy_id'],
		'period'       => array(
			'start_date' => $row['period_start'],
			'end_date'   => $row['period_end'],
		),
		'period_label' => $row['period'],
		'metrics'      => array_merge( is_array( $extra ) ? $extra : array(), $metrics ),
		'updated_at'   => $row['updated_at'],
		'source'       => TRP_BRIDGE_SOURCE_ROBOT,
		'timestamp'    => current_time( 'mysql' ),
	);
}

/**
 * The document of a strategy the robot has not reported: the same shape, zeros, source "none yet".
 *
 * @param string $strategy_id Strategy id.
 * @param string $period      Period label asked for.
 * @return array
 */
function trp_bridge_metrics_none_yet( $strategy_id, $period ) {
	$metrics = array();
	foreach ( TRP_BRIDGE_METRIC_DECIMALS as $name ) {
		$metrics[ $name ] = '0.0000';
	}
	foreach ( TRP_BRIDGE_METRIC_COUNTS as $name ) {
		$metrics[ $name ] = '0';
	}
	return array(
		'strategy_id'  => $strategy_id,
		'period'       => array(
			'start_date' => null,
			'end_date'   => null,
		),
		'period_label' => $period,
		'metrics'      => $metrics,
		'updated_at'   => null,
		'source'       => TRP_BRIDGE_SOURCE_NONE,
		'timestamp'    => current_time( 'mysql' ),
	);
}

/**
 * GET /performance: every stored metrics document; filters strategy_id, period.
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response
 */
function trp_bridge_rest_performance_list( $request ) {
	global $wpdb;
	$table  = trp_bridge_table( 'performance' );
	$where  = array( '1 = 1' );
	$values = array();
	foreach ( array( 'strategy_id', 'period' ) as $name ) {
		$value = $request->get_param( $name );
		if ( is_string( $value ) && '' !== $value ) {
			$where[]  = "{$name} = %s";
			$values[] = $value;
		}
	}
	$sql = "SELECT * FROM {$table} WHERE " . implode( ' AND ', $where ) . ' ORDER BY strategy_id, period LIMIT 500';
	// phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
	$rows = $wpdb->get_results( $values ? $wpdb->prepare( $sql, $values ) : $sql, ARRAY_A );
	return new WP_REST_Response(
		array(
			'performance' => array_map( 'trp_bridge_metrics_document', $rows ),
			'total'       => count( $rows ),
			'timestamp'   => current_time( 'mysql' ),
		)
	);
}

/**
 * GET /performance/{strategy_id}/metrics (?period=): the stored document, or zeros with source "none yet".
 *
 * @param WP_REST_Request $request The request.
 * @return WP_REST_Response|WP_Error
 */
function trp_bridge_rest_metrics_get( $request ) {
	$period = $request->get_param( 'period' );
	$period = is_string( $period ) && '' !== $period ? $period : null;
	if ( null !== $period && ! preg_match( '/^[A-Za-z0-9_.:\-]{1,32}$/', $period ) ) {
		return trp_bridge_invalid( 'period', 'a label of up to 32 letters, digits, _ . : -' );
	}
	$row = trp_bridge_metrics_row( $request['strategy_id'], $period );
	if ( ! $row ) {
		return new WP_REST_Response( trp_bridge_metrics_none_yet( $request['strategy_id'], $period ?? 'all' ) );
	}
	return new WP_REST_Response( trp_bridge_metrics_document( $row ) );
}
