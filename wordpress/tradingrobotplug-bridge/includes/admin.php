<?php
/**
 * Admin screens: trade form and request list, settings with "test connection", and the notices that tell a
 * user about delayed trades.
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

add_action( 'admin_menu', 'trp_bridge_admin_menu' );
add_action( 'admin_notices', 'trp_bridge_admin_notices' );
add_action( 'admin_post_trp_bridge_save_settings', 'trp_bridge_handle_save_settings' );
add_action( 'admin_post_trp_bridge_test_connection', 'trp_bridge_handle_test_connection' );
add_action( 'admin_post_trp_bridge_trade', 'trp_bridge_handle_trade' );

/**
 * Menu: "Trading Robot" (trade + requests) and its "Settings" page for administrators.
 */
function trp_bridge_admin_menu() {
	add_menu_page(
		__( 'Trading Robot', 'tradingrobotplug-bridge' ),
		__( 'Trading Robot', 'tradingrobotplug-bridge' ),
		TRP_BRIDGE_CAP_TRADE,
		'trp-bridge',
		'trp_bridge_render_trade_page',
		'dashicons-chart-line'
	);
	add_submenu_page(
		'trp-bridge',
		__( 'Trading Robot settings', 'tradingrobotplug-bridge' ),
		__( 'Settings', 'tradingrobotplug-bridge' ),
		'manage_options',
		'trp-bridge-settings',
		'trp_bridge_render_settings_page'
	);
}

/**
 * Keep a message for the current user until the next admin page shows it.
 *
 * @param string $type    success | warning | error | info.
 * @param string $message Plain text.
 */
function trp_bridge_flash( $type, $message ) {
	$key   = 'trp_bridge_flash_' . get_current_user_id();
	$queue = get_transient( $key );
	$queue = is_array( $queue ) ? $queue : array();
	$queue[] = array(
		'type'    => $type,
		'message' => $message,
	);
	set_transient( $key, $queue, 5 * MINUTE_IN_SECONDS );
}

/**
 * admin_notices: flash messages, then the user's delayed / resolved trade requests.
 */
function trp_bridge_admin_notices() {
	$user_id = get_current_user_id();
	if ( ! $user_id ) {
		return;
	}
	$key     = 'trp_bridge_flash_' . $user_id;
	$notices = get_transient( $key );
	$notices = is_array( $notices ) ? $notices : array();
	delete_transient( $key );
	if ( current_user_can( TRP_BRIDGE_CAP_TRADE ) ) {
		$notices = array_merge( $notices, trp_bridge_user_notices( $user_id ) );
	}
	foreach ( $notices as $notice ) {
		printf(
			'<div class="notice notice-%1$s trp-bridge-notice"><p>%2$s</p></div>',
			esc_attr( in_array( $notice['type'], array( 'success', 'warning', 'error', 'info' ), true ) ? $notice['type'] : 'info' ),
			esc_html( $notice['message'] )
		);
	}
}

/**
 * Back to an admin page after a form post.
 *
 * @param string $page Page slug.
 */
function trp_bridge_redirect( $page ) {
	wp_safe_redirect( admin_url( 'admin.php?page=' . $page ) );
	exit;
}

/**
 * Save the robot URL, the keys (each kept when its field is left empty) and the retry settings. A new URL needs
 * every stored key entered again (or removed) in the same form, or nothing is saved: a key goes only to the
 * robot it was entered for, never to a URL someone changed later.
 */
function trp_bridge_handle_save_settings() {
	if ( ! current_user_can( 'manage_options' ) ) {
		wp_die( esc_html__( 'Sorry, you are not allowed to change these settings.', 'tradingrobotplug-bridge' ), 403 );
	}
	check_admin_referer( 'trp_bridge_save_settings' );
	// phpcs:disable WordPress.Security.NonceVerification.Missing -- verified above.
	$url = trp_bridge_robot_url();
	if ( ! defined( 'TRP_BRIDGE_ROBOT_URL' ) && isset( $_POST['robot_url'] ) ) {
		$url = untrailingslashit( esc_url_raw( trim( wp_unslash( $_POST['robot_url'] ) ), array( 'http', 'https' ) ) );
	}
	$keys = array();
	foreach ( array_keys( TRP_BRIDGE_KEY_CONSTANTS ) as $role ) {
		$field = $role . '_key';
		$entry = isset( $_POST[ $field ] ) ? trim( sanitize_text_field( wp_unslash( $_POST[ $field ] ) ) ) : '';
		if ( 'constant' === trp_bridge_key_source( $role ) ) {
			continue; // wp-config.php holds it: nothing to save.
		}
		if ( ! empty( $_POST[ 'clear_' . $field ] ) ) {
			$keys[ $role ] = '';
		} elseif ( '' !== $entry ) {
			$keys[ $role ] = $entry;
		}
	}
	$url_changed = trp_bridge_robot_url() !== $url;
	$missing     = array();
	foreach ( array_keys( TRP_BRIDGE_KEY_CONSTANTS ) as $role ) {
		if ( $url_changed && 'option' === trp_bridge_key_source( $role ) && ! isset( $keys[ $role ] ) ) {
			$missing[] = $role;
		}
	}
	if ( $missing ) {
		trp_bridge_flash(
			'error',
			sprintf(
				/* translators: %s: the keys (read, trade, stop). */
				__( 'Nothing was saved: a new robot URL needs its keys entered again (or removed). Enter the %s key(s) with the new URL.', 'tradingrobotplug-bridge' ),
				implode( ', ', $missing )
			)
		);
		trp_bridge_redirect( 'trp-bridge-settings' );
	}
	if ( ! defined( 'TRP_BRIDGE_ROBOT_URL' ) ) {
		update_option( 'trp_bridge_robot_url', $url, false );
	}
	foreach ( $keys as $role => $key ) {
		trp_bridge_store_key( $role, $key, $url );
	}
	foreach ( array( 'timeout', 'retry_base', 'max_attempts' ) as $name ) {
		if ( isset( $_POST[ $name ] ) && '' !== $_POST[ $name ] ) {
			update_option( 'trp_bridge_' . $name, absint( $_POST[ $name ] ) );
		}
	}
	// phpcs:enable
	delete_transient( 'trp_bridge_status' );
	delete_transient( 'trp_bridge_portfolio' );
	trp_bridge_flash( 'success', __( 'Settings saved.', 'tradingrobotplug-bridge' ) );
	trp_bridge_redirect( 'trp-bridge-settings' );
}

/**
 * "Test connection": call /api/status with the saved settings and report the answer.
 */
function trp_bridge_handle_test_connection() {
	if ( ! current_user_can( 'manage_options' ) ) {
		wp_die( esc_html__( 'Sorry, you are not allowed to do that.', 'tradingrobotplug-bridge' ), 403 );
	}
	check_admin_referer( 'trp_bridge_test_connection' );
	$status = trp_bridge_get_status();
	if ( is_wp_error( $status ) ) {
		/* translators: %s: the error. */
		trp_bridge_flash( 'error', sprintf( __( 'Connection failed: %s', 'tradingrobotplug-bridge' ), $status->get_error_message() ) );
	} else {
		trp_bridge_flash(
			'success',
			sprintf(
				/* translators: 1: yes/no, 2: portfolio value. */
				__( 'Connected to the trading robot. Market open: %1$s; portfolio value: %2$s.', 'tradingrobotplug-bridge' ),
				trp_bridge_text( $status['market_open'] ?? null ),
				trp_bridge_text( $status['portfolio_value'] ?? null )
			)
		);
	}
	trp_bridge_redirect( 'trp-bridge-settings' );
}

/**
 * The trade form: place the trade and say what became of it (executed, delayed, or refused for good).
 */
function trp_bridge_handle_trade() {
	if ( ! current_user_can( TRP_BRIDGE_CAP_TRADE ) ) {
		wp_die( esc_html__( 'Sorry, you are not allowed to trade.', 'tradingrobotplug-bridge' ), 403 );
	}
	check_admin_referer( 'trp_bridge_trade' );
	// phpcs:disable WordPress.Security.NonceVerification.Missing -- verified above.
	$symbol   = isset( $_POST['symbol'] ) ? sanitize_text_field( wp_unslash( $_POST['symbol'] ) ) : '';
	$side     = isset( $_POST['side'] ) ? sanitize_text_field( wp_unslash( $_POST['side'] ) ) : '';
	$quantity = isset( $_POST['quantity'] ) ? sanitize_text_field( wp_unslash( $_POST['quantity'] ) ) : '';
	// phpcs:enable
	$result = trp_bridge_execute_trade( $symbol, $side, $quantity );
	if ( is_wp_error( $result ) ) {
		$data = (array) $result->get_error_data();
		trp_bridge_flash(
			'error',
			sprintf(
				/* translators: 1: HTTP status, 2: the robot's message. */
				__( 'Trade refused (final, HTTP %1$s): %2$s', 'tradingrobotplug-bridge' ),
				isset( $data['status'] ) ? (int) $data['status'] : '-',
				$result->get_error_message()
			)
		);
	} elseif ( 'queued' === $result['status'] ) {
		trp_bridge_flash( 'warning', $result['message'] );
	} else {
		trp_bridge_flash(
			'success',
			sprintf(
				/* translators: 1: order id, 2: order status. */
				__( 'Trade sent: robot order %1$s (%2$s).', 'tradingrobotplug-bridge' ),
				trp_bridge_text( $result['order']['id'] ?? '' ),
				trp_bridge_text( $result['order']['status'] ?? '' )
			)
		);
	}
	trp_bridge_redirect( 'trp-bridge' );
}

/**
 * A request's status for people.
 *
 * @param array $row Request row.
 * @return string
 */
function trp_bridge_status_label( $row ) {
	switch ( $row['status'] ) {
		case 'executed':
			return __( 'Executed', 'tradingrobotplug-bridge' );
		case 'failed':
			return __( 'Failed (final)', 'tradingrobotplug-bridge' );
		case 'queued':
			return __( 'Delayed: queued for retry', 'tradingrobotplug-bridge' );
		default:
			return __( 'Sending', 'tradingrobotplug-bridge' );
	}
}

/**
 * The trade page: a form and the latest requests with their status.
 */
function trp_bridge_render_trade_page() {
	global $wpdb;
	if ( ! current_user_can( TRP_BRIDGE_CAP_TRADE ) ) {
		return;
	}
	$table = trp_bridge_table( 'requests' );
	$rows  = $wpdb->get_results( $wpdb->prepare( "SELECT * FROM {$table} ORDER BY id DESC LIMIT %d", 50 ), ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	?>
	<div class="wrap">
		<h1><?php esc_html_e( 'Trading Robot', 'tradingrobotplug-bridge' ); ?></h1>
		<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
			<input type="hidden" name="action" value="trp_bridge_trade">
			<?php wp_nonce_field( 'trp_bridge_trade' ); ?>
			<label><?php esc_html_e( 'Symbol', 'tradingrobotplug-bridge' ); ?> <input name="symbol" required maxlength="16" size="8"></label>
			<label><?php esc_html_e( 'Side', 'tradingrobotplug-bridge' ); ?>
				<select name="side"><option value="buy">buy</option><option value="sell">sell</option></select></label>
			<label><?php esc_html_e( 'Quantity', 'tradingrobotplug-bridge' ); ?> <input name="quantity" required size="8" inputmode="decimal"></label>
			<?php submit_button( __( 'Place trade', 'tradingrobotplug-bridge' ), 'primary', 'submit', false ); ?>
		</form>
		<h2><?php esc_html_e( 'Trade requests', 'tradingrobotplug-bridge' ); ?></h2>
		<table class="widefat striped trp-bridge-requests">
			<thead><tr>
				<th>#</th><th><?php esc_html_e( 'Trade', 'tradingrobotplug-bridge' ); ?></th>
				<th><?php esc_html_e( 'Status', 'tradingrobotplug-bridge' ); ?></th>
				<th><?php esc_html_e( 'Attempts', 'tradingrobotplug-bridge' ); ?></th>
				<th><?php esc_html_e( 'Robot order', 'tradingrobotplug-bridge' ); ?></th>
				<th><?php esc_html_e( 'Message', 'tradingrobotplug-bridge' ); ?></th>
				<th><?php esc_html_e( 'Created', 'tradingrobotplug-bridge' ); ?></th>
			</tr></thead>
			<tbody>
			<?php foreach ( $rows as $row ) : ?>
				<tr data-request-id="<?php echo esc_attr( $row['id'] ); ?>" data-status="<?php echo esc_attr( $row['status'] ); ?>">
					<td><?php echo esc_html( $row['id'] ); ?></td>
					<td><?php echo esc_html( strtoupper( $row['side'] ) . ' ' . $row['quantity'] . ' ' . $row['symbol'] ); ?></td>
					<td><?php echo esc_html( trp_bridge_status_label( $row ) ); ?></td>
					<td><?php echo esc_html( $row['attempts'] ); ?></td>
					<td><?php echo esc_html( trim( $row['robot_order_id'] . ' ' . $row['robot_order_status'] ) ); ?></td>
					<td><?php echo esc_html( (string) $row['last_error'] ); ?></td>
					<td><?php echo esc_html( get_date_from_gmt( $row['created_at'], 'Y-m-d H:i:s' ) ); ?></td>
				</tr>
			<?php endforeach; ?>
			</tbody>
		</table>
	</div>
	<?php
}

/**
 * The settings page (administrators): robot URL, API key (masked), timeouts and retries, test connection.
 */
function trp_bridge_render_settings_page() {
	if ( ! current_user_can( 'manage_options' ) ) {
		return;
	}
	?>
	<div class="wrap">
		<h1><?php esc_html_e( 'Trading Robot settings', 'tradingrobotplug-bridge' ); ?></h1>
		<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
			<input type="hidden" name="action" value="trp_bridge_save_settings">
			<?php wp_nonce_field( 'trp_bridge_save_settings' ); ?>
			<table class="form-table" role="presentation">
				<tr><th scope="row"><label for="trp-robot-url"><?php esc_html_e( 'Robot API URL', 'tradingrobotplug-bridge' ); ?></label></th>
					<td><input id="trp-robot-url" name="robot_url" type="url" class="regular-text" value="<?php echo esc_attr( trp_bridge_robot_url() ); ?>" placeholder="https://robot.example.com"<?php disabled( defined( 'TRP_BRIDGE_ROBOT_URL' ) ); ?>>
						<p class="description"><?php echo esc_html( defined( 'TRP_BRIDGE_ROBOT_URL' ) ? __( 'Set in wp-config.php (TRP_BRIDGE_ROBOT_URL).', 'tradingrobotplug-bridge' ) : __( 'Changing it needs the keys entered again.', 'tradingrobotplug-bridge' ) ); ?></p></td></tr>
				<?php foreach ( trp_bridge_key_fields() as $role => $field ) : ?>
					<?php trp_bridge_render_key_row( $role, $field['label'], $field['help'] ); ?>
				<?php endforeach; ?>
				<tr><th scope="row"><label for="trp-timeout"><?php esc_html_e( 'Timeout (seconds)', 'tradingrobotplug-bridge' ); ?></label></th>
					<td><input id="trp-timeout" name="timeout" type="number" min="1" max="60" value="<?php echo esc_attr( trp_bridge_timeout() ); ?>"></td></tr>
				<tr><th scope="row"><label for="trp-retry-base"><?php esc_html_e( 'First retry after (seconds)', 'tradingrobotplug-bridge' ); ?></label></th>
					<td><input id="trp-retry-base" name="retry_base" type="number" min="1" max="3600" value="<?php echo esc_attr( trp_bridge_retry_base() ); ?>"></td></tr>
				<tr><th scope="row"><label for="trp-max-attempts"><?php esc_html_e( 'Attempts before giving up', 'tradingrobotplug-bridge' ); ?></label></th>
					<td><input id="trp-max-attempts" name="max_attempts" type="number" min="1" max="50" value="<?php echo esc_attr( trp_bridge_max_attempts() ); ?>"></td></tr>
			</table>
			<?php submit_button(); ?>
		</form>
		<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
			<input type="hidden" name="action" value="trp_bridge_test_connection">
			<?php wp_nonce_field( 'trp_bridge_test_connection' ); ?>
			<?php submit_button( __( 'Test connection', 'tradingrobotplug-bridge' ), 'secondary', 'test', false ); ?>
		</form>
	</div>
	<?php
}

/**
 * The key fields of the settings page: role => label and what the key needs.
 *
 * @return array<string, array{label: string, help: string}>
 */
function trp_bridge_key_fields() {
	return array(
		'read'  => array(
			'label' => __( 'Read key (shortcodes)', 'tradingrobotplug-bridge' ),
			'help'  => __( 'A key with the read scope only: shortcodes, live-update tickets and test connection use it.', 'tradingrobotplug-bridge' ),
		),
		'trade' => array(
			'label' => __( 'Trade key', 'tradingrobotplug-bridge' ),
			'help'  => __( 'A key with the trade scope: the trade form and its retries use it.', 'tradingrobotplug-bridge' ),
		),
		'stop'  => array(
			'label' => __( 'Stop key (admin scope)', 'tradingrobotplug-bridge' ),
			'help'  => __( 'A key with the admin scope, used only to stop trading; leave empty if the site never stops the robot.', 'tradingrobotplug-bridge' ),
		),
	);
}

/**
 * One key's row: masked when stored, read-only when wp-config.php holds it.
 *
 * @param string $role  read | trade | stop.
 * @param string $label Label.
 * @param string $help  What the key needs.
 */
function trp_bridge_render_key_row( $role, $label, $help ) {
	$source = trp_bridge_key_source( $role );
	$key    = trp_bridge_api_key( $role );
	$id     = 'trp-' . $role . '-key';
	?>
	<tr><th scope="row"><label for="<?php echo esc_attr( $id ); ?>"><?php echo esc_html( $label ); ?></label></th>
		<td>
		<?php if ( 'constant' === $source ) : ?>
			<input id="<?php echo esc_attr( $id ); ?>" type="text" class="regular-text" disabled value="<?php echo esc_attr( trp_bridge_mask_key( $key ) ); ?>">
			<p class="description">
				<?php
				/* translators: %s: the constant's name. */
				echo esc_html( sprintf( __( 'Set in wp-config.php (%s).', 'tradingrobotplug-bridge' ), TRP_BRIDGE_KEY_CONSTANTS[ $role ] ) );
				?>
			</p>
		<?php else : ?>
			<input id="<?php echo esc_attr( $id ); ?>" name="<?php echo esc_attr( $role . '_key' ); ?>" type="password" class="regular-text" value="" autocomplete="new-password"
				placeholder="<?php echo esc_attr( $key ? trp_bridge_mask_key( $key ) : __( 'not set', 'tradingrobotplug-bridge' ) ); ?>">
			<p class="description"><?php echo esc_html( $help . ' ' . __( 'Leave empty to keep the saved key.', 'tradingrobotplug-bridge' ) ); ?></p>
			<?php if ( $key ) : ?>
				<label><input type="checkbox" name="<?php echo esc_attr( 'clear_' . $role . '_key' ); ?>" value="1"> <?php esc_html_e( 'Remove the saved key', 'tradingrobotplug-bridge' ); ?></label>
			<?php endif; ?>
		<?php endif; ?>
		</td></tr>
	<?php
}
