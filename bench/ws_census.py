"""What one daphne WebSocket connection costs, by allocation site (tracemalloc), for the fan-out's memory work.

    .venv/bin/python bench/ws_census.py --clients 1000            # top files and lines, bytes per connection
    .venv/bin/python bench/ws_census.py --clients 1000 --frames 10 --tracebacks

Starts daphne (as bench/ws_fanout.py does: embedded, SQLite) inside a small wrapper that starts tracemalloc on
its first SIGUSR1 and writes a snapshot on each; one client connects first (hub, imports, database connection),
then tracing starts, N clients connect, and the second snapshot minus the first, divided by N, is what a
connection keeps. Tracing slows the server a lot: the handshake timeout is lifted and the clients connect 20 at
a time. Figures are Python allocations only (no malloc overhead, no kernel socket buffers): smaller than the
RSS-based figure of ws_fanout.py.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import bench.ws_fanout as fanout  # noqa: E402 - after the path

SERVER = """
import gc, os, signal, sys, tracemalloc
count = [0]
def snapshot(*_):
    gc.collect()
    if not tracemalloc.is_tracing():
        tracemalloc.start(int(os.environ["CENSUS_FRAMES"]))
    count[0] += 1
    path = os.path.join(os.environ["CENSUS_DIR"], f"snap-{count[0]}")
    tracemalloc.take_snapshot().dump(path + ".pickle")
    open(path + ".done", "w").close()
signal.signal(signal.SIGUSR1, snapshot)
from daphne.cli import CommandLineInterface
CommandLineInterface().run(sys.argv[1:])
"""


def take(proc: subprocess.Popen, folder: str, i: int) -> tracemalloc.Snapshot:
    proc.send_signal(__import__("signal").SIGUSR1)
    while not os.path.exists(f"{folder}/snap-{i}.done"):
        time.sleep(0.2)
    return tracemalloc.Snapshot.load(f"{folder}/snap-{i}.pickle")


async def connect_all(n: int, proc: subprocess.Popen, folder: str) -> tuple[tracemalloc.Snapshot, ...]:
    loop = asyncio.get_running_loop()
    out = {"measure_from": 0}

    async def one():
        _, client = await loop.create_connection(
            lambda: fanout.RawClient("/ws/updates", fanout.auth_headers(), 1, out), "127.0.0.1", fanout.PORT
        )
        await asyncio.wait_for(client.snapshot, 300)
        return client

    clients = [await one()]
    await asyncio.sleep(1)
    before = await loop.run_in_executor(None, take, proc, folder, 1)
    gate = asyncio.Semaphore(20)

    async def gated():
        async with gate:
            clients.append(await one())

    await asyncio.gather(*[gated() for _ in range(n)])
    await asyncio.sleep(2)
    after = await loop.run_in_executor(None, take, proc, folder, 2)
    for client in clients:
        client.done.cancel()  # no "exception never retrieved" for the connections closed here
        client.transport.close()
    return before, after


def report(before, after, n: int, tracebacks: bool, frames: int) -> None:
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    before, after = before.filter_traces(ignore), after.filter_traces(ignore)
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    print(f"# {n} connections: {total / n / 1024:.2f} KB traced per connection, load average {os.getloadavg()}")
    for key, top in (("filename", 25), ("lineno", 40)) + ((("traceback", 25),) if tracebacks else ()):
        print(f"== by {key} (bytes and blocks per connection)")
        for stat in after.compare_to(before, key)[:top]:
            print(f"{stat.size_diff / n:8.0f} B {stat.count_diff / n:6.1f}  {site(stat.traceback[0])}")
            if key == "traceback":
                for frame in list(stat.traceback)[1:frames]:
                    print(f"{'':26}{site(frame)}")


def site(frame: tracemalloc.Frame) -> str:
    name = frame.filename.split("site-packages/")[-1]
    return f"{name}:{frame.lineno}" if frame.lineno else name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=4, help="frames kept per allocation")
    parser.add_argument("--tracebacks", action="store_true", help="also group by whole traceback")
    args = parser.parse_args()
    fanout.raise_fd_limit()
    with tempfile.TemporaryDirectory() as folder:
        env = fanout.server_env(types.SimpleNamespace(database_url="", tick=5.0, redis=""), Path(folder) / "db.sqlite3")
        fanout.migrate(env)
        os.environ["WS_BENCH_KEY"] = fanout.read_key(env)
        env.update(CENSUS_DIR=folder, CENSUS_FRAMES=str(args.frames))
        command = [sys.executable, "-c", SERVER, "-v", "0", "--websocket_connect_timeout", "300"]
        command += ["-b", "127.0.0.1", "-p", str(fanout.PORT), "tradingrobot.asgi:application"]
        with open(Path(folder) / "daphne.log", "w") as log:
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                fanout.wait_for_server(proc, seconds=120)
                before, after = asyncio.run(connect_all(args.clients, proc, folder))
            finally:
                proc.kill()
                proc.wait()
        report(before, after, args.clients, args.tracebacks, args.frames)


if __name__ == "__main__":
    main()
