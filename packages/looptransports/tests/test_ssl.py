"""TLS (MemoryBIO SSLProtocol) over real TCP and Unix sockets, certificates from trustme."""

from __future__ import annotations

import array
import hashlib
import os
import socket
import ssl
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme

import loopcore
from looptransports import BaseProtocol, BufferedProtocol, Protocol, SelectorEventLoop, Transport
from looptransports._ssl import _TRANSITIONS, SSLProtocol, State

# -- certificates -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture(scope="module")
def untrusting_client_ctx() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    trustme.CA().configure_trust(ctx)  # some other CA: our server is not trusted
    return ctx


@pytest.fixture
def unix_path() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield os.path.join(tmp, "tls.sock")


# -- helpers ------------------------------------------------------------------------------


def running_loop() -> SelectorEventLoop:
    loop = loopcore.get_running_loop()
    assert isinstance(loop, SelectorEventLoop)
    return loop


def expect_server_handshake_reports(loop: SelectorEventLoop) -> list[dict[str, object]]:
    """In debug mode the server reports failed handshakes of accepted clients to the
    exception handler; collect those (only those) instead of failing the test."""
    seen: list[dict[str, object]] = []

    def handler(_loop: object, ctx: dict[str, object]) -> None:
        assert "handshake" in str(ctx.get("message")), ctx
        seen.append(ctx)

    loop.set_exception_handler(handler)
    return seen


class Peer(Protocol):
    """Records callbacks, checks their order, and offers futures to wait on."""

    def __init__(self, eof_result: object = None) -> None:
        self.loop = running_loop()
        self.events: list[str] = []
        self.data = bytearray()
        self.transport: Any = None
        self.eof_result = eof_result
        self.made = self.loop.create_future()
        self.lost = self.loop.create_future()
        self._want = 0
        self._data_waiter: loopcore.Future[object] | None = None

    def connection_made(self, transport: Any) -> None:
        assert self.events == [], self.events
        self.events.append("made")
        self.transport = transport
        self.made.set_result(transport)

    def data_received(self, data: bytes) -> None:
        assert self.events[0] == "made" and "eof" not in self.events and "lost" not in self.events
        self.events.append("data")
        self.data += data
        self._check_data()

    def eof_received(self) -> object:
        assert "eof" not in self.events and "lost" not in self.events
        self.events.append("eof")
        return self.eof_result

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")

    def connection_lost(self, exc: Exception | None) -> None:
        assert self.events[0] == "made" and "lost" not in self.events
        self.events.append("lost")
        self.lost.set_result(exc)
        self._check_data()

    def _check_data(self) -> None:
        w = self._data_waiter
        if w is not None and not w.done() and (len(self.data) >= self._want or self.lost.done()):
            w.set_result(None)

    async def wait_data(self, nbytes: int) -> bytes:
        if len(self.data) < nbytes and not self.lost.done():
            self._want = nbytes
            self._data_waiter = self.loop.create_future()
            await self._data_waiter
            self._data_waiter = None
        return bytes(self.data)


class Echo(Peer):
    """Echoes everything, with flow control: stops reading while its writes are paused."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.transport.write(data)

    def pause_writing(self) -> None:
        super().pause_writing()
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        self.transport.resume_reading()


class Accepting:
    """A protocol factory that hands each server-side protocol to a future."""

    def __init__(self, factory: Callable[[], Peer] = Peer) -> None:
        self.factory = factory
        self.protocols: list[Peer] = []
        self.first = running_loop().create_future()

    def __call__(self) -> Peer:
        proto = self.factory()
        self.protocols.append(proto)
        if not self.first.done():
            self.first.set_result(proto)
        return proto


async def tls_pair(
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
    client_factory: Callable[[], Any] = Peer,
    server_factory: Callable[[], Peer] = Peer,
    **client_kwargs: Any,
) -> tuple[Any, Any, Peer]:
    """A TLS connection over 127.0.0.1: (client transport, client protocol, server protocol)."""
    loop = running_loop()
    accepting = Accepting(server_factory)
    server = await loop.create_server(accepting, "127.0.0.1", 0, ssl=server_ctx)
    try:
        port = server.sockets[0].getsockname()[1]
        client_kwargs.setdefault("server_hostname", "localhost")
        transport, proto = await loop.create_connection(
            client_factory, "127.0.0.1", port, ssl=client_ctx, **client_kwargs
        )
        server_proto = await accepting.first
        await server_proto.made
    finally:
        server.close()
    return transport, proto, server_proto


# -- the state table ----------------------------------------------------------------------


def test_state_table_names_every_state_and_only_unwrapped_starts_a_handshake() -> None:
    assert set(_TRANSITIONS) == set(State)
    assert [s for s, targets in _TRANSITIONS.items() if State.DO_HANDSHAKE in targets] == [
        State.UNWRAPPED
    ]
    for state in State:
        if state is not State.UNWRAPPED:
            assert State.UNWRAPPED in _TRANSITIONS[state]


def test_sslprotocol_refuses_a_non_context_and_bad_timeouts(client_ctx: ssl.SSLContext) -> None:
    loop = SelectorEventLoop()
    try:
        with pytest.raises(TypeError, match="SSLContext"):
            SSLProtocol(loop, Peer.__new__(Peer), object(), None)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="ssl_handshake_timeout"):
            SSLProtocol(loop, Protocol(), client_ctx, None, ssl_handshake_timeout=0)
        with pytest.raises(ValueError, match="ssl_shutdown_timeout"):
            SSLProtocol(loop, Protocol(), client_ctx, None, ssl_shutdown_timeout=-1)
        with pytest.raises(ValueError, match="server_hostname"):
            SSLProtocol(loop, Protocol(), client_ctx, None, server_side=True, server_hostname="x")
    finally:
        loop.close()


# -- connections --------------------------------------------------------------------------


async def test_tls_echo_over_tcp_round_trips_and_closes_cleanly(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    transport, proto, server_proto = await tls_pair(server_ctx, client_ctx, server_factory=Echo)
    transport.write(b"hello ")
    transport.writelines([b"over ", memoryview(b"TLS")])
    assert await proto.wait_data(14) == b"hello over TLS"
    # A memoryview of 4-byte items is written byte for byte.
    words = memoryview(array.array("i", [1, 2, 3]))
    transport.write(words)
    assert transport.get_write_buffer_size() >= 0  # sizes are counted in bytes
    assert await proto.wait_data(14 + 12) == b"hello over TLS" + words.tobytes()
    transport.close()
    assert transport.is_closing()
    assert await proto.lost is None
    assert await server_proto.lost is None
    # The server saw the client's close_notify as an end of stream.
    assert server_proto.events[-2:] == ["eof", "lost"]
    assert proto.events[0] == "made" and proto.events[-1] == "lost"


async def test_tls_echo_over_unix_socket(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, unix_path: str
) -> None:
    loop = running_loop()
    accepting = Accepting(Echo)
    server = await loop.create_unix_server(accepting, unix_path, ssl=server_ctx)
    try:
        transport, proto = await loop.create_unix_connection(
            Peer, unix_path, ssl=client_ctx, server_hostname="localhost"
        )
        server_proto = await accepting.first
    finally:
        server.close()
    transport.write(b"unix and tls")
    assert await proto.wait_data(12) == b"unix and tls"
    assert transport.get_extra_info("ssl_object") is not None
    transport.close()
    assert await proto.lost is None
    assert await server_proto.lost is None
    await server.wait_closed()


async def test_tls_get_extra_info_has_tls_keys_and_the_socket_keys(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    transport, proto, server_proto = await tls_pair(server_ctx, client_ctx)
    peercert = transport.get_extra_info("peercert")
    assert ("DNS", "localhost") in peercert["subjectAltName"]
    cipher = transport.get_extra_info("cipher")
    assert isinstance(cipher, tuple) and len(cipher) == 3
    assert transport.get_extra_info("compression") is None
    assert transport.get_extra_info("sslcontext") is client_ctx
    ssl_object = transport.get_extra_info("ssl_object")
    assert isinstance(ssl_object, ssl.SSLObject)
    assert ssl_object.server_hostname == "localhost"
    # The underlying socket transport's keys show through.
    sock = transport.get_extra_info("socket")
    assert transport.get_extra_info("peername") == sock.getpeername()
    assert transport.get_extra_info("sockname") == sock.getsockname()
    assert transport.get_extra_info("no such key", 42) == 42
    # Server side: its own context, no client certificate asked for.
    assert server_proto.transport.get_extra_info("sslcontext") is server_ctx
    assert server_proto.transport.get_extra_info("ssl_object").server_side
    assert not server_proto.transport.get_extra_info("peercert")
    assert transport.can_write_eof() is False
    with pytest.raises(NotImplementedError, match="write_eof"):
        transport.write_eof()
    transport.close()
    await proto.lost
    await server_proto.lost


async def test_tls_untrusted_certificate_fails_with_cert_verification_error_and_closes(
    server_ctx: ssl.SSLContext, untrusting_client_ctx: ssl.SSLContext
) -> None:
    loop = running_loop()
    expect_server_handshake_reports(loop)
    accepting = Accepting()
    server = await loop.create_server(accepting, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        await loop.create_connection(
            Peer, "127.0.0.1", port, ssl=untrusting_client_ctx, server_hostname="localhost"
        )
    # The server side ends too (it got our alert): wait_closed waits for its
    # connection to be gone. Its application protocol never saw a connection.
    server.close()
    await server.wait_closed()
    assert all(p.events == [] for p in accepting.protocols)


async def test_tls_wrong_host_name_fails_with_cert_verification_error(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    loop = running_loop()
    expect_server_handshake_reports(loop)
    server = await loop.create_server(Accepting(), "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(ssl.SSLCertVerificationError, match="(?i)hostname mismatch"):
        await loop.create_connection(
            Peer, "127.0.0.1", port, ssl=client_ctx, server_hostname="not-this-host.example"
        )
    server.close()
    await server.wait_closed()


async def test_tls_empty_server_hostname_skips_host_name_matching_only(
    server_ctx: ssl.SSLContext, ca: trustme.CA
) -> None:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    transport, proto, server_proto = await tls_pair(server_ctx, ctx, server_hostname="")
    assert transport.get_extra_info("peercert")  # the certificate was still verified
    transport.close()
    await proto.lost
    await server_proto.lost


async def test_tls_client_handshake_timeout_aborts_with_connection_aborted_error(
    client_ctx: ssl.SSLContext,
) -> None:
    loop = running_loop()
    accepting = Accepting()  # a plain TCP server that never speaks TLS
    server = await loop.create_server(accepting, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = loop.time()
    with pytest.raises(ConnectionAbortedError, match="ssl_handshake_timeout"):
        await loop.create_connection(
            Peer,
            "127.0.0.1",
            port,
            ssl=client_ctx,
            server_hostname="localhost",
            ssl_handshake_timeout=0.2,
        )
    assert loop.time() - started < 10
    silent = await accepting.first
    assert await silent.lost is None  # the aborted client went away
    server.close()
    await server.wait_closed()


async def test_tls_server_handshake_timeout_closes_a_silent_client(
    server_ctx: ssl.SSLContext,
) -> None:
    loop = running_loop()
    expect_server_handshake_reports(loop)
    accepting = Accepting()
    server = await loop.create_server(
        accepting, "127.0.0.1", 0, ssl=server_ctx, ssl_handshake_timeout=0.2
    )
    port = server.sockets[0].getsockname()[1]
    # A plain client that connects and never sends a ClientHello.
    transport, proto = await loop.create_connection(Peer, "127.0.0.1", port)
    await proto.lost  # the server gave up and closed the connection
    assert accepting.protocols and accepting.protocols[0].events == []
    server.close()
    await server.wait_closed()


async def test_tls_peer_sending_garbage_ends_the_handshake_with_an_ssl_error(
    client_ctx: ssl.SSLContext,
) -> None:
    loop = running_loop()

    class Garbage(Peer):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\n" * 20)

    accepting = Accepting(Garbage)
    server = await loop.create_server(accepting, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(ssl.SSLError):
        await loop.create_connection(
            Peer, "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
        )
    await (await accepting.first).lost
    server.close()
    await server.wait_closed()


async def test_tls_server_receiving_garbage_closes_the_connection(
    server_ctx: ssl.SSLContext,
) -> None:
    loop = running_loop()
    expect_server_handshake_reports(loop)
    accepting = Accepting()
    server = await loop.create_server(accepting, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    transport, proto = await loop.create_connection(Peer, "127.0.0.1", port)
    transport.write(os.urandom(64) + b"\x16\x03\x01\xff\xff" + b"\0" * 300)
    await proto.lost  # never a hang: the server's TLS layer closed on the bad record
    assert accepting.protocols[0].events == []
    server.close()
    await server.wait_closed()


async def test_tls_close_sends_close_notify_and_peer_eof_received_result_is_ignored(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    # A server protocol asking to stay half-open (eof_received -> True) is closed
    # anyway: TLS has no half-close.
    transport, proto, server_proto = await tls_pair(
        server_ctx, client_ctx, server_factory=lambda: Peer(eof_result=True)
    )
    transport.write(b"last words")
    transport.close()
    transport.write(b"dropped: written after close")
    assert await server_proto.lost is None
    assert bytes(server_proto.data) == b"last words"
    assert server_proto.events[-2:] == ["eof", "lost"]
    assert await proto.lost is None


async def test_tls_server_close_reaches_client_as_eof_then_connection_lost(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    transport, proto, server_proto = await tls_pair(server_ctx, client_ctx)
    server_proto.transport.write(b"bye")
    server_proto.transport.close()
    assert await proto.lost is None
    assert bytes(proto.data) == b"bye"
    assert proto.events[-2:] == ["eof", "lost"]
    assert transport.is_closing()
    assert await server_proto.lost is None


async def test_tls_peer_closing_tcp_without_close_notify_is_an_ordinary_eof(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    transport, proto, server_proto = await tls_pair(server_ctx, client_ctx)
    server_proto.transport.write(b"partial")
    # Close the raw socket under the TLS layer: a "ragged" end of stream.
    raw = server_proto.transport.get_extra_info("socket")
    assert await proto.wait_data(7) == b"partial"
    raw.shutdown(socket.SHUT_WR)
    assert await proto.lost is None
    assert proto.events[-2:] == ["eof", "lost"]
    server_proto.transport.abort()
    await server_proto.lost


async def test_tls_shutdown_timeout_aborts_when_the_peer_never_answers_close_notify(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    transport, proto, server_proto = await tls_pair(
        server_ctx, client_ctx, ssl_shutdown_timeout=0.2
    )
    # The server stops reading: it never sees our close_notify, never answers.
    server_proto.transport.pause_reading()
    transport.close()
    exc = await proto.lost
    assert isinstance(exc, TimeoutError)
    assert "ssl_shutdown_timeout" in str(exc)
    server_proto.transport.abort()
    await server_proto.lost


async def test_tls_abort_drops_everything_and_calls_connection_lost_none(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    transport, proto, server_proto = await tls_pair(server_ctx, client_ctx)
    transport.write(b"x" * 100_000)
    transport.abort()
    assert transport.is_closing()
    assert await proto.lost is None
    await server_proto.lost  # the server sees the connection end (EOF or reset)
    assert proto.events.count("lost") == 1


async def test_tls_large_transfer_both_directions_with_flow_control(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    loop = running_loop()

    class Sender(Peer):
        """Writes *total* bytes, only while not paused."""

        def __init__(self) -> None:
            super().__init__()
            self.sent = 0
            self.paused = False
            self.hasher = hashlib.sha256()

        def pump(self, total: int) -> None:
            chunk = bytes(range(256)) * 256  # 64 KiB
            while not self.paused and self.sent < total:
                self.transport.write(chunk)
                self.hasher.update(chunk)
                self.sent += len(chunk)

        def pause_writing(self) -> None:
            super().pause_writing()
            self.paused = True

        def resume_writing(self) -> None:
            super().resume_writing()
            self.paused = False
            loop.call_soon(self.pump, total)

    total = 16 * 1024 * 1024
    transport, proto, server_proto = await tls_pair(
        server_ctx, client_ctx, client_factory=Sender, server_factory=Echo
    )
    transport.set_write_buffer_limits(high=128 * 1024)
    assert transport.get_write_buffer_limits() == (32 * 1024, 128 * 1024)
    proto.pump(total)
    assert proto.paused  # the writer was stopped by flow control
    echoed = await proto.wait_data(total)
    assert len(echoed) == total
    assert hashlib.sha256(echoed).digest() == proto.hasher.digest()
    assert "pause" in proto.events and "resume" in proto.events
    # Pauses and resumes alternate, starting with a pause.
    flow = [e for e in proto.events if e in ("pause", "resume")]
    assert flow[0] == "pause"
    assert all(a != b for a, b in zip(flow, flow[1:], strict=False))
    assert transport.get_write_buffer_size() == 0
    transport.close()
    await proto.lost
    await server_proto.lost


async def test_tls_pause_reading_stops_delivery_and_the_socket_until_resume(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    transport, proto, server_proto = await tls_pair(server_ctx, client_ctx)
    witness_t, witness, witness_server = await tls_pair(server_ctx, client_ctx)
    transport.pause_reading()
    assert not transport.is_reading()
    ssl_protocol = transport._ssl_protocol
    assert not ssl_protocol._transport.is_reading()  # the socket stopped reading too
    server_proto.transport.write(b"held back")
    witness_server.transport.write(b"w")
    await witness.wait_data(1)
    assert proto.data == b""
    transport.resume_reading()
    assert transport.is_reading()
    assert await proto.wait_data(9) == b"held back"
    for t, p, s in ((transport, proto, server_proto), (witness_t, witness, witness_server)):
        t.close()
        await p.lost
        await s.lost


async def test_tls_buffered_protocol_receives_into_its_own_buffer(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    loop = running_loop()

    class Buffered(BufferedProtocol):
        def __init__(self) -> None:
            self.buf = bytearray(1000)
            self.received = bytearray()
            self.lost = loop.create_future()
            self.sizes: list[int] = []

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def get_buffer(self, sizehint: int) -> bytearray:
            return self.buf

        def buffer_updated(self, nbytes: int) -> None:
            self.sizes.append(nbytes)
            self.received += self.buf[:nbytes]

        def connection_lost(self, exc: Exception | None) -> None:
            self.lost.set_result(exc)

    payload = os.urandom(50_000)
    transport, proto, server_proto = await tls_pair(server_ctx, client_ctx, client_factory=Buffered)
    server_proto.transport.write(payload)
    server_proto.transport.close()
    assert await proto.lost is None
    assert bytes(proto.received) == payload
    assert max(proto.sizes) <= 1000
    await server_proto.lost
    transport.close()


async def test_tls_protocol_error_in_data_received_is_reported_and_closes(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    loop = running_loop()
    seen: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, ctx: seen.append(ctx))

    class Broken(Peer):
        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            raise ZeroDivisionError("bug in the protocol")

    transport, proto, server_proto = await tls_pair(server_ctx, client_ctx, client_factory=Broken)
    server_proto.transport.write(b"boom")
    exc = await proto.lost
    assert isinstance(exc, ZeroDivisionError)
    assert [type(c["exception"]) for c in seen] == [ZeroDivisionError]
    await server_proto.lost


async def test_start_tls_upgrades_a_live_plain_connection(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    loop = running_loop()
    upgraded: loopcore.Future[Any] = loop.create_future()

    class StartTLSServer(Peer):
        """Speaks plain text until STARTTLS, then TLS."""

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if bytes(self.data) == b"STARTTLS\n":
                self.data.clear()
                self.transport.write(b"OK\n")
                task = loop.create_task(
                    loop.start_tls(self.transport, self, server_ctx, server_side=True)
                )
                task.add_done_callback(lambda t: upgraded.set_result(t.result()))
            elif upgraded.done():
                upgraded.result().write(b"echo:" + bytes(self.data))
                self.data.clear()

    accepting = Accepting(StartTLSServer)
    server = await loop.create_server(accepting, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    plain, proto = await loop.create_connection(Peer, "127.0.0.1", port)
    server.close()
    assert plain.get_extra_info("ssl_object") is None
    plain.write(b"STARTTLS\n")
    assert await proto.wait_data(3) == b"OK\n"
    proto.data.clear()
    tls = await loop.start_tls(plain, proto, client_ctx, server_hostname="localhost")
    server_tls = await upgraded
    assert isinstance(tls.get_extra_info("ssl_object"), ssl.SSLObject)
    assert server_tls.get_extra_info("ssl_object").server_side
    assert tls.get_extra_info("peercert")["subjectAltName"] == (
        ("DNS", "localhost"),
        ("IP Address", "127.0.0.1"),
    )
    tls.write(b"secret")
    assert await proto.wait_data(11) == b"echo:secret"
    assert proto.events.count("made") == 1  # no second connection_made
    tls.close()
    assert await proto.lost is None
    server_proto = await accepting.first
    assert await server_proto.lost is None
    await server.wait_closed()


async def test_start_tls_handshake_failure_raises_and_closes_the_connection(
    server_ctx: ssl.SSLContext, untrusting_client_ctx: ssl.SSLContext
) -> None:
    loop = running_loop()
    expect_server_handshake_reports(loop)

    class Upgrader(Peer):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self.task = loop.create_task(
                loop.start_tls(transport, self, server_ctx, server_side=True)
            )

    accepting = Accepting(Upgrader)
    server = await loop.create_server(accepting, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    plain, proto = await loop.create_connection(Peer, "127.0.0.1", port)
    server.close()
    with pytest.raises(ssl.SSLCertVerificationError):
        await loop.start_tls(plain, proto, untrusting_client_ctx, server_hostname="localhost")
    # The application protocol was connected (plain) before: it gets its
    # connection_lost, with the handshake error.
    assert isinstance(await proto.lost, ssl.SSLCertVerificationError)
    server_proto = await accepting.first
    with pytest.raises(ssl.SSLError):
        await server_proto.task
    await server_proto.lost
    await server.wait_closed()


async def test_start_tls_refuses_a_non_context_and_a_closing_transport(
    client_ctx: ssl.SSLContext,
) -> None:
    loop = running_loop()
    server = await loop.create_server(Accepting(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    plain, proto = await loop.create_connection(Peer, "127.0.0.1", port)
    server.close()
    with pytest.raises(TypeError, match="SSLContext"):
        await loop.start_tls(plain, proto, object())  # type: ignore[arg-type]
    plain.close()
    with pytest.raises(RuntimeError, match="closing"):
        await loop.start_tls(plain, proto, client_ctx, server_hostname="localhost")
    await proto.lost
    await server.wait_closed()


async def test_tls_close_while_reading_is_paused_still_completes_the_shutdown(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    transport, proto, server_proto = await tls_pair(server_ctx, client_ctx, ssl_shutdown_timeout=30)
    transport.pause_reading()
    server_proto.transport.write(b"unread")
    transport.close()  # the peer's close_notify must be read all the same
    assert await proto.lost is None
    assert proto.data == b""  # nothing delivered after close()
    assert await server_proto.lost is None


async def test_tls_abort_from_data_received_stops_delivery_at_once(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    class AbortOnFirst(Peer):
        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self.transport.abort()

    transport, proto, server_proto = await tls_pair(
        server_ctx, client_ctx, client_factory=AbortOnFirst
    )
    # 2 MiB cannot arrive in one data_received call (at most 256 KiB each).
    server_proto.transport.write(b"d" * (2 * 1024 * 1024))
    assert await proto.lost is None
    assert proto.events == ["made", "data", "lost"]
    assert 0 < len(proto.data) <= 256 * 1024
    await server_proto.lost


async def test_tls_cancelling_create_connection_during_the_handshake_closes_the_socket(
    client_ctx: ssl.SSLContext,
) -> None:
    loop = running_loop()
    accepting = Accepting()  # plain TCP: the handshake never finishes
    server = await loop.create_server(accepting, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    task = loop.create_task(
        loop.create_connection(Peer, "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost")
    )
    silent = await accepting.first
    await silent.made
    task.cancel()
    with pytest.raises(loopcore.CancelledError):
        await task
    assert await silent.lost is None  # the client's socket was closed
    server.close()
    await server.wait_closed()


async def test_tls_server_sees_the_client_certificate_when_it_asks_for_one(
    ca: trustme.CA, client_ctx: ssl.SSLContext
) -> None:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(server_ctx)
    mtls_client_ctx = ssl.create_default_context()
    ca.configure_trust(mtls_client_ctx)
    ca.issue_cert("client.example").configure_cert(mtls_client_ctx)
    transport, proto, server_proto = await tls_pair(server_ctx, mtls_client_ctx)
    peercert = server_proto.transport.get_extra_info("peercert")
    assert ("DNS", "client.example") in peercert["subjectAltName"]
    transport.close()
    await proto.lost
    await server_proto.lost


async def test_tls_set_protocol_sends_the_following_callbacks_to_the_new_protocol(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    transport, proto, server_proto = await tls_pair(server_ctx, client_ctx)
    successor = Peer()
    successor.events.append("made")  # it takes over a live connection
    transport.set_protocol(successor)
    assert transport.get_protocol() is successor
    server_proto.transport.write(b"for the successor")
    assert await successor.wait_data(17) == b"for the successor"
    assert proto.data == b""
    transport.close()
    assert await successor.lost is None
    assert not proto.lost.done()
    await server_proto.lost


async def test_tls_server_with_a_client_side_context_fails_each_handshake_cleanly(
    client_ctx: ssl.SSLContext,
) -> None:
    loop = running_loop()
    reports = expect_server_handshake_reports(loop)
    accepting = Accepting()
    # A PROTOCOL_TLS_CLIENT context cannot play the server: wrap_bio refuses it
    # (an SSLError), and the connection is closed.
    server = await loop.create_server(accepting, "127.0.0.1", 0, ssl=client_ctx)
    port = server.sockets[0].getsockname()[1]
    with pytest.raises((ConnectionError, ssl.SSLError)):
        await loop.create_connection(
            Peer, "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
        )
    server.close()
    await server.wait_closed()
    assert all(p.events == [] for p in accepting.protocols)
    assert all("PROTOCOL_TLS_CLIENT" in str(c["exception"]) for c in reports), reports


async def test_tls_garbage_after_the_handshake_ends_in_connection_lost_with_an_ssl_error(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    transport, proto, server_proto = await tls_pair(server_ctx, client_ctx)
    # Bytes written to the raw socket, behind the server's TLS layer: not a record.
    raw = server_proto.transport.get_extra_info("socket")
    raw.send(b"\x17\x03\x03\x00\x20" + b"not encrypted at all, not by far")
    exc = await proto.lost
    assert isinstance(exc, ssl.SSLError)
    assert transport.is_closing()
    server_proto.transport.abort()
    await server_proto.lost


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6(), reason="IPv6 loopback (::1) is not available")
async def test_tls_echo_over_ipv6_loopback(ca: trustme.CA, client_ctx: ssl.SSLContext) -> None:
    loop = running_loop()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("::1").configure_cert(server_ctx)
    accepting = Accepting(Echo)
    server = await loop.create_server(accepting, "::1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    transport, proto = await loop.create_connection(Peer, "::1", port, ssl=client_ctx)
    server.close()
    assert transport.get_extra_info("peername")[0] == "::1"
    transport.write(b"six")
    assert await proto.wait_data(3) == b"six"
    transport.close()
    assert await proto.lost is None
    assert await (await accepting.first).lost is None
    await server.wait_closed()


async def test_tls_reads_reuse_one_buffer_and_hand_the_app_independent_bytes(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    class Chunks(Peer):
        def __init__(self) -> None:
            super().__init__()
            self.chunks: list[bytes] = []

        def data_received(self, data: bytes) -> None:
            self.chunks.append(data)
            super().data_received(data)

    payload = os.urandom(1024 * 1024)
    transport, proto, server_proto = await tls_pair(server_ctx, client_ctx, server_factory=Chunks)
    ssl_proto = server_proto.transport._ssl_protocol
    assert isinstance(ssl_proto, SSLProtocol) and isinstance(ssl_proto, BufferedProtocol)
    # The handshake was already received through the connection's one buffer.
    buffer = ssl_proto.get_buffer(-1)
    assert len(buffer) == 256 * 1024 and ssl_proto.get_buffer(-1) is buffer
    transport.write(payload)
    assert await server_proto.wait_data(len(payload)) == payload
    assert ssl_proto.get_buffer(-1) is buffer  # never replaced by a fresh one
    assert isinstance(server_proto, Chunks) and len(server_proto.chunks) > 1
    # Each chunk is a bytes copy of its own: later reads into the shared buffer
    # did not change what the application already got.
    assert all(type(chunk) is bytes and len(chunk) <= 256 * 1024 for chunk in server_proto.chunks)
    assert b"".join(server_proto.chunks) == payload
    transport.close()
    assert await proto.lost is None
    await server_proto.lost


async def test_sslprotocol_also_takes_ciphertext_through_data_received(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    loop = running_loop()

    class Forwarder(Protocol):
        """A plain protocol that passes everything on: the TLS layer sees only
        data_received, as behind a transport without buffered reads."""

        def __init__(self, target: SSLProtocol) -> None:
            self.target = target

        def connection_made(self, transport: Any) -> None:
            self.target.connection_made(transport)

        def data_received(self, data: bytes) -> None:
            self.target.data_received(data)

        def eof_received(self) -> bool:
            return self.target.eof_received()

        def connection_lost(self, exc: Exception | None) -> None:
            self.target.connection_lost(exc)

    accepting = Accepting(Echo)
    server = await loop.create_server(accepting, "127.0.0.1", 0, ssl=server_ctx)
    try:
        port = server.sockets[0].getsockname()[1]
        app = Peer()
        waiter: loopcore.Future[object] = loop.create_future()
        ssl_proto = SSLProtocol(loop, app, client_ctx, waiter, server_hostname="localhost")
        await loop.create_connection(lambda: Forwarder(ssl_proto), "127.0.0.1", port)
        await waiter
        payload = os.urandom(300_000)
        app.transport.write(payload)
        assert await app.wait_data(len(payload)) == payload
        app.transport.close()
        assert await app.lost is None
        server_proto = await accepting.first
        assert await server_proto.lost is None
    finally:
        server.close()


# -- records decrypted in one go (an in-memory peer, so that what arrives together is known) --


class _Wire(Transport):
    """The underlying transport of an SSLProtocol under test: keeps what it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = bytearray()
        self.closed = False

    def write(self, data: Any) -> None:
        self.sent += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


class _Batches(BufferedProtocol):
    """A BufferedProtocol app with a buffer larger than any message of the tests."""

    def __init__(self) -> None:
        self.buf = bytearray(256 * 1024)
        self.batches: list[bytes] = []
        self.events: list[str] = []

    def connection_made(self, transport: Any) -> None:
        self.events.append("made")

    def get_buffer(self, sizehint: int) -> bytearray:
        return self.buf

    def buffer_updated(self, nbytes: int) -> None:
        self.batches.append(bytes(self.buf[:nbytes]))

    def eof_received(self) -> None:
        self.events.append("eof")

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("lost")


class _Chunks(Protocol):
    """A plain Protocol app recording each data_received call."""

    def __init__(self) -> None:
        self.batches: list[bytes] = []
        self.events: list[str] = []

    def connection_made(self, transport: Any) -> None:
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.batches.append(data)

    def eof_received(self) -> None:
        self.events.append("eof")

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("lost")


async def _memory_tls_server(
    app: BaseProtocol, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> tuple[SSLProtocol, _Wire, ssl.SSLObject, ssl.MemoryBIO]:
    """An SSLProtocol serving *app*, its handshake done with an in-memory client:
    (the protocol, its wire, the client's SSLObject, the client's outgoing BIO)."""
    loop = running_loop()
    waiter: loopcore.Future[object] = loop.create_future()
    ssl_proto = SSLProtocol(loop, app, server_ctx, waiter, server_side=True)
    wire = _Wire()
    ssl_proto.connection_made(wire)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    for _ in range(10):
        try:
            client.do_handshake()
        except ssl.SSLWantReadError:
            pass
        ssl_proto.data_received(outgoing.read())
        incoming.write(bytes(wire.sent))
        wire.sent.clear()
        if waiter.done():
            break
    assert waiter.done() and waiter.result() is None
    return ssl_proto, wire, client, outgoing


@pytest.mark.parametrize("app_class", [_Batches, _Chunks])
async def test_tls_records_that_arrive_together_reach_the_app_in_one_call(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, app_class: type[Any]
) -> None:
    app = app_class()
    ssl_proto, wire, client, outgoing = await _memory_tls_server(app, server_ctx, client_ctx)
    # 100 KB is seven TLS records; they arrive in one read of the socket.
    payload = os.urandom(100_000)
    client.write(payload)
    ssl_proto.data_received(outgoing.read())
    assert app.batches == [payload]
    # Records arriving one by one are delivered one by one, none held back.
    app.batches.clear()
    for message in (b"one", b"two", b"three"):
        client.write(message)
        ssl_proto.data_received(outgoing.read())
        assert app.batches[-1] == message
    assert len(app.batches) == 3
    # Half a record delivers nothing until the rest of it is there.
    client.write(b"split record")
    record = outgoing.read()
    ssl_proto.data_received(record[:10])
    assert len(app.batches) == 3
    ssl_proto.data_received(record[10:])
    assert app.batches[-1] == b"split record"
    # Data and the peer's close_notify in one read: the data, then the end.
    client.write(b"last words")
    try:
        client.unwrap()
    except ssl.SSLWantReadError:
        pass
    ssl_proto.data_received(outgoing.read())
    assert app.batches[-1] == b"last words"
    assert app.events == ["made", "eof"]
    assert wire.closed
    ssl_proto.connection_lost(None)
    assert app.events == ["made", "eof", "lost"]


async def test_tls_data_then_end_of_file_without_close_notify_delivers_the_data_then_eof(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    app = _Batches()
    ssl_proto, wire, client, outgoing = await _memory_tls_server(app, server_ctx, client_ctx)
    client.write(b"before the end")
    ssl_proto.data_received(outgoing.read())
    assert app.batches == [b"before the end"]
    client.write(b"cut short")
    ssl_proto.data_received(outgoing.read())
    ssl_proto.eof_received()
    assert app.batches == [b"before the end", b"cut short"]
    assert app.events == ["made", "eof"]
    assert wire.closed
    ssl_proto.connection_lost(None)
    assert app.events == ["made", "eof", "lost"]


# -- An exception in the application protocol's connection_made --------------------------


async def test_tls_connection_made_raising_fails_the_connection_as_in_asyncio(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    # Unlike plain transports (reported, connection kept), asyncio's TLS fails the
    # connection: create_connection raises the protocol's error. So do we, and the
    # protocol still gets connection_lost (connection_made and connection_lost pair).
    loop = running_loop()
    contexts: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))
    protocols: list[Peer] = []

    class Raises(Peer):
        def connection_made(self, transport: Any) -> None:
            protocols.append(self)
            super().connection_made(transport)
            raise ZeroDivisionError("boom")

    accepting = Accepting(Peer)
    server = await loop.create_server(accepting, "127.0.0.1", 0, ssl=server_ctx)
    try:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(ZeroDivisionError, match="boom"):
            await loop.create_connection(
                Raises, "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
        [proto] = protocols
        assert isinstance(await proto.lost, ZeroDivisionError)
        assert proto.events == ["made", "lost"]
        assert any(isinstance(c.get("exception"), ZeroDivisionError) for c in contexts)
        server_proto = await accepting.first
        await server_proto.lost  # the server side sees the connection end
    finally:
        server.close()
        await server.wait_closed()
