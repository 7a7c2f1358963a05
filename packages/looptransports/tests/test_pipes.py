"""Pipe transports: connect_read_pipe / connect_write_pipe on real os.pipe() pairs."""

from __future__ import annotations

import errno
import os
import socket
import sys

import pytest

import loopcore
from looptransports.pipes import ReadPipeTransport, WritePipeTransport
from looptransports.protocols import BufferedProtocol, Protocol

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")


class Recorder(Protocol):
    """Records every callback; futures for the moments tests wait for."""

    def __init__(self) -> None:
        loop = loopcore.get_running_loop()
        self.loop = loop
        self.events: list[str] = []
        self.data = bytearray()
        self.transport: object = None
        self.made = loop.create_future()
        self.lost = loop.create_future()
        self._want = 0
        self._data_waiter: loopcore.Future[object] | None = None
        self.pauses: list[int] = []
        self.resumes: list[int] = []
        self.resumed = loop.create_future()

    def connection_made(self, transport: object) -> None:
        self.transport = transport
        self.events.append("made")
        self.made.set_result(None)

    def data_received(self, data: bytes) -> None:
        assert "eof" not in self.events
        self.events.append("data")
        self.data += data
        if self._data_waiter is not None and len(self.data) >= self._want:
            if not self._data_waiter.done():
                self._data_waiter.set_result(None)

    def eof_received(self) -> None:
        self.events.append("eof")

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("lost")
        self.lost.set_result(exc)

    def pause_writing(self) -> None:
        self.pauses.append(self.transport.get_write_buffer_size())  # type: ignore[attr-defined]

    def resume_writing(self) -> None:
        self.resumes.append(self.transport.get_write_buffer_size())  # type: ignore[attr-defined]
        if not self.resumed.done():
            self.resumed.set_result(None)

    async def wait_data(self, nbytes: int) -> None:
        if len(self.data) >= nbytes:
            return
        self._want = nbytes
        self._data_waiter = self.loop.create_future()
        await self._data_waiter
        self._data_waiter = None


def _pipe_files() -> tuple[object, object]:
    r, w = os.pipe()
    return os.fdopen(r, "rb", buffering=0), os.fdopen(w, "wb", buffering=0)


def _fill_pipe(fd: int) -> int:
    """Write into the non-blocking pipe *fd* until it is full; the bytes written."""
    total = 0
    chunk = b"f" * 65536
    while True:
        try:
            total += os.write(fd, chunk)
        except BlockingIOError:
            return total


# -- read pipes ---------------------------------------------------------------------


async def test_read_pipe_delivers_data_then_eof_then_connection_lost_none() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    transport, proto = await loop.connect_read_pipe(Recorder, rfile)
    assert isinstance(transport, ReadPipeTransport)
    assert proto.events == ["made"]
    wfile.write(b"hello ")
    wfile.write(b"pipe")
    await proto.wait_data(10)
    wfile.close()
    assert await proto.lost is None
    assert bytes(proto.data) == b"hello pipe"
    assert proto.events[0] == "made"
    assert proto.events[-2:] == ["eof", "lost"]
    assert set(proto.events[1:-2]) == {"data"}
    assert rfile.closed  # the transport owns the pipe and closed it
    assert transport.is_closing()


async def test_read_pipe_get_extra_info_pipe_is_the_pipe_object() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    transport, proto = await loop.connect_read_pipe(Recorder, rfile)
    assert transport.get_extra_info("pipe") is rfile
    assert transport.get_extra_info("missing", "dflt") == "dflt"
    assert transport.get_protocol() is proto
    transport.close()
    await proto.lost
    wfile.close()


async def test_read_pipe_fd_is_made_non_blocking() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    assert os.get_blocking(rfile.fileno())
    transport, proto = await loop.connect_read_pipe(Recorder, rfile)
    assert not os.get_blocking(rfile.fileno())
    transport.close()
    await proto.lost
    wfile.close()


async def test_read_pipe_pause_reading_holds_data_until_resume_reading() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    transport, proto = await loop.connect_read_pipe(Recorder, rfile)
    # A second pipe is the witness: once its data has been delivered, the loop has
    # polled with the first pipe readable too.
    wit_r, wit_w = _pipe_files()
    _, witness = await loop.connect_read_pipe(Recorder, wit_r)
    assert transport.is_reading()
    transport.pause_reading()
    transport.pause_reading()  # idempotent
    assert not transport.is_reading()
    wfile.write(b"held")
    wit_w.write(b"w")
    await witness.wait_data(1)
    assert proto.data == b""
    transport.resume_reading()
    transport.resume_reading()  # idempotent
    assert transport.is_reading()
    await proto.wait_data(4)
    assert proto.data == b"held"
    for t, w in ((transport, wfile), (witness.transport, wit_w)):
        t.close()  # type: ignore[attr-defined]
        w.close()
    await proto.lost
    await witness.lost


async def test_read_pipe_reads_straight_into_a_buffered_protocols_buffer() -> None:
    loop = loopcore.get_running_loop()

    class Buffered(BufferedProtocol):
        def __init__(self) -> None:
            self.buf = bytearray(7)
            self.received = bytearray()
            self.sizes: list[int] = []
            self.events: list[str] = []
            self.lost = loop.create_future()

        def get_buffer(self, sizehint: int) -> bytearray:
            return self.buf

        def buffer_updated(self, nbytes: int) -> None:
            self.sizes.append(nbytes)
            self.received += self.buf[:nbytes]

        def eof_received(self) -> None:
            self.events.append("eof")

        def connection_lost(self, exc: Exception | None) -> None:
            self.lost.set_result(exc)

    rfile, wfile = _pipe_files()
    transport, proto = await loop.connect_read_pipe(Buffered, rfile)
    wfile.write(b"zero-copy reading through a pipe")
    wfile.close()
    assert await proto.lost is None
    assert bytes(proto.received) == b"zero-copy reading through a pipe"
    assert max(proto.sizes) <= 7
    assert proto.events == ["eof"]


async def test_read_pipe_close_stops_reading_and_calls_connection_lost_none() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    transport, proto = await loop.connect_read_pipe(Recorder, rfile)
    transport.close()
    assert transport.is_closing()
    assert not transport.is_reading()
    transport.close()  # a second close is a no-op
    assert await proto.lost is None
    assert proto.events == ["made", "lost"]
    assert rfile.closed
    wfile.close()


async def test_read_pipe_accepts_a_socket() -> None:
    loop = loopcore.get_running_loop()
    a, b = socket.socketpair()
    with b:
        transport, proto = await loop.connect_read_pipe(Recorder, a)
        b.sendall(b"over a socket")
        b.shutdown(socket.SHUT_WR)
        assert await proto.lost is None
    assert bytes(proto.data) == b"over a socket"
    assert a.fileno() == -1  # closed by the transport


async def test_read_pipe_accepts_a_character_device_pty() -> None:
    loop = loopcore.get_running_loop()
    master, slave = os.openpty()
    mfile = os.fdopen(master, "rb", buffering=0)
    transport, proto = await loop.connect_read_pipe(Recorder, mfile)
    os.write(slave, b"tty data\n")
    await proto.wait_data(8)
    assert b"tty data" in proto.data
    transport.close()
    await proto.lost
    os.close(slave)


async def test_connect_read_pipe_refuses_a_regular_file(tmp_path: object) -> None:
    loop = loopcore.get_running_loop()
    path = os.path.join(str(tmp_path), "regular.bin")
    with open(path, "wb") as f:
        f.write(b"data")
    with open(path, "rb") as f, pytest.raises(ValueError, match="regular files"):
        await loop.connect_read_pipe(Recorder, f)


async def test_connect_read_pipe_refuses_an_object_without_fileno() -> None:
    loop = loopcore.get_running_loop()
    with pytest.raises(TypeError, match="fileno"):
        await loop.connect_read_pipe(Recorder, object())  # type: ignore[arg-type]


# -- write pipes -------------------------------------------------------------------


async def test_write_pipe_writes_reach_the_reader_in_order() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    assert isinstance(wt, WritePipeTransport)
    rt, rproto = await loop.connect_read_pipe(Recorder, rfile)
    wt.write(b"one ")
    wt.write(bytearray(b"two "))
    wt.writelines([b"three ", memoryview(b"four")])
    wt.write(b"")  # empty writes are no-ops
    await rproto.wait_data(18)
    assert bytes(rproto.data) == b"one two three four"
    wt.close()
    assert await wproto.lost is None
    assert await rproto.lost is None
    assert wfile.closed


async def test_write_pipe_get_extra_info_pipe_and_can_write_eof() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    assert wt.get_extra_info("pipe") is wfile
    assert wt.can_write_eof() is True
    assert not os.get_blocking(wfile.fileno())
    wt.close()
    await wproto.lost
    rfile.close()


async def test_write_pipe_buffers_what_the_pipe_cannot_take_and_flushes_it_later() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    wt.set_write_buffer_limits(high=10 * 1024 * 1024)  # no flow control here
    payload = bytes(range(256)) * 4096  # 1 MiB, far more than a pipe holds
    wt.write(payload)
    assert 0 < wt.get_write_buffer_size() < len(payload)
    rt, rproto = await loop.connect_read_pipe(Recorder, rfile)
    await rproto.wait_data(len(payload))
    assert bytes(rproto.data) == payload
    assert wt.get_write_buffer_size() == 0
    wt.close()
    await wproto.lost
    await rproto.lost


async def test_write_pipe_pause_writing_only_when_buffer_strictly_over_high() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    wt.set_write_buffer_limits(high=10 * 1024 * 1024)
    wt.write(b"x" * (1024 * 1024))
    buffered = wt.get_write_buffer_size()
    assert buffered > 0
    wt.set_write_buffer_limits(high=buffered, low=0)  # at the mark, not over it
    assert wproto.pauses == []
    wt.write(b"y")  # now one byte over
    assert wproto.pauses == [buffered + 1]
    wt.write(b"z" * 1000)  # still paused: no second call
    assert wproto.pauses == [buffered + 1]
    assert wt.get_write_buffer_limits() == (0, buffered)
    # low=0: resume only when the buffer is empty.
    rt, rproto = await loop.connect_read_pipe(Recorder, rfile)
    await wproto.resumed
    assert wproto.resumes == [0]
    await rproto.wait_data(1024 * 1024 + 1001)
    wt.close()
    await wproto.lost
    await rproto.lost
    assert len(wproto.pauses) == len(wproto.resumes) == 1


async def test_write_pipe_resume_writing_once_at_or_below_low() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    wt.set_write_buffer_limits(high=64 * 1024, low=16 * 1024)
    assert wt.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
    wt.write(b"d" * (512 * 1024))
    assert len(wproto.pauses) == 1
    rt, rproto = await loop.connect_read_pipe(Recorder, rfile)
    await rproto.wait_data(512 * 1024)
    assert len(wproto.resumes) == 1
    assert wproto.resumes[0] <= 16 * 1024
    wt.close()
    await wproto.lost
    await rproto.lost


async def test_write_pipe_high_zero_pauses_on_any_buffered_byte() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    wt.set_write_buffer_limits(high=0)
    wt.write(b"fits")  # goes straight into the empty pipe: nothing buffered
    assert wproto.pauses == []
    _fill_pipe(wfile.fileno())
    wt.write(b"!")
    assert wproto.pauses == [1]
    wt.abort()
    await wproto.lost
    rfile.close()


async def test_write_pipe_flow_control_errors_are_reported_not_fatal() -> None:
    loop = loopcore.get_running_loop()
    seen: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, ctx: seen.append(ctx))

    class Fails(Recorder):
        def pause_writing(self) -> None:
            raise ZeroDivisionError("pause")

    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Fails, wfile)
    wt.set_write_buffer_limits(high=0)
    _fill_pipe(wfile.fileno())
    wt.write(b"over")
    assert [type(c["exception"]) for c in seen] == [ZeroDivisionError]
    assert "pause_writing" in str(seen[0]["message"])
    assert not wt.is_closing()  # not fatal
    wt.abort()
    assert await wproto.lost is None
    rfile.close()


@pytest.mark.parametrize(("high", "low"), [(-1, None), (None, -1), (10, 11)])
async def test_write_pipe_set_write_buffer_limits_refuses_bad_marks(
    high: int | None, low: int | None
) -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    with pytest.raises(ValueError, match="high|low"):
        wt.set_write_buffer_limits(high=high, low=low)
    wt.close()
    await wproto.lost
    rfile.close()


async def test_write_pipe_reader_closing_gives_connection_lost_none_when_nothing_buffered() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    rfile.close()  # no write needed: the readable event on the write end tells
    assert await wproto.lost is None
    assert wt.is_closing()
    assert wfile.closed


async def test_write_pipe_reader_closing_with_data_buffered_gives_broken_pipe_error() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    wt.set_write_buffer_limits(high=10 * 1024 * 1024)
    wt.write(b"x" * (1024 * 1024))
    assert wt.get_write_buffer_size() > 0
    rfile.close()
    exc = await wproto.lost
    assert isinstance(exc, BrokenPipeError)
    assert exc.errno == errno.EPIPE
    assert wt.get_write_buffer_size() == 0  # the buffer is freed


async def test_write_pipe_write_after_the_reader_closed_is_dropped_without_error() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    rfile.close()
    await wproto.lost
    for _ in range(10):
        wt.write(b"into the void")
    assert wt.get_write_buffer_size() == 0


async def test_write_pipe_write_after_close_is_dropped_while_the_buffer_drains() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    wt.set_write_buffer_limits(high=10 * 1024 * 1024)
    wt.write(b"k" * (256 * 1024))
    wt.close()
    assert wt.is_closing()
    wt.write(b"dropped")  # neither raises nor grows the buffer
    assert wt.get_write_buffer_size() < 256 * 1024
    rt, rproto = await loop.connect_read_pipe(Recorder, rfile)
    assert await rproto.lost is None
    assert bytes(rproto.data) == b"k" * (256 * 1024)
    assert await wproto.lost is None


async def test_write_pipe_write_that_hits_epipe_ends_in_broken_pipe_error() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    rfile.close()
    # Written before the loop noticed the reader is gone: os.write fails with EPIPE.
    wt.write(b"data")
    exc = await wproto.lost
    assert isinstance(exc, BrokenPipeError)


async def test_write_pipe_write_eof_closes_after_the_buffer_drains() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    wt.set_write_buffer_limits(high=10 * 1024 * 1024)
    wt.write(b"e" * (256 * 1024))
    wt.write_eof()
    assert wt.is_closing()
    with pytest.raises(RuntimeError, match="write_eof"):
        wt.write(b"more")
    assert not wproto.lost.done()
    rt, rproto = await loop.connect_read_pipe(Recorder, rfile)
    assert await rproto.lost is None  # the reader saw all the data, then EOF
    assert len(rproto.data) == 256 * 1024
    assert rproto.events[-2:] == ["eof", "lost"]
    assert await wproto.lost is None


async def test_write_pipe_abort_drops_the_buffer_and_calls_connection_lost_none() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    wt.set_write_buffer_limits(high=10 * 1024 * 1024)
    wt.write(b"a" * (1024 * 1024))
    wt.abort()
    assert wt.get_write_buffer_size() == 0
    assert await wproto.lost is None
    assert wfile.closed
    rfile.close()


async def test_connect_write_pipe_refuses_a_regular_file(tmp_path: object) -> None:
    loop = loopcore.get_running_loop()
    path = os.path.join(str(tmp_path), "regular.bin")
    with open(path, "wb") as f, pytest.raises(ValueError, match="regular files"):
        await loop.connect_write_pipe(Recorder, f)


async def test_write_pipe_write_refuses_text() -> None:
    loop = loopcore.get_running_loop()
    rfile, wfile = _pipe_files()
    wt, wproto = await loop.connect_write_pipe(Recorder, wfile)
    with pytest.raises(TypeError, match="bytes-like"):
        wt.write("text")  # type: ignore[arg-type]
    wt.close()
    await wproto.lost
    rfile.close()
