"""Backpressure: a peer that never reads, a peer that sends an endless line.

* Protocol mode: the server's write buffer stops at the high-water mark
  (``pause_writing`` once, the producer stops), the loop does not spin while
  paused, and everything arrives intact once the peer reads (``resume_writing``).
* Streams mode: ``drain()`` blocks the writer; many writers blocked on many
  non-reading peers hold memory bounded by their high-water marks.
* An endless line: ``readline()`` fails with the limit error again and again while
  the line goes on, the reader's buffer stays near the limit, and the stream is
  usable once the line ends.
"""

from __future__ import annotations

import socket
import tracemalloc

from _reliability import fd_count, settle
from conftest import STRESS

import loopcore
import loopstreams
from loopcore import Future
from loopstreams import StreamReader, StreamWriter
from looptransports import Protocol, Transport

CHUNK = bytes(range(256)) * 64  # 16 KiB, a known pattern
HIGH = 64 * 1024


def pattern(offset: int, size: int) -> bytes:
    """The bytes at *offset*..*offset+size* of an endless repetition of CHUNK."""
    start = offset % len(CHUNK)
    reps = (start + size) // len(CHUNK) + 1
    return (CHUNK * reps)[start : start + size]


def non_reading_client(address: tuple[str, int]) -> socket.socket:
    """A connected socket with a small receive buffer that the test does not read."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(address)
    sock.setblocking(False)
    return sock


async def read_exactly(sock: socket.socket, size: int) -> bytes:
    loop = loopcore.get_running_loop()
    data = bytearray()
    while len(data) < size:
        chunk = await loop.sock_recv(sock, min(65536, size - len(data)))  # type: ignore[attr-defined]
        assert chunk, f"EOF after {len(data)} of {size} bytes"
        data += chunk
    return bytes(data)


class Producer(Protocol):
    """Writes CHUNK after CHUNK while the transport lets it, up to *total* bytes."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0
        self.paused = False
        self.pauses = 0
        self.resumes = 0
        self.max_buffer = 0
        self.lost: list[Exception | None] = []
        loop = loopcore.get_running_loop()
        self.paused_fut: Future[None] = loop.create_future()
        self.done_fut: Future[None] = loop.create_future()

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        self.transport = transport
        transport.set_write_buffer_limits(high=HIGH)
        self.produce()

    def produce(self) -> None:
        while not self.paused and self.sent < self.total:
            size = min(len(CHUNK), self.total - self.sent)
            self.transport.write(pattern(self.sent, size))
            self.sent += size
            self.max_buffer = max(self.max_buffer, self.transport.get_write_buffer_size())
        if self.sent == self.total and not self.done_fut.done():
            self.done_fut.set_result(None)

    def pause_writing(self) -> None:
        self.paused = True
        self.pauses += 1
        if not self.paused_fut.done():
            self.paused_fut.set_result(None)

    def resume_writing(self) -> None:
        self.paused = False
        self.resumes += 1
        self.produce()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)


async def test_protocol_write_buffer_stops_at_the_high_water_mark() -> None:
    loop = loopcore.get_running_loop()
    total = (64 if STRESS else 8) * 1024 * 1024
    producers: list[Producer] = []

    def factory() -> Producer:
        producers.append(Producer(total))
        return producers[-1]

    server = await loop.create_server(factory, "127.0.0.1", 0)  # type: ignore[attr-defined]
    async with server:
        client = non_reading_client(server.sockets[0].getsockname())
        try:
            async with loopcore.timeout(30):
                while not producers:
                    await loopcore.sleep(0)
                producer = producers[0]
                await producer.paused_fut
            sent_at_pause = producer.sent
            buffered = producer.transport.get_write_buffer_size()
            assert HIGH < buffered <= HIGH + len(CHUNK)
            assert producer.pauses == 1 and producer.resumes == 0

            # Paused: the producer writes nothing, the buffer does not grow, and the
            # loop waits for the socket instead of spinning.
            iterations = loop._iterations  # type: ignore[attr-defined]
            await loopcore.sleep(0.2)
            assert loop._iterations - iterations < 50  # type: ignore[attr-defined]
            assert producer.transport.get_write_buffer_size() <= buffered
            if producer.resumes == 0:  # the kernel took nothing more: no write at all
                assert producer.sent == sent_at_pause
            assert producer.sent < total

            # The peer reads: everything arrives intact, in order.
            async with loopcore.timeout(60):
                data = await read_exactly(client, total)
                await producer.done_fut
            assert data == pattern(0, total)
            assert producer.resumes >= 1
            assert producer.pauses == producer.resumes or producer.pauses == producer.resumes + 1
            assert producer.max_buffer <= HIGH + len(CHUNK)
        finally:
            client.close()
        async with loopcore.timeout(10):
            while not producer.lost:
                await loopcore.sleep(0)
        await settle()
        assert len(producer.lost) == 1


async def test_streams_drain_blocks_while_the_peer_does_not_read() -> None:
    total = (64 if STRESS else 8) * 1024 * 1024
    loop = loopcore.get_running_loop()
    blocked: Future[None] = loop.create_future()
    finished: Future[int] = loop.create_future()
    progress = {"written": 0, "in_drain": False, "max_buffer": 0}

    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        writers.append(writer)
        writer.transport.set_write_buffer_limits(high=HIGH)
        while progress["written"] < total:
            size = min(len(CHUNK), total - int(progress["written"]))
            writer.write(pattern(int(progress["written"]), size))
            progress["written"] += size
            buffered = writer.transport.get_write_buffer_size()
            progress["max_buffer"] = max(int(progress["max_buffer"]), buffered)
            if buffered > HIGH and not blocked.done():
                blocked.set_result(None)
            progress["in_drain"] = True
            await writer.drain()
            progress["in_drain"] = False
        writer.close()
        await writer.wait_closed()
        finished.set_result(int(progress["written"]))

    writers: list[StreamWriter] = []

    def writer_buffer() -> int:
        return writers[0].transport.get_write_buffer_size()

    server = await loopstreams.start_server(handler, "127.0.0.1", 0)
    async with server:
        client = non_reading_client(server.sockets[0].getsockname())
        try:
            async with loopcore.timeout(30):
                await blocked
            written = progress["written"]
            await loopcore.sleep(0.2)
            assert progress["in_drain"] is True
            # drain() has not returned, or only for the little room the kernel
            # found meanwhile: the writer is held back, not writing on.
            assert int(progress["written"]) - int(written) <= 4 * len(CHUNK)
            assert writer_buffer() <= HIGH + len(CHUNK)
            assert HIGH < written < total
            async with loopcore.timeout(60):
                data = await read_exactly(client, total)
                assert await finished == total
            assert data == pattern(0, total)
            assert progress["max_buffer"] <= HIGH + len(CHUNK)
        finally:
            client.close()


async def test_many_blocked_writers_hold_bounded_memory() -> None:
    peers = 100 if STRESS else 20
    loop = loopcore.get_running_loop()
    blocked = 0
    all_blocked: Future[None] = loop.create_future()
    fds_before = fd_count()

    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        nonlocal blocked
        writer.transport.set_write_buffer_limits(high=HIGH)
        counted = False
        try:
            for _ in range(4096):  # 64 MiB each if nothing held it back
                writer.write(CHUNK)
                if writer.transport.get_write_buffer_size() > HIGH and not counted:
                    counted = True
                    blocked += 1
                    if blocked == peers:
                        all_blocked.set_result(None)
                await writer.drain()
        except ConnectionError:
            pass  # the peer went away while we were blocked: expected here
        finally:
            writer.close()

    tracemalloc.start()
    try:
        server = await loopstreams.start_server(handler, "127.0.0.1", 0)
        async with server:
            address = server.sockets[0].getsockname()
            clients = [non_reading_client(address) for _ in range(peers)]
            try:
                async with loopcore.timeout(30):
                    await all_blocked
                await settle(20)
                current, _peak = tracemalloc.get_traced_memory()
            finally:
                for sock in clients:
                    # Reset instead of a graceful close: the writers fail at once.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                    sock.close()
            async with loopcore.timeout(30):
                while fd_count() > fds_before + 1:  # the listening socket
                    await loopcore.sleep(0.01)
    finally:
        tracemalloc.stop()
    # Each blocked connection holds at most HIGH + one chunk in its write buffer,
    # plus its objects; 64 MiB each would have been written without backpressure.
    assert current < peers * (HIGH + len(CHUNK)) + 4 * 1024 * 1024, current
    await settle()
    assert fd_count() == fds_before


async def test_an_endless_line_fails_readline_and_memory_stays_near_the_limit() -> None:
    limit = 64 * 1024
    total = (256 if STRESS else 16) * 1024 * 1024
    loop = loopcore.get_running_loop()
    result: Future[dict[str, int]] = loop.create_future()

    async def handler(reader: StreamReader, writer: StreamWriter) -> None:
        errors = 0
        max_buffer = 0
        while True:
            try:
                line = await reader.readline()
            except ValueError as exc:
                assert "over the limit" in str(exc)
                errors += 1
                max_buffer = max(max_buffer, len(reader._buffer))  # type: ignore[attr-defined]
                continue
            max_buffer = max(max_buffer, len(reader._buffer))  # type: ignore[attr-defined]
            if line == b"ok\n" or not line:
                break
        writer.write(b"bye\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        result.set_result({"errors": errors, "max_buffer": max_buffer, "last": len(line)})

    tracemalloc.start()
    try:
        server = await loopstreams.start_server(handler, "127.0.0.1", 0, limit=limit)
        async with server:
            reader, writer = await loopstreams.open_connection(*server.sockets[0].getsockname()[:2])
            block = b"x" * 65536
            async with loopcore.timeout(60):
                for _ in range(total // len(block)):
                    writer.write(block)
                    await writer.drain()
                writer.write(b"\nok\n")
                await writer.drain()
                assert await reader.readline() == b"bye\n"
                seen = await result
            _current, peak = tracemalloc.get_traced_memory()
            writer.close()
            await writer.wait_closed()
    finally:
        tracemalloc.stop()
    assert seen["errors"] >= 1
    assert seen["last"] == 3  # the stream was usable: b"ok\n" was read
    # The reader pauses its transport over twice the limit; one socket read more.
    assert seen["max_buffer"] <= 2 * limit + 256 * 1024, seen
    assert peak < 8 * 1024 * 1024, peak  # 16 MiB (or 256) went through
