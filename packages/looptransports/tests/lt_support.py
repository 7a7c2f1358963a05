"""Helpers shared by the looptransports tests (a module, not fixtures, so that test
modules can import them by name)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

import loopcore
from loopcore.testing import ipv6_loopback_available
from looptransports import BaseTransport, Protocol, SelectorEventLoop

HAS_IPV6 = ipv6_loopback_available()

requires_ipv6 = pytest.mark.skipif(not HAS_IPV6, reason="IPv6 loopback (::1) is not available")


def running_loop() -> SelectorEventLoop:
    loop = loopcore.get_running_loop()
    assert isinstance(loop, SelectorEventLoop)
    return loop


class Recorder(Protocol):
    """Records every callback and checks the call-order rules as they happen.

    ``events`` holds names (``data_received`` once per chunk); ``lost`` is a future
    resolved with the exception given to ``connection_lost``.
    """

    def __init__(self, eof_result: object = None) -> None:
        self.loop = running_loop()
        self.events: list[str] = []
        self.data = bytearray()
        self.transport: Any = None
        self.eof_result = eof_result
        self.made = self.loop.create_future()
        self.lost = self.loop.create_future()
        self.eof = self.loop.create_future()
        self.violations: list[str] = []

    def _check_open(self, name: str) -> None:
        if "connection_made" not in self.events:
            self.violations.append(f"{name} before connection_made")
        if "connection_lost" in self.events:
            self.violations.append(f"{name} after connection_lost")

    def connection_made(self, transport: BaseTransport) -> None:
        if self.events:
            self.violations.append(f"connection_made after {self.events}")
        self.events.append("connection_made")
        self.transport = transport
        self.made.set_result(transport)

    def data_received(self, data: bytes) -> None:
        self._check_open("data_received")
        if "eof_received" in self.events:
            self.violations.append("data_received after eof_received")
        self.events.append("data_received")
        self.data += data

    def eof_received(self) -> object:
        self._check_open("eof_received")
        if "eof_received" in self.events:
            self.violations.append("eof_received twice")
        self.events.append("eof_received")
        self.eof.set_result(None)
        return self.eof_result

    def pause_writing(self) -> None:
        self._check_open("pause_writing")
        self.events.append("pause_writing")

    def resume_writing(self) -> None:
        self._check_open("resume_writing")
        self.events.append("resume_writing")

    def connection_lost(self, exc: Exception | None) -> None:
        self._check_open("connection_lost")
        self.events.append("connection_lost")
        self.lost.set_result(exc)

    def assert_rules(self) -> None:
        assert not self.violations, self.violations
        assert self.events.count("connection_made") == 1
        assert self.events.count("connection_lost") == 1
        assert self.events[0] == "connection_made"
        assert self.events[-1] == "connection_lost"


async def accepted_pair(
    factory: Any = Recorder,
) -> tuple[Any, Any, socket.socket]:
    """A transport over one end of a real socketpair, and the raw peer socket.

    The peer is non-blocking; the test reads and writes it with ``loop.sock_*``.
    """
    loop = running_loop()
    a, b = socket.socketpair()
    b.setblocking(False)
    try:
        transport, protocol = await loop.connect_accepted_socket(factory, a)
    except BaseException:
        a.close()
        b.close()
        raise
    return transport, protocol, b


async def tcp_pair(
    factory: Any = Recorder, peer_factory: Any = Recorder
) -> tuple[Any, Any, Any, Any]:
    """A TCP connection over 127.0.0.1: (client transport, client protocol,
    server transport, server protocol). The listening server is closed already."""
    loop = running_loop()
    accepted: loopcore.Future[Any] = loop.create_future()

    def make_server_protocol() -> Any:
        proto = peer_factory()
        accepted.set_result(proto)
        return proto

    server = await loop.create_server(make_server_protocol, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        transport, protocol = await loop.create_connection(factory, "127.0.0.1", port)
        server_protocol = await accepted
        server_transport = await server_protocol.made
    finally:
        server.close()
    return transport, protocol, server_transport, server_protocol


async def read_until_eof(loop: SelectorEventLoop, sock: socket.socket) -> bytes:
    data = bytearray()
    while True:
        chunk = await loop.sock_recv(sock, 1 << 16)
        if not chunk:
            return bytes(data)
        data += chunk
