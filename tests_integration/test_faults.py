"""Faults: each ends with ``connection_lost`` called exactly once and resources freed.

Peer reset mid-write and mid-read (an SO_LINGER 0 close sends a real RST),
half-close in both directions, a peer vanishing during a TLS handshake (either
side), TLS peers with an untrusted, expired or wrongly named certificate (refused),
a subprocess killed by a signal while its pipes are full, EMFILE while accepting
(with the fd limit really lowered; the server recovers as fds free up), a protocol
callback that raises (reported; the loop and the other connections carry on), and
``call_soon_threadsafe`` hammered from 8 threads (each callback runs once, in
order per thread).
"""

from __future__ import annotations

import datetime
import errno
import signal
import socket
import ssl
import struct
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trustme
from _reliability import fd_count, nofile_limit, open_transports, settle
from conftest import STRESS

import loopcore
from loopcore import AbstractEventLoop, Future
from looptransports import Protocol, SubprocessProtocol, Transport

LINGER_RESET = struct.pack("ii", 1, 0)


def reset(sock: socket.socket) -> None:
    """Close *sock* with an RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
    sock.close()


class Recorder(Protocol):
    """Records every call; futures for connection made, EOF and connection lost."""

    def __init__(
        self, on_data: Callable[[Recorder, bytes], None] | None = None, keep_open: bool = False
    ) -> None:
        loop = loopcore.get_running_loop()
        self.made: Future[Transport] = loop.create_future()
        self.eof: Future[None] = loop.create_future()
        self.lost_fut: Future[Exception | None] = loop.create_future()
        self.lost: list[Exception | None] = []
        self.data = bytearray()
        self.eofs = 0
        self.on_data = on_data
        self.keep_open_on_eof = keep_open

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        assert not self.made.done(), "connection_made called twice"
        self.transport = transport
        self.made.set_result(transport)

    def data_received(self, data: bytes) -> None:
        assert not self.lost, "data_received after connection_lost"
        self.data += data
        if self.on_data is not None:
            self.on_data(self, data)

    def eof_received(self) -> bool:
        self.eofs += 1
        if not self.eof.done():
            self.eof.set_result(None)
        return self.keep_open_on_eof

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)
        if not self.lost_fut.done():
            self.lost_fut.set_result(exc)


def collect_errors(loop: AbstractEventLoop) -> list[dict[str, object]]:
    """Route the loop's exception handler into a list (the test checks it)."""
    contexts: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: contexts.append(context))
    return contexts


async def wait_fds(target: int, seconds: float = 10) -> None:
    """Wait until this process is back to *target* open fds (closes take a few turns)."""
    async with loopcore.timeout(seconds):
        while fd_count() > target:
            await loopcore.sleep(0.005)


@asynccontextmanager
async def serve(factory: Callable[[], Protocol], **kwds: object) -> AsyncIterator[Any]:
    """A server on 127.0.0.1; on the way out (even after a failure) it is closed and
    every connection it still has is aborted, so a failing test cannot hang."""
    loop = loopcore.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", 0, **kwds)  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.close()
        server.abort_clients()
        async with loopcore.timeout(10):
            await server.wait_closed()


# -- resets and half-closes ------------------------------------------------------------


async def test_peer_reset_mid_write_loses_the_connection_once() -> None:
    fds = fd_count()
    servers: list[Recorder] = []

    def factory() -> Recorder:
        servers.append(Recorder())
        return servers[-1]

    async with serve(factory) as server:
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(server.sockets[0].getsockname())  # type: ignore[attr-defined]
        async with loopcore.timeout(10):
            while not servers:
                await loopcore.sleep(0)
            proto = servers[0]
            transport = await proto.made
        transport.write(b"x" * (8 * 1024 * 1024))  # far more than the socket buffers
        assert transport.get_write_buffer_size() > 0  # mid-write
        reset(client)
        async with loopcore.timeout(10):
            exc = await proto.lost_fut
        await settle()
        assert len(proto.lost) == 1
        assert isinstance(exc, ConnectionError), exc
        assert transport.is_closing()
        assert transport.get_write_buffer_size() == 0
    await wait_fds(fds)
    assert open_transports() == []


async def test_peer_reset_mid_read_loses_the_connection_once() -> None:
    fds = fd_count()
    got_some: Future[None] = loopcore.get_running_loop().create_future()

    def on_data(proto: Recorder, data: bytes) -> None:
        if not got_some.done():
            got_some.set_result(None)

    servers: list[Recorder] = []

    def factory() -> Recorder:
        servers.append(Recorder(on_data))
        return servers[-1]

    async with serve(factory) as server:
        client = socket.create_connection(server.sockets[0].getsockname())  # type: ignore[attr-defined]
        client.sendall(b"half a reque")  # the server waits for the rest
        async with loopcore.timeout(10):
            await got_some
        reset(client)
        proto = servers[0]
        async with loopcore.timeout(10):
            exc = await proto.lost_fut
        await settle()
        assert proto.lost == [exc]
        assert isinstance(exc, ConnectionResetError), exc
        assert proto.eofs == 0
    await wait_fds(fds)


async def test_streams_reader_sees_the_reset_as_an_error() -> None:
    import loopstreams

    fds = fd_count()
    loop = loopcore.get_running_loop()
    outcome: Future[BaseException | bytes] = loop.create_future()

    async def handler(reader: loopstreams.StreamReader, writer: loopstreams.StreamWriter) -> None:
        try:
            outcome.set_result(await reader.readexactly(100))
        except Exception as exc:
            outcome.set_result(exc)
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass

    server = await loopstreams.start_server(handler, "127.0.0.1", 0)
    async with server:
        client = socket.create_connection(server.sockets[0].getsockname())
        client.sendall(b"only ten b")
        await settle(20)
        reset(client)
        async with loopcore.timeout(10):
            result = await outcome
        # Either the RST arrived first, or the ten bytes did and then the reset.
        assert isinstance(result, (ConnectionResetError, loopcore.IncompleteReadError)), result
    await wait_fds(fds)


async def test_half_close_by_the_client_then_the_server_answers() -> None:
    loop = loopcore.get_running_loop()
    fds = fd_count()

    servers: list[Recorder] = []

    def factory() -> Recorder:
        servers.append(Recorder(keep_open=True))
        return servers[-1]

    async with serve(factory) as server:
        address = server.sockets[0].getsockname()  # type: ignore[attr-defined]
        transport, client = await loop.create_connection(Recorder, *address)  # type: ignore[attr-defined]
        transport.write(b"the whole request")
        assert transport.can_write_eof()
        transport.write_eof()
        async with loopcore.timeout(10):
            while not servers:
                await loopcore.sleep(0)
            proto = servers[0]
            await proto.eof
        assert bytes(proto.data) == b"the whole request"
        # The server can still write after the client's EOF, then closes.
        proto.transport.write(b"the answer, " + bytes(proto.data))
        proto.transport.close()
        async with loopcore.timeout(10):
            await client.eof
            # Both directions are shut; the transport stays open (eof_received
            # returned True) until its owner closes it.
            transport.close()
            assert await client.lost_fut is None
            assert await proto.lost_fut is None
        assert bytes(client.data) == b"the answer, the whole request"
        await settle()
        assert client.lost == [None] and proto.lost == [None]
        assert client.eofs == 1 and proto.eofs == 1
    await wait_fds(fds)


async def test_half_close_by_the_server_then_the_client_goes_on_sending() -> None:
    loop = loopcore.get_running_loop()
    fds = fd_count()
    servers: list[Recorder] = []

    def factory() -> Recorder:
        servers.append(Recorder())
        return servers[-1]

    async with serve(factory) as server:
        address = server.sockets[0].getsockname()  # type: ignore[attr-defined]
        transport, client = await loop.create_connection(  # type: ignore[attr-defined]
            lambda: Recorder(keep_open=True), *address
        )
        async with loopcore.timeout(10):
            while not servers:
                await loopcore.sleep(0)
            proto = servers[0]
            await proto.made
        proto.transport.write(b"greeting")
        proto.transport.write_eof()
        async with loopcore.timeout(10):
            await client.eof
        assert bytes(client.data) == b"greeting"
        assert not transport.is_closing()  # eof_received returned True: still open
        transport.write(b"still here" * 1000)
        transport.close()  # after the buffer is flushed
        async with loopcore.timeout(10):
            await proto.eof
            assert await proto.lost_fut is None  # eof_received returned False: it closes
            assert await client.lost_fut is None
        await settle()
        assert bytes(proto.data) == b"still here" * 1000
        assert proto.lost == [None] and client.lost == [None]
    await wait_fds(fds)


# -- TLS -----------------------------------------------------------------------------


def client_hello() -> bytes:
    """The first flight of a real TLS client (a ClientHello), from a MemoryBIO."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


@pytest.mark.parametrize("when", ["before_hello", "mid_hello", "after_hello"])
async def test_client_vanishing_during_the_tls_handshake_frees_the_server_side(
    tls: object, when: str
) -> None:
    loop = loopcore.get_running_loop()
    errors = collect_errors(loop)
    fds = fd_count()
    servers: list[Recorder] = []

    def factory() -> Recorder:
        servers.append(Recorder())
        return servers[-1]

    async with serve(factory, ssl=tls.server) as server:  # type: ignore[attr-defined]
        hello = client_hello()
        for _ in range(5):
            sock = socket.create_connection(server.sockets[0].getsockname())  # type: ignore[attr-defined]
            if when == "mid_hello":
                sock.sendall(hello[: len(hello) // 2])
            elif when == "after_hello":
                sock.sendall(hello)
                sock.setblocking(False)
                async with loopcore.timeout(10):
                    # The server answered: the handshake is under way.
                    assert await loop.sock_recv(sock, 1)  # type: ignore[attr-defined]
            await settle(10)
            reset(sock)
        await wait_fds(fds + 1)  # only the listening socket remains
        await settle()
    # The application never saw a connection: the handshake never completed, so
    # neither connection_made nor connection_lost reached its protocol.
    assert all(not p.made.done() and p.lost == [] for p in servers)
    assert open_transports() == []
    for context in errors:
        assert isinstance(context.get("exception"), (OSError, ssl.SSLError)), context


async def test_server_vanishing_during_the_tls_handshake_fails_the_client(tls: object) -> None:
    loop = loopcore.get_running_loop()
    fds = fd_count()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    made: list[Recorder] = []

    def factory() -> Recorder:
        made.append(Recorder())
        return made[-1]

    async def vanish() -> None:
        conn, _ = await loop.sock_accept(listener)  # type: ignore[attr-defined]
        await loop.sock_recv(conn, 65536)  # type: ignore[attr-defined]  # the ClientHello
        reset(conn)

    peer = loop.create_task(vanish())
    try:
        with pytest.raises((ConnectionError, ssl.SSLError)):
            async with loopcore.timeout(10):
                await loop.create_connection(  # type: ignore[attr-defined]
                    factory,
                    *listener.getsockname(),
                    ssl=tls.client,  # type: ignore[attr-defined]
                    server_hostname="localhost",
                )
        await peer
    finally:
        listener.close()
    assert all(not p.made.done() and p.lost == [] for p in made)
    await wait_fds(fds)
    assert open_transports() == []


def _bad_certificate(kind: str) -> tuple[ssl.SSLContext, ssl.SSLContext, str]:
    """(server context, client context, hostname) for one way of being refused."""
    ca = trustme.CA()
    client = ssl.create_default_context()
    ca.configure_trust(client)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    hostname = "localhost"
    if kind == "untrusted":
        trustme.CA().issue_cert("localhost").configure_cert(server)
    elif kind == "expired":
        now = datetime.datetime.now(datetime.UTC)
        ca.issue_cert(
            "localhost",
            not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1),
        ).configure_cert(server)
    else:  # wrong host name
        ca.issue_cert("localhost").configure_cert(server)
        hostname = "not-this-host.example"
    return server, client, hostname


@pytest.mark.parametrize("kind", ["untrusted", "expired", "wrong_hostname"])
async def test_tls_peer_with_a_bad_certificate_is_refused(kind: str) -> None:
    loop = loopcore.get_running_loop()
    errors = collect_errors(loop)
    fds = fd_count()
    server_ctx, client_ctx, hostname = _bad_certificate(kind)
    servers: list[Recorder] = []
    clients: list[Recorder] = []

    def server_factory() -> Recorder:
        servers.append(Recorder())
        return servers[-1]

    def client_factory() -> Recorder:
        clients.append(Recorder())
        return clients[-1]

    async with serve(server_factory, ssl=server_ctx) as server:
        with pytest.raises(ssl.SSLCertVerificationError) as info:
            async with loopcore.timeout(10):
                await loop.create_connection(  # type: ignore[attr-defined]
                    client_factory,
                    *server.sockets[0].getsockname(),  # type: ignore[attr-defined]
                    ssl=client_ctx,
                    server_hostname=hostname,
                )
        expected = {"untrusted": "certificate", "expired": "expired", "wrong_hostname": "match"}
        assert expected[kind] in str(info.value).lower(), info.value
        await wait_fds(fds + 1)
    # Refused, never accepted: no application protocol was connected (or lost).
    assert all(not p.made.done() and p.lost == [] for p in clients + servers)
    await wait_fds(fds)
    assert open_transports() == []
    for context in errors:
        assert isinstance(context.get("exception"), (OSError, ssl.SSLError)), context


@pytest.mark.parametrize("kind", ["untrusted", "expired"])
async def test_tls_server_requiring_client_certificates_refuses_a_bad_one(kind: str) -> None:
    loop = loopcore.get_running_loop()
    errors = collect_errors(loop)
    fds = fd_count()
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_ctx)
    ca.configure_trust(server_ctx)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    if kind == "untrusted":
        trustme.CA().issue_cert("client@example.org").configure_cert(client_ctx)
    else:
        now = datetime.datetime.now(datetime.UTC)
        ca.issue_cert(
            "client@example.org",
            not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1),
        ).configure_cert(client_ctx)
    servers: list[Recorder] = []

    def server_factory() -> Recorder:
        servers.append(Recorder())
        return servers[-1]

    async with serve(server_factory, ssl=server_ctx) as server:
        try:
            async with loopcore.timeout(10):
                transport, client = await loop.create_connection(  # type: ignore[attr-defined]
                    Recorder,
                    *server.sockets[0].getsockname(),
                    ssl=client_ctx,
                    server_hostname="localhost",
                )
        except (ssl.SSLError, ConnectionError):
            pass  # refused during the client's handshake (TLS 1.2)
        else:
            # TLS 1.3: the client's side of the handshake ends first; the server's
            # refusal then arrives as an alert that fails the connection.
            async with loopcore.timeout(10):
                exc = await client.lost_fut
            assert isinstance(exc, (ssl.SSLError, ConnectionError)), exc
            await settle()
            assert len(client.lost) == 1
            assert client.data == b""
            transport.close()
        await wait_fds(fds + 1)
    assert all(not p.made.done() and p.lost == [] for p in servers)
    await wait_fds(fds)
    for context in errors:
        assert isinstance(context.get("exception"), (OSError, ssl.SSLError)), context


# -- subprocess ----------------------------------------------------------------------


class ChildRecorder(SubprocessProtocol):
    def __init__(self) -> None:
        loop = loopcore.get_running_loop()
        self.exited: Future[None] = loop.create_future()
        self.pipes_lost: dict[int, list[Exception | None]] = {}
        self.received = 0
        self.first_data: Future[None] = loop.create_future()
        self.exits = 0

    def connection_made(self, transport: object) -> None:  # type: ignore[override]
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.received += len(data)
        if not self.first_data.done():
            self.first_data.set_result(None)
            # Stop reading the child's stdout: its pipe fills and it blocks.
            self.transport.get_pipe_transport(1).pause_reading()  # type: ignore[attr-defined]

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.pipes_lost.setdefault(fd, []).append(exc)

    def process_exited(self) -> None:
        self.exits += 1
        if not self.exited.done():
            self.exited.set_result(None)


async def test_subprocess_killed_by_a_signal_while_its_pipes_are_full() -> None:
    loop = loopcore.get_running_loop()
    fds = fd_count()
    # The child floods stdout and never reads stdin; we pause reading its stdout and
    # flood its stdin: both pipes are full when it is killed.
    code = "import sys\nwhile True: sys.stdout.buffer.write(b'y' * 65536)\n"
    transport, proto = await loop.subprocess_exec(  # type: ignore[attr-defined]
        ChildRecorder, sys.executable, "-c", code
    )
    try:
        async with loopcore.timeout(10):
            await proto.first_data
        stdin = transport.get_pipe_transport(0)
        stdin.write(b"z" * (4 * 1024 * 1024))
        await settle(20)
        assert stdin.get_write_buffer_size() > 0  # stdin is full
        assert transport.get_returncode() is None
        transport.send_signal(signal.SIGKILL)
        async with loopcore.timeout(10):
            await proto.exited
            # A paused pipe does not read its EOF: read what the child left.
            transport.get_pipe_transport(1).resume_reading()
            while len(proto.pipes_lost) < 3:
                await loopcore.sleep(0.005)
        await settle()
        assert transport.get_returncode() == -signal.SIGKILL
        assert proto.exits == 1
        assert {fd: len(v) for fd, v in proto.pipes_lost.items()} == {0: 1, 1: 1, 2: 1}
    finally:
        transport.close()
    await settle()
    await wait_fds(fds)


# -- EMFILE while accepting ------------------------------------------------------------


async def test_server_recovers_from_emfile_as_fds_free_up() -> None:
    loop = loopcore.get_running_loop()
    errors = collect_errors(loop)
    clients_count = 12
    served: list[bytes] = []
    all_served: Future[None] = loop.create_future()

    def on_data(proto: Recorder, data: bytes) -> None:
        if proto.data.endswith(b"\n"):
            proto.transport.write(b"pong " + bytes(proto.data))
            proto.transport.close()  # frees the fd for the next accept
            served.append(bytes(proto.data))
            if len(served) == clients_count:
                all_served.set_result(None)

    async with serve(lambda: Recorder(on_data), backlog=64) as server:
        server.accept_retry_delay = 0.02
        address = server.sockets[0].getsockname()  # type: ignore[attr-defined]
        socks = [socket.socket() for _ in range(clients_count)]  # the fds exist already
        try:
            # Room for two accepted connections at a time, for real.
            with nofile_limit(fd_count() + 2):
                for i, sock in enumerate(socks):
                    sock.connect(address)  # completes in the kernel's backlog
                    sock.sendall(b"ping %d\n" % i)
                async with loopcore.timeout(30):
                    await all_served
                for i, sock in enumerate(socks):
                    sock.settimeout(10)
                    answer = b""
                    while chunk := sock.recv(100):
                        answer += chunk
                    assert answer == b"pong ping %d\n" % i
        finally:
            for sock in socks:
                sock.close()
    assert sorted(served) == sorted(b"ping %d\n" % i for i in range(clients_count))
    emfile = [c for c in errors if getattr(c.get("exception"), "errno", None) == errno.EMFILE]
    assert emfile, "accept() never hit EMFILE: the limit was not low enough"
    assert len(emfile) == len(errors), errors
    assert "out of system resource" in str(emfile[0]["message"])


# -- a protocol callback that raises -----------------------------------------------------


async def test_a_raising_protocol_callback_is_reported_and_others_carry_on() -> None:
    loop = loopcore.get_running_loop()
    errors = collect_errors(loop)
    fds = fd_count()

    class Boom(Exception):
        pass

    def echo_or_boom(proto: Recorder, data: bytes) -> None:
        if b"boom" in data:
            raise Boom("data_received failed on purpose")
        proto.transport.write(data)

    servers: list[Recorder] = []

    def factory() -> Recorder:
        servers.append(Recorder(echo_or_boom))
        return servers[-1]

    async with serve(factory) as server:
        address = server.sockets[0].getsockname()  # type: ignore[attr-defined]
        import loopstreams

        good = [await loopstreams.open_connection(*address) for _ in range(5)]
        bad_reader, bad_writer = await loopstreams.open_connection(*address)
        for reader, writer in good:
            writer.write(b"before\n")
            assert await reader.readline() == b"before\n"
        bad_writer.write(b"boom\n")
        async with loopcore.timeout(10):
            assert await bad_reader.read() == b""  # the server closed that one
        for reader, writer in good:
            writer.write(b"after\n")
            assert await reader.readline() == b"after\n"
        # New connections are still accepted and served.
        reader, writer = await loopstreams.open_connection(*address)
        writer.write(b"new\n")
        assert await reader.readline() == b"new\n"
        good.append((reader, writer))
        for _reader, writer in [*good, (bad_reader, bad_writer)]:
            writer.close()
            await writer.wait_closed()
        async with loopcore.timeout(10):
            for proto in servers:
                await proto.lost_fut
        await settle()
    assert all(len(p.lost) == 1 for p in servers)
    assert len(errors) == 1, errors
    assert isinstance(errors[0]["exception"], Boom)
    assert "data_received" in str(errors[0]["message"])
    await wait_fds(fds)


# -- call_soon_threadsafe from 8 threads --------------------------------------------------


async def test_call_soon_threadsafe_from_eight_threads_runs_each_callback_once() -> None:
    loop = loopcore.get_running_loop()
    threads_count = 8
    per_thread = 20_000 if STRESS else 2_000
    total = threads_count * per_thread
    seen: list[list[int]] = [[] for _ in range(threads_count)]
    done: Future[None] = loop.create_future()
    count = 0

    def callback(thread: int, i: int) -> None:
        nonlocal count
        seen[thread].append(i)
        count += 1
        if count == total:
            done.set_result(None)

    start = threading.Barrier(threads_count)

    def hammer(thread: int) -> None:
        start.wait()
        for i in range(per_thread):
            loop.call_soon_threadsafe(callback, thread, i)

    # The loop stays busy with its own work meanwhile.
    busy_stop = False

    async def busy() -> int:
        turns = 0
        while not busy_stop:
            turns += 1
            await loopcore.sleep(0)
        return turns

    busy_task = loop.create_task(busy())
    threads = [threading.Thread(target=hammer, args=(t,)) for t in range(threads_count)]
    for thread in threads:
        thread.start()
    try:
        async with loopcore.timeout(60):
            await done
    finally:
        busy_stop = True
        for thread in threads:
            thread.join(30)
    turns = await busy_task
    await settle()
    assert count == total
    for thread in range(threads_count):
        assert seen[thread] == list(range(per_thread))  # once each, in order
    assert turns > 0
