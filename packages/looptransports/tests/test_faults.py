"""Fault paths on real TCP connections: a peer reset mid-write, half-close in both
directions, writes after close, leaked transports."""

from __future__ import annotations

import gc
import logging
import socket
import struct
from typing import Any

import pytest
from lt_support import Recorder, read_until_eof, running_loop

import loopcore
from looptransports import SelectorEventLoop
from looptransports._sockets import SocketTransport


async def _tcp_to_raw() -> tuple[Any, Recorder, socket.socket]:
    """A transport connected over TCP to a raw socket the test controls."""
    loop = running_loop()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    try:
        accept = loop.create_task(loop.sock_accept(listener))
        transport, proto = await loop.create_connection(
            Recorder, "127.0.0.1", listener.getsockname()[1]
        )
        peer, _ = await accept
    finally:
        listener.close()
    return transport, proto, peer


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


async def test_peer_reset_mid_write_ends_in_connection_lost_exc_once() -> None:
    loop = running_loop()
    contexts: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))
    transport, proto, peer = await _tcp_to_raw()
    chunk = b"x" * (1 << 20)
    while transport.get_write_buffer_size() == 0:
        transport.write(chunk)
    _reset(peer)
    exc = await proto.lost
    assert isinstance(exc, ConnectionError)
    assert transport.get_write_buffer_size() == 0  # the buffer was freed
    assert transport.is_closing()
    proto.assert_rules()
    # A reset is an ordinary end of a connection, not a loop error.
    assert contexts == []
    await loopcore.sleep(0)
    assert transport.get_extra_info("socket").fileno() == -1


async def test_peer_reset_while_idle_ends_in_connection_lost_exc() -> None:
    transport, proto, peer = await _tcp_to_raw()
    _reset(peer)
    exc = await proto.lost
    assert isinstance(exc, ConnectionResetError)
    proto.assert_rules()


async def test_peer_reset_during_close_flush_reports_the_error() -> None:
    transport, proto, peer = await _tcp_to_raw()
    chunk = b"x" * (1 << 20)
    while transport.get_write_buffer_size() == 0:
        transport.write(chunk)
    transport.close()  # flushing
    assert transport.is_closing()
    assert not proto.lost.done()
    _reset(peer)
    exc = await proto.lost
    assert isinstance(exc, ConnectionError)
    assert transport.get_write_buffer_size() == 0
    proto.assert_rules()


async def test_half_close_from_the_local_side() -> None:
    loop = running_loop()
    transport, proto, peer = await _tcp_to_raw()
    assert transport.can_write_eof()
    transport.write(b"request")
    transport.write_eof()
    transport.write_eof()  # idempotent
    with pytest.raises(RuntimeError, match="write_eof"):
        transport.write(b"too late")
    assert await read_until_eof(loop, peer) == b"request"
    # Our read side is still open: the peer can answer.
    await loop.sock_sendall(peer, b"response")
    peer.close()
    assert await proto.lost is None
    assert bytes(proto.data) == b"response"
    proto.assert_rules()


async def test_half_close_from_the_peer_side() -> None:
    loop = running_loop()
    transport, proto, peer = await _tcp_to_raw()
    proto.eof_result = True  # keep our write side open
    await loop.sock_sendall(peer, b"question")
    peer.shutdown(socket.SHUT_WR)
    await proto.eof
    assert not transport.is_closing()
    transport.write(b"answer")
    transport.close()
    assert await read_until_eof(loop, peer) == b"answer"
    assert await proto.lost is None
    proto.assert_rules()
    peer.close()


async def test_half_close_after_buffered_data_is_flushed_first() -> None:
    loop = running_loop()
    transport, proto, peer = await _tcp_to_raw()
    payload = b"y" * (8 << 20)
    transport.write(payload)
    assert transport.get_write_buffer_size() > 0
    transport.write_eof()
    assert await read_until_eof(loop, peer) == payload
    peer.close()
    await proto.lost


async def test_writes_after_close_neither_raise_nor_buffer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport, proto, peer = await _tcp_to_raw()
    transport.close()
    with caplog.at_level(logging.WARNING, logger="looptransports"):
        for _ in range(20):
            transport.write(b"dropped")
            transport.writelines([b"also", b"dropped"])
    assert transport.get_write_buffer_size() == 0
    assert any("writes were dropped" in r.getMessage() for r in caplog.records)
    # A warning, not a flood: a handful of records for 40 writes.
    assert len(caplog.records) <= 6
    await proto.lost
    proto.assert_rules()
    peer.close()


async def test_writes_after_connection_lost_are_dropped() -> None:
    transport, proto, peer = await _tcp_to_raw()
    _reset(peer)
    await proto.lost
    for _ in range(10):
        transport.write(b"into the void")
    assert transport.get_write_buffer_size() == 0


async def test_write_rejects_non_bytes() -> None:
    transport, proto, peer = await _tcp_to_raw()
    with pytest.raises(TypeError, match="bytes-like"):
        transport.write("text")
    with pytest.raises(TypeError, match="bytes-like"):
        transport.writelines([b"ok", "text"])
    transport.close()
    await proto.lost
    peer.close()


def test_leaked_transport_warns_resource_warning() -> None:
    loop = SelectorEventLoop()
    a, b = socket.socketpair()
    try:
        transport = SocketTransport(loop, a, Recorder.__mro__[1]())
        loop.close()  # drops the scheduled connection_made: nobody will close it
        with pytest.warns(ResourceWarning, match="unclosed transport"):
            del transport
            gc.collect()
        assert a.fileno() == -1  # the leak was closed by the warning path
    finally:
        a.close()
        b.close()
