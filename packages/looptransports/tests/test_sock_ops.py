"""The low-level socket coroutines (sock_*), getaddrinfo and getnameinfo."""

from __future__ import annotations

import array
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lt_support import HAS_IPV6, running_loop

import loopcore
from looptransports.selector_loop import _numeric_addrinfo


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    sock.setblocking(False)
    yield sock
    sock.close()


async def test_connect_accept_sendall_recv_roundtrip(listener: socket.socket) -> None:
    loop = running_loop()
    client = socket.socket()
    client.setblocking(False)
    accept = loop.create_task(loop.sock_accept(listener))
    await loop.sock_connect(client, listener.getsockname())
    conn, addr = await accept
    assert addr == client.getsockname()
    assert conn.gettimeout() == 0  # accepted sockets are non-blocking
    payload = b"abc" * 300_000  # more than one send() takes
    send = loop.create_task(loop.sock_sendall(client, payload))
    received = bytearray()
    while len(received) < len(payload):
        received += await loop.sock_recv(conn, 65536)
    await send
    assert received == payload
    buf = bytearray(10)
    await loop.sock_sendall(conn, b"into")
    n = await loop.sock_recv_into(client, buf)
    assert buf[:n] == b"into"
    client.close()
    assert await loop.sock_recv(conn, 10) == b""
    conn.close()


async def test_sock_connect_resolves_a_host_name(listener: socket.socket) -> None:
    loop = running_loop()
    client = socket.socket()
    client.setblocking(False)
    port = listener.getsockname()[1]
    await loop.sock_connect(client, ("localhost", port))
    conn, _ = await loop.sock_accept(listener)
    assert client.getpeername() == ("127.0.0.1", port)
    conn.close()
    client.close()


async def test_sock_connect_refused_raises_connection_refused() -> None:
    loop = running_loop()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there now
    client = socket.socket()
    client.setblocking(False)
    with pytest.raises(ConnectionRefusedError):
        await loop.sock_connect(client, ("127.0.0.1", port))
    client.close()


async def test_sock_recv_waits_for_data_and_cancel_unregisters() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    task = loop.create_task(loop.sock_recv(a, 100))
    await loopcore.sleep(0)
    assert not task.done()
    await loop.sock_sendall(b, b"late")
    assert await task == b"late"
    task = loop.create_task(loop.sock_recv(a, 100))
    await loopcore.sleep(0)
    task.cancel()
    with pytest.raises(loopcore.CancelledError):
        await task
    assert loop._io.get(a.fileno()) is None
    a.close()
    b.close()


async def test_datagram_sock_ops() -> None:
    loop = running_loop()
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (a, b):
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
    recv = loop.create_task(loop.sock_recvfrom(b, 100))
    await loopcore.sleep(0)
    assert await loop.sock_sendto(a, b"dgram", b.getsockname()) == 5
    assert await recv == (b"dgram", a.getsockname())
    buf = bytearray(16)
    await loop.sock_sendto(a, b"into-buffer", b.getsockname())
    n, addr = await loop.sock_recvfrom_into(b, buf)
    assert (bytes(buf[:n]), addr) == (b"into-buffer", a.getsockname())
    await loop.sock_sendto(a, b"truncated!", b.getsockname())
    n, addr = await loop.sock_recvfrom_into(b, buf, 5)
    assert bytes(buf[:n]) == b"trunc"
    a.close()
    b.close()


@pytest.mark.parametrize(
    "call",
    [
        lambda loop, s, f: loop.sock_recv(s, 1),
        lambda loop, s, f: loop.sock_recv_into(s, bytearray(1)),
        lambda loop, s, f: loop.sock_sendall(s, b"x"),
        lambda loop, s, f: loop.sock_connect(s, ("127.0.0.1", 1)),
        lambda loop, s, f: loop.sock_accept(s),
        lambda loop, s, f: loop.sock_sendto(s, b"x", ("127.0.0.1", 1)),
        lambda loop, s, f: loop.sock_recvfrom(s, 1),
        lambda loop, s, f: loop.sock_recvfrom_into(s, bytearray(1)),
        lambda loop, s, f: loop.sock_sendfile(s, f),
    ],
    ids=[
        "sock_recv",
        "sock_recv_into",
        "sock_sendall",
        "sock_connect",
        "sock_accept",
        "sock_sendto",
        "sock_recvfrom",
        "sock_recvfrom_into",
        "sock_sendfile",
    ],
)
async def test_blocking_sockets_are_refused(call: object) -> None:
    loop = running_loop()
    sock = socket.socket()
    assert sock.gettimeout() is None  # blocking
    try:
        with open(__file__, "rb") as f:
            with pytest.raises(ValueError, match="must be non-blocking"):
                await call(loop, sock, f)  # type: ignore[operator]
    finally:
        sock.close()


async def test_getaddrinfo_of_a_numeric_host_needs_no_thread() -> None:
    loop = running_loop()
    result = await loop.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
    assert result == [
        (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", 80))
    ]
    assert result == socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
    if HAS_IPV6:
        result = await loop.getaddrinfo("::1", "8080", type=socket.SOCK_DGRAM)
        assert result == socket.getaddrinfo("::1", "8080", type=socket.SOCK_DGRAM)
    assert loop._default_executor is None  # no thread was started


async def test_getaddrinfo_of_a_numeric_host_honours_ai_canonname() -> None:
    loop = running_loop()
    hosts = ["127.0.0.1", b"127.0.0.1"] + (["::1", "0:0::1"] if HAS_IPV6 else [])
    for host in hosts:
        for flags in (socket.AI_CANONNAME, socket.AI_CANONNAME | socket.AI_NUMERICHOST):
            result = await loop.getaddrinfo(host, 80, type=socket.SOCK_STREAM, flags=flags)
            assert result == socket.getaddrinfo(host, 80, 0, socket.SOCK_STREAM, 0, flags)
            expected = host.decode() if isinstance(host, bytes) else host
            assert result[0][3] == expected  # the host as given
    assert loop._default_executor is None  # still the fast path: no thread


async def test_getaddrinfo_of_a_numeric_host_with_a_system_dependent_flag_asks_the_resolver() -> (
    None
):
    # AI_V4MAPPED turns an IPv4 host into an AF_INET6 answer: the resolver's business.
    loop = running_loop()
    args = ("127.0.0.1", 80, socket.AF_INET6, socket.SOCK_STREAM, 0, socket.AI_V4MAPPED)
    assert _numeric_addrinfo(*args) is None
    result = await loop.getaddrinfo(
        "127.0.0.1", 80, family=socket.AF_INET6, type=socket.SOCK_STREAM, flags=socket.AI_V4MAPPED
    )
    assert result == socket.getaddrinfo(*args)


_FLAG_MATRIX = [
    socket.AI_CANONNAME,
    socket.AI_PASSIVE,
    socket.AI_NUMERICHOST,
    socket.AI_NUMERICSERV,
    socket.AI_V4MAPPED,
    socket.AI_ALL,
    socket.AI_ADDRCONFIG,
]


def test_numeric_fast_path_honours_every_flag_as_socket_getaddrinfo_does() -> None:
    """For every combination of flags, family, type, host form and port form, the
    fast path either declines (None) or answers exactly what socket.getaddrinfo
    answers."""
    hosts: list[str | bytes] = ["127.0.0.1", b"127.0.0.1", "127.1", "0.0.0.0", "localhost"]
    if HAS_IPV6:
        hosts += ["::1", "0:0::1", "::ffff:127.0.0.1", "::FFFF:1.2.3.4", "fe80::1%lo"]
    ports: list[int | str | bytes | None] = [0, 80, "8080", b"443", None, " 80", "http"]
    families = [socket.AF_UNSPEC, socket.AF_INET] + ([socket.AF_INET6] if HAS_IPV6 else [])
    answered = 0
    for bits in range(1 << len(_FLAG_MATRIX)):
        flags = 0
        for i, flag in enumerate(_FLAG_MATRIX):
            if bits & (1 << i):
                flags |= flag
        for host in hosts:
            for port in ports:
                for family in families:
                    for sock_type in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                        fast = _numeric_addrinfo(host, port, family, sock_type, 0, flags)
                        if fast is None:
                            continue
                        answered += 1
                        slow = socket.getaddrinfo(host, port, family, sock_type, 0, flags)
                        assert [fast] == slow, (host, port, family, sock_type, flags)
    assert answered  # the fast path did answer a part of the matrix


async def test_getaddrinfo_of_a_name_uses_the_resolver() -> None:
    loop = running_loop()
    result = await loop.getaddrinfo("localhost", 80, family=socket.AF_INET, type=socket.SOCK_STREAM)
    assert ("127.0.0.1", 80) in [info[4] for info in result]
    with pytest.raises(socket.gaierror):
        await loop.getaddrinfo("no-such-host.invalid", 80)


async def test_getnameinfo_reverse_resolves() -> None:
    loop = running_loop()
    host, port = await loop.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICHOST)
    assert host == "127.0.0.1"
    assert port in ("80", "http")


@given(
    ip=st.ip_addresses(),
    port=st.integers(0, 65535),
    sock_type=st.sampled_from([socket.SOCK_STREAM, socket.SOCK_DGRAM]),
    as_str_port=st.booleans(),
)
def test_numeric_fast_path_agrees_with_the_resolver(
    ip: object, port: int, sock_type: int, as_str_port: bool
) -> None:
    host = str(ip)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if family == socket.AF_INET6 and not HAS_IPV6:
        return
    fast = _numeric_addrinfo(host, str(port) if as_str_port else port, 0, sock_type, 0)
    [slow] = socket.getaddrinfo(host, port, 0, sock_type)
    assert fast is not None
    assert fast[:3] == slow[:3]
    assert socket.inet_pton(family, fast[4][0]) == socket.inet_pton(family, slow[4][0])
    assert fast[4][1:] == slow[4][1:]


def test_numeric_fast_path_declines_what_it_cannot_answer() -> None:
    stream = socket.SOCK_STREAM
    assert _numeric_addrinfo("localhost", 80, 0, stream, 0) is None  # a name
    assert _numeric_addrinfo("127.0.0.1", "http", 0, stream, 0) is None  # a service
    assert _numeric_addrinfo("fe80::1%lo", 80, 0, stream, 0) is None  # a scope id
    assert _numeric_addrinfo("127.0.0.1", 80, 0, 0, 0) is None  # unknown type
    assert _numeric_addrinfo("127.0.0.1", 70000, 0, stream, 0) is None  # bad port
    assert _numeric_addrinfo("127.0.0.1", 80, socket.AF_INET6, stream, 0) is None
    assert _numeric_addrinfo(None, 80, 0, stream, 0) is None


async def test_fd_of_an_open_transport_is_refused_by_fd_methods_and_sock_ops() -> None:
    from lt_support import accepted_pair

    loop = running_loop()
    transport, proto, peer = await accepted_pair()
    sock = transport.get_extra_info("socket")
    for call in (
        lambda: loop.add_reader(sock, lambda: None),
        lambda: loop.add_writer(sock.fileno(), lambda: None),
        lambda: loop.remove_reader(sock),
        lambda: loop.remove_writer(sock.fileno()),
    ):
        with pytest.raises(RuntimeError, match="^File descriptor .* is used by transport"):
            call()
    with pytest.raises(RuntimeError, match="^File descriptor .* is used by transport"):
        await loop.sock_recv(sock, 10)
    # The transport still works: nothing was replaced.
    await loop.sock_sendall(peer, b"still mine")
    while not proto.data:
        await loopcore.sleep(0)
    assert bytes(proto.data) == b"still mine"
    transport.close()
    await proto.lost
    # Once the transport is gone, its fd number is free for anyone.
    a, b = socket.socketpair()
    a.setblocking(False)
    loop.add_reader(a, lambda: None)
    assert loop.remove_reader(a)
    a.close()
    b.close()
    peer.close()


def _registered(loop: loopcore.AbstractEventLoop, sock: socket.socket) -> bool:
    return loop._io.get(sock.fileno()) is not None  # type: ignore[attr-defined]


def _keeps(loop: loopcore.AbstractEventLoop) -> bool:
    """Whether the loop keeps sock_* registrations between waits (not with select())."""
    return bool(loop._sock_waits.keep)  # type: ignore[attr-defined]


def _needs_kept_registrations() -> None:
    if not _keeps(running_loop()):
        pytest.skip("this loop polls with select(): sock_* registrations end with their wait")


async def test_sock_ops_leave_no_fd_registered_once_nobody_waits() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    # Data already there: the call succeeds at once, and registers nothing.
    b.send(b"ready")
    assert await loop.sock_recv(a, 100) == b"ready"
    assert not _registered(loop, a)
    # Nothing there yet: it waits for readability. The registration outlives the
    # wait, for the next sock_recv on the socket...
    task = loop.create_task(loop.sock_recv(a, 100))
    await loopcore.sleep(0)
    assert _registered(loop, a)
    await loop.sock_sendall(b, b"late")
    assert await task == b"late"
    # (Not with select(): see test_with_select_every_registration_ends_with_its_wait.)
    assert _registered(loop, a) is _keeps(loop)
    # ... until the socket is ready with nobody waiting (it would wake every poll).
    b.send(b"unread")
    await _iterations(2)
    assert not _registered(loop, a)
    assert a.recv(100) == b"unread"
    # A send buffer that fills up: sock_sendall waits for room, and unregisters as
    # soon as it is done (a socket with room is writable on every poll).
    payload = b"x" * 4_000_000
    send = loop.create_task(loop.sock_sendall(b, payload))
    await loopcore.sleep(0)
    assert _registered(loop, b)
    received = 0
    while received < len(payload):
        received += len(await loop.sock_recv(a, 1 << 20))
    await send
    assert not _registered(loop, b)
    a.close()
    b.close()


async def test_an_idle_registration_of_a_quiet_socket_is_swept() -> None:
    _needs_kept_registrations()
    loop = running_loop()
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        task = loop.create_task(loop.sock_recv(a, 100))
        await loopcore.sleep(0)
        b.send(b"x")
        assert await task == b"x"
        waits = loop._sock_waits  # type: ignore[attr-defined]
        assert _registered(loop, a)
        waits.sweep()  # idle since the current period only
        assert _registered(loop, a)
        waits.sweep()  # idle since before the previous sweep: dropped
        assert not _registered(loop, a)
        assert len(waits) == 0


async def _wait_once(sock: socket.socket, peer: socket.socket) -> None:
    """A sock_recv on *sock* that has to wait (so that it registers *sock*)."""
    loop = running_loop()
    task = loop.create_task(loop.sock_recv(sock, 100))
    await loopcore.sleep(0)
    assert not task.done()
    peer.send(b"x")
    assert await task == b"x"


async def test_a_new_registration_sweeps_when_a_sweep_is_due() -> None:
    _needs_kept_registrations()
    loop = running_loop()
    waits = loop._sock_waits  # type: ignore[attr-defined]
    pairs = [socket.socketpair() for _ in range(4)]
    try:
        for a, _ in pairs:
            a.setblocking(False)
        quiet, peer = pairs[0]
        await _wait_once(quiet, peer)
        period = waits._period
        waits._next_sweep = loop.time() + 3600  # no sweep due
        await _wait_once(*pairs[1])
        assert waits._period == period
        waits._next_sweep = loop.time()  # due: the next new registration sweeps
        await _wait_once(*pairs[2])
        assert waits._period == period + 1
        assert _registered(loop, quiet)  # idle for less than a whole period
        waits._next_sweep = loop.time()
        await _wait_once(*pairs[3])
        assert waits._period == period + 2
        assert not _registered(loop, quiet)  # idle for a whole period: dropped
        assert waits._next_sweep > loop.time()  # and the next sweep is a period away
    finally:
        for a, b in pairs:
            a.close()
            b.close()


async def _iterations(count: int) -> None:
    for _ in range(count):
        await loopcore.sleep(0)


async def test_cancelled_sock_sendall_unregisters_its_writer() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    send = loop.create_task(loop.sock_sendall(b, b"x" * 4_000_000))  # nobody reads
    await loopcore.sleep(0)
    assert not send.done()
    assert _registered(loop, b)
    send.cancel()
    with pytest.raises(loopcore.CancelledError):
        await send
    assert not _registered(loop, b)
    a.close()
    b.close()


async def test_an_error_while_waiting_propagates_and_unregisters() -> None:
    loop = running_loop()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    client = socket.socket()
    client.setblocking(False)
    await loop.sock_connect(client, listener.getsockname())
    conn, _ = await loop.sock_accept(listener)
    recv = loop.create_task(loop.sock_recv(conn, 100))
    await loopcore.sleep(0)
    assert _registered(loop, conn)
    # Close with a zero linger time: the peer gets a reset, not an end of file.
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    with pytest.raises(ConnectionResetError):
        await recv
    assert not _registered(loop, conn)
    conn.close()
    listener.close()


@pytest.mark.parametrize("count", [10, 100_000])  # one send() / several send() calls
@pytest.mark.parametrize("kind", ["bytes", "bytearray", "multibyte memoryview"])
async def test_sock_sendall_sends_every_byte_of_any_bytes_like(kind: str, count: int) -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    items = array.array("i", range(count))
    expected = items.tobytes()
    data: bytes | bytearray | memoryview
    if kind == "bytes":
        data = expected
    elif kind == "bytearray":
        data = bytearray(expected)
    else:
        data = memoryview(items)
        assert data.itemsize > 1
    send = loop.create_task(loop.sock_sendall(b, data))
    received = bytearray()
    while len(received) < len(expected):
        received += await loop.sock_recv(a, 1 << 16)
    await send
    assert bytes(received) == expected
    a.close()
    b.close()


# -- A cancelled wait leaves a newer wait on the same fd alone ------------------------------
#
# Between the cancellation of a sock_* wait and the moment its coroutine cleans up
# (a later loop iteration), another wait on the same fd may start and replace the
# reader/writer. The older wait must not remove that newer registration: data (or
# room) arriving afterwards has to wake the newer wait.


async def _newer_wait_after_a_cancelled_one(
    start_wait: Callable[[], Awaitable[object]],
    make_ready: Callable[[], object],
    *,
    start_older: Callable[[], Awaitable[object]] | None = None,
    after_cancel: Callable[[], object] | None = None,
) -> object:
    """Start a wait (*start_older*, by default *start_wait*) and cancel it; run
    *after_cancel*, then start *start_wait* in this task at once (before the first
    wait's cleanup ran); make the fd ready only after the first one ended.
    Returns what the second wait returned."""
    loop = running_loop()
    older = loop.create_task((start_older or start_wait)())
    await loopcore.sleep(0)
    assert not older.done(), "the older operation must be waiting"
    older.cancel()
    if after_cancel is not None:
        after_cancel()

    async def ready_once_the_older_wait_ended() -> None:
        with contextlib.suppress(loopcore.CancelledError):
            await older
        make_ready()

    helper = loop.create_task(ready_once_the_older_wait_ended())
    try:
        async with loopcore.timeout(5):  # a stranded wait fails, never hangs
            return await start_wait()
    finally:
        await helper
        assert older.cancelled()


def _fill_send_buffer(sock: socket.socket, send: Callable[[bytes], object]) -> None:
    for _ in range(100_000):
        try:
            send(b"f" * 4096)
        except BlockingIOError:
            return
    raise AssertionError(f"the send buffer of {sock!r} never filled")


def _drain(sock: socket.socket) -> bytes:
    data = bytearray()
    for _ in range(1_000_000):
        try:
            chunk = sock.recv(1 << 16)
        except BlockingIOError:
            return bytes(data)
        data += chunk
    raise AssertionError(f"{sock!r} never ran dry")


async def test_cancelled_sock_recv_leaves_a_newer_wait_on_the_fd_alone() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        got = await _newer_wait_after_a_cancelled_one(
            lambda: loop.sock_recv(a, 1), lambda: b.send(b"x")
        )
        assert got == b"x"


async def test_cancelled_sock_recv_into_leaves_a_newer_wait_on_the_fd_alone() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    buf = bytearray(4)
    with a, b:
        a.setblocking(False)
        got = await _newer_wait_after_a_cancelled_one(
            lambda: loop.sock_recv_into(a, buf), lambda: b.send(b"xy")
        )
        assert (got, bytes(buf[:2])) == (2, b"xy")


@pytest.mark.parametrize("into", [False, True], ids=["sock_recvfrom", "sock_recvfrom_into"])
async def test_cancelled_sock_recvfrom_leaves_a_newer_wait_on_the_fd_alone(into: bool) -> None:
    loop = running_loop()
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    buf = bytearray(16)
    with receiver, sender:
        receiver.bind(("127.0.0.1", 0))
        receiver.setblocking(False)
        sender.bind(("127.0.0.1", 0))

        def start() -> Awaitable[object]:
            if into:
                return loop.sock_recvfrom_into(receiver, buf)
            return loop.sock_recvfrom(receiver, 16)

        got = await _newer_wait_after_a_cancelled_one(
            start, lambda: sender.sendto(b"dgram", receiver.getsockname())
        )
        expected = (5, sender.getsockname()) if into else (b"dgram", sender.getsockname())
        assert got == expected


async def test_cancelled_sock_accept_leaves_a_newer_wait_on_the_fd_alone(
    listener: socket.socket,
) -> None:
    loop = running_loop()
    client = socket.socket()
    with client:
        got = await _newer_wait_after_a_cancelled_one(
            lambda: loop.sock_accept(listener),
            lambda: client.connect(listener.getsockname()),
        )
        conn, address = cast(tuple[socket.socket, object], got)
        with conn:
            assert address == client.getsockname()


async def test_cancelled_sock_sendall_leaves_a_newer_wait_on_the_fd_alone() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        b.setblocking(False)
        _fill_send_buffer(a, a.send)
        drained = bytearray()
        got = await _newer_wait_after_a_cancelled_one(
            lambda: loop.sock_sendall(a, b"newer"), lambda: drained.extend(_drain(b))
        )
        assert got is None
        drained += await read_some(loop, b, len(b"newer"))
        assert drained.endswith(b"newer")


async def test_cancelled_sock_sendto_leaves_a_newer_wait_on_the_fd_alone(tmp_path: Path) -> None:
    # A Unix datagram socket connected to its receiver blocks (EAGAIN) while the
    # receiver's queue is full and polls writable once it has room.
    loop = running_loop()
    path = str(tmp_path / "dgram.sock")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    with receiver, sender:
        receiver.bind(path)
        receiver.setblocking(False)
        sender.connect(path)
        sender.setblocking(False)
        _fill_send_buffer(sender, sender.send)
        got = await _newer_wait_after_a_cancelled_one(
            lambda: loop.sock_sendto(sender, b"newer", path), lambda: _drain(receiver)
        )
        assert got == len(b"newer")
        assert _drain(receiver) == b"newer"


async def read_some(loop: loopcore.AbstractEventLoop, sock: socket.socket, at_least: int) -> bytes:
    data = bytearray()
    while len(data) < at_least:
        chunk = await loop.sock_recv(sock, 1 << 16)
        assert chunk, "unexpected end of file"
        data += chunk
    return bytes(data)


async def test_cancelled_sock_connect_leaves_a_newer_wait_on_the_fd_alone(
    listener: socket.socket,
) -> None:
    # A non-blocking TCP connect waits for writability at least one iteration (even
    # on loopback); cancelled there, the newer writer wait is a sock_sendall that
    # finds the send buffer full.
    loop = running_loop()
    client = socket.socket()
    client.setblocking(False)
    accepted: list[socket.socket] = []

    def drain_the_accepted_peer() -> None:
        conn, _ = listener.accept()
        conn.setblocking(False)
        accepted.append(conn)
        _drain(conn)

    with client:
        await _newer_wait_after_a_cancelled_one(
            lambda: loop.sock_sendall(client, b"newer"),
            drain_the_accepted_peer,
            start_older=lambda: loop.sock_connect(client, listener.getsockname()),
            after_cancel=lambda: _fill_send_buffer(client, client.send),
        )
        [conn] = accepted
        with conn:
            data = b""
            while not data.endswith(b"newer"):
                data += await read_some(loop, conn, 1)


# -- Registrations kept between waits (looptransports._sockwait) ---------------------------


class CountingSocket(socket.socket):
    """A socket that counts its recv() calls (the loop calls the socket's methods)."""

    recv_calls = 0

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self.recv_calls += 1
        return super().recv(bufsize, flags)


def _counting_pair() -> tuple[CountingSocket, socket.socket]:
    a, b = socket.socketpair()
    counted = CountingSocket(a.family, a.type, a.proto, fileno=a.detach())
    counted.setblocking(False)
    b.setblocking(False)
    return counted, b


async def test_consecutive_waits_on_a_socket_reuse_its_registration() -> None:
    _needs_kept_registrations()
    loop = running_loop()
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        await _wait_once(a, b)
        watch = loop._io.get(a.fileno())  # type: ignore[attr-defined]
        handle = watch.reader
        await _wait_once(a, b)
        # The same watch and the same handle: nothing was registered again.
        assert loop._io.get(a.fileno()) is watch  # type: ignore[attr-defined]
        assert watch.reader is handle
        assert not handle.cancelled()


async def test_sock_recv_after_a_short_read_waits_without_trying_first() -> None:
    _needs_kept_registrations()
    loop = running_loop()
    a, b = _counting_pair()
    with a, b:
        await _wait_once(a, b)  # a recv that found nothing, then one that found b"x"
        assert a.recv_calls == 2
        # The last read returned less than asked: the socket is known empty, so the
        # next sock_recv waits for readability straight away; one recv() per message.
        for i in range(3):
            task = loop.create_task(loop.sock_recv(a, 100))
            await loopcore.sleep(0)
            assert not task.done()
            b.send(b"y")
            assert await task == b"y"
            assert a.recv_calls == 3 + i


async def test_a_hint_that_is_wrong_costs_no_data() -> None:
    # Data that arrived after the short read is found by the next poll: the
    # registration is level-triggered.
    loop = running_loop()
    a, b = _counting_pair()
    with a, b:
        await _wait_once(a, b)
        b.send(b"already there")
        assert await loop.sock_recv(a, 100) == b"already there"


async def test_a_full_read_makes_sock_recv_try_first_again() -> None:
    loop = running_loop()
    a, b = _counting_pair()
    with a, b:
        await _wait_once(a, b)
        b.send(b"0123456789")
        assert await loop.sock_recv(a, 4) == b"0123"  # less than was there
        calls = a.recv_calls
        assert await loop.sock_recv(a, 100) == b"456789"  # tried at once, found it
        assert a.recv_calls == calls + 1


async def test_end_of_file_drops_the_registration_at_once() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    with a:
        a.setblocking(False)
        await _wait_once(a, b)
        task = loop.create_task(loop.sock_recv(a, 100))
        await loopcore.sleep(0)
        b.close()
        assert await task == b""
        assert not _registered(loop, a)


async def test_a_socket_closed_while_registered_frees_its_fd_number_for_sock_ops() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    await _wait_once(a, b)
    fd = a.fileno()
    a.close()  # closed while its registration is kept
    b.close()
    c, d = socket.socketpair()
    with c, d:
        if d.fileno() == fd:
            c, d = d, c
        if c.fileno() != fd:
            pytest.skip("the OS did not reuse the fd number")
        c.setblocking(False)
        task = loop.create_task(loop.sock_recv(c, 100))
        await loopcore.sleep(0)
        d.send(b"new socket")
        async with loopcore.timeout(5):
            assert await task == b"new socket"


@pytest.mark.parametrize("how", ["add_reader with the fd", "add_reader with the socket"])
async def test_a_socket_closed_while_registered_frees_its_fd_number_for_add_reader(
    how: str,
) -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    await _wait_once(a, b)
    fd = a.fileno()
    a.close()
    b.close()
    c, d = socket.socketpair()
    with c, d:
        if d.fileno() == fd:
            c, d = d, c
        if c.fileno() != fd:
            pytest.skip("the OS did not reuse the fd number")
        readable = loop.create_future()
        loop.add_reader(fd if how == "add_reader with the fd" else c, readable.set_result, None)
        d.send(b"x")
        async with loopcore.timeout(5):
            await readable
        assert loop.remove_reader(fd) is True


async def test_a_socket_closed_while_registered_frees_its_fd_number_for_a_transport() -> None:
    from lt_support import Recorder

    loop = running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    await _wait_once(a, b)
    fd = a.fileno()
    a.close()
    b.close()
    c, d = socket.socketpair()
    with d:
        if d.fileno() == fd:
            c, d = d, c
        if c.fileno() != fd:
            c.close()
            pytest.skip("the OS did not reuse the fd number")
        transport, proto = await loop.create_connection(Recorder, sock=c)
        d.send(b"to the transport")
        async with loopcore.timeout(5):
            while bytes(proto.data) != b"to the transport":
                await loopcore.sleep(0)
        transport.close()
        await proto.lost


async def test_remove_reader_of_an_idle_registration_says_none_was_registered() -> None:
    _needs_kept_registrations()
    loop = running_loop()
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        await _wait_once(a, b)
        assert _registered(loop, a)
        assert loop.remove_reader(a) is False  # no reader from the user's point of view
        assert not _registered(loop, a)
        # sock_recv registers again.
        await _wait_once(a, b)
        assert _registered(loop, a)


async def test_sock_recv_after_the_users_add_reader_and_remove_reader() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        await _wait_once(a, b)
        # The user's reader replaces the idle registration...
        readable = loop.create_future()
        loop.add_reader(a, lambda: readable.done() or readable.set_result(None))
        b.send(b"for the user")
        await readable
        assert a.recv(100) == b"for the user"
        assert loop.remove_reader(a) is True
        assert not _registered(loop, a)
        # ... and sock_recv works afterwards, with a registration of its own.
        await _wait_once(a, b)
        await _wait_once(a, b)


async def test_a_waiting_sock_recv_is_replaced_by_the_users_add_reader_as_in_asyncio() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        task = loop.create_task(loop.sock_recv(a, 100))
        await loopcore.sleep(0)
        loop.add_reader(a, lambda: None)
        assert loop.remove_reader(a) is True
        task.cancel()
        with pytest.raises(loopcore.CancelledError):
            await task
        assert not _registered(loop, a)
        await _wait_once(a, b)


async def test_cancelling_a_waiting_sock_recv_leaves_no_registration_behind() -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        await _wait_once(a, b)  # an idle registration, reused by the next wait
        task = loop.create_task(loop.sock_recv(a, 100))
        await loopcore.sleep(0)
        task.cancel()
        with pytest.raises(loopcore.CancelledError):
            await task
        assert not _registered(loop, a)
        assert len(loop._sock_waits) == 0  # type: ignore[attr-defined]


async def test_an_idle_registration_does_not_keep_its_socket_alive() -> None:
    import gc
    import weakref

    loop = running_loop()
    a, b = socket.socketpair()
    with b:
        a.setblocking(False)
        await _wait_once(a, b)
        fd = a.fileno()
        ref = weakref.ref(a)
        a.close()
        del a
        gc.collect()
        assert ref() is None
        loop._sock_waits.sweep()  # type: ignore[attr-defined]
        assert loop._io.get(fd) is None  # type: ignore[attr-defined]


def test_closing_the_loop_forgets_idle_registrations() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        loop = loopcore.new_event_loop()
        try:

            async def once() -> None:
                task = loop.create_task(loop.sock_recv(a, 100))
                await loopcore.sleep(0)
                b.send(b"x")
                assert await task == b"x"

            loop.run_until_complete(once())
            assert len(loop._sock_waits) == 1  # type: ignore[attr-defined]
        finally:
            loop.close()
        assert len(loop._sock_waits) == 0  # type: ignore[attr-defined]


async def test_an_accept_loop_keeps_its_registration_between_connections(
    listener: socket.socket,
) -> None:
    _needs_kept_registrations()
    loop = running_loop()
    clients = []
    try:
        for _ in range(3):
            accept = loop.create_task(loop.sock_accept(listener))
            await loopcore.sleep(0)
            assert not accept.done()
            watch = loop._io.get(listener.fileno())  # type: ignore[attr-defined]
            client = socket.socket()
            clients.append(client)
            client.connect(listener.getsockname())
            conn, _ = await accept
            conn.close()
            assert loop._io.get(listener.fileno()) is watch  # type: ignore[attr-defined]
    finally:
        for client in clients:
            client.close()


def test_with_select_every_registration_ends_with_its_wait() -> None:
    # select() fails with EBADF on every call once a watched fd is closed: a loop
    # polling with it keeps no sock_* registration past its wait, so closing a
    # socket right after a sock_recv leaves the loop working.
    import selectors

    from looptransports import SelectorEventLoop

    loop = SelectorEventLoop(selectors.SelectSelector())
    try:
        a, b = socket.socketpair()
        with b:
            a.setblocking(False)

            async def main() -> None:
                task = loop.create_task(loop.sock_recv(a, 100))
                await loopcore.sleep(0)
                b.send(b"x")
                assert await task == b"x"
                assert loop._io.get(a.fileno()) is None  # type: ignore[attr-defined]
                a.close()
                for _ in range(3):
                    await loopcore.sleep(0)  # polls: no EBADF

            loop.run_until_complete(main())
    finally:
        loop.close()
