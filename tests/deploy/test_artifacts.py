"""The production files themselves: the systemd units pass `systemd-analyze verify` and carry the hardening, every
unit reads the one environment file, the template lists what the staging sets, and templates fill completely."""

import configparser
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.render import render
from deploy.staging import DEPLOY, template_keys

from .conftest import need

pytestmark = pytest.mark.deploy
UNITS = DEPLOY / "systemd"
SERVICES = sorted(UNITS.glob("*.service"))
HARDENING = {
    "User": "tradingrobot",
    "EnvironmentFile": "/etc/tradingrobot/env",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
}


def _service(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read(path)
    return parser["Service"]


def test_every_service_is_hardened_and_reads_the_environment_file():
    assert {p.name for p in SERVICES} >= {
        "tradingrobot-migrate.service",
        "tradingrobot-web@.service",
        "tradingrobot-daphne@.service",
        "tradingrobot-worker@.service",
        "tradingrobot-beat.service",
    }
    for path in SERVICES:
        service = _service(path)
        assert {key: service.get(key) for key in HARDENING} == HARDENING, path.name
        assert "/run/tradingrobot" in service["ReadWritePaths"], path.name
        if path.name != "tradingrobot-migrate.service":
            assert "tradingrobot-migrate.service" in path.read_text(), f"{path.name} does not wait for migrate"


def test_units_pass_systemd_analyze_verify(tmp_path):
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze is not installed")
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd").mkdir(parents=True)
    shutil.copytree(UNITS, root / "etc/systemd/system")
    for tool in ("python", "daphne", "celery"):  # the installed robot's virtualenv (deploy/README.md)
        binary = root / "opt/tradingrobot/.venv/bin" / tool
        binary.parent.mkdir(parents=True, exist_ok=True)
        binary.write_text("#!/bin/sh\n")
        binary.chmod(0o755)
    names = [
        re.sub(r"@\.service$", "@1.service", p.name)
        for p in sorted(UNITS.iterdir())
        if p.suffix in (".service", ".target")
    ]
    done = subprocess.run(
        ["systemd-analyze", f"--root={root}", "verify", *names], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_environment_template_marks_secrets_and_leaves_them_empty():
    text = (DEPLOY / "env.template").read_text()
    keys = template_keys()
    assert len(keys) == len(set(keys))
    for secret in ("SECRET_KEY", "DATABASE_URL", "WP_APP_PASSWORD", "METRICS_TOKEN"):
        assert re.search(rf"\[secret[^\n]*\n(#[^\n]*\n)*{secret}=\n", text), f"{secret}: not marked, or has a value"
    settings_text = "".join(p.read_text() for p in Path(DEPLOY.parent / "tradingrobot").rglob("settings*.py"))
    settings_text += "".join(p.read_text() for p in Path(DEPLOY.parent / "tradingrobot").glob("settings/*.py"))
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', settings_text))
    # Read by processes, not by Django settings.
    unknown = sorted(set(keys) - read - {"PROMETHEUS_MULTIPROC_DIR", "DJANGO_SETTINGS_MODULE", "PRODUCTION"})
    assert unknown == [], f"env.template lists variables the settings never read: {unknown}"


def test_render_fills_every_placeholder_and_refuses_a_missing_or_unknown_one():
    template = (DEPLOY / "nginx" / "tradingrobot.conf").read_text()
    names = set(re.findall(r"\{\{([A-Z0-9_]+)\}\}", template))
    text = render(template, {name: f"value-of-{name}" for name in names})
    assert "{{" not in text and "$http_upgrade" in text
    with pytest.raises(KeyError, match="no value for"):
        render(template, {})
    with pytest.raises(KeyError, match="not in the template: EXTRA"):
        render(template, {**{name: "x" for name in names}, "EXTRA": "x"})


def test_the_production_site_passes_nginx_t(tmp_path):
    need(shutil.which("nginx") is not None or os.path.exists("/usr/sbin/nginx"), "nginx is not installed")
    subprocess.run(
        ["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=robot.example", "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = render(
        (DEPLOY / "nginx" / "tradingrobot.conf").read_text(),
        {
            "HTTP_UPSTREAMS": "server 127.0.0.1:8001; server 127.0.0.1:8002;",
            "WS_UPSTREAMS": "server 127.0.0.1:9001; server 127.0.0.1:9002;",
            "LISTEN": "127.0.0.1:18499",
            "SERVER_NAME": "robot.example",
            "TLS_CERTIFICATE": str(tmp_path / "cert.pem"),
            "TLS_CERTIFICATE_KEY": str(tmp_path / "key.pem"),
            "ACCESS_LOG": str(tmp_path / "access.log"),
            "STATIC_ROOT": str(tmp_path / "static"),
        },
    )
    (tmp_path / "site.conf").write_text(site)
    site_include = f"include {tmp_path}/site.conf;"
    main = f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{ include /etc/nginx/mime.types; {site_include} }}\n"
    (tmp_path / "nginx.conf").write_text(main)
    done = subprocess.run(
        ["/usr/sbin/nginx", "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
         "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
