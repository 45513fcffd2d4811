"""WebSocket fan-out benchmark: N clients on ONE daphne process, time from a status tick to each client.

    .venv/bin/python bench/ws_fanout.py                      # N = 100, 1000, 5000 (embedded, SQLite)
    .venv/bin/python bench/ws_fanout.py --clients 100 1000 5000 --max   # then ramp up to find the most it holds
    .venv/bin/python bench/ws_fanout.py --redis redis://127.0.0.1:6379/2  # the hub subscribed through Redis
    .venv/bin/python bench/ws_fanout.py --group-send 1000 5000 --redis redis://127.0.0.1:6379/2
        # the design not taken: one channels-redis group send to N channel-layer channels
    .venv/bin/python bench/ws_fanout.py --clients 1000 5000 --bare
        # each N also against the bare `websockets` broadcast (bench/ws_bare.py), the same clients, in the same run

For each N a fresh daphne is started (so its memory figure is its own), N clients connect (from --workers
client processes), every client records the arrival of each status tick, and the server's RSS is read
after they are all connected. Latency of a tick = arrival time - the tick's scheduled instant (ticks are
aligned to the wall clock: tick T is due at T * interval); it includes computing the status document.
"Last client" = the slowest client of that tick. Memory per client = (RSS with N clients - RSS with 1) / N.
"""

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ports import free_port  # noqa: E402 - after the path

PORT = int(os.environ.setdefault("WS_BENCH_PORT", str(free_port())))  # the client processes inherit it
CONNECT_CONCURRENCY = 100
HEAD_RE = re.compile(r'\{"seq":(?P<seq>\d+),"type":"(?P<type>\w+)","snapshot":\w+,"tick":(?P<tick>\d+|null)')


# --- the server -------------------------------------------------------------------------------------------


def server_env(args, db_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tradingrobot.settings",
            "SECRET_KEY": "bench-only-not-a-secret",
            "DATABASE_URL": args.database_url or f"sqlite:///{db_path}",
            "TRADING_CALENDAR": "24/7",
            "STATUS_TICK_SECONDS": str(args.tick),
            "REALTIME_CHANNEL_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
            "LOG_LEVEL": "WARNING",
            # One address opens thousands of connections here: lift the per-address limits of the API.
            "THROTTLE_RATE_IP": "100000000/min",
            "THROTTLE_RATE_KEY": "100000000/min",
            "WS_MAX_CONNECTIONS_PER_KEY": "1000000",  # every client shares the bench's one key
        }
    )
    if args.redis:
        env["REDIS_URL"] = args.redis
    return env


def migrate(env: dict) -> None:
    from bench.databases import database_ensure

    database_ensure(env["DATABASE_URL"])
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


def read_key(env: dict) -> str:
    """An API key with the read scope (the WebSocket needs one when tradingrobot.security guards it)."""
    command = [sys.executable, "manage.py", "create_api_key", "--name", "ws-bench", "--scopes", "read"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1] if done.returncode == 0 else ""


def auth_headers() -> dict:
    key = os.environ.get("WS_BENCH_KEY", "")
    return {"Authorization": f"Api-Key {key}"} if key else {}


def start_daphne(env: dict, log) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "daphne",
        "-v",
        "0",
        "-b",
        "127.0.0.1",
        "-p",
        str(PORT),
        "tradingrobot.asgi:application",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for_server(proc)
    return proc


def start_bare(args, log) -> subprocess.Popen:
    command = [sys.executable, str(ROOT / "bench" / "ws_bare.py"), "--port", str(PORT), "--tick", str(args.tick)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    wait_for_server(proc)
    return proc


def wait_for_server(proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/status", timeout=2):
                return
        except OSError as error:
            if getattr(error, "code", None):  # an HTTP error answer: the server is up
                return
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start; see the log")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- the clients (one asyncio loop per worker process) ------------------------------------------------------


class RawClient(asyncio.Protocol):
    """A minimal WebSocket client (RFC 6455 handshake, unfragmented frames, answers pings), so the load
    generator, which shares the two CPUs with the server, costs as little as possible per frame."""

    def __init__(self, path: str, headers: dict, ticks_wanted: int, out: dict):
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nOrigin: http://127.0.0.1:{PORT}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + "\r\n"
        ).encode()
        self.buffer = b""
        self.upgraded = False
        self.ticks_wanted = ticks_wanted
        self.out = out
        self.arrivals: dict[int, float] = {}
        self.seqs: list[int] = []
        loop = asyncio.get_running_loop()
        self.snapshot = loop.create_future()
        self.done = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        at = time.time()
        self.buffer += data
        if not self.upgraded:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self._fail(RuntimeError(head.split(b"\r\n")[0].decode(errors="replace")))
                return
            self.upgraded, self.buffer = True, rest
        while len(self.buffer) >= 2:
            opcode, length, offset = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
            if length == 126:
                length, offset = int.from_bytes(self.buffer[2:4], "big"), 4
            elif length == 127:
                length, offset = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < offset + length:
                return
            payload, self.buffer = self.buffer[offset : offset + length], self.buffer[offset + length :]
            if opcode == 0x1:
                self._text(payload, at)
            elif opcode == 0x9:  # ping: answer with a masked pong
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            elif opcode == 0x8:
                self._fail(ConnectionError(f"closed by the server: {payload[:2].hex()}"))
                return

    def _text(self, payload: bytes, at: float) -> None:
        head = HEAD_RE.match(payload.decode())
        if not head or head["type"] != "status":
            return
        if not self.snapshot.done():
            self.snapshot.set_result(head["tick"] == "null")
            return
        self.seqs.append(int(head["seq"]))
        if int(head["tick"]) >= self.out["measure_from"] > 0:
            self.arrivals[int(head["tick"])] = at
            if len(self.arrivals) >= self.ticks_wanted and not self.done.done():
                self.done.set_result(None)

    def _fail(self, error: Exception) -> None:
        for future in (self.snapshot, self.done):
            if not future.done():
                future.set_exception(error)
        self.transport.close()

    def connection_lost(self, exc) -> None:
        self._fail(exc or ConnectionError("connection lost"))


async def raw_client(url: str, ticks_wanted: int, started: asyncio.Event, gate: asyncio.Semaphore, out: dict):
    client = None
    try:
        async with gate:
            _, client = await asyncio.get_running_loop().create_connection(
                lambda: RawClient("/ws/updates", auth_headers(), ticks_wanted, out), "127.0.0.1", PORT
            )
            if not await asyncio.wait_for(client.snapshot, timeout=60):
                raise RuntimeError("the first frame was not a snapshot")
        out["connected"] += 1
        await started.wait()
        await asyncio.wait_for(client.done, timeout=120)
        out["arrivals"].append(client.arrivals)
        if client.seqs != list(range(client.seqs[0], client.seqs[0] + len(client.seqs))):
            out["errors"].append("seq gap")
        await out["release"].wait()  # no client leaves while others still wait for a measured tick
    except Exception as error:
        out["errors"].append(f"{type(error).__name__}: {error}"[:200])
    finally:
        if client is not None:
            client.transport.close()


async def client(url: str, ticks_wanted: int, started: asyncio.Event, gate: asyncio.Semaphore, out: dict) -> None:
    from websockets.asyncio.client import connect

    arrivals: dict[int, float] = {}
    seqs = []
    try:
        async with gate:
            ws = await connect(
                url,
                origin=f"http://127.0.0.1:{PORT}",
                additional_headers=auth_headers(),
                open_timeout=60,
                ping_interval=None,
            )
        async with ws:
            snapshot = json.loads(await ws.recv())
            if snapshot.get("type") != "status" or not snapshot.get("snapshot"):
                raise RuntimeError(f"first frame was not a snapshot: {snapshot.get('type')}")
            out["connected"] += 1
            await started.wait()
            while len(arrivals) < ticks_wanted:
                text = await asyncio.wait_for(ws.recv(), timeout=60)
                at = time.time()
                head = HEAD_RE.match(text)  # cheap: the client's own cost is part of the figure
                if head and head["type"] == "status":
                    if head["tick"] != "null" and int(head["tick"]) >= out["measure_from"]:
                        arrivals[int(head["tick"])] = at
                    seqs.append(int(head["seq"]))
            out["arrivals"].append(arrivals)
            if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
                out["errors"].append("seq gap")
            await out["release"].wait()
    except Exception as error:
        out["errors"].append(f"{type(error).__name__}: {error}"[:200])


async def run_clients(url: str, count: int, ticks: int, conn) -> None:
    out = {"connected": 0, "arrivals": [], "errors": [], "measure_from": 0, "release": asyncio.Event()}
    started = asyncio.Event()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY // 2 or 1)
    run = raw_client if os.environ.get("WS_BENCH_CLIENT", "raw") == "raw" else client
    tasks = [asyncio.create_task(run(url, ticks, started, gate, out)) for _ in range(count)]
    while out["connected"] + len(out["errors"]) < count:
        await asyncio.sleep(0.1)
    conn.send(("connected", out["connected"], out["errors"][:5]))
    # The first tick every client of every worker is connected for.
    out["measure_from"] = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    started.set()
    while len(out["arrivals"]) + len(out["errors"]) < count:
        await asyncio.sleep(0.1)
    conn.send(("done", out["arrivals"], out["errors"]))
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # every worker is done
    out["release"].set()
    await asyncio.gather(*tasks)


def worker(url: str, count: int, ticks: int, conn) -> None:
    raise_fd_limit()
    asyncio.run(run_clients(url, count, ticks, conn))


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- one measurement ---------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(args, n: int, env: dict, bare: bool = False) -> dict:
    name = "bare" if bare else "daphne"
    log = open(Path(tempfile.gettempdir()) / f"ws_fanout_{name}_{n}.log", "w")  # noqa: SIM115
    proc = start_bare(args, log) if bare else start_daphne(env, log)
    server = psutil.Process(proc.pid)
    url = f"ws://127.0.0.1:{PORT}/ws/updates"
    try:
        asyncio.run(_warm_up(url))
        time.sleep(0.5)
        rss_before = server.memory_info().rss
        workers = min(args.workers, n)
        pipes, procs = [], []
        t0 = time.monotonic()
        for i in range(workers):
            share = n // workers + (1 if i < n % workers else 0)
            parent, child = multiprocessing.Pipe()
            p = multiprocessing.Process(target=worker, args=(url, share, args.ticks, child))
            p.start()
            pipes.append(parent)
            procs.append(p)
        connected, errors = 0, []
        for pipe in pipes:
            _, ok, errs = pipe.recv()
            connected += ok
            errors += errs
        connect_seconds = time.monotonic() - t0
        time.sleep(1.0)
        rss_after = server.memory_info().rss
        first_tick = int(time.time() // args.tick) + 2
        for pipe in pipes:
            pipe.send(first_tick)
        cpu_before = sum(server.cpu_times()[:2])
        arrivals, errors_after = [], []
        for pipe in pipes:
            _, arr, errs = pipe.recv()
            arrivals += arr
            errors_after += errs
        cpu_measured = sum(server.cpu_times()[:2]) - cpu_before
        for pipe in pipes:
            pipe.send("release")
        for p in procs:
            p.join(timeout=30)
    finally:
        stop(proc)
        log.close()

    latencies, last_per_tick = [], []
    ticks = sorted({t for a in arrivals for t in a})
    missed = 0
    for tick in ticks:
        due = tick * args.tick
        per_client = [a[tick] - due for a in arrivals if tick in a]
        missed += len(arrivals) - len(per_client)
        latencies += per_client
        last_per_tick.append(max(per_client))
    all_errors = errors + errors_after
    return {
        "server": "bare websockets" if bare else "daphne",
        "clients": n,
        "connected": connected,
        "connect_s": round(connect_seconds, 1),
        "ticks": len(ticks),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "last_client_median_ms": round(statistics.median(last_per_tick) * 1000, 1) if last_per_tick else None,
        "kb_per_client": round((rss_after - rss_before) / max(connected, 1) / 1024, 1),
        "server_rss_mb": round(rss_after / 2**20, 1),
        # Server CPU spent while the measured ticks went out (one status computation + one fan-out each).
        "server_cpu_ms_per_tick": round(cpu_measured * 1000 / max(len(ticks), 1), 1),
        "missed_ticks": missed,
        "errors": len(all_errors),
        "error_sample": all_errors[:3],
    }


async def _warm_up(url: str) -> None:
    """One client first, so the hub, the DB connection and the imports are in the baseline."""
    from websockets.asyncio.client import connect

    async with connect(url, origin=f"http://127.0.0.1:{PORT}", additional_headers=auth_headers()) as ws:
        await ws.recv()


def compared(ours: dict, bare: dict) -> str:
    """One line: the robot's worst client and memory per connection beside the bare broadcast's."""
    worst, reference = ours["max_ms"] or 0, bare["max_ms"] or 0
    ratio = f"{worst / reference:.2f}x" if reference else "n/a"
    return (
        f"# {ours['clients']} clients: worst client {worst} ms (bare websockets {reference} ms, {ratio}); "
        f"{ours['kb_per_client']} KB per connection (bare {bare['kb_per_client']} KB); "
        f"load average {os.getloadavg()[0]:.2f}"
    )


# --- the alternative: channels-redis group send ---------------------------------------------------------------


def group_send_bench(redis_url: str, sizes: list[int]) -> None:
    """Time one group_send through channels-redis until each of N channel-layer channels has it (one process:
    this is the layer's cost alone, before any WebSocket write)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingrobot.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    import django

    django.setup()
    from channels_redis.core import RedisChannelLayer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    for layer_class in (RedisChannelLayer, RedisPubSubChannelLayer):
        for n in sizes:
            print(
                json.dumps(
                    {
                        "layer": layer_class.__name__,
                        "channels": n,
                        **asyncio.run(_group_send(layer_class, redis_url, n)),
                    }
                )
            )


async def _group_send(layer_class, redis_url: str, n: int) -> dict:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    layer = layer_class(hosts=[redis_url], prefix=prefix, capacity=100_000)
    group = "fanout"
    channels = [await layer.new_channel() for _ in range(n)]
    for name in channels:
        await layer.group_add(group, name)
    body = {"type": "status.tick", "text": "x" * 1500}
    received = []

    async def receive(name):
        await layer.receive(name)
        received.append(time.perf_counter())

    errors = 0
    receivers = [asyncio.create_task(receive(name)) for name in channels]
    await asyncio.sleep(0.5)
    t0 = time.perf_counter()
    try:
        await layer.group_send(group, body)
        await asyncio.wait_for(asyncio.gather(*receivers), timeout=60)
    except Exception:
        errors += 1
    elapsed = (max(received) - t0) if received else None
    for name in channels:
        await layer.group_discard(group, name)
    if hasattr(layer, "flush"):
        await layer.flush()
    return {
        "received": len(received),
        "last_ms": None if elapsed is None else round(elapsed * 1000, 1),
        "errors": errors,
    }


# --- main ----------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--max", action="store_true", help="after --clients, ramp up until a target fails")
    parser.add_argument("--tick", type=float, default=5.0, help="status tick of the server, seconds")
    parser.add_argument("--ticks", type=int, default=5, help="ticks measured per N")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument(
        "--client", choices=["raw", "websockets"], default="raw", help="raw: a minimal client (default)"
    )
    parser.add_argument("--redis", default="", help="REDIS_URL: the hub subscribes through Redis")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--group-send", type=int, nargs="*", help="bench channels-redis group_send instead")
    parser.add_argument("--bare", action="store_true", help="each N also against bench/ws_bare.py, the reference")
    args = parser.parse_args()
    raise_fd_limit()

    if args.group_send:
        if not args.redis:
            raise SystemExit("--group-send needs --redis")
        group_send_bench(args.redis, args.group_send)
        return

    with tempfile.TemporaryDirectory() as tmp:
        env = server_env(args, Path(tmp) / "bench.sqlite3")
        migrate(env)
        os.environ["WS_BENCH_KEY"] = read_key(env)  # the client processes inherit it
        os.environ["WS_BENCH_CLIENT"] = args.client
        print(
            f"# {os.cpu_count()} CPUs, load average {os.getloadavg()}, tick {args.tick} s, "
            f"{'Redis ' + args.redis if args.redis else 'embedded'}",
            flush=True,
        )
        results = []
        for n in args.clients:
            results.append(measure(args, n, env))
            print(json.dumps(results[-1]), flush=True)
            if args.bare:
                reference = measure(args, n, env, bare=True)
                print(json.dumps(reference), flush=True)
                print(compared(results[-1], reference), flush=True)
        if args.max:
            n = max(args.clients)
            while True:
                n = int(n * 1.5)
                if n > resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 200:
                    print(f"# stopping: {n} clients would pass the open-file limit", flush=True)
                    break
                result = measure(args, n, env)
                print(json.dumps(result), flush=True)
                if result["errors"] or result["missed_ticks"] or (result["max_ms"] or 0) > args.tick * 1000:
                    print(f"# {n} clients: past what one process holds (errors, missed ticks or a tick late)")
                    break


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    main()
