"""Unix stream sockets: the echo example over a path and over an abstract socket,
stale socket files, clean-up on close, argument checks."""

from __future__ import annotations

import errno
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from lt_support import Recorder, running_loop

import loopcore
from looptransports import Protocol


class EchoServerProtocol(Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)
        self.transport.close()


async def _echo_over(address: str | bytes) -> None:
    loop = running_loop()
    server = await loop.create_unix_server(EchoServerProtocol, address)
    transport, proto = await loop.create_unix_connection(Recorder, address)
    assert transport.get_extra_info("peername") == server.sockets[0].getsockname()
    transport.write(b"Hello World!")
    assert await proto.lost is None
    assert bytes(proto.data) == b"Hello World!"
    proto.assert_rules()
    server.close()
    await server.wait_closed()


async def test_echo_over_a_unix_socket_path(tmp_path: Path) -> None:
    path = str(tmp_path / "echo.sock")
    await _echo_over(path)
    assert not os.path.exists(path)  # cleaned up on close


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract sockets are Linux")
async def test_echo_over_an_abstract_socket() -> None:
    await _echo_over(f"\0looptransports-test-{os.getpid()}")


async def test_path_like_is_accepted(tmp_path: Path) -> None:
    loop = running_loop()
    path = tmp_path / "pathlike.sock"
    server = await loop.create_unix_server(Recorder, path)
    transport, proto = await loop.create_unix_connection(Recorder, path)
    transport.close()
    await proto.lost
    server.close_clients()
    server.close()
    await server.wait_closed()


async def test_stale_socket_file_is_removed(tmp_path: Path) -> None:
    loop = running_loop()
    path = str(tmp_path / "stale.sock")
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(path)
    dead.close()  # the file stays behind, nobody listens
    assert os.path.exists(path)
    server = await loop.create_unix_server(Recorder, path)
    transport, proto = await loop.create_unix_connection(Recorder, path)
    transport.close()
    await proto.lost
    server.close_clients()
    server.close()
    await server.wait_closed()


async def test_live_server_socket_is_not_stolen(tmp_path: Path) -> None:
    loop = running_loop()
    path = str(tmp_path / "live.sock")
    first = await loop.create_unix_server(Recorder, path)
    with pytest.raises(OSError, match="already in use") as info:
        await loop.create_unix_server(Recorder, path)
    assert info.value.errno == errno.EADDRINUSE
    first.close()
    await first.wait_closed()


async def test_a_regular_file_at_the_path_is_left_alone(tmp_path: Path) -> None:
    loop = running_loop()
    path = tmp_path / "regular"
    path.write_text("keep me")
    with pytest.raises(OSError) as info:
        await loop.create_unix_server(Recorder, str(path))
    assert info.value.errno == errno.EADDRINUSE
    assert info.value.strerror.startswith(f"Address {str(path)!r} is already in use")
    assert path.read_text() == "keep me"


async def test_connection_and_server_on_given_sockets(tmp_path: Path) -> None:
    loop = running_loop()
    path = str(tmp_path / "given.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    server = await loop.create_unix_server(EchoServerProtocol, sock=listener)
    client = socket.socket(socket.AF_UNIX)
    client.connect(path)
    transport, proto = await loop.create_unix_connection(Recorder, sock=client)
    transport.write(b"ping")
    await proto.lost
    assert bytes(proto.data) == b"ping"
    server.close()
    await server.wait_closed()
    assert not os.path.exists(path)


async def test_argument_errors_are_clear(tmp_path: Path) -> None:
    loop = running_loop()
    sock = socket.socket(socket.AF_UNIX)
    tcp = socket.socket()
    try:
        with pytest.raises(ValueError, match="path and sock"):
            await loop.create_unix_connection(Recorder, "x", sock=sock)
        with pytest.raises(ValueError, match="no path and sock"):
            await loop.create_unix_connection(Recorder)
        with pytest.raises(ValueError, match="^A UNIX Domain Stream Socket was expected"):
            await loop.create_unix_connection(Recorder, sock=tcp)
        with pytest.raises(ValueError, match="^you have to pass server_hostname when using ssl"):
            await loop.create_unix_connection(Recorder, "x", ssl=True)
        with pytest.raises(ValueError, match="path and sock"):
            await loop.create_unix_server(Recorder, "x", sock=sock)
        with pytest.raises(ValueError, match="^A UNIX Domain Stream Socket was expected"):
            await loop.create_unix_server(Recorder, sock=tcp)
    finally:
        sock.close()
        tcp.close()


async def test_connect_to_missing_path_raises() -> None:
    loop = running_loop()
    with pytest.raises(FileNotFoundError):
        await loop.create_unix_connection(Recorder, "/nonexistent/looptransports.sock")
    await loopcore.sleep(0)


async def test_sock_connect_waits_for_room_in_a_full_unix_backlog(tmp_path: Path) -> None:
    # A full AF_UNIX backlog makes connect() fail with EAGAIN; that must not be
    # taken for a connection in progress (the socket would stay unconnected).
    loop = loopcore.get_running_loop()
    path = str(tmp_path / "full.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    listener.setblocking(False)
    clients = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(5)]
    accepted: list[socket.socket] = []
    try:
        for client in clients:
            client.setblocking(False)
        connects = [loop.create_task(loop.sock_connect(c, path)) for c in clients]
        while len(accepted) < len(clients):
            conn, _ = await loop.sock_accept(listener)
            accepted.append(conn)
        await loopcore.gather(*connects)
        for client in clients:
            assert client.getpeername() == path
            await loop.sock_sendall(client, b"x")
        for conn in accepted:
            assert await loop.sock_recv(conn, 1) == b"x"
    finally:
        for s in [*clients, *accepted, listener]:
            s.close()
