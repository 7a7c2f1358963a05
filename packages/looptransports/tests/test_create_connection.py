"""create_connection: every address tried, one error naming every failure, refused
connections, sock= conflicts, TLS argument checks, Happy Eyeballs."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from lt_support import running_loop

import loopcore
from looptransports import Protocol
from looptransports.selector_loop import _interleave_addrinfos

V4 = socket.AF_INET
STREAM = socket.SOCK_STREAM
TCP = socket.IPPROTO_TCP


def _dead_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


@pytest.fixture
def live() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(10)
    yield sock
    sock.close()


@pytest.fixture
def black_hole() -> Iterator[socket.socket]:
    """A listener whose accept queue is full: the kernel drops further SYNs, so a
    connect to it stays pending (a slow address, for real)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    filler = socket.create_connection(sock.getsockname())
    yield sock
    filler.close()
    sock.close()


def _resolve_to(loop: Any, ports: list[int]) -> None:
    """Make the loop's resolver answer with these 127.0.0.1 ports, in order (the only
    way to get several addresses for one name on a machine without DNS)."""

    async def fake_getaddrinfo(host: object, port: object, **kwargs: object) -> list[Any]:
        return [(V4, STREAM, TCP, "", ("127.0.0.1", p)) for p in ports]

    loop.getaddrinfo = fake_getaddrinfo


async def test_every_address_is_tried_until_one_connects(live: socket.socket) -> None:
    loop = running_loop()
    dead1, dead2 = _dead_port(), _dead_port()
    _resolve_to(loop, [dead1, dead2, live.getsockname()[1]])
    transport, _ = await loop.create_connection(Protocol, "multi.example", 0)
    assert transport.get_extra_info("peername") == live.getsockname()
    transport.close()
    await loopcore.sleep(0)


async def test_one_error_names_every_failed_address() -> None:
    loop = running_loop()
    dead1, dead2 = _dead_port(), _dead_port()
    _resolve_to(loop, [dead1, dead2])
    with pytest.raises(OSError, match="Multiple exceptions") as info:
        await loop.create_connection(Protocol, "multi.example", 0)
    assert f"('127.0.0.1', {dead1})" in str(info.value)
    assert f"('127.0.0.1', {dead2})" in str(info.value)


async def test_all_errors_gives_an_exception_group() -> None:
    loop = running_loop()
    dead1, dead2 = _dead_port(), _dead_port()
    _resolve_to(loop, [dead1, dead2])
    with pytest.raises(ExceptionGroup) as info:
        await loop.create_connection(Protocol, "multi.example", 0, all_errors=True)
    assert len(info.value.exceptions) == 2
    assert all(isinstance(e, ConnectionRefusedError) for e in info.value.exceptions)


async def test_refused_connection_raises_connection_refused_naming_the_address() -> None:
    loop = running_loop()
    port = _dead_port()
    with pytest.raises(ConnectionRefusedError, match=f"{port}"):
        await loop.create_connection(Protocol, "127.0.0.1", port)


async def test_local_addr_binds_the_client_socket(live: socket.socket) -> None:
    loop = running_loop()
    transport, _ = await loop.create_connection(
        Protocol, "127.0.0.1", live.getsockname()[1], local_addr=("127.0.0.1", 0)
    )
    assert transport.get_extra_info("sockname")[0] == "127.0.0.1"
    transport.close()
    await loopcore.sleep(0)


async def test_local_addr_bind_failure_names_the_address(live: socket.socket) -> None:
    loop = running_loop()
    taken = live.getsockname()  # a listening socket holds it: bind() fails
    with pytest.raises(OSError) as info:
        await loop.create_connection(Protocol, "127.0.0.1", taken[1], local_addr=taken)
    assert info.value.errno == errno.EADDRINUSE
    message = info.value.strerror  # str() adds "[Errno 98] " in front, as in asyncio
    assert message == f"error while attempting to bind on address {taken!r}: address already in use"


async def test_local_addr_of_no_matching_family_says_so(live: socket.socket) -> None:
    loop = running_loop()
    with pytest.raises(OSError, match="^no matching local address with family="):
        await loop.create_connection(
            Protocol, "127.0.0.1", live.getsockname()[1], local_addr=("::1", 0)
        )


async def test_sock_argument_uses_the_connected_socket(live: socket.socket) -> None:
    loop = running_loop()
    sock = socket.create_connection(live.getsockname())
    transport, _ = await loop.create_connection(Protocol, sock=sock)
    assert transport.get_extra_info("socket") is sock
    assert sock.gettimeout() == 0
    transport.close()
    await loopcore.sleep(0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"host": "127.0.0.1"},
        {"port": 80},
        {"family": socket.AF_INET},
        {"proto": socket.IPPROTO_TCP},
        {"flags": socket.AI_NUMERICHOST},
        {"local_addr": ("127.0.0.1", 0)},
    ],
    ids=["host", "port", "family", "proto", "flags", "local_addr"],
)
async def test_sock_excludes_the_address_arguments(kwargs: dict[str, Any]) -> None:
    loop = running_loop()
    sock = socket.socket()
    try:
        name = next(iter(kwargs))
        with pytest.raises(ValueError, match=name):
            await loop.create_connection(Protocol, sock=sock, **kwargs)
    finally:
        sock.close()


async def test_neither_host_nor_sock_is_a_value_error() -> None:
    loop = running_loop()
    with pytest.raises(ValueError, match="no sock"):
        await loop.create_connection(Protocol)


async def test_datagram_sock_is_refused() -> None:
    loop = running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(ValueError, match="stream socket"):
            await loop.create_connection(Protocol, sock=sock)
    finally:
        sock.close()


async def test_tls_arguments_need_ssl() -> None:
    loop = running_loop()
    with pytest.raises(ValueError, match="server_hostname"):
        await loop.create_connection(Protocol, "127.0.0.1", 1, server_hostname="x")
    with pytest.raises(ValueError, match="ssl_handshake_timeout"):
        await loop.create_connection(Protocol, "127.0.0.1", 1, ssl_handshake_timeout=1.0)
    with pytest.raises(ValueError, match="ssl_shutdown_timeout"):
        await loop.create_connection(Protocol, "127.0.0.1", 1, ssl_shutdown_timeout=1.0)
    with pytest.raises(ValueError, match="server_hostname must be given"):
        await loop.create_connection(Protocol, "", 1, ssl=True)


async def test_happy_eyeballs_starts_the_next_attempt_after_the_delay(
    live: socket.socket, black_hole: socket.socket
) -> None:
    loop = running_loop()
    _resolve_to(loop, [black_hole.getsockname()[1], live.getsockname()[1]])
    start = loop.time()
    transport, _ = await loop.create_connection(
        Protocol, "multi.example", 0, happy_eyeballs_delay=0.05
    )
    elapsed = loop.time() - start
    assert transport.get_extra_info("peername") == live.getsockname()
    assert 0.04 <= elapsed < 5.0  # waited for the delay (timers may fire within clock resolution)
    transport.close()
    await loopcore.sleep(0)
    # The losing attempt was cancelled and its socket closed (the fd check of
    # conftest fails the test otherwise), and no task is left behind.
    assert not [t for t in loopcore.all_tasks(loop) if t is not loopcore.current_task()]


async def test_happy_eyeballs_failure_starts_the_next_at_once(live: socket.socket) -> None:
    loop = running_loop()
    _resolve_to(loop, [_dead_port(), _dead_port(), live.getsockname()[1]])
    start = loop.time()
    transport, _ = await loop.create_connection(
        Protocol, "multi.example", 0, happy_eyeballs_delay=30.0
    )
    assert loop.time() - start < 10.0  # never waited for the 30 s delay
    assert transport.get_extra_info("peername") == live.getsockname()
    transport.close()
    await loopcore.sleep(0)


async def test_happy_eyeballs_all_failing_names_every_failure() -> None:
    loop = running_loop()
    ports = [_dead_port(), _dead_port()]
    _resolve_to(loop, ports)
    with pytest.raises(OSError, match="Multiple exceptions") as info:
        await loop.create_connection(Protocol, "multi.example", 0, happy_eyeballs_delay=0.01)
    for port in ports:
        assert str(port) in str(info.value)


# Virtual clock: the 0.01 s attempt delays and the 0.1 s wait pass without real waiting
# (the black hole never answers, so no real I/O is awaited).
@pytest.mark.loopcore(clock="virtual")
async def test_cancelling_happy_eyeballs_leaves_no_socket_or_task(
    black_hole: socket.socket,
) -> None:
    loop = running_loop()
    _resolve_to(loop, [black_hole.getsockname()[1]] * 3)
    task = loop.create_task(
        loop.create_connection(Protocol, "multi.example", 0, happy_eyeballs_delay=0.01)
    )
    await loopcore.sleep(0.1)
    task.cancel()
    with pytest.raises(loopcore.CancelledError):
        await task
    assert not [t for t in loopcore.all_tasks(loop) if t is not loopcore.current_task()]


def test_interleave_alternates_families() -> None:
    v4 = [(socket.AF_INET, STREAM, TCP, "", (f"10.0.0.{i}", 1)) for i in range(3)]
    v6 = [(socket.AF_INET6, STREAM, TCP, "", (f"::{i}", 1, 0, 0)) for i in range(3)]
    infos: list[Any] = [*v6, *v4]
    assert _interleave_addrinfos(infos) == [v6[0], v4[0], v6[1], v4[1], v6[2], v4[2]]
    assert _interleave_addrinfos(infos, 2) == [v6[0], v6[1], v4[0], v6[2], v4[1], v4[2]]


async def test_cancelling_a_sequential_connect_closes_its_socket(
    black_hole: socket.socket,
) -> None:
    loop = running_loop()
    task = loop.create_task(
        loop.create_connection(Protocol, "127.0.0.1", black_hole.getsockname()[1])
    )
    await loopcore.sleep(0.05)
    assert not task.done()  # stuck in the handshake the kernel never answers
    task.cancel()
    with pytest.raises(loopcore.CancelledError):
        await task
    # The fd check of conftest proves the attempt's socket was closed.


async def test_interleaved_families_connect_on_the_first_working_one(
    live: socket.socket,
) -> None:
    loop = running_loop()
    dead = _dead_port()
    infos = [
        (socket.AF_INET6, STREAM, TCP, "", ("::1", dead, 0, 0)),
        (socket.AF_INET6, STREAM, TCP, "", ("::1", dead, 0, 0)),
        (V4, STREAM, TCP, "", ("127.0.0.1", live.getsockname()[1])),
    ]

    async def fake_getaddrinfo(host: object, port: object, **kwargs: object) -> list[Any]:
        return infos

    loop.getaddrinfo = fake_getaddrinfo  # type: ignore[method-assign]
    transport, _ = await loop.create_connection(Protocol, "dual.example", 0, interleave=1)
    assert transport.get_extra_info("peername") == live.getsockname()
    transport.close()
    await loopcore.sleep(0)
