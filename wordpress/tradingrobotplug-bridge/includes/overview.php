<?php
/**
 * GET /dashboard/overview in the theme's shape, from what the robot pushed.
 *
 * From the trade rows (fresh with every fill): total_trades, win_rate (winning SELLs / SELLs, percent),
 * profit_factor (gross profit / gross loss of the SELLs) and the realized P&L. From the robot's latest whole-account
 * performance document (strategy ALL, pushed every few minutes): the unrealized P&L added to the realized one in
 * total_pnl, and avg_return, sharpe_ratio, max_drawdown, daily_pnl, monthly_pnl and roi, which need its prices and
 * equity curve (without a document: daily and monthly realized P&L, the others 0). From the strategy list:
 * total_strategies, active_strategies (the enabled ones). Metrics are JSON numbers, as the theme gives them (its
 * JavaScript calls toFixed on them); trade rows are strings, as in /trades.
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'TRP_BRIDGE_OVERVIEW_RECENT', 10 );
define( 'TRP_BRIDGE_ACCOUNT_STRATEGY', 'ALL' );

/**
 * A stored decimal (string or null) as a JSON number, 4 decimals; null counts as 0.
 *
 * @param mixed $value Value.
 * @return float
 */
function trp_bridge_number( $value ) {
	return is_numeric( $value ) ? round( (float) $value, 4 ) : 0.0;
}

/**
 * The trade rows' aggregates in one query (site-local day and month, as execution_time is stored).
 *
 * @return array
 */
function trp_bridge_trades_aggregate() {
	global $wpdb;
	$table = trp_bridge_table( 'trades' );
	// phpcs:disable WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	return $wpdb->get_row(
		$wpdb->prepare(
			"SELECT COUNT(*) AS total_trades, COALESCE(SUM(pnl), 0) AS realized,
			COALESCE(SUM(side = 'SELL'), 0) AS closing, COALESCE(SUM(side = 'SELL' AND pnl > 0), 0) AS winning,
			COALESCE(SUM(CASE WHEN side = 'SELL' AND pnl > 0 THEN pnl END), 0) AS gross_profit,
			COALESCE(SUM(CASE WHEN side = 'SELL' AND pnl < 0 THEN pnl END), 0) AS gross_loss,
			COALESCE(SUM(CASE WHEN execution_time >= %s THEN pnl END), 0) AS daily,
			COALESCE(SUM(CASE WHEN execution_time >= %s THEN pnl END), 0) AS monthly
			FROM {$table}",
			current_time( 'Y-m-d' ) . ' 00:00:00',
			current_time( 'Y-m' ) . '-01 00:00:00'
		),
		ARRAY_A
	);
	// phpcs:enable
}

/**
 * The newest trades in the /trades row shape.
 *
 * @return array
 */
function trp_bridge_trades_recent() {
	global $wpdb;
	$table = trp_bridge_table( 'trades' );
	// phpcs:disable WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	return (array) $wpdb->get_results(
		$wpdb->prepare(
			"SELECT trade_id, strategy_id, symbol, side, quantity, price, pnl, execution_time, created_at FROM {$table}
			ORDER BY execution_time DESC, id DESC LIMIT %d",
			TRP_BRIDGE_OVERVIEW_RECENT
		),
		ARRAY_A
	);
	// phpcs:enable
}

/**
 * Build the overview (every query it needs; the caller caches it).
 *
 * @return array
 */
function trp_bridge_overview_build() {
	$agg        = trp_bridge_trades_aggregate();
	$recent     = trp_bridge_trades_recent();
	$document   = trp_bridge_metrics_row( TRP_BRIDGE_ACCOUNT_STRATEGY );
	$strategies = trp_bridge_strategies_rows();
	$listed_at  = trp_bridge_strategies_timestamp();

	$extra   = $document ? json_decode( (string) $document['extra'], true ) : null;
	$extra   = is_array( $extra ) ? $extra : array();
	$pushed  = static fn( $name ) => trp_bridge_number( $extra[ $name ] ?? null );
	$closing = (int) $agg['closing'];
	$loss    = (float) $agg['gross_loss'];
	$active  = array_values( array_filter( $strategies, static fn( $s ) => $s['enabled'] ) );

	$metrics = array(
		'total_strategies'  => count( $strategies ),
		'active_strategies' => count( $active ),
		'total_trades'      => (int) $agg['total_trades'],
		'total_pnl'         => round( (float) $agg['realized'] + $pushed( 'unrealized_pnl' ), 4 ),
		'win_rate'          => $closing > 0 ? round( (int) $agg['winning'] / $closing * 100, 4 ) : 0.0,
		'avg_return'        => $pushed( 'avg_return' ),
		'sharpe_ratio'      => trp_bridge_number( $document['sharpe_ratio'] ?? null ),
		'max_drawdown'      => trp_bridge_number( $document['max_drawdown'] ?? null ),
		'profit_factor'     => $loss < 0 ? round( (float) $agg['gross_profit'] / -$loss, 4 ) : 0.0,
		'daily_pnl'         => $document ? $pushed( 'daily_pnl' ) : trp_bridge_number( $agg['daily'] ),
		'monthly_pnl'       => $document ? $pushed( 'monthly_pnl' ) : trp_bridge_number( $agg['monthly'] ),
		'roi'               => $pushed( 'roi' ),
	);
	$anything = $metrics['total_trades'] > 0 || $document || null !== $listed_at;
	return array(
		'metrics'           => $metrics,
		'recent_trades'     => $recent,
		'active_strategies' => $active,
		'source'            => $anything ? TRP_BRIDGE_SOURCE_ROBOT : TRP_BRIDGE_SOURCE_NONE,
		'sources'           => array(
			'trades'            => $metrics['total_trades'],
			'performance_as_of' => $document ? $document['updated_at'] : null,
			'strategies_as_of'  => $listed_at,
		),
	);
}

/**
 * GET /dashboard/overview: the cached overview and the time of the answer.
 *
 * @return WP_REST_Response
 */
function trp_bridge_rest_overview_get() {
	$view = trp_bridge_view_cached( 'overview', 'trp_bridge_overview_build' );
	return new WP_REST_Response( array_merge( $view, array( 'timestamp' => current_time( 'mysql' ) ) ) );
}
