"""Every outbound connection the test process makes goes to loopback: a guard on `socket.connect` installed for
the whole session (tests/conftest.py). A non-loopback address is refused and remembered, and the session fails
at its end even when the code under test swallowed the error. Child processes (daphne, celery) are not covered:
they are configured with loopback URLs by the tests that start them."""

import ipaddress
import socket

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
refused: list[str] = []


class OutboundRefused(ConnectionRefusedError):
    pass


def is_loopback(family: int, address: object) -> bool:
    if family not in (socket.AF_INET, socket.AF_INET6):
        return True  # AF_UNIX and friends never leave the machine
    host = address[0] if isinstance(address, tuple) and address else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: connect() would resolve it anywhere


def _check(sock: socket.socket, address: object) -> None:
    if not is_loopback(sock.family, address):
        refused.append(repr(address))
        raise OutboundRefused(f"tests may only connect to loopback, not {address!r}")


def _connect(self, address):
    _check(self, address)
    return _original_connect(self, address)


def _connect_ex(self, address):
    _check(self, address)
    return _original_connect_ex(self, address)


def install() -> None:
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex


def uninstall() -> None:
    socket.socket.connect = _original_connect
    socket.socket.connect_ex = _original_connect_ex
