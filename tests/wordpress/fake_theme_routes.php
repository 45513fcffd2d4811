<?php
/**
 * Plugin Name: Test stand-in for the TradingRobotPlug.com theme's REST routes
 * Description: Registers the theme's dashboard routes in tradingrobotplug/v1 with made-up numbers, the way the real
 * theme (inc/dashboard-api.php) does: on rest_api_init at the default priority, without override. The tests move
 * it with the options trp_fake_theme_priority (e.g. 1000: after the plugin) and trp_fake_theme_override.
 * Installed as a must-use plugin by setup_wordpress.sh. Fixed numbers, so a test can tell its answer.
 *
 * @package TradingRobotPlugBridge
 */

define( 'TRP_FAKE_THEME_METRICS', array(
	'total_strategies'  => 4,
	'active_strategies' => 4,
	'total_trades'      => 10,
	'total_pnl'         => 1234.56,
	'win_rate'          => 60.0,
	'avg_return'        => 123.46,
	'sharpe_ratio'      => 1.23,
	'max_drawdown'      => -7,
	'profit_factor'     => 1.5,
	'daily_pnl'         => 250,
	'monthly_pnl'       => 4200,
	'roi'               => 12.5,
) );
define( 'TRP_FAKE_THEME_TRADE', array(
	'trade_id'       => 'TRD-MADEUP01',
	'strategy_id'    => 'STRATEGY-2',
	'symbol'         => 'TSLA',
	'side'           => 'BUY',
	'quantity'       => 42,
	'price'          => 250.5,
	'pnl'            => 99,
	'execution_time' => '2025-12-26 15:30:00',
	'created_at'     => '2025-12-26 15:30:00',
) );

if ( ! wp_installing() ) {
	add_action( 'rest_api_init', 'trp_fake_theme_register_routes', (int) get_option( 'trp_fake_theme_priority', 10 ) );
}

/**
 * The theme's routes that the plugin takes over, answering made-up documents.
 */
function trp_fake_theme_register_routes() {
	$override = (bool) get_option( 'trp_fake_theme_override', false );
	$routes   = array(
		'/dashboard/overview'                                     => 'trp_fake_theme_overview',
		'/trades'                                                 => 'trp_fake_theme_trades',
		'/performance/(?P<strategy_id>[a-zA-Z0-9-]+)/metrics'     => 'trp_fake_theme_metrics',
		'/performance'                                            => 'trp_fake_theme_root',
		'/strategies'                                             => 'trp_fake_theme_strategies',
	);
	foreach ( $routes as $route => $callback ) {
		register_rest_route(
			'tradingrobotplug/v1',
			$route,
			array(
				'methods'             => 'GET',
				'callback'            => $callback,
				'permission_callback' => '__return_true',
			),
			$override
		);
	}
}

/**
 * The theme's overview with made-up numbers.
 *
 * @return array
 */
function trp_fake_theme_overview() {
	return array(
		'metrics'           => TRP_FAKE_THEME_METRICS,
		'recent_trades'     => array( TRP_FAKE_THEME_TRADE ),
		'active_strategies' => trp_fake_theme_strategies()['strategies'],
		'timestamp'         => current_time( 'mysql' ),
	);
}

/**
 * The theme's trades.
 *
 * @return array
 */
function trp_fake_theme_trades() {
	return array(
		'trades'    => array( TRP_FAKE_THEME_TRADE ),
		'total'     => 1,
		'limit'     => 50,
		'offset'    => 0,
		'filters'   => array(
			'strategy_id' => null,
			'start_date'  => null,
			'end_date'    => null,
		),
		'timestamp' => current_time( 'mysql' ),
	);
}

/**
 * The theme's metrics of any strategy.
 *
 * @param WP_REST_Request $request The request.
 * @return array
 */
function trp_fake_theme_metrics( $request ) {
	return array(
		'strategy_id' => $request['strategy_id'],
		'period'      => array(
			'start_date' => null,
			'end_date'   => null,
		),
		'metrics'     => array(
			'total_pnl'      => 1234.56,
			'win_rate'       => 60.0,
			'sharpe_ratio'   => 1.23,
			'max_drawdown'   => -7,
			'total_trades'   => 10,
			'winning_trades' => 6,
			'losing_trades'  => 4,
		),
		'timestamp'   => current_time( 'mysql' ),
	);
}

/**
 * The theme's /performance root.
 *
 * @return array
 */
function trp_fake_theme_root() {
	return array(
		'status'   => 'active',
		'endpoint' => 'performance',
	);
}

/**
 * The theme's strategies: every primary symbol "active".
 *
 * @return array
 */
function trp_fake_theme_strategies() {
	$strategies = array();
	foreach ( array( 'TSLA', 'QQQ', 'SPY', 'NVDA' ) as $symbol ) {
		$strategies[] = array(
			'strategy_id'    => 'STRATEGY-' . $symbol,
			'symbol'         => $symbol,
			'current_price'  => 100.5,
			'change_percent' => 1.25,
			'status'         => 'active',
		);
	}
	return array(
		'strategies' => $strategies,
		'total'      => count( $strategies ),
		'timestamp'  => current_time( 'mysql' ),
	);
}
