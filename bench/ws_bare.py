"""The reference for bench/ws_fanout.py: a bare `websockets` broadcast server with nothing of the robot in it.

    .venv/bin/python bench/ws_bare.py --port 8765 [--tick 5] [--payload-bytes 1100]

Serves `ws://127.0.0.1:PORT/ws/updates` the way the robot's hub does for the bench's clients: a snapshot frame
on connect (`"tick":null`), then at every tick T, due at T * tick seconds of the wall clock, one status-shaped
text frame with the tick number and a running `seq`, sent to every open connection with `websockets.broadcast`
(no authentication, no status document to compute, no per-connection state of its own). Any plain HTTP request
gets 200, so the bench can wait for it to listen as it waits for daphne.
"""

import argparse
import asyncio
import http
import json
import time

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response


def frame(seq: int, tick: int | None, padding: str) -> str:
    # the head's key order is what bench/ws_fanout.py's HEAD_RE reads
    head = json.dumps({"seq": seq, "type": "status", "snapshot": tick is None, "tick": tick}, separators=(",", ":"))
    return head[:-1] + "," + json.dumps({"data": padding}, separators=(",", ":"))[1:]


async def main(port: int, tick: float, payload_bytes: int) -> None:
    padding = "x" * max(payload_bytes - 80, 0)
    clients: set[ServerConnection] = set()

    async def handler(connection: ServerConnection) -> None:
        clients.add(connection)
        try:
            await connection.send(frame(0, None, padding))
            await connection.wait_closed()
        finally:
            clients.discard(connection)

    def plain_http(connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return connection.respond(http.HTTPStatus.OK, "ok\n")
        return None

    async with serve(
        handler, "127.0.0.1", port, process_request=plain_http, ping_interval=None, compression=None, backlog=4096
    ):
        seq = 0
        while True:
            number = int(time.time() // tick) + 1
            await asyncio.sleep(max(number * tick - time.time(), 0))
            seq += 1
            broadcast(clients, frame(seq, number, padding))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tick", type=float, default=5.0)
    parser.add_argument("--payload-bytes", type=int, default=1100, help="size of a tick's frame")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.tick, args.payload_bytes))
