<?php
/**
 * Load the test site's WordPress from the command line (used by install_site.php and wp_eval.php).
 */
$trp_url                      = getenv( 'TRP_WP_URL' ) ? getenv( 'TRP_WP_URL' ) : 'http://127.0.0.1:8480';
$_SERVER['WORDPRESS_CONFIG']  = 'trpbridge';
$_SERVER['HTTP_HOST']         = (string) parse_url( $trp_url, PHP_URL_HOST ) . ':' . (string) parse_url( $trp_url, PHP_URL_PORT );
$_SERVER['SERVER_NAME']       = (string) parse_url( $trp_url, PHP_URL_HOST );
$_SERVER['REQUEST_URI']       = '/';
$_SERVER['REQUEST_METHOD']    = 'GET';
$_SERVER['SERVER_PROTOCOL']   = 'HTTP/1.1';
$_SERVER['REMOTE_ADDR']       = '127.0.0.1';
