"""open_connection() and open_unix_connection(): TCP on 127.0.0.1 and ::1, Unix
sockets, TLS (trustme certificates made at test time), both coroutine styles, the
reader's limit over a real connection (a peer sending an endless line)."""

from __future__ import annotations

import socket
import ssl

import pytest
from conftest import TLS
from stream_helpers import bad_argument, close_quietly, serving

from loopcore import coroutine, get_running_loop, policies
from loopcore.base_loop import BaseEventLoop
from loopstreams import (
    StreamReader,
    StreamReaderProtocol,
    StreamWriter,
    open_connection,
    open_unix_connection,
    start_server,
    start_unix_server,
)
from looptransports import BufferedProtocol, Protocol


async def echo_lines(reader: StreamReader, writer: StreamWriter) -> None:
    async for line in reader:
        await writer.send(line)


async def test_open_connection_talks_to_a_server(loopback: str) -> None:
    async with serving(echo_lines, loopback) as addr:
        reader, writer = await open_connection(*addr)
        assert writer.get_extra_info("peername")[:2] == addr  # type: ignore[index]
        await writer.send(b"hello\n")
        assert await reader.readline() == b"hello\n"
        await close_quietly(writer)


async def test_open_connection_resolves_localhost() -> None:
    async with serving(echo_lines, "127.0.0.1") as addr:
        reader, writer = await open_connection("localhost", addr[1], family=socket.AF_INET)
        await writer.send(b"by name\n")
        assert await reader.readline() == b"by name\n"
        await close_quietly(writer)


async def test_open_connection_to_a_closed_port_raises_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        await open_connection("127.0.0.1", port)


async def test_open_connection_passes_sock_to_the_loop() -> None:
    async with serving(echo_lines) as addr:
        sock = socket.create_connection(addr)  # type: ignore[arg-type]
        reader, writer = await open_connection(sock=sock)
        assert writer.get_extra_info("socket").fileno() == sock.fileno()  # type: ignore[union-attr]
        await writer.send(b"own socket\n")
        assert await reader.readline() == b"own socket\n"
        await close_quietly(writer)


async def test_open_connection_gives_the_reader_its_limit() -> None:
    async with serving(echo_lines) as addr:
        reader, writer = await open_connection(*addr, limit=123)
        assert reader._limit == 123
        await close_quietly(writer)


@pytest.mark.parametrize("limit", [0, -1, "big"])
async def test_open_connection_refuses_a_bad_limit_before_connecting(limit: object) -> None:
    error, message = bad_argument(
        limit, f"^limit must be a positive int \\(bytes\\), got {limit!r}$"
    )
    with pytest.raises(error, match=message):
        await open_connection("127.0.0.1", 1, limit=limit)  # type: ignore[arg-type]


async def test_open_connection_accepts_the_running_loop_as_loop(loopcore_loop: object) -> None:
    async with serving(echo_lines) as addr:
        reader, writer = await open_connection(*addr, loop=loopcore_loop)  # type: ignore[arg-type]
        await writer.send(b"3.4 style\n")
        assert await reader.readline() == b"3.4 style\n"
        await close_quietly(writer)


async def test_open_connection_refuses_a_loop_that_is_not_running() -> None:
    other = policies.new_event_loop()
    try:
        with pytest.raises(ValueError, match="is running in this thread"):
            await open_connection("127.0.0.1", 1, loop=other)
    finally:
        other.close()


async def test_open_connection_works_with_yield_from_in_a_coroutine_generator() -> None:
    @coroutine
    def client(addr):  # type: ignore[no-untyped-def]
        reader, writer = yield from open_connection(*addr)
        yield from writer.send(b"generator\n")
        line = yield from reader.readline()
        writer.close()
        yield from writer.wait_closed()
        return line

    async with serving(echo_lines) as addr:
        assert await client(addr) == b"generator\n"


async def test_a_peer_sending_an_endless_line_keeps_memory_near_the_limit() -> None:
    # The server sends "x" forever, never a newline. The client's readline() fails
    # with a clear error each time, and its buffer never holds much more than the
    # limit plus one read from the socket (the transport is paused at 2 * limit).
    limit = 32 * 1024
    max_recv = 256 * 1024

    async def endless(reader: StreamReader, writer: StreamWriter) -> None:
        chunk = b"x" * 16384
        try:
            while True:
                await writer.send(chunk)
        except ConnectionError:
            pass

    async with serving(endless) as addr:
        reader, writer = await open_connection(*addr, limit=limit)
        for _ in range(20):
            with pytest.raises(ValueError, match="over the limit of 32768 bytes") as info:
                await reader.readline()
            assert "without a newline" in str(info.value)
            assert len(reader._buffer) <= 2 * limit + max_recv
        # A longer line may still be asked for, once, with a per-call limit: it
        # fails the same way, bounded by that limit.
        with pytest.raises(ValueError, match="over the limit of 100000 bytes"):
            await reader.readline(limit=100_000)
        writer.transport.abort()
        await close_quietly(writer)


async def test_open_unix_connection_talks_to_a_unix_server(tmp_path: object) -> None:
    path = str(tmp_path / "s.sock")  # type: ignore[operator]
    async with serving(echo_lines, unix_path=path):
        reader, writer = await open_unix_connection(path)
        await writer.send(b"over unix\n")
        assert await reader.readline() == b"over unix\n"
        assert writer.get_extra_info("peername") == path
        await close_quietly(writer)


async def test_open_unix_connection_to_a_missing_path_raises(tmp_path: object) -> None:
    with pytest.raises(FileNotFoundError):
        await open_unix_connection(str(tmp_path / "missing.sock"))  # type: ignore[operator]


async def test_open_connection_over_tls(tls: TLS, loopback: str) -> None:
    async with serving(echo_lines, loopback, ssl=tls.server) as addr:
        reader, writer = await open_connection(*addr, ssl=tls.client, server_hostname=tls.hostname)
        assert isinstance(writer.get_extra_info("ssl_object"), ssl.SSLObject)
        assert writer.get_extra_info("peercert")["subjectAltName"]  # type: ignore[index]
        assert not writer.can_write_eof()
        await writer.send(b"secret\n")
        assert await reader.readline() == b"secret\n"
        await close_quietly(writer)


async def test_open_connection_over_tls_refuses_an_untrusted_certificate(tls: TLS) -> None:
    # The server may report its side of the failed handshake (in debug mode).
    reported: list[dict[str, object]] = []
    get_running_loop().set_exception_handler(lambda _loop, context: reported.append(context))
    async with serving(echo_lines, ssl=tls.server) as addr:
        untrusting = ssl.create_default_context()
        with pytest.raises(ssl.SSLCertVerificationError):
            await open_connection(*addr, ssl=untrusting, server_hostname=tls.hostname)
    assert all(isinstance(c.get("exception"), ssl.SSLError) for c in reported), reported


async def test_open_unix_connection_over_tls(tls: TLS, tmp_path: object) -> None:
    path = str(tmp_path / "tls.sock")  # type: ignore[operator]
    async with serving(echo_lines, unix_path=path, ssl=tls.server):
        reader, writer = await open_unix_connection(
            path, ssl=tls.client, server_hostname=tls.hostname
        )
        await writer.send(b"unix and tls\n")
        assert await reader.readline() == b"unix and tls\n"
        await close_quietly(writer)


async def test_start_tls_upgrades_a_plain_connection(tls: TLS) -> None:
    async def starttls(reader: StreamReader, writer: StreamWriter) -> None:
        assert await reader.readline() == b"STARTTLS\n"
        await writer.send(b"GO\n")
        await writer.start_tls(tls.server)
        assert writer.get_extra_info("sslcontext") is tls.server
        await echo_lines(reader, writer)

    async with serving(starttls) as addr:
        reader, writer = await open_connection(*addr)
        await writer.send(b"STARTTLS\n")
        assert await reader.readline() == b"GO\n"
        plain = writer.transport
        await writer.start_tls(tls.client, server_hostname=tls.hostname)
        assert writer.transport is not plain
        assert writer.get_extra_info("ssl_object") is not None
        await writer.send(b"now encrypted\n")
        assert await reader.readline() == b"now encrypted\n"
        await close_quietly(writer)


async def test_reading_from_a_connection_the_peer_reset_raises() -> None:
    import struct

    async def crash(reader: StreamReader, writer: StreamWriter) -> None:
        await reader.readline()
        sock = writer.get_extra_info("socket")
        assert isinstance(sock, socket.socket)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async with serving(crash) as addr:
        reader, writer = await open_connection(*addr)
        await writer.send(b"crash now\n")
        with pytest.raises(ConnectionResetError):
            await reader.readline()
        assert isinstance(reader.exception(), ConnectionResetError)
        await close_quietly(writer)


async def test_two_clients_are_independent() -> None:
    async with serving(echo_lines) as addr:
        r1, w1 = await open_connection(*addr)
        r2, w2 = await open_connection(*addr)
        await w1.send(b"one\n")
        await w2.send(b"two\n")
        assert await r2.readline() == b"two\n"
        assert await r1.readline() == b"one\n"
        await close_quietly(w1)
        await close_quietly(w2)


def test_open_connection_from_plain_code_with_run_until_complete() -> None:
    # No pytest plugin here: a loop made and run by hand, as 3.4 code does.
    loop = policies.new_event_loop()

    async def main() -> bytes:
        assert get_running_loop() is loop
        async with serving(echo_lines) as addr:
            reader, writer = await open_connection(*addr, loop=loop)
            await writer.send(b"by hand\n")
            line = await reader.readline()
            await close_quietly(writer)
            return line

    try:
        assert loop.run_until_complete(main()) == b"by hand\n"
    finally:
        loop.close()


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("create_connection", lambda: open_connection("127.0.0.1", 9)),
        ("create_unix_connection", lambda: open_unix_connection("/nonexistent")),
        ("create_server", lambda: start_server(lambda r, w: None, "127.0.0.1", 0)),
        ("create_unix_server", lambda: start_unix_server(lambda r, w: None, "/nonexistent")),
    ],
)
def test_streams_on_a_loop_without_network_support_raise_type_error_naming_the_loop(
    name: str, call: object
) -> None:
    # loopcore's BaseEventLoop inherits AbstractEventLoop's network stubs.
    loop = BaseEventLoop()
    try:
        with pytest.raises(TypeError, match=rf"has no {name}\(\): streams need a loop with net"):
            loop.run_until_complete(call())  # type: ignore[operator]
    finally:
        loop.close()


async def test_stream_reader_protocol_is_a_plain_protocol_as_in_asyncio() -> None:
    assert issubclass(StreamReaderProtocol, Protocol)
    assert not issubclass(StreamReaderProtocol, BufferedProtocol)


async def test_read_returns_received_chunks_that_never_change_when_more_arrives() -> None:
    # The transport receives into its loop's reused buffer: what read() returned
    # must stay what it was while later chunks land in the same buffer.
    a, b = socket.socketpair()
    with b:
        reader, writer = await open_connection(sock=a)
        results = []
        for i in range(5):
            chunk = bytes([65 + i]) * (1000 + i)
            b.sendall(chunk)
            got = b""
            while len(got) < len(chunk):
                got += await reader.read(65536)
            results.append(got)
        # More than a socket buffer holds: a thread writes while the loop reads.
        sending = get_running_loop().run_in_executor(None, b.sendall, b"x" * 300_000)
        received = 0
        while received < 300_000:
            received += len(await reader.read(65536))
        await sending
        assert results == [bytes([65 + i]) * (1000 + i) for i in range(5)]
        assert all(type(r) is bytes for r in results)
        b.close()
        assert await reader.read(65536) == b""
        await close_quietly(writer)
