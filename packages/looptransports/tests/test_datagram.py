"""Datagram endpoints: UDP echo, error_received on ICMP port-unreachable, sendto
address rules, close/abort, argument checks, Unix datagrams."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from lt_support import running_loop

import loopcore
from looptransports import DatagramProtocol, DatagramTransport


class Echo(DatagramProtocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data.upper(), addr)


class Client(DatagramProtocol):
    def __init__(self) -> None:
        self.loop = running_loop()
        self.events: list[str] = []
        self.received: loopcore.Future[Any] = self.loop.create_future()
        self.error: loopcore.Future[Any] = self.loop.create_future()
        self.lost: loopcore.Future[Any] = self.loop.create_future()

    def connection_made(self, transport: Any) -> None:
        self.events.append("connection_made")

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.events.append("datagram_received")
        if not self.received.done():
            self.received.set_result((data, addr))

    def error_received(self, exc: Exception) -> None:
        self.events.append("error_received")
        if not self.error.done():
            self.error.set_result(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("connection_lost")
        self.lost.set_result(exc)


async def test_udp_echo() -> None:
    loop = running_loop()
    server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    assert isinstance(server, DatagramTransport)
    addr = server.get_extra_info("sockname")
    transport, proto = await loop.create_datagram_endpoint(Client, remote_addr=addr)
    assert transport.get_extra_info("peername") == addr
    transport.sendto(b"hello")
    assert await proto.received == (b"HELLO", addr)
    transport.close()
    assert await proto.lost is None
    assert proto.events == ["connection_made", "datagram_received", "connection_lost"]
    server.close()
    await loopcore.sleep(0)


async def test_unconnected_endpoint_needs_an_address() -> None:
    loop = running_loop()
    server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    addr = server.get_extra_info("sockname")
    transport, proto = await loop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0))
    with pytest.raises(ValueError, match="needs an address"):
        transport.sendto(b"nowhere")
    transport.sendto(bytearray(b"to"), addr)
    assert await proto.received == (b"TO", addr)
    transport.close()
    server.close()
    await proto.lost


async def test_connected_endpoint_refuses_another_address() -> None:
    loop = running_loop()
    server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    addr = server.get_extra_info("sockname")
    transport, proto = await loop.create_datagram_endpoint(Client, remote_addr=addr)
    with pytest.raises(ValueError, match=r"^Invalid address: must be None or \("):
        transport.sendto(b"x", ("127.0.0.1", 9))
    transport.sendto(b"same", addr)  # the connected address itself is fine
    assert await proto.received == (b"SAME", addr)
    transport.abort()
    assert await proto.lost is None
    server.close()
    await loopcore.sleep(0)


async def test_icmp_port_unreachable_reaches_error_received() -> None:
    loop = running_loop()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    dead = probe.getsockname()
    probe.close()
    transport, proto = await loop.create_datagram_endpoint(Client, remote_addr=dead)
    transport.sendto(b"anyone?")
    exc = await proto.error
    assert isinstance(exc, ConnectionRefusedError)
    assert not transport.is_closing()  # an endpoint survives errors
    transport.close()
    assert await proto.lost is None


async def test_writes_after_close_are_dropped_quietly() -> None:
    loop = running_loop()
    transport, proto = await loop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0))
    transport.close()
    for _ in range(10):
        transport.sendto(b"late", ("127.0.0.1", 9))
    assert transport.get_write_buffer_size() == 0
    await proto.lost


async def test_sock_excludes_the_address_arguments() -> None:
    loop = running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(ValueError, match="local_addr"):
            await loop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0), sock=sock)
        with pytest.raises(ValueError, match="allow_broadcast"):
            await loop.create_datagram_endpoint(Client, allow_broadcast=True, sock=sock)
    finally:
        sock.close()
    tcp = socket.socket()
    try:
        with pytest.raises(ValueError, match="^A datagram socket was expected, got"):
            await loop.create_datagram_endpoint(Client, sock=tcp)
    finally:
        tcp.close()
    with pytest.raises(ValueError, match="family"):
        await loop.create_datagram_endpoint(Client)


async def test_given_socket_and_broadcast_option() -> None:
    loop = running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    transport, proto = await loop.create_datagram_endpoint(Client, sock=sock)
    assert transport.get_extra_info("socket") is sock
    transport.close()
    await proto.lost
    transport, proto = await loop.create_datagram_endpoint(
        Client, local_addr=("127.0.0.1", 0), allow_broadcast=True
    )
    assert transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST)
    transport.close()
    await proto.lost


async def test_unix_datagram_endpoints(tmp_path: Path) -> None:
    loop = running_loop()
    server_path = str(tmp_path / "server.dgram")
    client_path = str(tmp_path / "client.dgram")
    server, _ = await loop.create_datagram_endpoint(
        Echo, local_addr=server_path, family=socket.AF_UNIX
    )
    transport, proto = await loop.create_datagram_endpoint(
        Client, local_addr=client_path, remote_addr=server_path, family=socket.AF_UNIX
    )
    transport.sendto(b"unix")
    assert await proto.received == (b"UNIX", server_path)
    transport.close()
    server.close()
    await proto.lost


async def test_buffered_datagrams_follow_flow_control_and_arrive_in_order() -> None:
    loop = running_loop()
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    b.setblocking(False)
    events: list[str] = []

    class Flow(Client):
        def pause_writing(self) -> None:
            events.append("pause")

        def resume_writing(self) -> None:
            events.append("resume")

    transport, proto = await loop.create_datagram_endpoint(Flow, sock=a)
    transport.set_write_buffer_limits(high=4096, low=0)
    sent = 0
    # The receiver does not read: its queue fills and sends start to be buffered.
    while not events:
        transport.sendto(sent.to_bytes(4, "big") * 64)  # connected: no address needed
        sent += 1
        assert sent < 100_000
    assert events == ["pause"]
    assert transport.get_write_buffer_size() > 4096
    got = 0
    while got < sent:
        data = await loop.sock_recv(b, 1024)
        assert data == got.to_bytes(4, "big") * 64  # in order, none lost
        got += 1
    assert events == ["pause", "resume"]
    assert transport.get_write_buffer_size() == 0
    transport.close()
    await proto.lost
    b.close()
