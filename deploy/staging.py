"""The production arrangement on this machine (`make staging`, `make staging-down`).

    python -m deploy.staging up      # prints the URL, the key file and how to reach the processes
    python -m deploy.staging down    # stops exactly what `up` started

Real nginx (Debian's) terminating TLS with a self-signed certificate made at start, 2 web instances (Granian,
tradingrobot/ops/web.py) and 2 daphne instances behind it, 2 Celery workers, 2 Celery beats (RedBeat lock: one
active), PostgreSQL, Redis, and the development feed as the WordPress site, all under a private supervisord;
`migrate` runs once before any of them.
Everything it writes lives in one folder (STAGING_DIR, default var/staging): configuration, certificate, logs,
sockets, pid files. Settings come from deploy/env.template (the production list) with staging values.
"""

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from deploy.render import render

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PORTS = range(18400, 18500)
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
INSTANCES = ("a", "b")
# nginx sets an instance aside this long after one failed connection; a rolling restart waits it out after each
# instance is back, or the next restart would leave nginx no live upstream.
FAIL_TIMEOUT = 3


def free_ports(count: int, ports: range = PORTS) -> list[int]:
    """Ports free now, probed from an offset of this process's own: two stagings brought up at once (a test and a
    bench) would otherwise both find the same first ports free and both bind them."""
    chosen: list[int] = []
    start = os.getpid() % len(ports)
    for port in (*ports[start:], *ports[:start]):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        chosen.append(port)
        if len(chosen) == count:
            return chosen
    raise RuntimeError(f"fewer than {count} free ports in {ports.start}-{ports.stop - 1}")


def template_keys() -> list[str]:
    """The variables production needs: the keys of deploy/env.template."""
    lines = (DEPLOY / "env.template").read_text().splitlines()
    return [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]


@dataclass
class Staging:
    dir: Path
    database_url: str = "postgres://postgres@127.0.0.1:5432/tr_staging"
    redis_url: str = "redis://127.0.0.1:6379/6"
    web_workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)  # staging-only knobs (tests: short schedules)
    ports: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    api_key: str = ""

    # --- where things are ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"https://localhost:{self.ports['https']}"

    @property
    def cert(self) -> Path:
        return self.dir / "tls" / "staging.crt"

    @property
    def conf(self) -> Path:
        return self.dir / "supervisord.conf"

    def log(self, program: str) -> Path:
        return self.dir / "logs" / f"{program}.log"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    # --- up -------------------------------------------------------------------------------------------------
    def up(self, *, timeout: float = 180.0) -> "Staging":
        for tool in ("nginx", "supervisord", "openssl"):
            if not shutil.which(tool):
                raise SystemExit(f"{tool} is not installed: apt-get install nginx supervisor openssl")
        if self.running():
            raise SystemExit(f"a staging already runs from {self.dir}: `make staging-down` first")
        for sub in ("logs", "tls", "nginx", "prometheus"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        for stale in (self.dir / "prometheus").glob("*.db"):
            stale.unlink()
        names = ("https", "feed", *(f"web-{i}" for i in INSTANCES), *(f"daphne-{i}" for i in INSTANCES))
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        self._database_create()
        self._certificate()
        self.env = self._environment()
        self._write_env_file()
        self.manage("migrate", "--noinput", "-v0")  # once, before any web process
        self.manage("collectstatic", "--noinput", "-v0")
        created = self.manage("create_api_key", "--name", f"staging-{int(time.time())}", "--scopes", "read,trade,admin")
        self.api_key = created.strip().splitlines()[-1].strip()
        key_file = self.dir / "api-key"
        key_file.write_text(self.api_key + "\n")
        key_file.chmod(0o600)
        self._nginx_config()
        self._supervisor_config()
        subprocess.run(["supervisord", "-c", str(self.conf)], cwd=ROOT, env=self.env, check=True, timeout=30)
        self._save()
        if not self.wait_ready(timeout):
            raise RuntimeError(f"staging not ready within {timeout} s: {self.ready()}\n{self.logs()}")
        return self

    def _database_create(self) -> None:
        import psycopg

        parts = urlsplit(self.database_url)
        name = parts.path.lstrip("/")
        admin = parts._replace(scheme="postgresql", path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')

    def _certificate(self) -> None:
        key = self.dir / "tls" / "staging.key"
        subprocess.run(
            [
                "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                "-keyout", str(key), "-out", str(self.cert), "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        key.chmod(0o600)

    def _environment(self) -> dict[str, str]:
        tag = self.dir.resolve().name.replace("_", "-")
        https = self.ports["https"]
        values = {
            "PRODUCTION": "1",
            "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
            "CSRF_TRUSTED_ORIGINS": f"https://localhost:{https},https://127.0.0.1:{https}",
            "TRUSTED_PROXY_COUNT": "1",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "PROMETHEUS_MULTIPROC_DIR": str(self.dir / "prometheus"),
            "DATABASE_URL": self.database_url,
            "CONN_MAX_AGE": "60",
            "REDIS_URL": self.redis_url,
            "REALTIME_CHANNEL_PREFIX": f"tradingrobot-staging-{tag}",
            "CELERY_QUEUE": f"staging-{tag}",
            "CELERY_REDBEAT_KEY_PREFIX": f"redbeat-staging-{tag}",
            "CELERY_REDBEAT_LOCK_TIMEOUT": "60",
            "CELERY_BEAT_MAX_LOOP_INTERVAL": "5",
            "WP_BASE_URL": f"http://127.0.0.1:{self.ports['feed']}",
            "WP_ALLOW_HTTP": "true",  # the feed on loopback: production refuses http:// otherwise
            "WP_TIMEZONE": "",
            "WP_APP_USER": "staging",
            "WP_APP_PASSWORD": secrets.token_hex(12),  # WordPress shows it in groups of 4; either form works
            "WP_POLL_SECONDS": "60",
            # The development feed writes a row every 5 minutes at any hour; a paper staging trades around the clock.
            "TRADING_CALENDAR": "24/7",
            "STARTING_CASH": "100000",
            "CORS_ALLOWED_ORIGINS": f"http://127.0.0.1:{self.ports['feed']}",
            "WS_ALLOWED_ORIGINS": f"http://127.0.0.1:{self.ports['feed']}",
            "API_IP_ALLOWLIST": "",
            "THROTTLE_RATE_IP": "600/min",
            "THROTTLE_RATE_KEY": "300/min",
            "THROTTLE_RATE_TRADE": "30/min",
            "METRICS_TOKEN": secrets.token_urlsafe(24),
            "METRICS_IP_ALLOWLIST": "",
            "ALERT_WEBHOOK_URL": "",
            "OPS_READY_SKIP": "",
        }
        missing = sorted(set(template_keys()) - set(values))
        assert not missing, f"deploy/env.template lists variables the staging does not set: {missing}"
        values.update(self.extra_env)
        inherited = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
        return {**inherited, **values, "PYTHONUNBUFFERED": "1"}

    def _write_env_file(self) -> None:
        path = self.dir / "staging.env"
        keys = [*template_keys(), *sorted(set(self.extra_env) - set(template_keys()))]
        path.write_text("".join(f"{key}={self.env[key]}\n" for key in keys))
        path.chmod(0o600)

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=600
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        return done.stdout

    def _nginx_config(self) -> None:
        def servers(kind: str) -> str:
            return " ".join(
                f"server 127.0.0.1:{self.ports[f'{kind}-{i}']} max_fails=1 fail_timeout={FAIL_TIMEOUT}s;"
                for i in INSTANCES
            )

        site = render(
            (DEPLOY / "nginx" / "tradingrobot.conf").read_text(),
            {
                "HTTP_UPSTREAMS": servers("web"),
                "WS_UPSTREAMS": servers("daphne"),
                "LISTEN": f"127.0.0.1:{self.ports['https']}",
                "SERVER_NAME": "localhost 127.0.0.1",
                "TLS_CERTIFICATE": str(self.cert),
                "TLS_CERTIFICATE_KEY": str(self.dir / "tls" / "staging.key"),
                "ACCESS_LOG": str(self.dir / "logs" / "nginx-access.log"),
                "STATIC_ROOT": str(ROOT / "var" / "static"),
            },
        )
        (self.dir / "tradingrobot.conf").write_text(site)
        user = ""
        if os.geteuid() == 0:  # workers as www-data, as Debian's nginx does; they write only the temp folders
            user = "user www-data;"
            for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (self.dir / "nginx" / sub).mkdir(exist_ok=True)
                shutil.chown(self.dir / "nginx" / sub, "www-data")
        main = render((DEPLOY / "staging" / "nginx.conf").read_text(), {"USER": user, "DIR": str(self.dir)})
        (self.dir / "nginx.conf").write_text(main)
        subprocess.run(self._nginx("-t", "-q"), check=True, capture_output=True, timeout=30)

    def _nginx(self, *args: str) -> list[str]:
        conf, errors = self.dir / "nginx.conf", self.dir / "logs" / "nginx-error.log"
        return ["/usr/sbin/nginx", "-p", str(self.dir), "-e", str(errors), "-c", str(conf), *args]

    def programs(self) -> dict[str, tuple[int, str]]:
        """name -> (priority, command); web after the site, nginx last."""
        py = PYTHON
        web = f"{py} -m tradingrobot.ops.web --workers {self.web_workers} --graceful-timeout 20"
        celery = f"{py} -m celery -A tradingrobot"
        queue = self.env["CELERY_QUEUE"]
        programs = {"devfeed": (10, f"{py} manage.py wordpress_devfeed --port {self.ports['feed']}")}
        for i in INSTANCES:
            programs[f"web-{i}"] = (100, f"{web} --bind 127.0.0.1:{self.ports[f'web-{i}']}")
            programs[f"daphne-{i}"] = (
                100,
                f"{py} -m daphne -b 127.0.0.1 -p {self.ports[f'daphne-{i}']} tradingrobot.asgi:application",
            )
            programs[f"worker-{i}"] = (
                200,
                f"{celery} worker --pool prefork --concurrency 1 --loglevel INFO -n worker-{i}@%%h -Q {queue}",
            )
            programs[f"beat-{i}"] = (300, f"{celery} beat --loglevel INFO -s {self.dir}/beat-{i}.schedule")
        programs["nginx"] = (400, " ".join(self._nginx()))
        return programs

    def _supervisor_config(self) -> None:
        # Groups stop as one (every member signalled at once), so `down` does not wait for each process in turn.
        groups = "".join(
            f"[group:{group}]\nprograms={','.join(sorted(members))}\npriority={GROUP_PRIORITY[group]}\n\n"
            for group, members in _groups(self.programs()).items()
        )
        block = (DEPLOY / "staging" / "program.conf").read_text()
        blocks = [
            render(block, {"NAME": name, "COMMAND": command, "PRIORITY": str(priority), "DIR": str(self.dir),
                           "ROOT": str(ROOT)})
            for name, (priority, command) in self.programs().items()
        ]  # fmt: skip
        text = render(
            (DEPLOY / "staging" / "supervisord.conf").read_text(),
            {"DIR": str(self.dir), "ROOT": str(ROOT), "PROGRAMS": groups + "\n".join(blocks)},
        )
        self.conf.write_text(text)

    def _save(self) -> None:
        state = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
        (self.dir / "state.json").write_text(json.dumps(state, indent=2))
        (self.dir / "state.json").chmod(0o600)

    @classmethod
    def load(cls, directory: Path) -> "Staging":
        state = json.loads((directory / "state.json").read_text())
        state["dir"] = Path(state["dir"])
        return cls(**state)

    # --- running ------------------------------------------------------------------------------------------------
    def supervisord_pid(self) -> int | None:
        try:
            pid = int((self.dir / "supervisord.pid").read_text())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid

    def running(self) -> bool:
        return self.supervisord_pid() is not None

    def ctl(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["supervisorctl", "-c", str(self.conf), *args], capture_output=True, text=True, timeout=120
        )
        if check and done.returncode not in (0,):
            raise RuntimeError(f"supervisorctl {' '.join(args)}: {done.returncode}\n{done.stdout}{done.stderr}")
        return done.stdout

    def pid(self, program: str) -> int:
        return int(self.ctl("pid", _qualified(program)).strip())

    def restart(self, *programs: str) -> None:
        self.ctl("restart", *map(_qualified, programs))

    def stop(self, *programs: str) -> None:
        self.ctl("stop", *map(_qualified, programs))

    def start(self, *programs: str) -> None:
        self.ctl("start", *map(_qualified, programs))

    def kill(self, program: str, sig: int = signal.SIGKILL) -> int:
        """Signal a program's whole process group (the web server and its worker processes: the instance)."""
        pid = self.pid(program)
        os.killpg(pid, sig)
        return pid

    def ready(self) -> tuple[int, dict]:
        return self.request("GET", "/api/health/ready", key=False)

    def request(self, method: str, path: str, *, key: bool = True, body: dict | None = None, headers=None,
                timeout: float = 10.0) -> tuple[int, dict]:  # fmt: skip
        """One HTTPS request through nginx: (status, JSON body), status 0 when nothing answered."""
        sent = {"X-API-Key": self.api_key} if key else {}
        sent.update(headers or {})
        data = None
        if body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=sent)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self.ssl_context()) as answer:  # noqa: S310
                return answer.status, _json(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read())
        except (OSError, urllib.error.URLError):
            return 0, {}

    def wait_ready(self, timeout: float) -> bool:
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            status, body = self.ready()
            if status == 200:
                return True
            if os.environ.get("STAGING_VERBOSE"):
                print(f"{time.strftime('%H:%M:%S')} ready: {status} {body.get('failing', body)}", flush=True)
            time.sleep(0.5)
        return False

    def logs(self, tail: int = 1500) -> str:
        files = sorted((self.dir / "logs").glob("*.log"))
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-tail:]}" for p in files)

    # --- down -------------------------------------------------------------------------------------------------
    def processes(self) -> list[int]:
        """supervisord and every process under it, by pid."""
        import psutil

        pid = self.supervisord_pid()
        if pid is None:
            return []
        with contextlib.suppress(psutil.Error):
            parent = psutil.Process(pid)
            return [pid, *(child.pid for child in parent.children(recursive=True))]
        return []

    def down(self, *, timeout: float = 60.0) -> list[int]:
        """Stop supervisord (which stops its programs, each as a group); any process of ours still alive after
        `timeout` is killed by its pid. Returns the pids that were stopped."""
        import psutil

        pids = self.processes()
        if not pids:
            return []
        self.ctl("shutdown", check=False)
        _, alive = psutil.wait_procs([_process(pid) for pid in pids if _process(pid)], timeout=timeout)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        return pids


GROUP_PRIORITY = {"site": 10, "web": 100, "celery": 200, "proxy": 400}


def _group_of(program: str) -> str:
    kind = program.split("-", 1)[0]
    return {"devfeed": "site", "web": "web", "daphne": "web", "worker": "celery", "beat": "celery"}.get(kind, "proxy")


def _qualified(program: str) -> str:
    return f"{_group_of(program)}:{program}"


def _groups(programs: dict) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for name in programs:
        groups.setdefault(_group_of(name), []).append(name)
    return groups


def _process(pid: int):
    import psutil

    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {"body": raw[:300].decode(errors="replace")}
    return value if isinstance(value, dict) else {"body": value}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--dir", type=Path, default=Path(os.environ.get("STAGING_DIR", ROOT / "var" / "staging")))
    args = parser.parse_args(argv)
    directory = args.dir.resolve()
    if args.command == "up":
        staging = Staging(
            dir=directory,
            database_url=os.environ.get("STAGING_DATABASE_URL", Staging.database_url),
            redis_url=os.environ.get("STAGING_REDIS_URL", Staging.redis_url),
            web_workers=int(os.environ.get("STAGING_WEB_WORKERS", "2")),
        ).up()
        print(f"staging ready: {staging.url}  (certificate {staging.cert})")
        print(f"API key (read,trade,admin): {directory / 'api-key'}; settings: {directory / 'staging.env'}")
        print(f"processes: supervisorctl -c {staging.conf} status; logs: {directory / 'logs'}")
        print(f'curl --cacert {staging.cert} -H "X-API-Key: $(cat {directory / "api-key"})" {staging.url}/api/status')
        return
    if not (directory / "state.json").exists():
        print(f"no staging in {directory}")
        return
    staging = Staging.load(directory)
    if args.command == "status":
        print(staging.ctl("status", check=False), end="")
        return
    stopped = staging.down()
    print(f"staging stopped: {len(stopped)} processes (supervisord and its programs)" if stopped else "not running")


if __name__ == "__main__":
    main(sys.argv[1:])
