#!/usr/bin/env bash
# Prepare a real WordPress for the companion plugin's tests (idempotent): Debian's wordpress + PHP packages,
# the local MariaDB (started if down), a site installed non-interactively in database $TRP_WP_DB, the plugin
# copied from wordpress/tradingrobotplug-bridge and activated, Application Passwords for the test users, and three
# must-use plugins: the theme's dashboard routes with made-up numbers, a query counter for the caching test, and
# the filters that allow the robot on loopback ports (the plugin calls it with wp_safe_remote_request()).
# Usage: setup_wordpress.sh [--reset]   (--reset drops the site's database first: a fresh site)
# Writes the site's facts (URL, users, application passwords) as JSON to $TRP_WP_STATE.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

TRP_WP_URL="${TRP_WP_URL:-http://127.0.0.1:8480}"
TRP_WP_DB="${TRP_WP_DB:-wp_bridge_test}"
TRP_WP_ROOT="${TRP_WP_ROOT:-/var/lib/trp-bridge-wp}"
TRP_WP_STATE="${TRP_WP_STATE:-$TRP_WP_ROOT/state.json}"
DB_HOST="${TRP_WP_DB_HOST:-127.0.0.1}"
CONFIG=/etc/wordpress/config-trpbridge.php
PACKAGES=(wordpress php-cli php-mysql php-curl php-xml php-mbstring)

missing=()
command -v php >/dev/null || missing+=(php-cli)
[ -f /usr/share/wordpress/wp-settings.php ] || missing+=(wordpress)
if command -v php >/dev/null; then
  modules="$(php -m)"
  for ext in mysqli curl xml mbstring; do grep -qix "$ext" <<<"$modules" || missing+=("php extension $ext"); done
fi
[ -x /usr/sbin/mariadbd ] || { missing+=(mariadb-server); PACKAGES+=(mariadb-server); }
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${PACKAGES[*]} (missing: ${missing[*]})"
  [ "$(id -u)" = 0 ] || { echo "need root to install packages" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi

db() { mariadb -h "$DB_HOST" -uroot --connect-timeout=2 "$@"; }
if ! db -e 'SELECT 1' >/dev/null 2>&1; then
  echo "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 30); do db -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done
  db -e 'SELECT 1' >/dev/null || { echo "MariaDB did not start" >&2; exit 1; }
fi
if [ "${1:-}" = "--reset" ]; then
  db -e "DROP DATABASE IF EXISTS \`$TRP_WP_DB\`"
  rm -f "$TRP_WP_ROOT/debug.log"
fi
db -e "CREATE DATABASE IF NOT EXISTS \`$TRP_WP_DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"

# The site: its own wp-content (plugins, uploads) next to Debian's core in /usr/share/wordpress.
mkdir -p "$TRP_WP_ROOT/wp-content/plugins" "$TRP_WP_ROOT/wp-content/uploads" "$TRP_WP_ROOT/wp-content/themes"
rm -rf "$TRP_WP_ROOT/wp-content/plugins/tradingrobotplug-bridge"
cp -r "$REPO/wordpress/tradingrobotplug-bridge" "$TRP_WP_ROOT/wp-content/plugins/"
# Must-use plugins of the test site: the theme's routes with made-up numbers, a per-request query counter, and the
# filters that let wp_safe_remote_request() reach the robot and the stand-ins on loopback ports.
mkdir -p "$TRP_WP_ROOT/wp-content/mu-plugins"
cp "$HERE/fake_theme_routes.php" "$HERE/query_counter.php" "$HERE/allow_robot_host.php" "$TRP_WP_ROOT/wp-content/mu-plugins/"
[ -f "$TRP_WP_ROOT/salts.php" ] || php -r '
  $out = "<?php\n";
  foreach (["AUTH_KEY","SECURE_AUTH_KEY","LOGGED_IN_KEY","NONCE_KEY","AUTH_SALT","SECURE_AUTH_SALT","LOGGED_IN_SALT","NONCE_SALT"] as $k) {
    $out .= "define(\"$k\", \"" . bin2hex(random_bytes(32)) . "\");\n";
  }
  file_put_contents($argv[1], $out);' "$TRP_WP_ROOT/salts.php"

# Debian's wp-config.php picks /etc/wordpress/config-$WORDPRESS_CONFIG.php (the router and the CLI set it).
cat > "$CONFIG" <<PHP
<?php
// Written by tests/wordpress/setup_wordpress.sh: the plugin's test site.
define('DB_NAME', '$TRP_WP_DB');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', '$DB_HOST');
define('WP_HOME', '$TRP_WP_URL');
define('WP_SITEURL', '$TRP_WP_URL');
define('WP_CONTENT_DIR', '$TRP_WP_ROOT/wp-content');
define('WP_CONTENT_URL', '$TRP_WP_URL/wp-content');
define('WP_ENVIRONMENT_TYPE', 'local');
define('DISABLE_WP_CRON', true); // the tests run WP-Cron by calling wp-cron.php
define('WP_DEBUG', true); // notices go to the log the tests read, never into responses
define('WP_DEBUG_DISPLAY', false);
define('WP_DEBUG_LOG', '$TRP_WP_ROOT/debug.log');
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true); // no update checks to wordpress.org; loopback (the robot) stays allowed
require '$TRP_WP_ROOT/salts.php';
\$table_prefix = getenv('TRP_WP_TABLE_PREFIX') ?: 'wp_'; // a second site in the same database (uninstall test)
PHP

TRP_WP_URL="$TRP_WP_URL" php "$HERE/install_site.php" > "$TRP_WP_STATE.tmp"
mv "$TRP_WP_STATE.tmp" "$TRP_WP_STATE"
echo "WordPress ready: $TRP_WP_URL (database $TRP_WP_DB, state $TRP_WP_STATE)"
