<?php
/**
 * Router for `php -S` serving Debian's WordPress core with the test site's config: real files are run or
 * served as they are, every other path goes to index.php (pretty permalinks, /wp-json/).
 * Top-level code on purpose: WordPress needs its files included in the global scope.
 */
$_SERVER['WORDPRESS_CONFIG'] = 'trpbridge';
$trp_root = '/usr/share/wordpress';
$trp_path = (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
$trp_file = realpath( $trp_root . $trp_path );
if ( $trp_file && is_dir( $trp_file ) && is_file( $trp_file . '/index.php' ) ) {
	$trp_file .= '/index.php';
	$trp_path  = rtrim( $trp_path, '/' ) . '/index.php';
}
if ( $trp_file && str_starts_with( $trp_file, $trp_root . '/' ) && is_file( $trp_file ) ) {
	if ( ! str_ends_with( $trp_file, '.php' ) ) {
		return false;
	}
} else {
	$trp_file = $trp_root . '/index.php';
	$trp_path = '/index.php';
}
$_SERVER['SCRIPT_FILENAME'] = $trp_file;
$_SERVER['SCRIPT_NAME']     = $trp_path;
$_SERVER['PHP_SELF']        = $trp_path;
chdir( dirname( $trp_file ) );
require $trp_file;
