<?php
/**
 * Plugin Name: Test site: allow the robot on loopback
 * Description: The plugin calls the robot with wp_safe_remote_request(), which refuses private and loopback
 * addresses and ports other than 80, 443 and 8080. The tests' robot and stand-ins listen on 127.0.0.1 ports, so
 * this site allows them, exactly as an operator allows a robot on a private address (README, "WordPress companion
 * plugin"). Option trp_test_allow_loopback '0' turns it off (the test that proves the refusal).
 */

/**
 * Whether the test allows loopback now.
 *
 * @return bool
 */
function trp_test_loopback_allowed() {
	return '1' === (string) get_option( 'trp_test_allow_loopback', '1' );
}

add_filter(
	'http_request_host_is_external',
	static function ( $external, $host ) {
		return $external || ( trp_test_loopback_allowed() && '127.0.0.1' === $host );
	},
	10,
	2
);

add_filter(
	'http_allowed_safe_ports',
	static function ( $ports, $host, $url ) {
		$port = (int) wp_parse_url( $url, PHP_URL_PORT );
		if ( trp_test_loopback_allowed() && '127.0.0.1' === $host && $port > 0 ) {
			$ports[] = $port;
		}
		return $ports;
	},
	10,
	3
);
