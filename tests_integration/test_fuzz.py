"""Fuzzing: StreamReader against a model, TLS against garbage.

* Hypothesis drives a :class:`loopstreams.StreamReader` with random data cut into
  random chunks fed at random moments, ending in EOF or an exception at a random
  point, while a reader task makes random read calls (``read``, ``readexactly``,
  ``readline``, ``readuntil``). A simple model (the bytes fed and a cursor) says
  what each call may return or raise.
* Seeded fuzz of the TLS transport: garbage from the peer before the handshake
  (either side) and inside an established TLS stream ends in a clean error or a
  closed connection within a bounded time, never a hang, with no fd left.
"""

from __future__ import annotations

import random
import socket
import ssl
from dataclasses import dataclass

import pytest
from _reliability import fd_count, open_transports, settle
from conftest import STRESS
from hypothesis import given, settings
from hypothesis import strategies as st

import loopcore
from loopcore import Future, IncompleteReadError, LimitOverrunError
from loopstreams import StreamReader
from looptransports import Protocol, Transport

# -- StreamReader against a model -------------------------------------------------------

LIMIT = 64


class Boom(Exception):
    """The exception set on the reader in the scenarios that end with one."""


@dataclass
class Scenario:
    data: bytes
    cuts: list[int]  # chunk sizes
    pauses: list[int]  # loop turns after each chunk
    end: str  # "eof" or "exception"
    calls: list[tuple[str, int]]


# Lines of random length (some over the limit), from a small alphabet with the
# separators in it.
_data = st.lists(
    st.binary(min_size=0, max_size=LIMIT + 20)
    .map(lambda b: bytes(c % 4 for c in b).replace(b"\x00", b"a").replace(b"\x01", b"-"))
    .map(lambda b: b.replace(b"\x02", b"b").replace(b"\x03", b"c")),
    max_size=12,
).map(lambda lines: b"\n".join(lines))

_call = st.one_of(
    st.tuples(st.just("read"), st.integers(-1, 40)),
    st.tuples(st.just("readexactly"), st.integers(0, 40)),
    st.tuples(st.just("readline"), st.just(0)),
    st.tuples(st.just("readuntil"), st.sampled_from([0, 1])),  # b"\n" or b"--"
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    data = draw(_data)
    cuts = []
    left = len(data)
    while left > 0:
        n = draw(st.integers(1, max(1, min(left, 50))))
        cuts.append(n)
        left -= n
    pauses = draw(st.lists(st.integers(0, 3), min_size=len(cuts) + 1, max_size=len(cuts) + 1))
    end = draw(st.sampled_from(["eof", "exception"]))
    calls = draw(st.lists(_call, min_size=1, max_size=30))
    return Scenario(data, cuts, pauses, end, calls)


SEPARATORS = [b"\n", b"--"]


def check_against_model(s: Scenario) -> None:
    async def main() -> None:
        loop = loopcore.get_running_loop()
        reader = StreamReader(limit=LIMIT)
        fed = 0

        async def feeder() -> None:
            nonlocal fed
            offset = 0
            for cut, turns in zip(s.cuts, s.pauses, strict=False):
                reader.feed_data(s.data[offset : offset + cut])
                offset += cut
                fed = offset
                for _ in range(turns):
                    await loopcore.sleep(0)
            if s.end == "eof":
                reader.feed_eof()
            else:
                reader.set_exception(Boom("the end"))

        feed_task = loop.create_task(feeder())
        cursor = 0
        data = s.data
        raised = False
        for name, arg in s.calls:
            rest = data[cursor:]
            try:
                if name == "read":
                    got = await reader.read(arg)
                    if arg == 0:
                        assert got == b""
                    elif arg < 0:
                        # read() returns everything up to EOF.
                        assert s.end == "eof" and got == rest
                    elif rest:
                        assert got and rest.startswith(got) and len(got) <= arg
                    else:
                        assert got == b"" and s.end == "eof"
                    cursor += len(got)
                elif name == "readexactly":
                    got = await reader.readexactly(arg)
                    assert got == rest[:arg] and len(got) == arg
                    cursor += arg
                else:
                    sep = b"\n" if name == "readline" else SEPARATORS[arg]
                    index = rest.find(sep)
                    got = (
                        await reader.readline()
                        if name == "readline"
                        else await reader.readuntil(sep)
                    )
                    assert index >= 0 or name == "readline", "readuntil without a separator"
                    if index >= 0:
                        assert got == rest[: index + len(sep)]
                        assert index <= LIMIT  # the separator starts within the limit
                    else:  # readline at EOF: the partial last line
                        assert s.end == "eof" and got == rest
                    cursor += len(got)
            except Boom:
                assert s.end == "exception"
                raised = True
                break
            except IncompleteReadError as exc:
                assert s.end == "eof"
                assert exc.partial == rest
                assert name in ("readexactly", "readuntil")
                if name == "readexactly":
                    assert len(rest) < arg and exc.expected == arg
                else:
                    assert SEPARATORS[arg] not in rest and exc.expected is None
                cursor = len(data)
            except LimitOverrunError:
                # readuntil: the separator is beyond the limit (or no separator
                # within it); the data stays in the buffer.
                assert name == "readuntil"
                index = rest.find(SEPARATORS[arg])
                assert index < 0 or index > LIMIT, (index, rest)
                if index < 0:
                    assert len(rest) > LIMIT
                break  # the model stops here: how much is buffered depends on timing
            except ValueError as exc:
                # readline over the limit: what it discards depends on the chunking.
                assert name == "readline" and "over the limit" in str(exc)
                index = rest.find(b"\n")
                assert index < 0 or index > LIMIT
                break
            assert cursor <= fed
        if raised:
            # Once set, the exception is raised by every read.
            with pytest.raises(Boom):
                await reader.read(1)
        await feed_task

    loopcore.run(main())


# Cheap examples: at least 300 even in the fast profile (1000 under stress).
@settings(max_examples=max(300, settings.default.max_examples))
@given(scenarios())
def test_stream_reader_matches_the_model(s: Scenario) -> None:
    check_against_model(s)


# -- TLS against garbage -----------------------------------------------------------------

GARBAGE_CASES = 200 if STRESS else 20
HANDSHAKE_TIMEOUT = 2.0


def garbage(rng: random.Random) -> bytes:
    """Random bytes; half of them start like a TLS record (handshake, TLS 1.0..1.3)."""
    body = rng.randbytes(rng.randrange(1, 3000))
    style = rng.randrange(4)
    if style == 0:
        return body
    if style == 1:  # a record header claiming a length, then random bytes
        return bytes([22, 3, rng.randrange(4)]) + rng.randrange(65536).to_bytes(2, "big") + body
    if style == 2:  # an alert record
        return bytes([21, 3, 3, 0, 2, rng.randrange(3), rng.randrange(256)]) + body
    # a well-formed handshake record holding a random handshake message
    msg = bytes([rng.randrange(256)]) + len(body).to_bytes(3, "big") + body
    return bytes([22, 3, 1]) + len(msg).to_bytes(2, "big") + msg


class Recorder(Protocol):
    def __init__(self) -> None:
        loop = loopcore.get_running_loop()
        self.made = False
        self.lost: list[Exception | None] = []
        self.lost_fut: Future[Exception | None] = loop.create_future()

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        self.made = True
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)
        if not self.lost_fut.done():
            self.lost_fut.set_result(exc)


def quiet(loop: object) -> list[dict[str, object]]:
    contexts: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _l, c: contexts.append(c))  # type: ignore[attr-defined]
    return contexts


async def test_tls_server_ends_every_garbage_handshake_cleanly(tls: object) -> None:
    loop = loopcore.get_running_loop()
    errors = quiet(loop)
    fds = fd_count()
    rng = random.Random(20240)
    made: list[Recorder] = []

    def factory() -> Recorder:
        made.append(Recorder())
        return made[-1]

    server = await loop.create_server(  # type: ignore[attr-defined]
        factory,
        "127.0.0.1",
        0,
        ssl=tls.server,
        ssl_handshake_timeout=HANDSHAKE_TIMEOUT,  # type: ignore[attr-defined]
    )
    outcomes = {"closed": 0, "reset": 0}
    try:
        address = server.sockets[0].getsockname()
        for _ in range(GARBAGE_CASES):
            sock = socket.create_connection(address)
            sock.setblocking(False)
            try:
                await loop.sock_sendall(sock, garbage(rng))  # type: ignore[attr-defined]
                # The server must end the connection: an alert and/or EOF, or a reset,
                # at the latest when its handshake timeout fires.
                async with loopcore.timeout(HANDSHAKE_TIMEOUT + 10):
                    while True:
                        try:
                            chunk = await loop.sock_recv(sock, 65536)  # type: ignore[attr-defined]
                        except ConnectionResetError:
                            outcomes["reset"] += 1
                            break
                        if not chunk:
                            outcomes["closed"] += 1
                            break
            finally:
                sock.close()
        await settle()
        # Protocols are made at accept time; none may have been connected.
        assert not [p for p in made if p.made], "garbage completed a handshake"
    finally:
        server.close()
        server.abort_clients()  # after a failure only: nothing is left otherwise
        async with loopcore.timeout(10):
            await server.wait_closed()
    async with loopcore.timeout(10):
        while fd_count() > fds:
            await loopcore.sleep(0.005)
    assert open_transports() == []
    assert sum(outcomes.values()) == GARBAGE_CASES
    for context in errors:
        assert isinstance(context.get("exception"), (OSError, ssl.SSLError, TimeoutError)), context


async def test_tls_client_refuses_a_garbage_server(tls: object) -> None:
    loop = loopcore.get_running_loop()
    quiet(loop)
    fds = fd_count()
    rng = random.Random(20241)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    failures: dict[str, int] = {}
    made: list[Recorder] = []

    def factory() -> Recorder:
        made.append(Recorder())
        return made[-1]

    try:
        for _ in range(GARBAGE_CASES):

            async def garbage_server() -> None:
                conn, _ = await loop.sock_accept(listener)  # type: ignore[attr-defined]
                conn.setblocking(False)
                try:
                    await loop.sock_recv(conn, 65536)  # type: ignore[attr-defined]  # ClientHello
                    await loop.sock_sendall(conn, garbage(rng))  # type: ignore[attr-defined]
                    # Wait for the client to give up (EOF or reset), then close.
                    try:
                        while await loop.sock_recv(conn, 65536):  # type: ignore[attr-defined]
                            pass
                    except ConnectionError:
                        pass
                finally:
                    conn.close()

            peer = loop.create_task(garbage_server())
            try:
                async with loopcore.timeout(HANDSHAKE_TIMEOUT + 10):
                    await loop.create_connection(  # type: ignore[attr-defined]
                        factory,
                        *listener.getsockname(),
                        ssl=tls.client,  # type: ignore[attr-defined]
                        server_hostname="localhost",
                        ssl_handshake_timeout=HANDSHAKE_TIMEOUT,
                    )
            except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
            else:
                pytest.fail("a garbage server completed a handshake")
            async with loopcore.timeout(10):
                await peer
            assert all(not p.made for p in made)
    finally:
        listener.close()
    assert sum(failures.values()) == GARBAGE_CASES
    await settle()
    async with loopcore.timeout(10):
        while fd_count() > fds:
            await loopcore.sleep(0.005)
    assert open_transports() == []


async def test_garbage_inside_an_established_tls_stream_fails_the_connection_once(
    tls: object,
) -> None:
    loop = loopcore.get_running_loop()
    errors = quiet(loop)
    fds = fd_count()
    rng = random.Random(20242)
    ragged = 0
    servers: list[Recorder] = []

    def factory() -> Recorder:
        servers.append(Recorder())
        return servers[-1]

    server = await loop.create_server(factory, "127.0.0.1", 0, ssl=tls.server)  # type: ignore[attr-defined]
    try:
        address = server.sockets[0].getsockname()
        for i in range(GARBAGE_CASES):
            transport, client = await loop.create_connection(  # type: ignore[attr-defined]
                Recorder,
                *address,
                ssl=tls.client,
                server_hostname="localhost",  # type: ignore[attr-defined]
            )
            async with loopcore.timeout(10):
                while len(servers) <= i or not servers[i].made:
                    await loopcore.sleep(0)
            # Bypass TLS: raw bytes into the encrypted stream.
            raw = transport.get_extra_info("socket")
            junk = garbage(rng)
            raw.sendall(junk)
            # Then EOF: garbage that looks like the start of a long record would
            # otherwise (rightly) wait for the rest, like any idle connection.
            raw.shutdown(socket.SHUT_WR)
            async with loopcore.timeout(10):
                exc = await servers[i].lost_fut
                await client.lost_fut
            if exc is None:
                # A ragged EOF: only a truncated record (nothing to decrypt) was
                # sent before the EOF, which ends the stream as asyncio's does.
                assert len(junk) < 5 or 5 + int.from_bytes(junk[3:5], "big") > len(junk)
                ragged += 1
            else:
                assert isinstance(exc, (ssl.SSLError, OSError)), exc
            transport.close()
        await settle()
        assert all(len(p.lost) == 1 for p in servers)
        assert ragged < GARBAGE_CASES // 2
    finally:
        server.close()
        server.abort_clients()  # after a failure only: nothing is left otherwise
        async with loopcore.timeout(10):
            await server.wait_closed()
    async with loopcore.timeout(10):
        while fd_count() > fds:
            await loopcore.sleep(0.005)
    assert open_transports() == []
    for context in errors:
        assert isinstance(context.get("exception"), (OSError, ssl.SSLError)), context
