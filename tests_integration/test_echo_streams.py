"""The seed's echo server and client (docs/examples/tcp_echo.py), rewritten with streams.

The server reads what a client sends, sends it back and closes the connection; the
client sends one message and reads the answer. Run over every kind of connection
(TCP on 127.0.0.1 and ::1, TLS, Unix sockets, TLS over Unix sockets), in both
coroutine styles, with many clients at once and with a payload larger than every
buffer on the way (both directions at once, so that backpressure is exercised).
"""

from __future__ import annotations

import pytest
from conftest import STRESS, Net, make_net, make_tls

import loopcore
from loopcore import coroutine
from loopstreams import StreamReader, StreamWriter


async def handle_echo(reader: StreamReader, writer: StreamWriter) -> None:
    data = await reader.read(100)
    writer.write(data)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def echo_client(net: Net, server: object, message: bytes) -> bytes:
    reader, writer = await net.connect(server)
    assert isinstance(reader, StreamReader) and isinstance(writer, StreamWriter)
    writer.write(message)
    await writer.drain()
    data = await reader.read(100)
    assert await reader.read() == b""  # the server closed the connection
    writer.close()
    await writer.wait_closed()
    return data


async def test_echo_round_trip(net: Net) -> None:
    server = await net.start(handle_echo)
    async with server:  # type: ignore[attr-defined]
        assert await echo_client(net, server, b"Hello World!") == b"Hello World!"


async def test_echo_in_the_34_style_with_yield_from(net: Net) -> None:
    @coroutine
    def handle(reader, writer):  # type: ignore[no-untyped-def]
        data = yield from reader.read(100)
        writer.write(data)
        yield from writer.drain()
        writer.close()
        yield from writer.wait_closed()

    @coroutine
    def client(server):  # type: ignore[no-untyped-def]
        reader, writer = yield from net.connect(server)
        writer.write(b"yield from")
        yield from writer.drain()
        data = yield from reader.read(100)
        writer.close()
        yield from writer.wait_closed()
        return data

    server = await net.start(handle)
    async with server:  # type: ignore[attr-defined]
        assert await client(server) == b"yield from"


async def test_echo_serves_many_clients_at_once(net: Net) -> None:
    count = 200 if STRESS else 20
    # A backlog for every client at once: a Unix socket refuses connect() with EAGAIN
    # when its backlog is full, which is not what this test is about.
    server = await net.start(handle_echo, backlog=2 * count)
    async with server:  # type: ignore[attr-defined]
        messages = [b"client %d" % i for i in range(count)]
        answers = await loopcore.gather(*(echo_client(net, server, m) for m in messages))
        assert answers == messages


async def test_echo_of_a_large_payload_in_both_directions_at_once(net: Net) -> None:
    # The server echoes as it reads, the client sends and reads concurrently: with
    # drain() on both sides nothing buffers without bound and nothing deadlocks.
    size = (32 if STRESS else 4) * 1024 * 1024
    chunk = bytes(range(256)) * 256  # 64 KiB

    async def stream_echo(reader: StreamReader, writer: StreamWriter) -> None:
        while data := await reader.read(65536):
            await writer.send(data)
        writer.close()
        await writer.wait_closed()

    server = await net.start(stream_echo)
    async with server:  # type: ignore[attr-defined]
        reader, writer = await net.connect(server)
        assert isinstance(reader, StreamReader) and isinstance(writer, StreamWriter)

        async def send_all() -> None:
            for _ in range(size // len(chunk)):
                await writer.send(chunk)
                assert writer.transport.get_write_buffer_size() <= 64 * 1024 + len(chunk)
            if writer.can_write_eof():
                writer.write_eof()

        sender = loopcore.get_running_loop().create_task(send_all())
        received = 0
        while received < size:
            data = await reader.read(1 << 20)
            assert data, "the echo ended early"
            offset = received % len(chunk)
            expected = (chunk * (len(data) // len(chunk) + 2))[offset : offset + len(data)]
            assert data == expected
            received += len(data)
        await sender
        writer.close()
        await writer.wait_closed()


@pytest.mark.parametrize("kind", ["tcp", "unix", "tls"])
def test_echo_as_a_program_run_with_loopcore_run(kind: str, tmp_path: object) -> None:
    # Outside the pytest plugin: the way the example program runs.
    net = make_net(kind, make_tls(), str(tmp_path))

    async def main() -> bytes:
        server = await net.start(handle_echo)
        async with server:  # type: ignore[attr-defined]
            return await echo_client(net, server, b"from run()")

    assert loopcore.run(main()) == b"from run()"
