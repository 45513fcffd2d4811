<?php
/**
 * Plugin Name: Test query counter
 * Description: While the option trp_test_query_log names a file, every request appends one JSON line to it:
 * its URI and how many of its SQL queries touched the plugin's push-back tables or the theme's stock table; the
 * plugin's cached views then live 10 minutes, so a slow machine cannot see one expire in the middle of a count.
 * Installed as a must-use plugin by setup_wordpress.sh; the caching test reads the file.
 *
 * @package TradingRobotPlugBridge
 */

$trp_test_query_log = wp_installing() ? '' : get_option( 'trp_test_query_log' );
if ( is_string( $trp_test_query_log ) && '' !== $trp_test_query_log ) {
	if ( ! defined( 'SAVEQUERIES' ) ) {
		define( 'SAVEQUERIES', true );
	}
	add_filter( 'trp_bridge_view_seconds', static fn() => 10 * MINUTE_IN_SECONDS );
	add_action(
		'shutdown',
		static function () use ( $trp_test_query_log ) {
			global $wpdb;
			$tables = '/' . preg_quote( $wpdb->prefix, '/' ) . '(trp_bridge_(trades|performance|strategies)|trp_stock_data)\b/';
			$count  = 0;
			foreach ( (array) $wpdb->queries as $query ) {
				$count += preg_match( $tables, $query[0] );
			}
			$line = wp_json_encode(
				array(
					'uri'     => $_SERVER['REQUEST_URI'] ?? '', // phpcs:ignore WordPress.Security.ValidatedSanitizedInput
					'queries' => $count,
				)
			);
			file_put_contents( $trp_test_query_log, $line . "\n", FILE_APPEND | LOCK_EX ); // phpcs:ignore WordPress.WP.AlternativeFunctions
		}
	);
}
