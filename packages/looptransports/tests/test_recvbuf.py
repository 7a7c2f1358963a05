"""Reads into the loop's reused receive buffer (``_recvbuf``): socket, pipe,
subprocess-pipe and datagram transports with a plain protocol, and ``sock_recv`` with
a large *nbytes*, each on real sockets, pipes or a child process.

The rules: the protocol is handed ``bytes`` of exactly the size received; what it
keeps never changes when the loop reads more (on the same or another transport); no
byte is lost or repeated, also in reads as large as the buffer; end of file still
arrives as such.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

import pytest
from lt_support import running_loop

import loopcore
from looptransports import DatagramProtocol, Protocol, SubprocessProtocol
from looptransports._recvbuf import RECV_BUFFER_SIZE, loop_recv_buffer

PY = sys.executable


def _pattern(size: int, seed: int) -> bytes:
    """*size* bytes that differ from every other (size, seed) pattern."""
    block = bytes((seed * 7 + i * 13) & 0xFF for i in range(251))
    return (block * (size // len(block) + 1))[:size]


class Keeper(Protocol):
    """Keeps every object ``data_received`` is handed (not a copy of it)."""

    def __init__(self) -> None:
        self.loop = running_loop()
        self.chunks: list[Any] = []
        self.size = 0
        self.eof = self.loop.create_future()
        self.lost = self.loop.create_future()
        self._want = 0
        self._waiter: loopcore.Future[None] | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        if self._waiter is not None and self.size >= self._want and not self._waiter.done():
            self._waiter.set_result(None)

    def eof_received(self) -> None:
        self.eof.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(exc)

    async def wait_size(self, size: int) -> None:
        if self.size < size:
            self._want = size
            self._waiter = self.loop.create_future()
            await self._waiter
            self._waiter = None


async def _connected_pair() -> tuple[socket.socket, Any, Keeper]:
    """A transport with a Keeper on one end of a real TCP connection, and the other
    end as a blocking socket of the test."""
    loop = running_loop()
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        peer = socket.create_connection(listener.getsockname())
        conn, _ = listener.accept()
    finally:
        listener.close()
    conn.setblocking(False)
    transport, keeper = await loop.connect_accepted_socket(Keeper, conn)
    return peer, transport, keeper


# -- stream sockets ---------------------------------------------------------------------


async def test_socket_protocol_is_handed_bytes_of_exactly_the_size_received() -> None:
    peer, transport, keeper = await _connected_pair()
    with peer:
        for size in (1, 1000, 4096):
            peer.sendall(_pattern(size, size))
            await keeper.wait_size(keeper.size + size)
            assert type(keeper.chunks[-1]) is bytes
        assert b"".join(keeper.chunks) == _pattern(1, 1) + _pattern(1000, 1000) + _pattern(
            4096, 4096
        )
        assert all(type(c) is bytes and len(c) > 0 for c in keeper.chunks)
    await keeper.eof
    await keeper.lost
    transport.close()


async def test_socket_bytes_kept_by_protocols_never_change_when_the_loop_reads_more() -> None:
    # Two connections on one loop share the receive buffer: what each protocol kept
    # must stay what it was handed while the other (and itself) receives more.
    peer_a, transport_a, keeper_a = await _connected_pair()
    peer_b, transport_b, keeper_b = await _connected_pair()
    with peer_a, peer_b:
        expected_a, expected_b = [], []
        for i in range(6):
            a, b = _pattern(700 + i, i), _pattern(900 - i, 100 + i)
            peer_a.sendall(a)
            await keeper_a.wait_size(keeper_a.size + len(a))
            peer_b.sendall(b)
            await keeper_b.wait_size(keeper_b.size + len(b))
            expected_a.append(a)
            expected_b.append(b)
        kept_a = list(keeper_a.chunks)
        assert b"".join(kept_a) == b"".join(expected_a)
        assert b"".join(keeper_b.chunks) == b"".join(expected_b)
        # Each chunk is still equal to a snapshot taken after all the later reads.
        assert [bytes(c) for c in kept_a] == kept_a
    transport_a.close()
    transport_b.close()
    await keeper_a.lost
    await keeper_b.lost


async def test_socket_large_reads_lose_and_repeat_nothing_and_stop_at_the_buffer_size() -> None:
    peer, transport, keeper = await _connected_pair()
    payload = _pattern(3 * RECV_BUFFER_SIZE + 12345, 5)
    loop = running_loop()
    with peer:
        # A thread of the default executor writes (blocking) while the loop reads.
        await loop.run_in_executor(None, peer.sendall, payload)
        await keeper.wait_size(len(payload))
        peer.shutdown(socket.SHUT_WR)
        await keeper.eof
    assert b"".join(keeper.chunks) == payload
    assert max(len(c) for c in keeper.chunks) <= RECV_BUFFER_SIZE
    assert all(type(c) is bytes for c in keeper.chunks)
    await keeper.lost
    transport.close()


async def test_socket_reads_switching_between_large_and_small_keep_every_chunk_intact() -> None:
    # After a large read the transport receives straight into a new bytes object;
    # after a small one, into the loop's buffer again. Whichever way each chunk
    # came, what the protocol kept stays what it was handed.
    peer, transport, keeper = await _connected_pair()
    loop = running_loop()
    expected = b""
    with peer:
        for i, size in enumerate([300_000, 500, 200_000, 70_000, 3, 150_000, 1000]):
            chunk = _pattern(size, i)
            await loop.run_in_executor(None, peer.sendall, chunk)
            expected += chunk
            await keeper.wait_size(len(expected))
            assert b"".join(keeper.chunks) == expected
        kept = list(keeper.chunks)
        assert [bytes(c) for c in kept] == kept
        assert all(type(c) is bytes and 0 < len(c) <= RECV_BUFFER_SIZE for c in kept)
    await keeper.eof
    await keeper.lost
    transport.close()


async def test_socket_end_of_file_after_data_delivers_all_data_then_eof_received() -> None:
    peer, transport, keeper = await _connected_pair()
    peer.sendall(b"last words")
    peer.close()
    await keeper.eof
    assert b"".join(keeper.chunks) == b"last words"
    assert await keeper.lost is None
    transport.close()


# -- pipes ------------------------------------------------------------------------------


async def test_read_pipe_protocol_gets_exact_bytes_that_never_change_and_then_eof() -> None:
    loop = running_loop()
    r, w = os.pipe()
    rfile = os.fdopen(r, "rb", buffering=0)
    wfile = os.fdopen(w, "wb", buffering=0)
    transport, keeper = await loop.connect_read_pipe(Keeper, rfile)
    expected = []
    with wfile:
        for i in range(5):
            chunk = _pattern(500 + 100 * i, i)
            wfile.write(chunk)
            await keeper.wait_size(keeper.size + len(chunk))
            expected.append(chunk)
    await keeper.eof
    assert await keeper.lost is None
    assert keeper.chunks == expected  # one read per write, each its own exact bytes
    assert all(type(c) is bytes for c in keeper.chunks)
    transport.close()


async def test_read_pipe_large_reads_lose_and_repeat_nothing() -> None:
    loop = running_loop()
    r, w = os.pipe()
    rfile = os.fdopen(r, "rb", buffering=0)
    wfile = os.fdopen(w, "wb", buffering=0)
    transport, keeper = await loop.connect_read_pipe(Keeper, rfile)
    payload = _pattern(2 * RECV_BUFFER_SIZE + 999, 9)
    with wfile:
        await loop.run_in_executor(None, wfile.write, payload)
        await keeper.wait_size(len(payload))
    await keeper.eof
    assert b"".join(keeper.chunks) == payload
    assert max(len(c) for c in keeper.chunks) <= RECV_BUFFER_SIZE
    await keeper.lost
    transport.close()


class ChildOutput(SubprocessProtocol):
    def __init__(self) -> None:
        self.loop = running_loop()
        self.chunks: dict[int, list[bytes]] = {1: [], 2: []}
        self.exited = self.loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.chunks[fd].append(data)

    def process_exited(self) -> None:
        self.exited.set_result(None)


async def test_subprocess_pipes_deliver_exact_bytes_of_both_streams_unchanged() -> None:
    loop = running_loop()
    size = RECV_BUFFER_SIZE + 70_000
    code = (
        "import sys\n"
        f"sys.stdout.buffer.write(bytes(range(256)) * {size // 256})\n"
        "sys.stdout.flush()\n"
        "sys.stderr.buffer.write(b'E' * 100000)\n"
    )
    transport, proto = await loop.subprocess_exec(ChildOutput, PY, "-c", code, stdin=None)
    await proto.exited
    while not all(
        transport.get_pipe_transport(fd) is None or transport.get_pipe_transport(fd).is_closing()
        for fd in (1, 2)
    ):
        await loopcore.sleep(0)
    await loopcore.sleep(0)
    assert all(type(c) is bytes for c in proto.chunks[1] + proto.chunks[2])
    assert b"".join(proto.chunks[1]) == bytes(range(256)) * (size // 256)
    assert b"".join(proto.chunks[2]) == b"E" * 100000
    transport.close()


# -- datagrams --------------------------------------------------------------------------


class DatagramKeeper(DatagramProtocol):
    def __init__(self) -> None:
        self.loop = running_loop()
        self.datagrams: list[tuple[bytes, Any]] = []
        self._waiter: loopcore.Future[None] | None = None

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append((data, addr))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait_count(self, count: int) -> None:
        while len(self.datagrams) < count:
            self._waiter = self.loop.create_future()
            await self._waiter


async def test_datagram_protocol_gets_each_datagram_whole_as_its_own_bytes() -> None:
    loop = running_loop()
    transport, keeper = await loop.create_datagram_endpoint(
        DatagramKeeper, local_addr=("127.0.0.1", 0)
    )
    addr = transport.get_extra_info("sockname")
    sizes = [0, 1, 1500, 60_000, 20]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        for i, size in enumerate(sizes):
            sender.sendto(_pattern(size, i), addr)
            await keeper.wait_count(i + 1)
        sent_from = sender.getsockname()
    assert [d for d, _ in keeper.datagrams] == [_pattern(s, i) for i, s in enumerate(sizes)]
    assert all(type(d) is bytes and a[1] == sent_from[1] for d, a in keeper.datagrams)
    transport.close()
    await loopcore.sleep(0)


# -- sock_recv --------------------------------------------------------------------------


@pytest.mark.parametrize("nbytes", [100_000, RECV_BUFFER_SIZE, RECV_BUFFER_SIZE + 1, 4 << 20])
async def test_sock_recv_large_nbytes_returns_exact_bytes_that_never_change(nbytes: int) -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        first = _pattern(3000, 1)
        b.sendall(first)
        got_first = await loop.sock_recv(a, nbytes)
        # Waits for data (the path through the selector), then reads into the buffer.
        pending = loop.create_task(loop.sock_recv(a, nbytes))
        await loopcore.sleep(0)
        second = _pattern(5000, 2)
        b.sendall(second)
        got_second = await pending
        assert (got_first, got_second) == (first, second)
        assert type(got_first) is bytes and type(got_second) is bytes
        b.close()
        assert await loop.sock_recv(a, nbytes) == b""


async def test_sock_recv_large_nbytes_receives_everything_in_order() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    payload = _pattern(3 * RECV_BUFFER_SIZE + 777, 3)
    with a, b:
        a.setblocking(False)
        writer = loop.run_in_executor(None, b.sendall, payload)
        chunks = []
        while sum(map(len, chunks)) < len(payload):
            chunk = await loop.sock_recv(a, 200_000)
            assert 0 < len(chunk) <= 200_000
            chunks.append(chunk)
        await writer
        assert b"".join(chunks) == payload


async def test_each_loop_has_its_own_receive_buffer() -> None:
    loop = running_loop()
    other = loopcore.new_event_loop()
    try:
        assert loop_recv_buffer(loop) is loop_recv_buffer(loop)
        assert loop_recv_buffer(other) is not loop_recv_buffer(loop)
        assert len(loop_recv_buffer(loop)) == RECV_BUFFER_SIZE
    finally:
        other.close()
