"""Streams: a buffered reader and a flow-controlled writer over one connection.

:class:`StreamReader` holds the bytes a transport delivered until a coroutine reads
them; :class:`StreamWriter` wraps the transport's write side and adds ``drain()``,
which waits while the transport's write buffer is over its high-water mark;
:class:`StreamReaderProtocol` is the protocol that connects the two to a transport.

Memory is bounded on both sides, which is the point of the layer:

- the reader pauses its transport (``pause_reading()``) when its buffer grows over
  twice its *limit* and resumes it when readers have drained the buffer back to the
  limit; ``readline()``/``readuntil()`` refuse a line longer than the limit instead of
  buffering it whole;
- the writer's ``drain()`` (and ``send()``, which writes then drains) blocks while the
  peer does not read.

Every public coroutine method is an ``async def`` and works both as ``await x`` and,
inside a ``@loopcore.coroutine`` generator, as ``yield from x`` (the decorator makes
the generator able to delegate to native coroutines).
"""

from __future__ import annotations

import collections
import types
from collections.abc import Awaitable, Callable, Generator, Iterable
from typing import TYPE_CHECKING, cast
from typing import Protocol as _TypingProtocol

from loopcore import coroutines
from loopcore._build import mypyc_attr
from loopcore.events import AbstractEventLoop, get_running_loop
from loopcore.exceptions import IncompleteReadError, LimitOverrunError
from looptransports.protocols import Protocol
from looptransports.transports import BaseTransport, ReadTransport, Transport

if TYPE_CHECKING:
    import ssl as _ssl_module

    from loopcore.futures import Future

__all__ = ["StreamReader", "StreamReaderProtocol", "StreamWriter"]

#: The default buffer limit of a :class:`StreamReader`, in bytes (64 KiB).
_DEFAULT_LIMIT = 2**16

BytesLike = bytes | bytearray | memoryview
#: What ``readuntil()`` accepts as *separator*.
Separator = BytesLike | tuple[BytesLike, ...]

#: The callback given to ``start_server``: a plain function or a coroutine function
#: called with the connection's reader and writer.
ClientConnectedCallback = Callable[["StreamReader", "StreamWriter"], object]


def _resolve_loop(loop: AbstractEventLoop | None) -> AbstractEventLoop:
    """The loop to use: *loop* if given, else the running loop, else the current one.

    :raises ValueError: when *loop* is given but another loop is running in this
        thread (objects of one loop cannot be used from another).
    """
    try:
        running: AbstractEventLoop | None = get_running_loop()
    except RuntimeError:
        running = None
    if loop is None:
        if running is not None:
            return running
        from loopcore import policies

        return policies.get_event_loop()
    if running is not None and loop is not running:
        raise ValueError(
            f"loop={loop!r} was given but {running!r} is running in this thread; "
            "omit loop= to use the running loop"
        )
    return loop


def _check_limit(limit: object, what: str = "limit") -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise ValueError(f"{what} must be a positive int (bytes), got {limit!r}")
    return limit


@types.coroutine
def _yield_once() -> Generator[None, None, None]:
    # A bare yield: the task gives every ready callback one turn, then continues.
    yield


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class StreamReader:
    """A buffer of received bytes with coroutines to read them.

    The protocol feeds it (:meth:`feed_data`, :meth:`feed_eof`, :meth:`set_exception`);
    one coroutine at a time reads from it. A second coroutine that has to wait while
    another is waiting gets :class:`RuntimeError`.

    :param limit: the buffer limit in bytes (64 KiB by default). ``readline()`` and
        ``readuntil()`` refuse a line (data before the separator) longer than it, and
        the transport is paused while more than twice the limit is buffered.
    :param loop: the loop; by default the running loop (or the current one).
    :raises ValueError: for a *limit* that is not a positive int.

    Not thread-safe: use it from its loop's thread.
    """

    __slots__ = (
        "_buffer",
        "_call_limit",
        "_chunk",
        "_chunk_pos",
        "_eof",
        "_exception",
        "_limit",
        "_loop",
        "_paused",
        "_transport",
        "_waiter",
    )

    def __init__(self, limit: int = _DEFAULT_LIMIT, loop: AbstractEventLoop | None = None) -> None:
        self._limit = _check_limit(limit)
        self._loop = _resolve_loop(loop)
        self._buffer = bytearray()
        # The bytes object the transport delivered, kept as it is while it is all
        # there is to read (then _buffer is empty): read() hands it out without a
        # copy, or slices from it when asked for less, _chunk_pos marking how
        # much was already read. Any other use of the buffer first moves what is
        # left of it into _buffer (_flush). Copying every received chunk into the
        # bytearray and out again cost two large allocations per message, and the
        # heap churn made the allocator map and unmap fresh pages for the
        # transport's receive buffers.
        self._chunk: bytes | None = None
        self._chunk_pos = 0
        self._eof = False
        self._waiter: Future[None] | None = None
        self._exception: BaseException | None = None
        self._transport: ReadTransport | None = None
        self._paused = False
        # The per-call limit= of the read in progress (0: none). While it is larger
        # than the stream's limit, the pause threshold follows it: otherwise the
        # transport would be paused before the long line could arrive.
        self._call_limit = 0

    def __repr__(self) -> str:
        info = [type(self).__name__]
        size = self._size()
        if size:
            info.append(f"{size} bytes")
        if self._eof:
            info.append("eof")
        if self._limit != _DEFAULT_LIMIT:
            info.append(f"limit={self._limit}")
        if self._waiter is not None:
            info.append(f"waiter={self._waiter!r}")
        if self._exception is not None:
            info.append(f"exception={self._exception!r}")
        if self._transport is not None:
            info.append(f"transport={self._transport!r}")
        if self._paused:
            info.append("paused")
        return f"<{' '.join(info)}>"

    # -- the protocol side -------------------------------------------------------------

    def exception(self) -> BaseException | None:
        """The exception set with :meth:`set_exception`, or ``None``."""
        return self._exception

    def set_exception(self, exc: BaseException) -> None:
        """Make every following read raise *exc* (the connection failed).

        A coroutine waiting for data is woken with *exc*. Data still buffered is not
        returned any more.
        """
        self._exception = exc
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_exception(exc)

    def _wakeup_waiter(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def set_transport(self, transport: ReadTransport) -> None:
        """Attach the transport to pause and resume (called once, by the protocol).

        :raises RuntimeError: if a transport was already set.
        """
        if self._transport is not None:
            raise RuntimeError(f"{self!r} already has a transport; set_transport() is called once")
        self._transport = transport

    def feed_eof(self) -> None:
        """Record the end of the stream and wake a waiting reader. Idempotent."""
        self._eof = True
        self._wakeup_waiter()

    def at_eof(self) -> bool:
        """True when the end of the stream was fed and the buffer is empty."""
        return self._eof and self._chunk is None and not self._buffer

    def feed_data(self, data: BytesLike) -> None:
        """Append *data* to the buffer and wake a waiting reader.

        Pauses the transport when the buffer grows over twice the limit (or twice the
        per-call ``limit=`` of the read in progress, when that is larger).

        :raises RuntimeError: after :meth:`feed_eof`.
        """
        if self._eof:
            raise RuntimeError(f"feed_data() called after feed_eof() on {self!r}")
        if not data:
            return
        if self._chunk is None and not self._buffer and type(data) is bytes:
            self._chunk = data
            size = len(data)
        else:
            self._flush()
            self._buffer.extend(data)
            size = len(self._buffer)
        self._wakeup_waiter()
        # The pause threshold is never below the limit: most chunks stop here.
        if size > 2 * self._limit:
            self._maybe_pause_transport()

    def _size(self) -> int:
        """The number of bytes buffered."""
        chunk = self._chunk
        return len(self._buffer) if chunk is None else len(chunk) - self._chunk_pos

    def _flush(self) -> None:
        """Move the chunk kept aside by feed_data() into the bytearray buffer."""
        chunk = self._chunk
        if chunk is not None:
            self._chunk = None
            pos = self._chunk_pos
            if pos:
                self._chunk_pos = 0
                self._buffer += memoryview(chunk)[pos:]
            else:
                self._buffer += chunk

    def _threshold(self) -> int:
        return self._limit if self._limit >= self._call_limit else self._call_limit

    def _maybe_pause_transport(self) -> None:
        transport = self._transport
        if transport is not None and not self._paused and self._size() > 2 * self._threshold():
            try:
                transport.pause_reading()
            except NotImplementedError:
                # A transport that cannot pause: memory is then bounded only by
                # how fast the reader reads. Stop trying.
                self._transport = None
            else:
                self._paused = True

    def _maybe_resume_transport(self) -> None:
        if self._paused and self._size() <= self._threshold():
            self._paused = False
            assert self._transport is not None
            self._transport.resume_reading()

    async def _wait_for_data(self, func_name: str) -> None:
        """Wait until feed_data(), feed_eof() or set_exception() is called."""
        if self._waiter is not None:
            raise RuntimeError(
                f"{func_name}() called while another coroutine is already waiting for "
                f"incoming data on {self!r}; only one coroutine may read a stream at a time"
            )
        if self._exception is not None:
            raise self._exception
        assert not self._eof, "_wait_for_data after EOF"
        # Waiting while paused would wait forever: the data we need cannot come.
        if self._paused:
            self._paused = False
            assert self._transport is not None
            self._transport.resume_reading()
        waiter: Future[None] = self._loop.create_future()  # type: ignore[assignment]
        self._waiter = waiter
        try:
            await waiter
        finally:
            if self._waiter is waiter:
                self._waiter = None

    def _take(self, n: int) -> bytes:
        """Remove and return the first *n* bytes of the buffer."""
        chunk = self._chunk
        if chunk is not None:
            # Each byte is copied at most once on its way out: the whole chunk is
            # returned as it is, a part of it as one slice.
            pos = self._chunk_pos
            end = pos + n
            if end >= len(chunk):
                self._chunk = None
                self._chunk_pos = 0
                data = chunk[pos:] if pos else chunk
            else:
                self._chunk_pos = end
                data = chunk[pos:end]
            if self._paused:
                self._maybe_resume_transport()
            return data
        buffer = self._buffer
        if n >= len(buffer):
            data = bytes(buffer)
            buffer.clear()
        else:
            # Through a view: buffer[:n] would copy into a bytearray first.
            data = memoryview(buffer)[:n].tobytes()
            del buffer[:n]
        self._maybe_resume_transport()
        return data

    # -- reading -------------------------------------------------------------------------

    async def read(self, n: int = -1) -> bytes:
        """Read up to *n* bytes; with ``n < 0`` (the default) read until end of stream.

        Returns as soon as some data is buffered (``n > 0``), so the result may be
        shorter than *n*. Returns ``b""`` at end of stream and for ``n == 0``.

        :raises: the exception set with :meth:`set_exception`.
        """
        if self._exception is not None:
            raise self._exception
        if n == 0:
            return b""
        if n < 0:
            # In blocks of the limit, so that the buffer (and the transport's pause
            # state) keeps working as usual while the whole stream is collected.
            blocks = []
            while True:
                block = await self.read(self._limit)
                if not block:
                    break
                blocks.append(block)
            return b"".join(blocks)
        if self._chunk is None and not self._buffer and not self._eof:
            await self._wait_for_data("read")
        return self._take(n)

    async def readexactly(self, n: int) -> bytes:
        """Read exactly *n* bytes.

        :raises IncompleteReadError: if the stream ends first; its ``partial`` holds
            the bytes read (they are consumed) and ``expected`` is *n*.
        :raises ValueError: for a negative *n*.
        :raises: the exception set with :meth:`set_exception`.
        """
        if n < 0:
            raise ValueError(f"readexactly() size must be zero or positive, got {n!r}")
        if self._exception is not None:
            raise self._exception
        if n == 0:
            return b""
        previous = self._call_limit
        # The buffer must be able to hold n bytes before they can be returned.
        self._call_limit = max(previous, (n + 1) // 2)
        try:
            self._flush()
            while len(self._buffer) < n:
                if self._eof:
                    partial = bytes(self._buffer)
                    self._buffer.clear()
                    self._maybe_resume_transport()
                    raise IncompleteReadError(partial, n)
                await self._wait_for_data("readexactly")
                self._flush()
            return self._take(n)
        finally:
            self._call_limit = previous
            self._maybe_pause_transport()

    async def readline(self, *, limit: int | None = None) -> bytes:
        """Read one line, ending with ``b"\\n"``.

        At end of stream, returns the partial last line (without ``b"\\n"``), then
        ``b""``.

        :param limit: the longest line accepted by this call, instead of the
            stream's limit: for the one long line a protocol allows, without raising
            the limit for the whole stream. While this call waits, the transport is
            paused only over twice this limit.
        :raises ValueError: for a line longer than the limit, with the
            :class:`LimitOverrunError` as ``__cause__``. The overlong line is
            discarded up to and including its ``b"\\n"`` (or, when no ``b"\\n"`` has
            arrived yet, the whole buffer is), and the stream stays usable.
        :raises: the exception set with :meth:`set_exception`.
        """
        try:
            return await self.readuntil(b"\n", limit=limit)
        except IncompleteReadError as e:
            return e.partial
        except LimitOverrunError as e:
            if self._buffer.startswith(b"\n", e.consumed):
                del self._buffer[: e.consumed + 1]
                what = f"a line of {e.consumed} bytes"
            else:
                what = f"more than {e.consumed} bytes without a newline"
                self._buffer.clear()
            self._maybe_resume_transport()
            used = self._limit if limit is None else limit
            error = ValueError(
                f"readline(): {what} arrived, over the limit of {used} bytes; that data was "
                "discarded and the stream can still be read. Pass limit= to readline() "
                "to accept a longer line"
            )
            # `raise error from e`, spelled out: compiled with mypyc 2.4.1, `raise ...
            # from` inside an async method loses the cause.
            error.__cause__ = e
            error.__suppress_context__ = True
            raise error

    async def readuntil(self, separator: Separator = b"\n", *, limit: int | None = None) -> bytes:
        """Read up to and including *separator*.

        :param separator: the bytes that end what is read, or a tuple of such: the
            data up to the match that ends first is returned; when several end at the
            same place (``b"\\r\\n"`` and ``b"\\n"``), the longest one is the match.
        :param limit: as for :meth:`readline`.
        :raises IncompleteReadError: if the stream ends before a separator; its
            ``partial`` holds the bytes read (they are consumed), ``expected`` is None.
        :raises LimitOverrunError: if the data before the separator is longer than the
            limit, or if more than the limit arrived without a separator. The data
            stays in the buffer; ``consumed`` says how many bytes to discard to get
            past the overrun.
        :raises ValueError: for an empty separator or an empty tuple.
        :raises: the exception set with :meth:`set_exception`.
        """
        separators = _normalize_separators(separator)
        call_limit = self._limit if limit is None else _check_limit(limit, "readuntil() limit")
        min_len = min(len(s) for s in separators)
        max_len = max(len(s) for s in separators)
        if self._exception is not None:
            raise self._exception

        previous = self._call_limit
        if limit is not None:
            self._call_limit = call_limit if call_limit > previous else previous
        try:
            # `offset` is where the next search starts: everything before it was
            # searched already and cannot hold the start of a separator.
            offset = 0
            self._flush()
            buffer = self._buffer
            while True:
                buflen = len(buffer)
                if buflen - offset >= min_len:
                    match_start = -1
                    match_end = -1
                    for sep in separators:
                        start = buffer.find(sep, offset)
                        if start == -1:
                            continue
                        end = start + len(sep)
                        # The match that ends first; at a tie, the longest separator.
                        if (
                            match_end == -1
                            or end < match_end
                            or (end == match_end and start < match_start)
                        ):
                            match_start, match_end = start, end
                    if match_end != -1:
                        break
                    offset = max(0, buflen + 1 - max_len)
                    if offset > call_limit:
                        raise LimitOverrunError(
                            f"no separator found within the limit of {call_limit} bytes "
                            f"({buflen} bytes buffered)",
                            offset,
                        )
                if self._eof:
                    partial = bytes(buffer)
                    buffer.clear()
                    self._maybe_resume_transport()
                    raise IncompleteReadError(partial, None)
                await self._wait_for_data("readuntil")
                self._flush()
                buffer = self._buffer
            if match_start > call_limit:
                raise LimitOverrunError(
                    f"separator found after {match_start} bytes, over the limit of "
                    f"{call_limit} bytes",
                    match_start,
                )
            return self._take(match_end)
        finally:
            self._call_limit = previous
            self._maybe_pause_transport()

    def __aiter__(self) -> StreamReader:
        """``async for line in reader``: the lines, as :meth:`readline` returns them."""
        return self

    async def __anext__(self) -> bytes:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line


def _normalize_separators(separator: object) -> list[bytes]:
    if isinstance(separator, (bytes, bytearray, memoryview)):
        separators = [bytes(separator)]
    elif isinstance(separator, tuple):
        if not separator:
            raise ValueError(
                "Separator should contain at least one element: readuntil() got an empty tuple"
            )
        separators = []
        for sep in separator:
            if not isinstance(sep, (bytes, bytearray, memoryview)):
                raise TypeError(f"readuntil() separators must be bytes, got {sep!r}")
            separators.append(bytes(sep))
    else:
        raise TypeError(
            f"readuntil() separator must be bytes or a tuple of bytes, got {separator!r}"
        )
    for sep in separators:
        if not sep:
            raise ValueError(
                f"Separator should be at least one-byte string: readuntil() got {sep!r}"
            )
    return separators


# Compiled build: users subclass it (mypyc_attr keeps that working). Its base is
# looptransports' interpreted Protocol, so mypyc makes it a non-native class.
@mypyc_attr(allow_interpreted_subclasses=True)
class StreamReaderProtocol(Protocol):
    """The protocol between a transport and a :class:`StreamReader`/:class:`StreamWriter`.

    Feeds received data, end of stream and connection errors to the reader, and
    keeps the write-side flow-control state that :meth:`StreamWriter.drain` waits on.

    A plain :class:`~looptransports.Protocol`: the transports of looptransports
    receive into their loop's reused buffer and hand ``data_received`` a ``bytes``
    object of exactly the received size, which the reader keeps as it is.

    :param stream_reader: the reader to feed.
    :param client_connected_cb: for servers: called as ``cb(reader, writer)`` when
        the connection is made. It may be a plain function or a coroutine function;
        a coroutine is run as a task. An exception escaping that task is reported to
        the loop's exception handler and the connection is closed; the server goes on.
    :param loop: the loop; by default the reader's.
    """

    __slots__ = (
        "_client_connected_cb",
        "_closed",
        "_connection_lost",
        "_drain_waiters",
        "_loop",
        "_over_ssl",
        "_paused",
        "_stream_reader",
        "_stream_writer",
        "_task",
        "_task_registry",
        "_transport",
    )

    def __init__(
        self,
        stream_reader: StreamReader,
        client_connected_cb: ClientConnectedCallback | None = None,
        loop: AbstractEventLoop | None = None,
    ) -> None:
        self._loop = stream_reader._loop if loop is None else _resolve_loop(loop)
        self._stream_reader: StreamReader | None = stream_reader
        self._stream_writer: StreamWriter | None = None
        self._client_connected_cb = client_connected_cb
        self._transport: Transport | None = None
        self._over_ssl = False
        self._task: Future[object] | None = None
        # Set by start_server(): where the client tasks of one server are kept.
        self._task_registry: set[Future[object]] | None = None
        self._closed: Future[None] = self._loop.create_future()  # type: ignore[assignment]
        # Write flow control: paused between pause_writing() and resume_writing().
        self._paused = False
        self._drain_waiters: collections.deque[Future[None]] = collections.deque()
        self._connection_lost = False

    def __repr__(self) -> str:
        state = "lost" if self._connection_lost else "paused" if self._paused else "open"
        return f"<{type(self).__name__} {state} reader={self._stream_reader!r}>"

    # -- protocol callbacks --------------------------------------------------------------

    def connection_made(self, transport: BaseTransport) -> None:
        """Attach *transport* to the reader; for a server, call the client callback."""
        transport = cast(Transport, transport)
        self._transport = transport
        self._over_ssl = transport.get_extra_info("sslcontext") is not None
        reader = self._stream_reader
        if reader is not None:
            reader.set_transport(transport)
        if self._client_connected_cb is None:
            return
        assert reader is not None
        writer = StreamWriter(transport, self, reader, self._loop)
        self._stream_writer = writer
        try:
            result = self._client_connected_cb(reader, writer)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            # Nobody else will serve or close this connection: report and close it,
            # as for a client task that fails. (Letting the error escape would leave
            # the connection open: the transport only reports an error escaping
            # connection_made, as asyncio does.)
            self._loop.call_exception_handler(
                {
                    "message": "unhandled exception in the client_connected_cb of start_server()",
                    "exception": exc,
                    "protocol": self,
                    "transport": transport,
                }
            )
            transport.close()
            return
        if coroutines.iscoroutine(result):
            task: Future[object] = self._loop.create_task(result)  # type: ignore[arg-type]
            self._task = task
            if self._task_registry is not None:
                self._task_registry.add(task)
            task.add_done_callback(self._client_task_done)

    def _client_task_done(self, task: Future[object]) -> None:
        if self._task_registry is not None:
            self._task_registry.discard(task)
        if self._task is task:
            self._task = None
        transport = self._transport
        if task.cancelled():
            if transport is not None:
                transport.close()
            return
        exc = task.exception()
        if exc is None:
            return
        self._loop.call_exception_handler(
            {
                "message": "unhandled exception in the client_connected_cb task of start_server()",
                "exception": exc,
                "task": task,
                "protocol": self,
                "transport": transport,
            }
        )
        if transport is not None:
            transport.close()

    def data_received(self, data: bytes) -> None:
        """Feed *data* to the reader."""
        if self._stream_reader is not None:
            self._stream_reader.feed_data(data)

    def eof_received(self) -> bool:
        """Feed end of stream to the reader.

        Returns True (keep the transport open: the writer may still write, a
        half-close) except over TLS, which cannot half-close.
        """
        if self._stream_reader is not None:
            self._stream_reader.feed_eof()
        return not self._over_ssl

    def connection_lost(self, exc: Exception | None) -> None:
        """End the reader (EOF, or *exc*), wake every drainer, resolve ``wait_closed``."""
        reader = self._stream_reader
        if reader is not None:
            if exc is None:
                reader.feed_eof()
            else:
                reader.set_exception(exc)
        if not self._closed.done():
            if exc is None:
                self._closed.set_result(None)
            else:
                self._closed.set_exception(exc)
                # Whoever calls wait_closed() gets the error; nobody has to.
                self._closed.exception()
        self._connection_lost = True
        waiters = self._drain_waiters
        self._drain_waiters = collections.deque()
        for waiter in waiters:
            if not waiter.done():
                if exc is None:
                    waiter.set_exception(
                        ConnectionResetError("the connection was closed while draining")
                    )
                else:
                    waiter.set_exception(exc)
                waiter.exception()
        self._stream_reader = None
        self._stream_writer = None
        self._transport = None

    def pause_writing(self) -> None:
        """The transport's write buffer is over its high-water mark: drain() waits."""
        self._paused = True

    def resume_writing(self) -> None:
        """The write buffer fell to its low-water mark: wake every drain()."""
        self._paused = False
        waiters = self._drain_waiters
        self._drain_waiters = collections.deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- for the writer ------------------------------------------------------------------

    async def _drain_helper(self) -> None:
        if self._connection_lost:
            raise ConnectionResetError("the connection is lost")
        if not self._paused:
            return
        waiter: Future[None] = self._loop.create_future()  # type: ignore[assignment]
        self._drain_waiters.append(waiter)
        try:
            await waiter
        finally:
            try:
                self._drain_waiters.remove(waiter)
            except ValueError:
                pass

    def _get_close_waiter(self) -> Future[None]:
        return self._closed

    def _replace_transport(self, transport: Transport) -> None:
        self._transport = transport
        self._over_ssl = transport.get_extra_info("sslcontext") is not None


class _WriterFlowControl(_TypingProtocol):
    """What a :class:`StreamWriter` needs from its protocol: the write flow-control
    state and the close waiter. :class:`StreamReaderProtocol` provides it for a
    connection, ``loopstreams.subprocess.SubprocessStreamProtocol`` for a child's stdin.
    """

    @property
    def _paused(self) -> bool: ...

    @property
    def _connection_lost(self) -> bool: ...

    async def _drain_helper(self) -> None: ...

    def _get_close_waiter(self) -> Future[None]: ...


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class StreamWriter:
    """The write side of a connection: the transport's methods plus ``drain()``.

    :param transport: the connection's transport.
    :param protocol: its :class:`StreamReaderProtocol` (which tracks flow control),
        or the :class:`~loopstreams.subprocess.SubprocessStreamProtocol` of a child
        process for its stdin.
    :param reader: the connection's reader, whose error ``drain()`` raises, or None.
    :param loop: the loop.

    Not thread-safe: use it from its loop's thread.
    """

    __slots__ = ("_loop", "_protocol", "_reader", "_transport")

    def __init__(
        self,
        transport: Transport,
        protocol: StreamReaderProtocol | _WriterFlowControl,
        reader: StreamReader | None,
        loop: AbstractEventLoop,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._reader = reader
        self._loop = loop

    def __repr__(self) -> str:
        info = [type(self).__name__, f"transport={self._transport!r}"]
        if self._reader is not None:
            info.append(f"reader={self._reader!r}")
        return f"<{' '.join(info)}>"

    @property
    def transport(self) -> Transport:
        """The underlying transport."""
        return self._transport

    def write(self, data: BytesLike) -> None:
        """Write *data* to the transport (buffered, never blocks).

        Follow it with ``await drain()``, or use :meth:`send`, so that a slow peer
        cannot make the write buffer grow without bound.
        """
        self._transport.write(data)

    def writelines(self, data: Iterable[BytesLike]) -> None:
        """Write every item of *data*, as :meth:`write` does."""
        self._transport.writelines(data)

    def write_eof(self) -> None:
        """Close the write side after the buffered data is sent (half-close)."""
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        """True if the transport supports :meth:`write_eof` (TLS does not)."""
        return self._transport.can_write_eof()

    def close(self) -> None:
        """Close the transport (buffered data is still sent). Idempotent."""
        self._transport.close()

    def is_closing(self) -> bool:
        """True once the transport is closing or closed."""
        return self._transport.is_closing()

    async def wait_closed(self) -> None:
        """Wait until the connection is closed (after :meth:`close`).

        :raises: the error the connection was lost with, if any.
        """
        await self._protocol._get_close_waiter()

    def get_extra_info(self, name: str, default: object = None) -> object:
        """The transport's extra information *name* (``'peername'``...), or *default*."""
        return self._transport.get_extra_info(name, default)

    async def drain(self) -> None:
        """Wait until the transport's write buffer is back under its high-water mark.

        Returns at once when it is not over the mark. Any number of tasks may drain
        one writer at once; all wake when the buffer drains. Usable as
        ``await w.drain()`` and as ``yield from w.drain()`` in a ``@coroutine``.

        :raises: the reader's exception (the connection's error) if there is one;
            :class:`ConnectionResetError` if the connection was lost.
        """
        if self._reader is not None:
            exc = self._reader.exception()
            if exc is not None:
                raise exc
        if self._transport.is_closing():
            # The transport calls connection_lost() on a later iteration; let it run,
            # so that draining a closed connection raises instead of returning.
            await _yield_once()
        protocol = self._protocol
        # Most drains find the buffer under its mark: no coroutine for them.
        if protocol._paused or protocol._connection_lost:
            await protocol._drain_helper()

    async def send(self, data: BytesLike) -> None:
        """Write *data* and wait for the write buffer to drain: ``write()`` then ``drain()``.

        Beyond asyncio: backpressure in one call, so it cannot be forgotten.

        :raises: as :meth:`drain`.
        """
        self.write(data)
        await self.drain()

    async def start_tls(
        self,
        sslcontext: _ssl_module.SSLContext,
        *,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        """Upgrade the connection to TLS (after draining what was written).

        The server side of a ``start_server`` connection does the server handshake.
        Afterwards :attr:`transport` is the TLS transport.

        :raises: what ``loop.start_tls()`` raises (``ssl.SSLError``, ``TimeoutError``).
        """
        protocol = self._protocol
        if not isinstance(protocol, StreamReaderProtocol):
            raise RuntimeError(
                f"start_tls() needs the writer of a connection; {self!r} writes to "
                f"{protocol!r} (the stdin of a child process cannot be upgraded to TLS)"
            )
        server_side = protocol._client_connected_cb is not None
        await self.drain()
        start_tls = _loop_method(self._loop, "start_tls")
        new_transport = await start_tls(
            self._transport,
            protocol,
            sslcontext,
            server_side=server_side,
            server_hostname=server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )
        self._transport = cast(Transport, new_transport)
        protocol._replace_transport(self._transport)


def _loop_method(loop: AbstractEventLoop, name: str) -> Callable[..., Awaitable[object]]:
    """The network method *name* of *loop*, or a TypeError saying which loop is needed.

    loopcore's ``AbstractEventLoop`` declares every network method, but only as a stub
    raising ``NotImplementedError``; a loop with network support (looptransports'
    ``SelectorEventLoop``) overrides it. A loop that has no such method, or inherits
    the stub, gets the friendly error here instead of a bare ``NotImplementedError``.
    """
    method = getattr(loop, name, None)
    if method is None or getattr(type(loop), name, None) is getattr(AbstractEventLoop, name):
        raise TypeError(
            f"{loop!r} has no {name}(): streams need a loop with network support, "
            "such as looptransports' SelectorEventLoop"
        )
    return cast(Callable[..., Awaitable[object]], method)
