"""StreamWriter over real TCP connections: writing, half-close, drain() and send().

The drain rules: a peer that does not read blocks the writer in drain() with both
sides' buffers bounded; a lost connection makes drain() raise; every task draining
one writer wakes; drain() does not suspend when the buffer is under the mark.
"""

from __future__ import annotations

import socket
import struct

import pytest
from stream_helpers import close_quietly, serving, turns, until

from loopcore import coroutine, get_running_loop
from loopstreams import StreamReader, StreamWriter, open_connection

HIGH = 64 * 1024


def small_listener() -> socket.socket:
    """A listening socket whose accepted connections have a small receive buffer.

    Set before listen(), so that the TCP window is small from the start (shrinking
    it on a live connection can stall the peer on the persist timer); then a few
    hundred KiB fill the pipe and the tests stay fast.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.bind(("127.0.0.1", 0))
    return sock


def shrink_send_buffer(writer: StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    assert isinstance(sock, socket.socket)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)


def reset(writer: StreamWriter) -> None:
    """Close the connection with a TCP reset (SO_LINGER 0), as a crashing peer would."""
    sock = writer.get_extra_info("socket")
    assert isinstance(sock, socket.socket)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def echo(reader: StreamReader, writer: StreamWriter) -> None:
    while data := await reader.read(4096):
        await writer.send(data)


async def test_write_and_writelines_reach_the_peer() -> None:
    async with serving(echo) as addr:
        reader, writer = await open_connection(*addr)
        writer.write(b"one ")
        writer.write(bytearray(b"two "))
        writer.writelines([b"three ", memoryview(b"four\n")])
        assert await reader.readline() == b"one two three four\n"
        await close_quietly(writer)


async def test_send_writes_and_returns_once_drained() -> None:
    async with serving(echo) as addr:
        reader, writer = await open_connection(*addr)
        await writer.send(b"ping\n")
        assert writer.transport.get_write_buffer_size() <= HIGH
        assert await reader.readline() == b"ping\n"
        await close_quietly(writer)


async def test_drain_does_not_suspend_when_the_buffer_is_under_the_mark() -> None:
    async with serving(echo) as addr:
        reader, writer = await open_connection(*addr)
        writer.write(b"x")
        coro = writer.drain()
        with pytest.raises(StopIteration):
            coro.send(None)
        await close_quietly(writer)


async def test_drain_and_send_work_with_yield_from_in_a_coroutine_generator() -> None:
    @coroutine
    def client(addr):  # type: ignore[no-untyped-def]
        reader, writer = yield from open_connection(*addr)
        writer.write(b"old ")
        yield from writer.drain()
        yield from writer.send(b"style\n")
        line = yield from reader.readline()
        writer.close()
        yield from writer.wait_closed()
        return line

    async with serving(echo) as addr:
        assert await client(addr) == b"old style\n"


async def test_slow_reader_blocks_the_writer_in_drain_and_memory_stays_bounded() -> None:
    loop = get_running_loop()
    limit = 16 * 1024
    may_read = loop.create_future()
    server_side: list[StreamReader] = []

    async def slow(reader: StreamReader, writer: StreamWriter) -> None:
        server_side.append(reader)
        await may_read
        total = 0
        while data := await reader.read(65536):
            total += len(data)
        await writer.send(b"%d\n" % total)

    async with serving(slow, limit=limit, sock=small_listener()) as addr:
        reader, writer = await open_connection(*addr)
        shrink_send_buffer(writer)
        writer.transport.set_write_buffer_limits(high=HIGH)
        chunk = b"d" * 8192
        sent = 0
        biggest = 0

        async def produce() -> None:
            nonlocal sent, biggest
            for _ in range(400):  # 3.2 MB: far more than every buffer together
                await writer.send(chunk)
                sent += len(chunk)
                biggest = max(biggest, writer.transport.get_write_buffer_size())
            writer.write_eof()

        producer = loop.create_task(produce())
        protocol = writer._protocol
        await until(lambda: protocol._paused, "the writer pausing")
        assert not producer.done(), "send() returned while the peer was not reading"
        stalled_at = sent
        await turns(50)
        assert sent == stalled_at, "the writer kept going while paused"
        assert writer.transport.get_write_buffer_size() <= HIGH + len(chunk)
        # The server's reader paused its transport too: its buffer is bounded.
        await until(lambda: server_side[0]._paused, "the server's reader pausing")
        assert len(server_side[0]._buffer) <= 2 * limit + 256 * 1024
        may_read.set_result(None)
        await producer
        assert sent == 400 * len(chunk)
        assert biggest <= HIGH + len(chunk)
        assert await reader.readline() == b"%d\n" % sent
        await close_quietly(writer)


async def test_several_tasks_draining_one_writer_all_wake() -> None:
    loop = get_running_loop()
    may_read = loop.create_future()

    async def slow(reader: StreamReader, writer: StreamWriter) -> None:
        # Not even the server's transport reads, so the client stays paused.
        writer.transport.pause_reading()
        await may_read
        writer.transport.resume_reading()
        while await reader.read(65536):
            pass

    async with serving(slow, sock=small_listener()) as addr:
        reader, writer = await open_connection(*addr)
        shrink_send_buffer(writer)
        writer.transport.set_write_buffer_limits(high=HIGH)
        while not writer._protocol._paused:
            writer.write(b"f" * 65536)
            await turns(1)
        drainers = [loop.create_task(writer.drain()) for _ in range(5)]
        await turns(10)
        assert not any(d.done() for d in drainers)
        may_read.set_result(None)
        for drainer in drainers:
            await drainer
        writer.write_eof()
        await close_quietly(writer)


async def test_drain_raises_when_the_peer_closes_while_the_writer_waits() -> None:
    loop = get_running_loop()
    close_now = loop.create_future()

    async def closer(reader: StreamReader, writer: StreamWriter) -> None:
        writer.transport.pause_reading()  # so that the client stays paused
        await close_now
        reset(writer)

    async with serving(closer, sock=small_listener()) as addr:
        reader, writer = await open_connection(*addr)
        shrink_send_buffer(writer)
        writer.transport.set_write_buffer_limits(high=HIGH)
        while not writer._protocol._paused:
            writer.write(b"r" * 65536)
            await turns(1)
        drainers = [loop.create_task(writer.drain()) for _ in range(3)]
        await turns(3)
        close_now.set_result(None)
        for drainer in drainers:
            with pytest.raises(ConnectionError):
                await drainer
        with pytest.raises(ConnectionError):
            await writer.send(b"more")
        await close_quietly(writer)


async def test_drainers_get_an_error_when_the_connection_is_aborted_under_them() -> None:
    # connection_lost(None) (an abort, not an error) still must not let a waiting
    # drain() return as if the data had been sent.
    loop = get_running_loop()
    release = loop.create_future()

    async def stuck(reader: StreamReader, writer: StreamWriter) -> None:
        writer.transport.pause_reading()
        await release

    async with serving(stuck, sock=small_listener()) as addr:
        reader, writer = await open_connection(*addr)
        shrink_send_buffer(writer)
        writer.transport.set_write_buffer_limits(high=HIGH)
        while not writer._protocol._paused:
            writer.write(b"a" * 65536)
            await turns(1)
        drainers = [loop.create_task(writer.drain()) for _ in range(2)]
        await turns(3)
        writer.transport.abort()
        for drainer in drainers:
            with pytest.raises(ConnectionResetError, match="closed while draining"):
                await drainer
        release.set_result(None)
        await close_quietly(writer)


async def test_drain_after_the_writer_closed_raises() -> None:
    async with serving(echo) as addr:
        reader, writer = await open_connection(*addr)
        writer.close()
        assert writer.is_closing()
        with pytest.raises(ConnectionResetError):
            await writer.drain()
        await writer.wait_closed()


async def test_drain_raises_the_readers_exception() -> None:
    async with serving(echo) as addr:
        reader, writer = await open_connection(*addr)
        reader.set_exception(ConnectionAbortedError("broken on purpose"))
        with pytest.raises(ConnectionAbortedError, match="broken on purpose"):
            await writer.drain()
        await close_quietly(writer)


async def test_write_eof_half_closes_and_the_peer_can_still_answer() -> None:
    async def count(reader: StreamReader, writer: StreamWriter) -> None:
        data = await reader.read()
        await writer.send(b"%d bytes\n" % len(data))

    async with serving(count) as addr:
        reader, writer = await open_connection(*addr)
        assert writer.can_write_eof()
        await writer.send(b"12345")
        writer.write_eof()
        assert await reader.readline() == b"5 bytes\n"
        assert await reader.read() == b""
        await close_quietly(writer)


async def test_get_extra_info_gives_the_transports_information() -> None:
    async with serving(echo) as addr:
        reader, writer = await open_connection(*addr)
        assert writer.get_extra_info("peername")[:2] == addr  # type: ignore[index]
        assert isinstance(writer.get_extra_info("socket"), socket.socket)
        assert writer.get_extra_info("no such key", "default") == "default"
        assert writer.get_extra_info("peercert") is None
        await close_quietly(writer)


async def test_close_then_wait_closed_ends_the_connection() -> None:
    async with serving(echo) as addr:
        reader, writer = await open_connection(*addr)
        assert not writer.is_closing()
        writer.close()
        writer.close()  # idempotent
        await writer.wait_closed()
        assert writer.is_closing()
        assert reader.at_eof()
        await writer.wait_closed()  # returns at once afterwards


async def test_wait_closed_raises_the_error_the_connection_was_lost_with() -> None:
    async def crash(reader: StreamReader, writer: StreamWriter) -> None:
        await reader.readline()
        reset(writer)

    async with serving(crash) as addr:
        reader, writer = await open_connection(*addr)
        await writer.send(b"go\n")
        with pytest.raises(ConnectionResetError):
            await reader.read()
        with pytest.raises(ConnectionResetError):
            await writer.wait_closed()
        assert writer.is_closing()


async def test_writer_exposes_its_transport_and_has_a_repr() -> None:
    async with serving(echo) as addr:
        reader, writer = await open_connection(*addr)
        assert writer.transport is writer._transport
        assert "StreamWriter" in repr(writer) and "transport=" in repr(writer)
        assert "StreamReaderProtocol" in repr(writer._protocol)
        await close_quietly(writer)
