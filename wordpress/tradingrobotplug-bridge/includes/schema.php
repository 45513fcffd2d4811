<?php
/**
 * The plugin's tables: the trade request queue and the push-back records.
 *
 * @package TradingRobotPlugBridge
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Table names with the site's prefix.
 *
 * @param string $name requests | trades | performance | strategies.
 * @return string
 */
function trp_bridge_table( $name ) {
	global $wpdb;
	return $wpdb->prefix . 'trp_bridge_' . $name;
}

/**
 * Create or upgrade the tables (dbDelta is idempotent).
 */
function trp_bridge_install_tables() {
	global $wpdb;
	require_once ABSPATH . 'wp-admin/includes/upgrade.php';
	$charset = $wpdb->get_charset_collate();

	$requests    = trp_bridge_table( 'requests' );
	$trades      = trp_bridge_table( 'trades' );
	$performance = trp_bridge_table( 'performance' );
	$strategies  = trp_bridge_table( 'strategies' );

	// status: sending (an attempt is running), queued (waiting for a retry), executed, failed (final).
	dbDelta(
		"CREATE TABLE {$requests} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  user_id bigint(20) unsigned NOT NULL DEFAULT 0,
  symbol varchar(16) NOT NULL,
  side varchar(4) NOT NULL,
  quantity varchar(32) NOT NULL,
  idempotency_key varchar(64) NOT NULL,
  status varchar(16) NOT NULL,
  attempts int(10) unsigned NOT NULL DEFAULT 0,
  next_attempt_at datetime NULL,
  locked_until datetime NULL,
  http_status smallint(5) unsigned NULL,
  error_code varchar(64) NOT NULL DEFAULT '',
  last_error text NULL,
  robot_order_id bigint(20) unsigned NULL,
  robot_order_status varchar(32) NOT NULL DEFAULT '',
  was_delayed tinyint(1) NOT NULL DEFAULT 0,
  notify_pending tinyint(1) NOT NULL DEFAULT 0,
  created_at datetime NOT NULL,
  updated_at datetime NOT NULL,
  PRIMARY KEY  (id),
  UNIQUE KEY idempotency_key (idempotency_key),
  KEY status_next (status,next_attempt_at),
  KEY user_notify (user_id,notify_pending)
) {$charset};"
	);

	dbDelta(
		"CREATE TABLE {$trades} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  trade_id varchar(64) NOT NULL,
  strategy_id varchar(64) NOT NULL,
  symbol varchar(10) NOT NULL,
  side varchar(4) NOT NULL,
  quantity decimal(18,4) NOT NULL,
  price decimal(15,4) NOT NULL,
  pnl decimal(15,4) NULL,
  execution_time datetime NOT NULL,
  created_at datetime NOT NULL,
  PRIMARY KEY  (id),
  UNIQUE KEY trade_id (trade_id),
  KEY strategy_time (strategy_id,execution_time),
  KEY execution_time (execution_time)
) {$charset};"
	);

	dbDelta(
		"CREATE TABLE {$performance} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  strategy_id varchar(64) NOT NULL,
  period varchar(32) NOT NULL,
  period_start datetime NULL,
  period_end datetime NULL,
  total_pnl decimal(18,4) NULL,
  win_rate decimal(10,4) NULL,
  sharpe_ratio decimal(12,4) NULL,
  max_drawdown decimal(18,4) NULL,
  total_trades int(10) unsigned NULL,
  winning_trades int(10) unsigned NULL,
  losing_trades int(10) unsigned NULL,
  extra longtext NULL,
  created_at datetime NOT NULL,
  updated_at datetime NOT NULL,
  PRIMARY KEY  (id),
  UNIQUE KEY strategy_period (strategy_id,period)
) {$charset};"
	);

	// The robot's strategy list as last pushed (replaced whole by every newer document), in its order.
	dbDelta(
		"CREATE TABLE {$strategies} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  strategy_id varchar(64) NOT NULL,
  position smallint(5) unsigned NOT NULL,
  symbol varchar(10) NOT NULL,
  kind varchar(32) NOT NULL,
  enabled tinyint(1) NOT NULL,
  mode varchar(8) NOT NULL,
  timeframe varchar(8) NOT NULL,
  last_decision text NULL,
  pnl decimal(18,4) NULL,
  received_at datetime NOT NULL,
  PRIMARY KEY  (id),
  UNIQUE KEY strategy_id (strategy_id)
) {$charset};"
	);

	update_option( 'trp_bridge_db_version', TRP_BRIDGE_DB_VERSION );
}
