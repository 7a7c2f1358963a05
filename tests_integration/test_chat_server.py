"""A line-based chat server on loopstreams and loopsync, with several clients.

Protocol: a client sends ``NICK name``; the server answers ``WELCOME name`` and tells
the others ``* name joined``. Every line a member sends goes to every member
(itself included) as ``name: line``; when a member leaves, the others get
``* name left``.

Each member has a bounded :class:`loopsync.Queue` of lines to send, and one task
that takes lines from it and ``send()``s them. A broadcast puts the line into every
queue, one broadcast at a time (a :class:`loopsync.Lock`), so every member sees the
same sequence. A full queue makes the broadcast wait (backpressure on whoever is
talking); a member whose queue stays full for ``slow_after`` seconds is too slow to
keep up and is disconnected, so one stuck client can neither hold up the others for
long nor make the server's memory grow.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from conftest import STRESS, Net, make_net, make_tls
from hypothesis import given
from hypothesis import strategies as st

import loopcore
import loopsync
from loopstreams import StreamReader, StreamWriter


@dataclass(eq=False)
class Member:
    name: bytes
    queue: loopsync.Queue[bytes]
    writer: StreamWriter


@dataclass
class ChatServer:
    queue_size: int = 64
    #: Seconds a member's queue may stay full before the member is disconnected.
    slow_after: float = 10.0
    #: Optional hooks for the tests: the write buffer's high-water mark and the
    #: kernel send buffer of each accepted connection.
    write_high: int | None = None
    sndbuf: int | None = None
    members: dict[bytes, Member] = field(default_factory=dict)
    kicked: list[bytes] = field(default_factory=list)
    lock: loopsync.Lock = field(default_factory=loopsync.Lock)

    async def handle(self, reader: StreamReader, writer: StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError:
                pass

    async def _serve(self, reader: StreamReader, writer: StreamWriter) -> None:
        if self.write_high is not None:
            writer.transport.set_write_buffer_limits(high=self.write_high)
        if self.sndbuf is not None:
            sock = writer.get_extra_info("socket")
            assert isinstance(sock, socket.socket)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.sndbuf)
        hello = await reader.readline()
        name = hello[5:].strip()
        if not hello.startswith(b"NICK ") or not name:
            await writer.send(b"ERROR say NICK <name> first\n")
            return
        if name in self.members:
            await writer.send(b"ERROR nickname taken\n")
            return
        member = Member(name, loopsync.Queue(maxsize=self.queue_size), writer)
        self.members[name] = member
        pump = loopcore.get_running_loop().create_task(self._pump(member))
        member.queue.put_nowait(b"WELCOME " + name + b"\n")
        await self.broadcast(b"* " + name + b" joined\n", skip=member)
        try:
            async for line in reader:
                await self.broadcast(name + b": " + line)
        except (ConnectionError, ValueError):
            pass  # the connection broke, or a line over the limit: the member leaves
        finally:
            if self.members.get(name) is member:
                del self.members[name]
                member.queue.shutdown()  # the pump sends what is queued, then stops
            await pump
            await self.broadcast(b"* " + name + b" left\n")

    async def broadcast(self, line: bytes, skip: Member | None = None) -> None:
        async with self.lock:
            for member in list(self.members.values()):
                if member is skip or self.members.get(member.name) is not member:
                    continue
                try:
                    member.queue.put_nowait(line)
                except loopsync.QueueFull:
                    try:
                        await loopcore.wait_for(member.queue.put(line), self.slow_after)
                    except (TimeoutError, loopsync.QueueShutDown):
                        if self.members.get(member.name) is member:
                            self.kick(member)

    def kick(self, member: Member) -> None:
        """Disconnect a member too slow to take its messages."""
        del self.members[member.name]
        self.kicked.append(member.name)
        member.queue.shutdown(immediate=True)
        member.writer.transport.abort()

    async def _pump(self, member: Member) -> None:
        try:
            while True:
                line = await member.queue.get()
                await member.writer.send(line)
        except (loopsync.QueueShutDown, ConnectionError):
            pass


class Client:
    def __init__(self, name: bytes, reader: StreamReader, writer: StreamWriter) -> None:
        self.name = name
        self.reader = reader
        self.writer = writer

    @classmethod
    async def join(cls, net: Net, server: object, name: bytes, **kwds: object) -> Client:
        reader, writer = await net.connect(server, **kwds)
        assert isinstance(reader, StreamReader) and isinstance(writer, StreamWriter)
        await writer.send(b"NICK " + name + b"\n")
        assert await reader.readline() == b"WELCOME " + name + b"\n"
        return cls(name, reader, writer)

    async def say(self, text: bytes) -> None:
        await self.writer.send(text + b"\n")

    async def lines_until(self, done: Callable[[list[bytes]], bool]) -> list[bytes]:
        got: list[bytes] = []
        while not done(got):
            line = await self.reader.readline()
            assert line, f"{self.name!r}: the server hung up; got {got!r}"
            got.append(line)
        return got

    async def leave(self) -> None:
        if self.writer.can_write_eof():
            # Half-close: the server sees the end of our lines, then hangs up.
            self.writer.write_eof()
            assert await self.reader.read() == b""
        # (TLS cannot half-close: closing is how a TLS member leaves.)
        self.writer.close()
        await self.writer.wait_closed()


def chat_lines(lines: list[bytes]) -> list[bytes]:
    return [line for line in lines if not line.startswith(b"* ")]


async def test_every_member_gets_every_line_in_the_same_order(net: Net) -> None:
    chat = ChatServer()
    names = [b"ann", b"bob", b"cyd", b"dee"]
    per_member = 50 if STRESS else 5
    async with await net.start(chat.handle) as server:  # type: ignore[attr-defined]
        clients = [await Client.join(net, server, name) for name in names]
        # The earlier members heard the later ones join, in order.
        for i, client in enumerate(clients):
            notices = await client.lines_until(lambda got, i=i: len(got) == len(names) - 1 - i)
            assert notices == [b"* " + n + b" joined\n" for n in names[i + 1 :]]

        async def talk(client: Client) -> None:
            for k in range(per_member):
                await client.say(b"message %d" % k)

        await loopcore.gather(*(talk(c) for c in clients))
        total = per_member * len(clients)
        received = await loopcore.gather(
            *(c.lines_until(lambda got: len(got) == total) for c in clients)
        )
        # One server broadcasting: every member sees the very same sequence...
        assert all(r == received[0] for r in received)
        # ...holding each member's lines in the order they were said.
        for name in names:
            mine = [line for line in received[0] if line.startswith(name + b": ")]
            assert mine == [name + b": message %d\n" % k for k in range(per_member)]

        for i, client in enumerate(clients):
            await client.leave()
            for other in clients[i + 1 :]:
                assert await other.reader.readline() == b"* " + client.name + b" left\n"
    assert not chat.members and not chat.kicked


async def test_a_taken_nickname_and_a_missing_nick_are_refused(net: Net) -> None:
    chat = ChatServer()
    async with await net.start(chat.handle) as server:  # type: ignore[attr-defined]
        ann = await Client.join(net, server, b"ann")
        reader, writer = await net.connect(server)
        assert isinstance(reader, StreamReader) and isinstance(writer, StreamWriter)
        await writer.send(b"NICK ann\n")
        assert await reader.readline() == b"ERROR nickname taken\n"
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        reader, writer = await net.connect(server)
        assert isinstance(reader, StreamReader) and isinstance(writer, StreamWriter)
        await writer.send(b"hello\n")
        assert await reader.readline() == b"ERROR say NICK <name> first\n"
        writer.close()
        await writer.wait_closed()
        await ann.leave()


async def test_an_overlong_line_makes_only_its_sender_leave(net: Net) -> None:
    chat = ChatServer()
    async with await net.start(chat.handle, limit=1024) as server:  # type: ignore[attr-defined]
        ann = await Client.join(net, server, b"ann")
        bob = await Client.join(net, server, b"bob")
        assert await ann.reader.readline() == b"* bob joined\n"
        await bob.say(b"b" * 5000)
        assert await ann.reader.readline() == b"* bob left\n"
        assert await bob.reader.read() == b""
        bob.writer.close()
        await bob.writer.wait_closed()
        await ann.say(b"still here")
        assert await ann.reader.readline() == b"ann: still here\n"
        await ann.leave()


@pytest.mark.parametrize("kind", ["tcp", "unix", "tls"])
async def test_a_member_that_never_reads_is_disconnected_and_the_others_go_on(
    kind: str, tls: object, tmp_path: object
) -> None:
    net = make_net(kind, tls, str(tmp_path))  # type: ignore[arg-type]
    chat = ChatServer(queue_size=8, slow_after=0.2, write_high=16 * 1024, sndbuf=16 * 1024)
    async with await net.start(chat.handle) as server:  # type: ignore[attr-defined]
        fast = await Client.join(net, server, b"fast")
        # A small kernel receive buffer, set before connecting (as it must be).
        family = socket.AF_UNIX if net.unix else socket.AF_INET
        raw = socket.socket(family, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        raw.connect(server.sockets[0].getsockname())  # type: ignore[attr-defined]
        stuck = await Client.join(net, server, b"stuck", sock=raw)
        assert await fast.reader.readline() == b"* stuck joined\n"
        stuck.writer.transport.pause_reading()  # from now on it reads nothing

        line = b"z" * 1000
        sent = 0
        gone = False
        while not gone:
            assert sent < 5000, "the stuck member was never disconnected"
            await fast.say(line)
            sent += 1
            assert await fast.reader.readline() == b"fast: " + line + b"\n"
            # The server's memory for the stuck member stays bounded meanwhile.
            if b"stuck" in chat.members:
                member = chat.members[b"stuck"]
                assert member.queue.qsize() <= 8
                assert member.writer.transport.get_write_buffer_size() <= 16 * 1024 + 1100
            gone = b"stuck" in chat.kicked
        assert await fast.reader.readline() == b"* stuck left\n"
        await fast.say(b"alone now")
        assert await fast.reader.readline() == b"fast: alone now\n"
        await fast.leave()
        stuck.writer.transport.abort()
        await loopcore.sleep(0)
    assert chat.kicked == [b"stuck"]


@given(
    n_clients=st.integers(2, 4),
    script=st.lists(
        st.tuples(st.integers(0, 3), st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"."))),
        max_size=25,
    ),
)
def test_chat_delivers_any_script_identically_to_every_member(
    n_clients: int, script: list[tuple[int, bytes]]
) -> None:
    script = [(who % n_clients, text) for who, text in script]
    net = make_net("tcp", make_tls(), "/tmp")

    async def main() -> list[list[bytes]]:
        chat = ChatServer()
        async with await net.start(chat.handle) as server:  # type: ignore[attr-defined]
            clients = [await Client.join(net, server, b"c%d" % i) for i in range(n_clients)]
            for who, text in script:
                await clients[who].say(text)
            received = await loopcore.gather(
                *(c.lines_until(lambda got: len(chat_lines(got)) == len(script)) for c in clients)
            )
            for client in clients:
                client.writer.close()
                await client.writer.wait_closed()
            return [chat_lines(r) for r in received]

    received = loopcore.run(main())
    assert all(r == received[0] for r in received)
    for i in range(n_clients):
        said = [b"c%d: %s\n" % (i, text) for who, text in script if who == i]
        assert [line for line in received[0] if line.startswith(b"c%d: " % i)] == said
