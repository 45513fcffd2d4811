"""A free loopback port for a bench's servers: seven engineers' benches share this machine, so none is fixed."""

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
