"""Server: the AbstractServer API, closing rules, serve_forever, close/abort of
clients, binding rules, and recovery from EMFILE on accept."""

from __future__ import annotations

import errno
import os
import resource
import socket
from typing import Any

import pytest
from lt_support import HAS_IPV6, Recorder, read_until_eof, requires_ipv6, running_loop

import loopcore
from looptransports import Protocol, Server


class Echo(Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def _client(port: int, host: str = "127.0.0.1") -> socket.socket:
    loop = running_loop()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setblocking(False)
    await loop.sock_connect(sock, (host, port))
    return sock


async def _echo(sock: socket.socket, data: bytes) -> bytes:
    loop = running_loop()
    await loop.sock_sendall(sock, data)
    got = b""
    while len(got) < len(data):
        chunk = await loop.sock_recv(sock, 100)
        assert chunk
        got += chunk
    return got


async def test_server_api_and_async_with() -> None:
    loop = running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0, start_serving=False)
    assert isinstance(server, Server)
    assert server.get_loop() is loop
    assert not server.is_serving()
    await server.start_serving()
    await server.start_serving()  # no-op
    assert server.is_serving()
    (sock,) = server.sockets
    assert sock.family == socket.AF_INET
    async with server as entered:
        assert entered is server
        client = await _client(sock.getsockname()[1])
        assert await _echo(client, b"hi") == b"hi"
        client.close()
    assert not server.is_serving()
    assert server.sockets == ()


async def test_close_stops_listening_but_leaves_connections_open() -> None:
    loop = running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = await _client(port)
    assert await _echo(client, b"before") == b"before"
    server.close()
    server.close()  # idempotent
    assert await _echo(client, b"after close") == b"after close"
    other = socket.socket()
    other.setblocking(False)
    with pytest.raises(ConnectionRefusedError):
        await loop.sock_connect(other, ("127.0.0.1", port))
    other.close()
    # wait_closed waits for the remaining connection to go.
    waiter = loop.create_task(server.wait_closed())
    await loopcore.sleep(0)
    assert not waiter.done()
    client.close()
    await waiter
    await server.wait_closed()  # already closed: returns at once


async def test_serve_forever_runs_until_cancelled_then_closes() -> None:
    loop = running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0, start_serving=False)
    task = loop.create_task(server.serve_forever())
    await loopcore.sleep(0)
    assert server.is_serving()
    with pytest.raises(RuntimeError, match="already running"):
        await server.serve_forever()
    client = await _client(server.sockets[0].getsockname()[1])
    assert await _echo(client, b"x") == b"x"
    client.close()
    task.cancel()
    with pytest.raises(loopcore.CancelledError):
        await task
    assert not server.is_serving()
    assert server.sockets == ()
    with pytest.raises(RuntimeError, match="closed"):
        await server.serve_forever()


async def test_close_clients_flushes_and_abort_clients_drops() -> None:
    loop = running_loop()
    protos: list[Recorder] = []

    def factory() -> Recorder:
        protos.append(Recorder())
        return protos[-1]

    server = await loop.create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    c1 = await _client(port)
    c2 = await _client(port)
    while len(protos) < 2:
        await loopcore.sleep(0)
    await protos[0].made
    await protos[1].made
    protos[0].transport.write(b"flushed on close")
    server.close_clients()
    assert await protos[0].lost is None
    assert await protos[1].lost is None
    assert await read_until_eof(loop, c1) == b"flushed on close"
    c1.close()
    c2.close()
    c3 = await _client(port)
    while len(protos) < 3:
        await loopcore.sleep(0)
    await protos[2].made
    server.abort_clients()
    assert await protos[2].lost is None
    c3.close()
    server.close()
    await server.wait_closed()
    for p in protos:
        p.assert_rules()


async def test_host_none_binds_every_interface_one_socket_per_family() -> None:
    loop = running_loop()
    server = await loop.create_server(Echo, None, 0)
    families = sorted(s.family for s in server.sockets)
    expected = [socket.AF_INET, socket.AF_INET6] if HAS_IPV6 else [socket.AF_INET]
    assert families == sorted(expected)
    for sock in server.sockets:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        if sock.family == socket.AF_INET6:
            assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
        assert sock.getsockname()[0] in ("0.0.0.0", "::")
    server.close()
    await server.wait_closed()


@requires_ipv6
async def test_list_of_hosts_binds_each() -> None:
    loop = running_loop()
    server = await loop.create_server(Echo, ["127.0.0.1", "::1"], 0)
    hosts = sorted(s.getsockname()[0] for s in server.sockets)
    assert hosts == ["127.0.0.1", "::1"]
    for sock in server.sockets:
        host, port = sock.getsockname()[:2]
        client = await _client(port, host)
        assert await _echo(client, b"each") == b"each"
        client.close()
    server.close()
    await server.wait_closed()


async def test_reuse_port_lets_two_servers_share_a_port() -> None:
    loop = running_loop()
    first = await loop.create_server(Echo, "127.0.0.1", 0, reuse_port=True)
    port = first.sockets[0].getsockname()[1]
    second = await loop.create_server(Echo, "127.0.0.1", port, reuse_port=True)
    assert second.sockets[0].getsockname()[1] == port
    first.close()
    second.close()
    await first.wait_closed()
    await second.wait_closed()


async def test_bind_failure_names_the_address() -> None:
    loop = running_loop()
    first = await loop.create_server(Echo, "127.0.0.1", 0)
    port = first.sockets[0].getsockname()[1]
    with pytest.raises(OSError, match=f"bind on address \\('127.0.0.1', {port}\\)") as info:
        await loop.create_server(Echo, "127.0.0.1", port)
    assert info.value.errno == errno.EADDRINUSE
    first.close()
    await first.wait_closed()


async def test_argument_conflicts_are_clear_errors() -> None:
    loop = running_loop()
    sock = socket.socket()
    try:
        with pytest.raises(ValueError, match="host/port and sock"):
            await loop.create_server(Echo, "127.0.0.1", 0, sock=sock)
        with pytest.raises(ValueError, match="neither host/port nor sock"):
            await loop.create_server(Echo)
        with pytest.raises(TypeError, match="SSLContext"):
            await loop.create_server(Echo, "127.0.0.1", 0, ssl=True)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="ssl_handshake_timeout"):
            await loop.create_server(Echo, "127.0.0.1", 0, ssl_handshake_timeout=1)
    finally:
        sock.close()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(ValueError, match="^A Stream Socket was expected, got"):
            await loop.create_server(Echo, sock=udp)
    finally:
        udp.close()


async def test_server_on_a_given_socket() -> None:
    loop = running_loop()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = await loop.create_server(Echo, sock=sock, backlog=5)
    assert server.sockets == (sock,)
    client = await _client(sock.getsockname()[1])
    assert await _echo(client, b"given") == b"given"
    client.close()
    server.close()
    await server.wait_closed()
    assert sock.fileno() == -1


async def test_protocol_factory_error_is_reported_and_server_goes_on() -> None:
    loop = running_loop()
    contexts: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))
    calls = 0

    def factory() -> Protocol:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("factory failed")
        return Echo()

    server = await loop.create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bad = await _client(port)
    assert await read_until_eof(loop, bad) == b""
    bad.close()
    good = await _client(port)
    assert await _echo(good, b"ok") == b"ok"
    good.close()
    assert isinstance(contexts[0]["exception"], RuntimeError)
    server.close_clients()
    server.close()
    await server.wait_closed()


async def test_emfile_on_accept_pauses_and_recovers_without_spinning() -> None:
    loop = running_loop()
    contexts: list[dict[str, object]] = []
    reported = loop.create_future()

    def handler(_loop: object, ctx: dict[str, object]) -> None:
        contexts.append(ctx)
        if not reported.done():
            reported.set_result(None)

    loop.set_exception_handler(handler)
    connected = loop.create_future()

    class Marks(Echo):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            connected.set_result(transport)

    server = await loop.create_server(Marks, "127.0.0.1", 0)
    server.accept_retry_delay = 0.05
    port = server.sockets[0].getsockname()[1]
    client = socket.socket()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fillers: list[int] = []
    try:
        # Use up every descriptor: the next accept() fails with EMFILE for real.
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 8, hard))
        while True:
            try:
                fillers.append(os.dup(0))
            except OSError as exc:
                assert exc.errno == errno.EMFILE
                break
        # The kernel completes the handshake; only accept() needs an fd.
        client.setblocking(False)
        try:
            client.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        await reported
        # Stay out of descriptors across several retry periods.
        await loopcore.sleep(0.3)
        failures = len(contexts)
        assert 1 <= failures <= 15  # about one per retry, not a busy loop
        assert not connected.done()
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    transport = await connected
    exc = contexts[0]["exception"]
    assert isinstance(exc, OSError) and exc.errno == errno.EMFILE
    assert "out of system resource" in str(contexts[0]["message"])
    transport.close()
    client.close()
    server.close()
    await server.wait_closed()


async def test_keep_alive_reaches_accepted_connections() -> None:
    loop = running_loop()
    accepted = loop.create_future()

    class Mark(Echo):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            accepted.set_result(transport)

    server = await loop.create_server(Mark, "127.0.0.1", 0, keep_alive=True)
    client = await _client(server.sockets[0].getsockname()[1])
    transport = await accepted
    sock = transport.get_extra_info("socket")
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    transport.close()
    client.close()
    server.close()
    await server.wait_closed()


async def test_open_transports_and_servers_are_registered_for_introspection() -> None:
    from loopcore import introspect

    loop = running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0, start_serving=False)
    serving = loop.create_task(server.serve_forever())
    await loopcore.sleep(0)
    client = await _client(server.sockets[0].getsockname()[1])
    try:
        while not server._clients:
            await loopcore.sleep(0)
        kinds = sorted(str(r["kind"]) for r in introspect.open_resources(loop))
        assert kinds == ["server", "socket transport"]
        tree = introspect.task_tree(loop)
        awaiting = [node["awaiting"] for node in tree]
        assert any(
            a["kind"] == "server" and "serving on" in a["description"]  # type: ignore[index]
            for a in awaiting
        ), tree
    finally:
        server.close_clients()
        client.close()
        serving.cancel()
        with pytest.raises(loopcore.CancelledError):
            await serving
    assert introspect.open_resources(loop) == []
