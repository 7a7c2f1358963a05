"""TCP end to end: the echo server of the 3.4 docs, served by create_server and
used by a create_connection client, over IPv4 and IPv6 loopback."""

from __future__ import annotations

import array
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lt_support import requires_ipv6

import loopcore
import looptransports
from looptransports import Protocol, SelectorEventLoop, Transport


class EchoServerProtocol(Protocol):
    """The seed example of the 3.4 docs: send back whatever arrives."""

    def connection_made(self, transport: looptransports.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]
        self.transport.close()


class EchoClientProtocol(Protocol):
    def __init__(self, message: bytes, on_lost: loopcore.Future[object]) -> None:
        self.message = message
        self.on_lost = on_lost
        self.received = b""
        self.events: list[str] = []

    def connection_made(self, transport: looptransports.BaseTransport) -> None:
        self.events.append("connection_made")
        transport.write(self.message)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.events.append("data_received")
        self.received += data

    def eof_received(self) -> None:
        self.events.append("eof_received")

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("connection_lost")
        self.on_lost.set_result(exc)


async def _echo_roundtrip(host: str) -> None:
    loop = loopcore.get_running_loop()
    assert isinstance(loop, SelectorEventLoop)
    server = await loop.create_server(EchoServerProtocol, host, 0)
    port = server.sockets[0].getsockname()[1]
    on_lost = loop.create_future()
    transport, protocol = await loop.create_connection(
        lambda: EchoClientProtocol(b"Hello World!", on_lost), host, port
    )
    assert isinstance(transport, Transport)
    assert await on_lost is None
    assert protocol.received == b"Hello World!"
    assert protocol.events[0] == "connection_made"
    assert protocol.events[-2:] == ["eof_received", "connection_lost"]
    server.close()
    await server.wait_closed()


async def test_echo_over_ipv4_loopback() -> None:
    await _echo_roundtrip("127.0.0.1")


@requires_ipv6
async def test_echo_over_ipv6_loopback() -> None:
    await _echo_roundtrip("::1")


async def test_default_loop_is_the_selector_loop() -> None:
    assert type(loopcore.get_running_loop()) is SelectorEventLoop


async def test_extra_info_names_both_ends() -> None:
    loop = loopcore.get_running_loop()
    accepted = loop.create_future()

    class Server(Protocol):
        def connection_made(self, transport: looptransports.BaseTransport) -> None:
            accepted.set_result(transport)

    server = await loop.create_server(Server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(Protocol, "127.0.0.1", port)
    server_side = await accepted
    sock = transport.get_extra_info("socket")
    assert isinstance(sock, socket.socket)
    assert transport.get_extra_info("peername") == ("127.0.0.1", port)
    assert transport.get_extra_info("sockname") == server_side.get_extra_info("peername")
    assert transport.get_extra_info("nonexistent", "dflt") == "dflt"
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    transport.close()
    server_side.close()  # type: ignore[attr-defined]
    server.close()
    await server.wait_closed()


async def test_large_write_is_delivered_whole() -> None:
    loop = loopcore.get_running_loop()
    done = loop.create_future()
    payload = bytes(range(256)) * 32768  # 8 MiB: more than the kernel buffers take

    class Collector(Protocol):
        def __init__(self) -> None:
            self.data = bytearray()

        def data_received(self, data: bytes) -> None:
            self.data += data

        def connection_lost(self, exc: Exception | None) -> None:
            done.set_result(bytes(self.data))

    server = await loop.create_server(Collector, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(Protocol, "127.0.0.1", port)
    transport.write(payload[:1000])
    transport.writelines([payload[1000:5000], bytearray(payload[5000:])])
    assert transport.get_write_buffer_size() > 0
    transport.close()
    assert await done == payload
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("family", [socket.AF_INET])
async def test_buffered_protocol_receives_into_its_buffer(family: int) -> None:
    loop = loopcore.get_running_loop()
    done = loop.create_future()

    class Buffered(looptransports.BufferedProtocol):
        def __init__(self) -> None:
            self.buf = bytearray(7)
            self.data = bytearray()
            self.sizes: list[int] = []

        def get_buffer(self, sizehint: int) -> bytearray:
            return self.buf

        def buffer_updated(self, nbytes: int) -> None:
            self.sizes.append(nbytes)
            self.data += self.buf[:nbytes]

        def connection_lost(self, exc: Exception | None) -> None:
            done.set_result(bytes(self.data))

    server = await loop.create_server(Buffered, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(Protocol, "127.0.0.1", port)
    transport.write(b"0123456789" * 10)
    transport.close()
    assert await done == b"0123456789" * 10
    server.close()
    await server.wait_closed()


async def test_buffered_protocol_get_buffer_may_return_any_writable_buffer() -> None:
    # As asyncio: any object supporting the writable buffer protocol (here an
    # array.array), not only bytearray or memoryview, in both builds.
    loop = loopcore.get_running_loop()
    done = loop.create_future()

    class ArrayBuffered(looptransports.BufferedProtocol):
        def __init__(self) -> None:
            self.buf = array.array("B", bytes(5))
            self.data = bytearray()

        def get_buffer(self, sizehint: int) -> memoryview:
            return self.buf  # type: ignore[return-value]

        def buffer_updated(self, nbytes: int) -> None:
            self.data += self.buf[:nbytes].tobytes()

        def connection_lost(self, exc: Exception | None) -> None:
            done.set_result(bytes(self.data))

    server = await loop.create_server(ArrayBuffered, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(Protocol, "127.0.0.1", port)
    transport.write(b"abcdefghij" * 7)
    transport.close()
    assert await done == b"abcdefghij" * 7
    server.close()
    await server.wait_closed()


def _pattern(size: int, seed: int) -> bytes:
    return (bytes(range(seed % 256, 256)) + bytes(range(seed % 256))) * (size // 256 + 1)


@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["write", "write_bytearray", "write_memoryview", "writelines"]),
            st.integers(0, 300_000),
        ),
        max_size=8,
    )
)
def test_any_sequence_of_writes_arrives_whole_and_in_order(ops: list[tuple[str, int]]) -> None:
    async def roundtrip() -> None:
        loop = loopcore.get_running_loop()
        a, b = socket.socketpair()
        b.setblocking(False)
        transport, _ = await loop.connect_accepted_socket(Protocol, a)  # type: ignore[attr-defined]
        expected = bytearray()
        for i, (kind, size) in enumerate(ops):
            data = _pattern(size, i)[:size]
            expected += data
            if kind == "write":
                transport.write(data)
            elif kind == "write_bytearray":
                buf = bytearray(data)
                transport.write(buf)
                buf[:] = b"\0" * len(buf)  # the transport kept its own copy
            elif kind == "write_memoryview":
                transport.write(memoryview(data))
            else:
                third = size // 3
                transport.writelines([data[:third], bytearray(data[third:]), b""])
        transport.close()
        received = bytearray()
        while True:
            chunk = await loop.sock_recv(b, 1 << 20)  # type: ignore[attr-defined]
            if not chunk:
                break
            received += chunk
        b.close()
        assert received == expected

    loop = loopcore.new_event_loop()
    try:
        loop.run_until_complete(roundtrip())
    finally:
        loop.close()


@pytest.mark.parametrize("selector_name", ["SelectSelector", "PollSelector", "EpollSelector"])
def test_echo_works_with_any_selector(selector_name: str) -> None:
    import selectors

    selector_cls = getattr(selectors, selector_name, None)
    if selector_cls is None:
        pytest.skip(f"{selector_name} is not available here")
    loop = SelectorEventLoop(selector_cls())
    try:
        assert type(loop._io.selector) is selector_cls  # type: ignore[attr-defined]
        loop.run_until_complete(_echo_roundtrip("127.0.0.1"))
    finally:
        loop.close()
