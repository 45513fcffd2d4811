"""A real WordPress (Debian's package, MariaDB, `php -S`) with the companion plugin, and the real robot
(its production server, tradingrobot/ops/web.py) on loopback. Ports 8480 (WordPress) and 8481 (robot)."""

import csv
import datetime as dt
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PLUGIN_DIR = REPO / "wordpress" / "tradingrobotplug-bridge"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
WP_PORT = int(os.environ.get("TRP_WP_PORT", "8480"))
ROBOT_PORT = int(os.environ.get("TRP_ROBOT_PORT", "8481"))
WP_DB = "wp_bridge_test"
ROBOT_PG_DB = "bridge"
PLUGIN = "tradingrobotplug-bridge/tradingrobotplug-bridge.php"
# The made-up metrics of the theme's stand-in (fake_theme_routes.php), to tell its answer from the plugin's.
FAKE_THEME_METRICS = {
    "total_strategies": 4,
    "active_strategies": 4,
    "total_trades": 10,
    "total_pnl": 1234.56,
    "win_rate": 60.0,
    "avg_return": 123.46,
    "sharpe_ratio": 1.23,
    "max_drawdown": -7,
    "profit_factor": 1.5,
    "daily_pnl": 250,
    "monthly_pnl": 4200,
    "roi": 12.5,
}


def php_binary() -> str:
    """php from PATH (setup_wordpress.sh may install it during the session)."""
    return shutil.which("php") or "/usr/bin/php"


def unavailable(reason: str):
    """Fail in CI (REQUIRE_SERVICES=1), skip on a laptop without PHP."""
    if REQUIRE_SERVICES:
        pytest.fail(reason)
    pytest.skip(reason)


def wait_for(url: str, seconds: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@dataclass
class WordPress:
    url: str
    users: dict
    env: dict
    process: subprocess.Popen | None = None

    def php(self, code: str, script: str = "wp_eval.php", **env: str) -> str:
        """Run PHP inside the site (wp-load.php); returns what it printed."""
        done = subprocess.run(  # noqa: S603 - our own harness
            [php_binary(), str(HERE / script)],
            input=code,
            capture_output=True,
            text=True,
            env={**self.env, **env},
            timeout=60,
        )
        assert done.returncode == 0, f"php failed ({done.returncode}): {done.stderr}\n{done.stdout}"
        return done.stdout

    def php_json(self, code: str, **env: str):
        out = self.php(code, **env)
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            raise AssertionError(f"not JSON from PHP: {out!r}") from None

    def rest(self, method: str, route: str, user: str | None = None, **kwargs) -> requests.Response:
        auth = kwargs.pop("auth", None) or ((user, self.users[user]["app_password"]) if user else None)
        return requests.request(
            method, f"{self.url}/wp-json/tradingrobotplug/v1{route}", auth=auth, timeout=30, **kwargs
        )

    def run_cron(self) -> None:
        """WP-Cron as a visitor or a system cron would trigger it."""
        answer = requests.get(f"{self.url}/wp-cron.php", timeout=60)
        assert answer.status_code == 200, answer.text

    def request_row(self, request_id: int) -> dict:
        return self.php_json(f"echo wp_json_encode(trp_bridge_get_request({int(request_id)}, false));")

    def set_plugin_active(self, active: bool) -> None:
        """Activate or deactivate the plugin as the Plugins screen does (its hooks run)."""
        load = "require_once ABSPATH . 'wp-admin/includes/plugin.php';"
        verb = f"activate_plugin('{PLUGIN}')" if active else f"deactivate_plugins('{PLUGIN}')"
        self.php(f"{load} {verb};")
        assert self.php(f"{load} echo (int) is_plugin_active('{PLUGIN}');") == str(int(active))

    def point_robot_at(self, url: str, keys: dict | None = None) -> None:
        """The robot URL with its keys entered again for it (as the settings page requires): `keys` by role, or the
        stored ones bound to the new URL."""
        self.php(
            f"""
            $url = {json.dumps(url)};
            $keys = json_decode({json.dumps(json.dumps(keys or {}))}, true);
            update_option('trp_bridge_robot_url', $url, false);
            foreach (['read', 'trade', 'stop'] as $role) {{
                trp_bridge_store_key($role, $keys[$role] ?? trp_bridge_api_key($role), $url);
            }}
            """
        )

    def set_options(self, **options) -> None:
        """update_option for each value; None deletes the option."""
        code = "".join(
            f"delete_option({json.dumps(name)});"
            if value is None
            else f"update_option({json.dumps(name)}, {json.dumps(value)});"
            for name, value in options.items()
        )
        self.php(code)


@pytest.fixture(scope="session")
def site_lock():
    """One session at a time owns the ports, the site's database and the robot's database (several agents
    may run the suite at once on this machine): a second session waits here."""
    with open(Path(tempfile.gettempdir()) / "trp-bridge-wordpress.lock", "w") as handle:
        deadline = time.monotonic() + 900
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError("another test session held the WordPress site for 15 minutes") from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def wordpress(site_lock):
    if shutil.which("php") is None and os.geteuid() != 0:
        unavailable("php is not installed (run tests/wordpress/setup_wordpress.sh as root)")
    state = Path(tempfile.mkdtemp(prefix="trp-wp-")) / "state.json"
    env = {
        **os.environ,
        "TRP_WP_URL": f"http://127.0.0.1:{WP_PORT}",
        "TRP_WP_DB": WP_DB,
        "TRP_WP_STATE": str(state),
    }
    setup = subprocess.run(  # noqa: S603 - our own script
        ["/bin/bash", str(HERE / "setup_wordpress.sh"), "--reset"], capture_output=True, text=True, env=env, timeout=600
    )
    if setup.returncode != 0:
        unavailable(f"WordPress could not be set up:\n{setup.stdout}\n{setup.stderr}")
    facts = json.loads(state.read_text())
    assert facts["plugin_active"] and facts["tables_present"], facts
    log = open(state.parent / "php-server.log", "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(  # noqa: S603 - PHP's built-in server
        [php_binary(), "-S", f"127.0.0.1:{WP_PORT}", "-t", "/usr/share/wordpress", str(HERE / "router.php")],
        env={**env, "PHP_CLI_SERVER_WORKERS": "4"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    site = WordPress(url=facts["url"], users=facts["users"], env=env, process=server)
    try:
        wait_for(f"{site.url}/wp-json/", process=server)
        yield site
    finally:
        stop(server)
        log.close()
    plugin_notices = plugin_log_lines(Path(facts["debug_log"]))
    assert not plugin_notices, "PHP notices from the plugin:\n" + "\n".join(plugin_notices[:20])


def drop_prefixed_tables(prefix: str) -> None:
    """Drop a second site's tables straight in MariaDB (WordPress cannot load a half-installed site)."""
    pattern = prefix.replace("_", "\\\\_") + "%"
    sql = (
        "SELECT CONCAT('DROP TABLE `', table_name, '`;') FROM information_schema.tables "  # noqa: S608 - our own prefix
        f"WHERE table_schema = DATABASE() AND table_name LIKE '{pattern}'"
    )
    mariadb = ["/usr/bin/mariadb", "-h", "127.0.0.1", "-uroot", "-N", "-e"]
    drops = subprocess.run([*mariadb, sql, WP_DB], capture_output=True, text=True, check=True).stdout  # noqa: S603
    if drops.strip():
        subprocess.run([*mariadb, drops, WP_DB], check=True)  # noqa: S603


def plugin_log_lines(path: Path) -> list[str]:
    """Lines of WordPress's debug log (WP_DEBUG on) that come from the plugin's code."""
    if not path.exists():
        return []
    return [line for line in path.read_text(errors="replace").splitlines() if "tradingrobotplug-bridge" in line]


@dataclass
class Robot:
    url: str
    env: dict
    api_key: str = ""
    site_keys: dict = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    prices_loaded_at: float = 0.0

    def manage(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)}: {done.stderr}\n{done.stdout}"
        return done.stdout

    def has_command(self, name: str) -> bool:
        done = subprocess.run(  # noqa: S603 - our own interpreter
            [sys.executable, "manage.py", "help", name], cwd=REPO, env=self.env, capture_output=True, timeout=60
        )
        return done.returncode == 0

    def start(self) -> None:
        log = open(self.log_path, "a")  # noqa: SIM115 - the server's own log, closed by the OS
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter
            [sys.executable, "-m", "tradingrobot.ops.web", "--bind", f"127.0.0.1:{ROBOT_PORT}", "--workers", "2"],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(f"{self.url}/api/schema/", process=self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def instance_id(self) -> str:
        """The id this robot's trade ids carry (TRP-<instance>-<fill id>)."""
        code = "from trading.outbox import robot_instance_id; print(robot_instance_id())"
        return self.manage("shell", "-c", code).strip().splitlines()[-1]

    def create_key(self, name: str, scopes: str) -> str:
        return self.manage("create_api_key", "--name", name, "--scopes", scopes).strip().splitlines()[-1].strip()

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", headers={"X-API-Key": self.api_key}, timeout=30, **kwargs)

    def orders_with_key(self, key: str) -> list[dict]:
        answer = self.api("GET", "/api/orders", params={"status": "all", "limit": 500})
        assert answer.status_code == 200, answer.text
        return [o for o in answer.json()["orders"] if o["client_order_id"] == key]

    def load_fresh_prices(self, prices: dict[str, str]) -> None:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        path = self.log_path.parent / "prices.csv"
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["symbol", "timestamp", "price", "volume"])
            for symbol, price in prices.items():
                writer.writerow([symbol, now, price, 1000])
        self.manage("load_prices", str(path))
        self.prices_loaded_at = time.monotonic()


def robot_database_url(workdir: Path) -> str:
    """PostgreSQL database `bridge` when the suite runs on PostgreSQL (CI), else SQLite in a temp dir."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{workdir / 'robot.sqlite3'}"
    import psycopg

    server = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{ROBOT_PG_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{ROBOT_PG_DB}"')
    return f"{server}/{ROBOT_PG_DB}"


@pytest.fixture(scope="session")
def robot(wordpress):
    workdir = Path(tempfile.mkdtemp(prefix="trp-robot-"))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "WP_", "CELERY_", "PYTEST_")) and key not in ("REDIS_URL", "DATABASE_URL")
    }
    env.update(
        {
            "SECRET_KEY": "bridge-tests-" + os.urandom(8).hex(),
            "DATABASE_URL": robot_database_url(workdir),
            "TRADING_CALENDAR": "24/7",
            "THROTTLE_RATE_IP": "100000/min",
            "THROTTLE_RATE_KEY": "100000/min",
            "THROTTLE_RATE_TRADE": "100000/min",
            "CELERY_BROKER_URL": "memory://",
            "WP_BASE_URL": wordpress.url,
            "WP_APP_USER": "robot",
            "WP_APP_PASSWORD": wordpress.users["robot"]["app_password"],
            "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
        }
    )
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/5"
    robot = Robot(url=f"http://127.0.0.1:{ROBOT_PORT}", env=env, log_path=workdir / "robot.log")
    robot.manage("migrate", "--noinput")
    robot.api_key = robot.create_key("tests", "read,trade,admin")  # the tests' own calls
    # The site's keys, each with the least scope its calls need (settings.php).
    robot.site_keys = {
        "read": robot.create_key("wordpress-read", "read"),
        "trade": robot.create_key("wordpress-trade", "trade"),
        "stop": robot.create_key("wordpress-stop", "admin"),
    }
    robot.load_fresh_prices({"TSLA": "250.5", "SPY": "600.25", "QQQ": "520", "NVDA": "140.75"})
    robot.start()
    wordpress.point_robot_at(robot.url, robot.site_keys)
    wordpress.php(
        """
        update_option('trp_bridge_timeout', 5);
        update_option('trp_bridge_retry_base', 1);
        update_option('trp_bridge_max_attempts', 5);
        update_option('trp_test_allow_loopback', '1');
        """
    )
    try:
        yield robot
    finally:
        robot.stop()


@pytest.fixture
def robot_up(robot):
    """The robot running with fresh prices (a test that stops it starts it again)."""
    if robot.process is None or robot.process.poll() is not None:
        robot.start()
    if time.monotonic() - robot.prices_loaded_at > 300:  # market orders need a price younger than 15 minutes
        robot.load_fresh_prices({"TSLA": "250.5", "SPY": "600.25", "QQQ": "520", "NVDA": "140.75"})
    return robot


def login(wordpress: WordPress, user: str = "admin") -> requests.Session:
    session = requests.Session()
    session.get(f"{wordpress.url}/wp-login.php", timeout=30)
    answer = session.post(
        f"{wordpress.url}/wp-login.php",
        data={
            "log": user,
            "pwd": wordpress.users[user]["password"],
            "wp-submit": "Log In",
            "testcookie": "1",
            "redirect_to": f"{wordpress.url}/wp-admin/",
        },
        timeout=30,
    )
    assert answer.status_code == 200 and "wp-admin" in answer.url, answer.url
    return session


def execute_trade(wordpress: WordPress, symbol: str, side: str, quantity: str, user_id: int = 1):
    """trp_bridge_execute_trade() as a signed-in user; a WP_Error comes back as {"error": {...}}."""
    return wordpress.php_json(
        f"""
        wp_set_current_user({int(user_id)});
        $r = trp_bridge_execute_trade({json.dumps(symbol)}, {json.dumps(side)}, {json.dumps(quantity)});
        echo wp_json_encode(is_wp_error($r) ? ['error' => [
            'code' => $r->get_error_code(), 'message' => $r->get_error_message(), 'data' => $r->get_error_data(),
        ]] : $r);
        """
    )
