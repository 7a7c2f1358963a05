"""The call-order rules of stream protocols, on real sockets:

connection_made -> data_received* -> eof_received? -> connection_lost, with
connection_made and connection_lost exactly once."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

from lt_support import Recorder, accepted_pair, read_until_eof, running_loop, tcp_pair

import looptransports
from looptransports import BaseTransport


async def test_clean_eof_gives_connection_lost_none_once() -> None:
    transport, proto, peer = await accepted_pair()
    loop = running_loop()
    await loop.sock_sendall(peer, b"hello")
    peer.shutdown(socket.SHUT_WR)
    assert await proto.lost is None
    proto.assert_rules()
    assert proto.events == ["connection_made", "data_received", "eof_received", "connection_lost"]
    assert bytes(proto.data) == b"hello"
    assert transport.is_closing()
    assert await read_until_eof(loop, peer) == b""
    peer.close()


async def test_eof_received_false_closes_the_transport() -> None:
    transport, proto, peer = await accepted_pair(lambda: Recorder(eof_result=False))
    peer.shutdown(socket.SHUT_WR)
    assert await proto.lost is None
    assert transport.is_closing()
    proto.assert_rules()
    peer.close()


async def test_eof_received_true_leaves_it_half_open() -> None:
    loop = running_loop()
    transport, proto, peer = await accepted_pair(lambda: Recorder(eof_result=True))
    peer.shutdown(socket.SHUT_WR)
    await proto.eof
    # Give the loop a few turns: nothing may close the transport by itself.
    for _ in range(5):
        await loopcore_sleep0()
    assert not transport.is_closing()
    assert not proto.lost.done()
    transport.write(b"still writing")
    transport.close()
    assert await read_until_eof(loop, peer) == b"still writing"
    assert await proto.lost is None
    proto.assert_rules()
    peer.close()


async def test_data_received_never_after_eof_received() -> None:
    loop = running_loop()
    transport, proto, peer = await accepted_pair(lambda: Recorder(eof_result=True))
    for i in range(20):
        await loop.sock_sendall(peer, b"x" * (i + 1))
    peer.shutdown(socket.SHUT_WR)
    await proto.eof
    transport.resume_reading()  # must not read past the end of file
    transport.pause_reading()
    transport.resume_reading()
    transport.close()
    await proto.lost
    proto.assert_rules()
    assert proto.events.index("eof_received") == len(proto.events) - 2
    assert len(proto.data) == sum(range(1, 21))
    peer.close()


async def test_local_close_gives_connection_lost_none_once() -> None:
    transport, proto, peer = await accepted_pair()
    transport.close()
    transport.close()  # idempotent
    assert transport.is_closing()
    assert await proto.lost is None
    proto.assert_rules()
    peer.close()


async def test_abort_gives_connection_lost_none_once() -> None:
    transport, proto, peer = await accepted_pair()
    transport.abort()
    transport.abort()
    transport.close()
    assert await proto.lost is None
    proto.assert_rules()
    peer.close()


async def test_close_right_after_creation_still_calls_connection_made_first() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    made: list[Any] = []

    class CloseAtOnce(Recorder):
        def connection_made(self, transport: BaseTransport) -> None:
            super().connection_made(transport)
            made.append(transport)
            transport.close()

    transport, proto = await loop.connect_accepted_socket(CloseAtOnce, a)
    assert await proto.lost is None
    proto.assert_rules()
    assert made == [transport]
    b.close()


# -- An exception in connection_made: reported, the connection stays (as asyncio) ---------


def _collect_reports(loop: Any) -> list[dict[str, object]]:
    contexts: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))
    return contexts


def _assert_reported_once(contexts: list[dict[str, object]], protocol: object) -> None:
    assert len(contexts) == 1, contexts
    [ctx] = contexts
    assert ctx["message"] == "protocol.connection_made() failed"
    assert isinstance(ctx["exception"], ZeroDivisionError)
    assert ctx["protocol"] is protocol


class RaisesInConnectionMade(Recorder):
    def connection_made(self, transport: BaseTransport) -> None:
        super().connection_made(transport)
        raise ZeroDivisionError("boom")


async def test_connection_made_raising_is_reported_and_the_connection_stays_open() -> None:
    loop = running_loop()
    contexts = _collect_reports(loop)
    a, b = socket.socketpair()
    b.setblocking(False)
    transport, proto = await loop.connect_accepted_socket(RaisesInConnectionMade, a)
    _assert_reported_once(contexts, proto)
    assert not transport.is_closing()
    await loop.sock_sendall(b, b"still here")
    transport.write(b"and writable")
    assert await loop.sock_recv(b, 100) == b"and writable"
    b.shutdown(socket.SHUT_WR)
    await proto.eof  # reading went on: the data, then the end of file
    assert bytes(proto.data) == b"still here"
    transport.close()
    assert await proto.lost is None  # a normal close: connection_lost(None)
    proto.assert_rules()
    b.close()


async def test_connection_made_raising_keeps_a_tcp_connection_on_both_sides() -> None:
    loop = running_loop()
    contexts = _collect_reports(loop)
    ct, cp, st, sp = await tcp_pair(
        factory=RaisesInConnectionMade, peer_factory=RaisesInConnectionMade
    )
    assert len(contexts) == 2
    assert {id(c["protocol"]) for c in contexts} == {id(cp), id(sp)}
    ct.write(b"ping")
    st.write(b"pong")
    ct.write_eof()
    await sp.eof
    st.close()
    assert await cp.lost is None
    assert await sp.lost is None
    assert (bytes(sp.data), bytes(cp.data)) == (b"ping", b"pong")
    cp.assert_rules()
    sp.assert_rules()


async def test_connection_made_raising_keeps_a_unix_connection(tmp_path: Path) -> None:
    loop = running_loop()
    contexts = _collect_reports(loop)
    path = str(tmp_path / "made.sock")
    server = await loop.create_unix_server(Recorder, path)
    try:
        transport, proto = await loop.create_unix_connection(RaisesInConnectionMade, path)
    finally:
        server.close()
    _assert_reported_once(contexts, proto)
    assert not transport.is_closing()
    transport.close()
    assert await proto.lost is None
    proto.assert_rules()
    await server.wait_closed()


async def test_connection_made_raising_keeps_a_datagram_endpoint() -> None:
    loop = running_loop()
    contexts = _collect_reports(loop)
    received = loop.create_future()

    class Endpoint(looptransports.DatagramProtocol):
        def connection_made(self, transport: BaseTransport) -> None:
            raise ZeroDivisionError("boom")

        def datagram_received(self, data: bytes, addr: object) -> None:
            received.set_result(data)

    transport, proto = await loop.create_datagram_endpoint(Endpoint, local_addr=("127.0.0.1", 0))
    _assert_reported_once(contexts, proto)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"dgram", transport.get_extra_info("sockname"))
        assert await received == b"dgram"
    transport.close()


async def test_connection_made_raising_keeps_read_and_write_pipes() -> None:
    loop = running_loop()
    contexts = _collect_reports(loop)
    r, w = os.pipe()
    with open(r, "rb", buffering=0) as rfile, open(w, "wb", buffering=0) as wfile:
        rt, rp = await loop.connect_read_pipe(RaisesInConnectionMade, rfile)
        wt, wp = await loop.connect_write_pipe(RaisesInConnectionMade, wfile)
        assert len(contexts) == 2
        assert not rt.is_closing() and not wt.is_closing()
        wt.write(b"through the pipe")
        wt.close()
        assert await wp.lost is None
        assert await rp.lost is None  # the end of file after the writer closed
        assert bytes(rp.data) == b"through the pipe"
        rp.assert_rules()
        wp.assert_rules()


async def test_connection_made_raising_keeps_a_subprocess_transport() -> None:
    loop = running_loop()
    contexts = _collect_reports(loop)
    exited = loop.create_future()
    output = bytearray()

    class Child(looptransports.SubprocessProtocol):
        def connection_made(self, transport: BaseTransport) -> None:
            raise ZeroDivisionError("boom")

        def pipe_data_received(self, fd: int, data: bytes) -> None:
            output.extend(data)

        def connection_lost(self, exc: Exception | None) -> None:
            exited.set_result(exc)

    transport, proto = await loop.subprocess_exec(
        Child, sys.executable, "-c", "print('alive')", stdin=None
    )
    assert len(contexts) == 1
    assert isinstance(contexts[0]["exception"], ZeroDivisionError)
    assert await exited is None
    assert transport.get_returncode() == 0
    assert bytes(output).strip() == b"alive"
    transport.close()


async def test_data_received_raising_closes_with_that_error() -> None:
    loop = running_loop()
    contexts: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))

    class Broken(Recorder):
        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            raise KeyError("bad data")

    transport, proto, peer = await accepted_pair(Broken)
    await loop.sock_sendall(peer, b"x")
    exc = await proto.lost
    assert isinstance(exc, KeyError)
    proto.assert_rules()
    assert contexts and contexts[0]["message"] == "protocol.data_received() failed"
    peer.close()


async def test_both_ends_over_tcp_see_exactly_once_callbacks() -> None:
    ct, cp, st, sp = await tcp_pair(peer_factory=lambda: Recorder(eof_result=True))
    ct.write(b"ping")
    ct.write_eof()
    await sp.eof
    st.write(b"pong")
    st.close()
    assert await cp.lost is None
    assert await sp.lost is None
    cp.assert_rules()
    sp.assert_rules()
    assert bytes(sp.data) == b"ping"
    assert bytes(cp.data) == b"pong"


async def test_set_protocol_switches_the_receiver() -> None:
    loop = running_loop()
    transport, first, peer = await accepted_pair()
    second = Recorder()
    second.events.append("connection_made")
    transport.set_protocol(second)
    assert transport.get_protocol() is second
    await loop.sock_sendall(peer, b"for the second")
    peer.shutdown(socket.SHUT_WR)
    await second.lost
    assert bytes(second.data) == b"for the second"
    assert first.events == ["connection_made"]
    peer.close()


async def test_pause_reading_stops_delivery_until_resumed() -> None:
    loop = running_loop()
    transport, proto, peer = await accepted_pair()
    assert transport.is_reading()
    transport.pause_reading()
    transport.pause_reading()
    assert not transport.is_reading()
    await loop.sock_sendall(peer, b"held")
    for _ in range(5):
        await loopcore_sleep0()
    assert "data_received" not in proto.events
    transport.resume_reading()
    assert transport.is_reading()
    while not proto.data:
        await loopcore_sleep0()
    assert bytes(proto.data) == b"held"
    transport.close()
    assert not transport.is_reading()
    await proto.lost
    peer.close()


def test_protocol_classes_have_harmless_defaults() -> None:
    proto = looptransports.Protocol()
    proto.connection_made(None)  # type: ignore[arg-type]
    proto.data_received(b"x")
    assert not proto.eof_received()
    proto.pause_writing()
    proto.resume_writing()
    proto.connection_lost(None)
    dproto = looptransports.DatagramProtocol()
    dproto.datagram_received(b"x", ("127.0.0.1", 1))
    dproto.error_received(OSError())
    sproto = looptransports.SubprocessProtocol()
    sproto.pipe_data_received(1, b"x")
    sproto.pipe_connection_lost(1, None)
    sproto.process_exited()


async def loopcore_sleep0() -> None:
    import loopcore

    await loopcore.sleep(0)
