<?php
/**
 * Install the test site if needed, activate the plugin, make the test users and their Application
 * Passwords; print the facts as JSON. Run by setup_wordpress.sh.
 */
require __DIR__ . '/bootstrap.php';
define( 'WP_INSTALLING', true ); // as the installer and wp-cli do: no plugins loaded before activation
require '/usr/share/wordpress/wp-load.php';
/**
 * No welcome e-mail from a test site (there is no sendmail).
 */
function wp_new_blog_notification() {}
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

if ( ! is_blog_installed() ) {
	$result = wp_install( 'TradingRobotPlug bridge test', 'admin', 'admin@example.test', false, '', wp_generate_password( 24 ) );
	if ( is_wp_error( $result ) ) {
		fwrite( STDERR, $result->get_error_message() . "\n" );
		exit( 1 );
	}
}
update_option( 'permalink_structure', '/%postname%/' );
update_option( 'timezone_string', 'America/New_York' );
flush_rewrite_rules( false );

$plugin    = 'tradingrobotplug-bridge/tradingrobotplug-bridge.php';
$activated = activate_plugin( $plugin );
if ( is_wp_error( $activated ) ) {
	fwrite( STDERR, 'activate_plugin: ' . $activated->get_error_message() . "\n" );
	exit( 1 );
}

// The robot's user: may write push-back records, nothing else. A subscriber: signed in but not allowed.
add_role( 'trp_robot', 'Trading robot', array( 'read' => true, 'trp_bridge_receive' => true ) );
$users = array(
	'admin'  => 'administrator',
	'robot'  => 'trp_robot',
	'reader' => 'subscriber',
);
$facts = array(
	'url'   => home_url(),
	'users' => array(),
);
foreach ( $users as $login => $role ) {
	$user = get_user_by( 'login', $login );
	$id   = $user ? $user->ID : wp_insert_user(
		array(
			'user_login' => $login,
			'user_pass'  => wp_generate_password( 24 ),
			'user_email' => $login . '@example.test',
			'role'       => $role,
		)
	);
	if ( is_wp_error( $id ) ) {
		fwrite( STDERR, $id->get_error_message() . "\n" );
		exit( 1 );
	}
	( new WP_User( $id ) )->set_role( $role );
	if ( ! wp_is_application_passwords_available_for_user( get_userdata( $id ) ) ) {
		fwrite( STDERR, "Application Passwords are not available (WP_ENVIRONMENT_TYPE must be local over http)\n" );
		exit( 1 );
	}
	WP_Application_Passwords::delete_all_application_passwords( $id );
	$created = WP_Application_Passwords::create_new_application_password( $id, array( 'name' => 'tests' ) );
	if ( is_wp_error( $created ) ) {
		fwrite( STDERR, $created->get_error_message() . "\n" );
		exit( 1 );
	}
	// A login password too, for the browser-like admin tests (set anew on every run).
	$password = wp_generate_password( 24, false );
	wp_set_password( $password, $id );
	$facts['users'][ $login ] = array(
		'id'           => $id,
		'app_password' => $created[0],
		'password'     => $password,
	);
}
$facts['plugin_active']  = is_plugin_active( $plugin );
$facts['debug_log']      = WP_DEBUG_LOG;
$facts['wp_version']     = get_bloginfo( 'version' );
$facts['tables_present'] = (bool) $GLOBALS['wpdb']->get_var( $GLOBALS['wpdb']->prepare( 'SHOW TABLES LIKE %s', $GLOBALS['wpdb']->prefix . 'trp_bridge_trades' ) );
echo wp_json_encode( $facts ) . "\n";
