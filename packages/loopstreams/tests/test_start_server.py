"""start_server() and start_unix_server(): callbacks of every kind, errors in them,
several clients, the server's lifecycle, TLS and Unix sockets."""

from __future__ import annotations

import gc
import os

import pytest
from conftest import TLS
from stream_helpers import close_quietly, turns, until

from loopcore import Task, coroutine, get_running_loop, policies
from loopstreams import (
    StreamReader,
    StreamReaderProtocol,
    StreamWriter,
    open_connection,
    open_unix_connection,
    start_server,
    start_unix_server,
)


def port_of(server: object) -> tuple[str, int]:
    return server.sockets[0].getsockname()[:2]  # type: ignore[attr-defined, no-any-return]


async def test_coroutine_callback_runs_as_a_task_per_client(loopback: str) -> None:
    tasks: list[Task[object] | None] = []

    async def handle(reader: StreamReader, writer: StreamWriter) -> None:
        from loopcore import current_task

        tasks.append(current_task())
        name = await reader.readline()
        await writer.send(b"hello " + name)
        await close_quietly(writer)

    server = await start_server(handle, loopback, 0)
    async with server:
        for who in (b"ann\n", b"bob\n"):
            reader, writer = await open_connection(*port_of(server))
            await writer.send(who)
            assert await reader.readline() == b"hello " + who
            assert await reader.read() == b""
            await close_quietly(writer)
        for task in tasks:
            assert task is not None
            await task
    assert len({id(t) for t in tasks}) == 2


async def test_plain_function_callback_is_called_with_reader_and_writer() -> None:
    seen: list[tuple[StreamReader, StreamWriter]] = []

    def handle(reader: StreamReader, writer: StreamWriter) -> None:
        seen.append((reader, writer))
        writer.write(b"greetings\n")
        writer.close()

    async with await start_server(handle, "127.0.0.1", 0) as server:
        reader, writer = await open_connection(*port_of(server))
        assert await reader.readline() == b"greetings\n"
        await close_quietly(writer)
    assert len(seen) == 1
    assert isinstance(seen[0][0], StreamReader) and isinstance(seen[0][1], StreamWriter)


async def test_generator_coroutine_callback_runs_with_yield_from() -> None:
    @coroutine
    def handle(reader, writer):  # type: ignore[no-untyped-def]
        line = yield from reader.readline()
        yield from writer.send(line[::-1].strip() + b"\n")
        writer.close()
        yield from writer.wait_closed()

    async with await start_server(handle, "127.0.0.1", 0) as server:
        reader, writer = await open_connection(*port_of(server))
        await writer.send(b"olleh\n")
        assert await reader.readline() == b"hello\n"
        await close_quietly(writer)
        await until(lambda: not server._clients, "the server's side closing")


async def test_error_in_a_coroutine_callback_is_reported_and_the_server_goes_on() -> None:
    loop = get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))

    async def handle(reader: StreamReader, writer: StreamWriter) -> None:
        line = await reader.readline()
        if line == b"boom\n":
            raise RuntimeError("handler failed on purpose")
        await writer.send(b"fine\n")
        await close_quietly(writer)

    async with await start_server(handle, "127.0.0.1", 0) as server:
        reader, writer = await open_connection(*port_of(server))
        await writer.send(b"boom\n")
        # The failing client's connection is closed by the server.
        assert await reader.read() == b""
        await close_quietly(writer)
        assert len(reported) == 1
        assert isinstance(reported[0]["exception"], RuntimeError)
        assert "client_connected_cb" in str(reported[0]["message"])
        assert server.is_serving()
        reader, writer = await open_connection(*port_of(server))
        await writer.send(b"ok\n")
        assert await reader.readline() == b"fine\n"
        await close_quietly(writer)
    assert len(reported) == 1


async def test_error_in_a_plain_callback_is_reported_and_the_server_goes_on() -> None:
    loop = get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    calls = 0

    def handle(reader: StreamReader, writer: StreamWriter) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("plain callback failed on purpose")
        writer.write(b"second\n")
        writer.close()

    async with await start_server(handle, "127.0.0.1", 0) as server:
        reader, writer = await open_connection(*port_of(server))
        assert await reader.read() == b""
        await close_quietly(writer)
        reader, writer = await open_connection(*port_of(server))
        assert await reader.readline() == b"second\n"
        await close_quietly(writer)
    assert [type(c.get("exception")) for c in reported] == [ValueError]


async def test_cancelled_client_task_closes_its_connection() -> None:
    started = get_running_loop().create_future()

    async def handle(reader: StreamReader, writer: StreamWriter) -> None:
        from loopcore import current_task

        started.set_result(current_task())
        await reader.read()

    async with await start_server(handle, "127.0.0.1", 0) as server:
        reader, writer = await open_connection(*port_of(server))
        task = await started
        task.cancel()
        assert await reader.read() == b""
        await close_quietly(writer)


async def test_the_server_keeps_client_tasks_alive_until_they_finish() -> None:
    release = get_running_loop().create_future()
    finished = []

    async def handle(reader: StreamReader, writer: StreamWriter) -> None:
        await release
        finished.append(True)
        await close_quietly(writer)

    async with await start_server(handle, "127.0.0.1", 0) as server:
        reader, writer = await open_connection(*port_of(server))
        await until(lambda: bool(server._clients), "the server accepting")
        (transport,) = server._clients
        protocol = transport.get_protocol()
        assert isinstance(protocol, StreamReaderProtocol)
        assert protocol._task_registry is not None and len(protocol._task_registry) == 1
        gc.collect()
        release.set_result(None)
        assert await reader.read() == b""
        await close_quietly(writer)
        await until(lambda: bool(finished), "the client task finishing")
        await turns()
        assert not protocol._task_registry


async def test_several_clients_are_served_at_once() -> None:
    async def handle(reader: StreamReader, writer: StreamWriter) -> None:
        async for line in reader:
            await writer.send(line.upper())
        await close_quietly(writer)

    async with await start_server(handle, "127.0.0.1", 0) as server:
        clients = [await open_connection(*port_of(server)) for _ in range(10)]
        for i, (_, writer) in enumerate(clients):
            await writer.send(b"client %d\n" % i)
        for i, (reader, _) in reversed(list(enumerate(clients))):
            assert await reader.readline() == b"CLIENT %d\n" % i
        for _, writer in clients:
            await close_quietly(writer)
        await until(lambda: not server._clients, "every connection closing")


async def test_each_client_reader_gets_the_servers_limit() -> None:
    async def handle(reader: StreamReader, writer: StreamWriter) -> None:
        try:
            await reader.readline()
        except ValueError as e:
            await writer.send(b"refused: %s\n" % str(e).split(",")[0].encode())
        await close_quietly(writer)

    async with await start_server(handle, "127.0.0.1", 0, limit=8) as server:
        reader, writer = await open_connection(*port_of(server))
        await writer.send(b"a line longer than eight bytes\n")
        assert await reader.readline() == b"refused: readline(): a line of 30 bytes arrived\n"
        await close_quietly(writer)


async def test_start_server_refuses_a_callback_that_is_not_callable() -> None:
    with pytest.raises(TypeError, match="client_connected_cb must be a function"):
        await start_server("not callable", "127.0.0.1", 0)  # type: ignore[arg-type]


async def test_start_server_refuses_a_bad_limit() -> None:
    with pytest.raises(ValueError, match="limit must be a positive int"):
        await start_server(lambda r, w: None, "127.0.0.1", 0, limit=0)


async def test_start_server_refuses_a_loop_that_is_not_running() -> None:
    other = policies.new_event_loop()
    try:
        with pytest.raises(ValueError, match="is running in this thread"):
            await start_server(lambda r, w: None, "127.0.0.1", 0, loop=other)
    finally:
        other.close()


async def test_start_server_on_a_taken_port_raises() -> None:
    async with await start_server(lambda r, w: None, "127.0.0.1", 0) as server:
        with pytest.raises(OSError):
            await start_server(lambda r, w: None, "127.0.0.1", port_of(server)[1])


async def test_serve_forever_serves_until_cancelled() -> None:
    loop = get_running_loop()

    async def handle(reader: StreamReader, writer: StreamWriter) -> None:
        await writer.send(b"served\n")
        await close_quietly(writer)

    server = await start_server(handle, "127.0.0.1", 0, start_serving=False)
    assert not server.is_serving()
    forever = loop.create_task(server.serve_forever())
    await until(server.is_serving, "the server starting")
    reader, writer = await open_connection(*port_of(server))
    assert await reader.readline() == b"served\n"
    await close_quietly(writer)
    forever.cancel()
    with pytest.raises(BaseException):  # noqa: B017 - CancelledError, a BaseException
        await forever
    assert not server.is_serving()
    await server.wait_closed()


async def test_start_unix_server_serves_a_unix_socket(tmp_path: object) -> None:
    path = str(tmp_path / "srv.sock")  # type: ignore[operator]

    async def handle(reader: StreamReader, writer: StreamWriter) -> None:
        await writer.send(b"unix: " + await reader.readline())
        await close_quietly(writer)

    async with await start_unix_server(handle, path) as server:
        assert os.path.exists(path)
        reader, writer = await open_unix_connection(path)
        await writer.send(b"hi\n")
        assert await reader.readline() == b"unix: hi\n"
        await close_quietly(writer)
        server.close()
    assert not os.path.exists(path)


async def test_start_server_with_tls(tls: TLS, loopback: str) -> None:
    async def handle(reader: StreamReader, writer: StreamWriter) -> None:
        assert writer.get_extra_info("sslcontext") is tls.server
        async for line in reader:
            await writer.send(line)
        await close_quietly(writer)

    async with await start_server(handle, loopback, 0, ssl=tls.server) as server:
        reader, writer = await open_connection(
            *port_of(server), ssl=tls.client, server_hostname=tls.hostname
        )
        for i in range(5):
            await writer.send(b"tls line %d\n" % i)
            assert await reader.readline() == b"tls line %d\n" % i
        await close_quietly(writer)


async def test_start_unix_server_with_tls(tls: TLS, tmp_path: object) -> None:
    path = str(tmp_path / "tls.sock")  # type: ignore[operator]

    async def handle(reader: StreamReader, writer: StreamWriter) -> None:
        await writer.send(await reader.readline())
        await close_quietly(writer)

    async with await start_unix_server(handle, path, ssl=tls.server):
        reader, writer = await open_unix_connection(
            path, ssl=tls.client, server_hostname=tls.hostname
        )
        await writer.send(b"both\n")
        assert await reader.readline() == b"both\n"
        await close_quietly(writer)


async def test_server_side_sees_eof_when_the_client_half_closes() -> None:
    async def handle(reader: StreamReader, writer: StreamWriter) -> None:
        data = await reader.read()
        assert reader.at_eof()
        await writer.send(b"got %d\n" % len(data))
        await close_quietly(writer)

    async with await start_server(handle, "127.0.0.1", 0) as server:
        reader, writer = await open_connection(*port_of(server))
        await writer.send(b"x" * 100_000)
        writer.write_eof()
        assert await reader.readline() == b"got 100000\n"
        await close_quietly(writer)
