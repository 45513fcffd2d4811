"""Every PHP file of the plugin (and of the test harness) passes `php -l`."""

import shutil
import subprocess

import pytest

from .conftest import HERE, PLUGIN_DIR, php_binary, unavailable

PHP_FILES = sorted(PLUGIN_DIR.rglob("*.php")) + sorted(HERE.glob("*.php"))


def test_plugin_has_the_files_a_plugin_needs():
    header = (PLUGIN_DIR / "tradingrobotplug-bridge.php").read_text()
    assert "Plugin Name:" in header and "Requires at least: 6.1" in header and "Requires PHP:      8.2" in header
    assert (PLUGIN_DIR / "uninstall.php").is_file()
    assert len(PHP_FILES) >= 10


@pytest.mark.parametrize("path", PHP_FILES, ids=lambda p: p.name)
def test_php_lint(path):
    if shutil.which("php") is None:
        unavailable("php is not installed")
    done = subprocess.run([php_binary(), "-l", str(path)], capture_output=True, text=True)  # noqa: S603 - php -l
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No syntax errors detected" in done.stdout
