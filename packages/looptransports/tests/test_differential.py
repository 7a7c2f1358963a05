"""Differential tests: the same scenario on stdlib asyncio's loop and on ours.

Each scenario is written once against ``(mod, loop)``: *mod* is ``asyncio`` or
``looptransports`` (for the protocol base classes), *loop* a fresh loop of that
implementation. It returns what a user can observe (callback order, exception
types by name, messages), and the test compares the two answers. For error
messages the rule is "ours starts with asyncio's wording" (the rest may say more),
so the scenarios return the message and the test checks the prefix.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import sys
import tempfile
import types
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import trustme

import loopcore
import looptransports

Scenario = Callable[[types.ModuleType, Any], Awaitable[object]]


def _run(mod: types.ModuleType, scenario: Scenario) -> object:
    loop = asyncio.new_event_loop() if mod is asyncio else loopcore.new_event_loop()
    try:
        return loop.run_until_complete(scenario(mod, loop))
    finally:
        loop.close()


def on_both(scenario: Scenario) -> tuple[object, object]:
    """Run *scenario* on asyncio and on ours; return (asyncio's, ours)."""
    return _run(asyncio, scenario), _run(looptransports, scenario)


def same_on_both(scenario: Scenario) -> object:
    ref, ours = on_both(scenario)
    assert ours == ref, f"asyncio: {ref!r}\nours:    {ours!r}"
    return ours


def starts_with_asyncios_message(scenario: Scenario) -> str:
    """The scenario returns ``(exception type name, message)``; ours must raise the
    same type with a message that starts with asyncio's."""
    ref, ours = on_both(scenario)
    assert isinstance(ref, tuple) and isinstance(ours, tuple), (ref, ours)
    assert ours[0] == ref[0], f"asyncio raised {ref!r}, we raised {ours!r}"
    assert ours[1].startswith(ref[1]), f"asyncio: {ref[1]!r}\nours:    {ours[1]!r}"
    return str(ref[1])


async def error_of(awaitable: Awaitable[object] | Callable[[], object]) -> tuple[str, str]:
    """``(type name, str(exc))`` of what *awaitable* (or the call) raises."""
    try:
        if callable(awaitable):
            awaitable()
        else:
            await awaitable
    except Exception as exc:
        return type(exc).__name__, str(exc)
    raise AssertionError("no exception was raised")


@pytest.fixture
def tmpdir_path() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield tmp


@pytest.fixture(scope="module")
def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


# -- §2.11: error messages start with asyncio's wording -------------------------------------


def test_sock_sendfile_of_a_datagram_socket_is_refused_in_asyncios_words() -> None:
    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, open(__file__, "rb") as f:
            sock.setblocking(False)
            return await error_of(loop.sock_sendfile(sock, f))

    assert starts_with_asyncios_message(scenario) == "only SOCK_STREAM type sockets are supported"


@pytest.mark.parametrize(
    "method", ["create_connection", "create_server", "connect_accepted_socket"]
)
def test_a_datagram_socket_as_sock_argument_is_refused_in_asyncios_words(method: str) -> None:
    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            return await error_of(getattr(loop, method)(mod.Protocol, sock=sock))

    assert starts_with_asyncios_message(scenario).startswith("A Stream Socket was expected, got")


@pytest.mark.skipif(
    sys.version_info < (3, 13), reason="asyncio before 3.13 says 'A UDP Socket was expected'"
)
def test_a_stream_socket_for_a_datagram_endpoint_is_refused_in_asyncios_words() -> None:
    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        with socket.socket() as sock:
            return await error_of(loop.create_datagram_endpoint(mod.DatagramProtocol, sock=sock))

    assert starts_with_asyncios_message(scenario).startswith("A datagram socket was expected, got")


@pytest.mark.parametrize("method", ["create_unix_connection", "create_unix_server"])
@pytest.mark.parametrize(
    "family_type",
    [(socket.AF_INET, socket.SOCK_STREAM), (socket.AF_UNIX, socket.SOCK_DGRAM)],
    ids=["inet-socket", "unix-datagram-socket"],
)
def test_create_unix_refuses_a_wrong_socket_in_asyncios_words(
    method: str, family_type: tuple[int, int]
) -> None:
    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        with socket.socket(*family_type) as sock:
            return await error_of(getattr(loop, method)(mod.Protocol, sock=sock))

    message = starts_with_asyncios_message(scenario)
    assert message.startswith("A UNIX Domain Stream Socket was expected, got")


def test_create_unix_connection_with_ssl_needs_server_hostname_in_asyncios_words(
    tmpdir_path: str,
) -> None:
    path = os.path.join(tmpdir_path, "never.sock")

    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        return await error_of(loop.create_unix_connection(mod.Protocol, path, ssl=True))

    assert starts_with_asyncios_message(scenario) == (
        "you have to pass server_hostname when using ssl"
    )


def test_create_connection_with_ssl_and_no_host_needs_server_hostname_in_asyncios_words() -> None:
    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        with socket.socket() as sock:
            return await error_of(loop.create_connection(mod.Protocol, sock=sock, ssl=True))

    assert starts_with_asyncios_message(scenario) == (
        "You must set server_hostname when using ssl without a host"
    )


@pytest.mark.parametrize("method", ["create_server", "create_unix_server"])
def test_a_server_refuses_ssl_true_in_asyncios_words(method: str, tmpdir_path: str) -> None:
    where = (
        ("127.0.0.1", 0) if method == "create_server" else (os.path.join(tmpdir_path, "s.sock"),)
    )

    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        return await error_of(getattr(loop, method)(mod.Protocol, *where, ssl=True))

    assert starts_with_asyncios_message(scenario) == "ssl argument must be an SSLContext or None"


def test_create_unix_server_on_a_path_that_is_not_a_socket_in_asyncios_words(
    tmpdir_path: str,
) -> None:
    path = os.path.join(tmpdir_path, "regular-file")
    with open(path, "w") as f:
        f.write("keep me")

    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        return await error_of(loop.create_unix_server(mod.Protocol, path))

    assert starts_with_asyncios_message(scenario) == (
        f"[Errno 98] Address {path!r} is already in use"
    )
    with open(path) as f:
        assert f.read() == "keep me"


def test_create_unix_connection_to_a_path_that_is_not_a_socket_is_refused(
    tmpdir_path: str,
) -> None:
    path = os.path.join(tmpdir_path, "regular-file")
    with open(path, "w") as f:
        f.write("keep me")

    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        return await error_of(loop.create_unix_connection(mod.Protocol, path))

    assert starts_with_asyncios_message(scenario) == "[Errno 111] Connection refused"


def test_udp_sendto_another_address_when_connected_is_refused_in_asyncios_words() -> None:
    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            peer.bind(("127.0.0.1", 0))
            transport, _ = await loop.create_datagram_endpoint(
                mod.DatagramProtocol, remote_addr=peer.getsockname()
            )
            try:
                name, message = await error_of(lambda: transport.sendto(b"x", ("127.0.0.1", 9)))
                return name, message.replace(str(peer.getsockname()), "PEER")
            finally:
                transport.close()
                await (asyncio.sleep(0) if mod is asyncio else loopcore.sleep(0))

    assert starts_with_asyncios_message(scenario) == "Invalid address: must be None or PEER"


def test_sock_recv_on_a_transports_socket_is_refused_in_asyncios_words() -> None:
    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        a, b = socket.socketpair()
        fd = a.fileno()
        with b:
            transport, _ = await loop.connect_accepted_socket(mod.Protocol, a)
            try:
                name, message = await error_of(loop.sock_recv(a, 1))
            finally:
                transport.close()
                await (asyncio.sleep(0) if mod is asyncio else loopcore.sleep(0))
        # The transports' reprs differ: compare up to them.
        return name, message.split(" <", 1)[0].replace(str(fd), "FD")

    assert same_on_both(scenario) == ("RuntimeError", "File descriptor FD is used by transport")


# -- §2.9: a failed bind to local_addr names the address ------------------------------------


def test_create_connection_local_addr_bind_failure_in_asyncios_words() -> None:
    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            taken = listener.getsockname()
            name, message = await error_of(
                loop.create_connection(mod.Protocol, *taken, local_addr=taken)
            )
            # asyncio says "[errno 98] address already in use" after the colon, we
            # say "address already in use": compare up to the colon.
            return name, message.split(": ")[0].replace(repr(taken), "ADDR")

    assert same_on_both(scenario) == (
        "OSError",
        "[Errno 98] error while attempting to bind on address ADDR",
    )


# -- §2.8: an exception in connection_made ---------------------------------------------------


def _recording_protocol(mod: types.ModuleType, events: list[object], lost: Any) -> type:
    class Raises(mod.Protocol):  # type: ignore[name-defined,misc]
        def connection_made(self, transport: Any) -> None:
            events.append("made")
            raise ZeroDivisionError("boom")

        def data_received(self, data: bytes) -> None:
            events.append(("data", data))

        def eof_received(self) -> None:
            events.append("eof")

        def connection_lost(self, exc: Exception | None) -> None:
            events.append(("lost", type(exc).__name__))
            lost.set_result(None)

    return Raises


def test_connection_made_raising_is_reported_and_the_tcp_connection_stays_open() -> None:
    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        reports: list[str] = []
        loop.set_exception_handler(lambda _l, ctx: reports.append(type(ctx["exception"]).__name__))
        events: list[object] = []
        lost = loop.create_future()
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            listener.setblocking(False)
            transport, _ = await loop.create_connection(
                _recording_protocol(mod, events, lost), *listener.getsockname()
            )
            conn, _ = await loop.sock_accept(listener)
            with conn:
                still_open = not transport.is_closing()
                await loop.sock_sendall(conn, b"after")
                conn.shutdown(socket.SHUT_WR)
                await lost  # eof_received returns None: the transport closes itself
        return still_open, events, reports

    assert same_on_both(scenario) == (
        True,
        ["made", ("data", b"after"), "eof", ("lost", "NoneType")],
        ["ZeroDivisionError"],
    )


def test_connection_made_raising_fails_a_tls_connection(
    tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_ctx, client_ctx = tls_contexts

    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        loop.set_exception_handler(lambda _l, ctx: None)  # asyncio reports, and so do we
        events: list[object] = []
        lost = loop.create_future()
        server = await loop.create_server(mod.Protocol, "127.0.0.1", 0, ssl=server_ctx)
        try:
            outcome = await error_of(
                loop.create_connection(
                    _recording_protocol(mod, events, lost),
                    *server.sockets[0].getsockname(),
                    ssl=client_ctx,
                    server_hostname="localhost",
                )
            )
        finally:
            server.close()
            await server.wait_closed()
        return outcome, events[0]

    assert same_on_both(scenario) == (("ZeroDivisionError", "boom"), "made")


# -- §2.1: a cancelled sock_* wait leaves a newer wait on the same fd alone -----------------


def test_cancelled_sock_recv_leaves_a_newer_wait_on_the_fd_alone() -> None:
    async def scenario(mod: types.ModuleType, loop: Any) -> object:
        a, b = socket.socketpair()
        with a, b:
            a.setblocking(False)
            older = loop.create_task(loop.sock_recv(a, 1))
            await (asyncio.sleep(0) if mod is asyncio else loopcore.sleep(0))
            older.cancel()

            async def send_once_the_older_wait_ended() -> None:
                try:
                    await older
                except BaseException:
                    pass
                b.send(b"x")

            helper = loop.create_task(send_once_the_older_wait_ended())
            # The newer wait starts in this task (not in a task of wait_for, which
            # would start after the older wait's cleanup), before that cleanup ran.
            within = asyncio.timeout if mod is asyncio else loopcore.timeout
            async with within(5):
                newer = await loop.sock_recv(a, 1)
            await helper
            return newer, older.cancelled()

    assert same_on_both(scenario) == (b"x", True)
