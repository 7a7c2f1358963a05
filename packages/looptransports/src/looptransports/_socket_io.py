"""The I/O of a stream socket transport: reading, writing and the write buffer.

:class:`SocketIO` moves the bytes of one :class:`~looptransports._sockets.SocketTransport`;
the transport keeps its life (the state machine of :mod:`._lifecycle`, the protocol's
``connection_made``/``connection_lost``, errors, flow control, ``sendfile``) and owns
one :class:`SocketIO`, whose fields it shows as its own attributes (``_state``,
``_sock``, ``_buffer`` ...: properties), so that each fact is kept in one place.

Why a class of its own: the transport must be a Python class (it inherits the
lifecycle and flow-control mixins and the public ``Transport`` interface, which users
subclass, and it is weakly referenced), and in the compiled build every attribute of
a Python class is a dictionary look-up. This class has no base class and is never
weakly referenced, so the compiled build makes it a native class: its fields are C
struct members and its methods are called directly. It is what runs for every
readiness event and every ``write()`` of a TCP or Unix socket (docs: "Compiled build").

Some facts the design rests on:

* A non-blocking ``send`` takes what fits in the kernel buffer and says how much.
  Most writes fit, so :meth:`SocketIO.write` sends at once when nothing is buffered
  and only buffers the rest; the loop then watches the socket for writability until
  the buffer is empty.
* ``sendmsg`` takes a list of buffers (up to ``IOV_MAX``), so ``writelines`` and the
  flush of a fragmented buffer need no joining copy.
* ``recv`` returning ``b""`` is the peer's end of file; a reset comes as an
  :class:`OSError` from ``recv`` or ``send``, whichever runs first.

Not thread-safe: used from the loop's thread only, like the transport.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from itertools import islice
from typing import TYPE_CHECKING, Final, Protocol, cast, final

from ._lifecycle import _CLOSED, _OPEN, State, _check_data
from ._recvbuf import read_into_buffer

if TYPE_CHECKING:
    from loopcore.base_loop import BaseEventLoop

__all__ = ["SocketIO"]

#: A plain Protocol's reads go into the loop's buffer and are copied out (see
#: _recvbuf), which is cheap for small reads. After a read of at least _LARGE_READ
#: bytes, the next read receives straight into a new bytes object of at most
#: _DIRECT_RECV_SIZE instead: copying 100 KiB costs about as much as its recv
#: (measured: recv_into + copy 58 us, recv 40 us per 100 KiB on a shared EPYC VM),
#: and a request under glibc's initial 128 KiB mmap threshold comes from the heap
#: in every allocator state (recv(256 KiB) would mmap/mremap/munmap it until the
#: process has freed one such block).
_LARGE_READ: Final = 64 * 1024
_DIRECT_RECV_SIZE: Final = 128 * 1024 - 1024

try:
    _IOV_MAX = os.sysconf("SC_IOV_MAX")
except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
    _IOV_MAX = 16
if _IOV_MAX <= 0:  # pragma: no cover - "no limit"
    _IOV_MAX = 1024

_READ_ERROR: Final = "Fatal read error on socket transport"
_WRITE_ERROR: Final = "Fatal write error on socket transport"


class _Owner(Protocol):
    """What :class:`SocketIO` calls back on its transport (the rare paths)."""

    def _fatal_error(self, exc: BaseException, message: str) -> None: ...
    def _read_eof(self) -> None: ...
    def _drop_write_after_close(self) -> None: ...
    def _maybe_pause_protocol(self) -> None: ...
    def _maybe_resume_protocol(self) -> None: ...
    def _buffer_drained(self) -> None: ...


class _Receiver(Protocol):
    """A plain protocol, as the read path sees it."""

    def data_received(self, data: bytes) -> object: ...


def _nbytes(data: bytes | bytearray | memoryview) -> int:
    return data.nbytes if isinstance(data, memoryview) else len(data)


@final
class SocketIO:
    """Reads and writes of one connected non-blocking stream socket.

    Created by its :class:`~looptransports._sockets.SocketTransport`, never by users.
    :meth:`read_ready` is the loop's reader callback for the socket and
    :meth:`write_ready` its writer callback; :meth:`write`, :meth:`writelines` and
    :meth:`write_eof` do the transport's. Errors, the end of file and the flow-control
    marks go back to the transport (:class:`_Owner`).
    """

    __slots__ = (
        "buffer",
        "buffer_size",
        "buffered_reads",
        "eof_received",
        "eof_written",
        "fileno",
        "is_open",
        "large_reads",
        "loop",
        "owner",
        "protocol",
        "reading_paused",
        "recv_view",
        "sendfile_running",
        "shut_wr",
        "sock",
        "state",
    )

    def __init__(
        self,
        owner: _Owner,
        loop: BaseEventLoop,
        sock: socket.socket,
        protocol: object,
        buffered_reads: bool,
        recv_view: memoryview,
    ) -> None:
        self.owner = owner
        self.loop = loop
        self.sock: socket.socket | None = sock
        self.fileno = sock.fileno()
        self.protocol = protocol
        #: The protocol is a BufferedProtocol: reads go into its buffer.
        self.buffered_reads = buffered_reads
        # A plain Protocol's reads land in the loop's shared buffer first; it gets a
        # bytes copy of exactly what was read (see _recvbuf for why).
        self.recv_view = recv_view
        self.state: State = _OPEN
        #: state is OPEN (a bool: the hot paths test it without an enum comparison).
        self.is_open = True
        self.large_reads = False  # the last read was >= _LARGE_READ
        self.reading_paused = False
        self.eof_received = False
        self.eof_written = False
        self.shut_wr = False
        #: loop.sendfile() uses the socket: write() refuses data meanwhile.
        self.sendfile_running = False
        # A list, not a deque: an empty deque costs a 64-slot block (~600 bytes) on
        # every idle connection, and the buffer is trimmed in one slice per send.
        self.buffer: list[memoryview] = []
        self.buffer_size = 0

    def set_state(self, state: State) -> None:
        self.state = state
        self.is_open = state is _OPEN

    # -- reading ---------------------------------------------------------------------

    def read_ready(self) -> None:
        """The socket is readable: read once and hand the data to the protocol."""
        # A readiness event can be queued before pause_reading()/close() removed
        # the reader: check again before touching the socket.
        if not self.is_open or self.reading_paused or self.eof_received:
            return
        sock = self.sock
        assert sock is not None
        if self.buffered_reads:
            read_into_buffer(self.owner, self.protocol, sock.recv_into, _READ_ERROR)
            return
        view = self.recv_view
        data: bytes | None
        try:
            if self.large_reads:
                data = sock.recv(_DIRECT_RECV_SIZE)
                nbytes = len(data)
            else:
                nbytes = sock.recv_into(view)
                data = None
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.owner._fatal_error(exc, _READ_ERROR)
            return
        if not nbytes:
            self.owner._read_eof()
            return
        self.large_reads = nbytes >= _LARGE_READ
        if data is None:
            # The copy is the protocol's own: the buffer is reused by the next read.
            data = view[:nbytes].tobytes()
        try:
            cast(_Receiver, self.protocol).data_received(data)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.owner._fatal_error(exc, "protocol.data_received() failed")

    # -- writing ---------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """The transport's ``write``: send now what the socket takes, buffer the rest."""
        # The common case, with no helper call: bytes, nothing buffered, open, no
        # write_eof() and no loop.sendfile() running. Most writes end at the send.
        if (
            type(data) is bytes
            and not self.buffer
            and self.is_open
            and not self.eof_written
            and not self.sendfile_running
        ):
            if not data:
                return
            sock = self.sock
            assert sock is not None
            try:
                sent = sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self.owner._fatal_error(exc, _WRITE_ERROR)
                return
            if sent == len(data):
                return
            self.loop._add_writer(self.fileno, self.write_ready)
            self._append(memoryview(data)[sent:])
            self.owner._maybe_pause_protocol()
            return
        _check_data(data)
        if not self._check_writable() or not data:
            return
        if not self.buffer:
            sent = self._send_now((data,))
            if sent < 0:
                return
            if sent == _nbytes(data):
                return
            self.loop._add_writer(self.fileno, self.write_ready)
            self._append(memoryview(data).cast("B")[sent:])
        else:
            self._append(memoryview(data).cast("B"))
        self.owner._maybe_pause_protocol()

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        """The transport's ``writelines``: one ``sendmsg`` of all the pieces."""
        chunks = list(list_of_data)
        for chunk in chunks:
            _check_data(chunk)
        if not self._check_writable():
            return
        views = [memoryview(c).cast("B") for c in chunks if c]
        if not views:
            return
        if not self.buffer:
            sent = self._send_now(views[:_IOV_MAX])
            if sent < 0:
                return
            while views and sent >= len(views[0]):
                sent -= len(views.pop(0))
            if not views:
                return
            views[0] = views[0][sent:]
            self.loop._add_writer(self.fileno, self.write_ready)
        for view in views:
            self._append(view)
        self.owner._maybe_pause_protocol()

    def _check_writable(self) -> bool:
        """True if a write may proceed; counts and drops writes after close."""
        if self.eof_written:
            raise RuntimeError(f"cannot write() after write_eof() on {self.owner!r}")
        if self.sendfile_running:
            raise RuntimeError(f"cannot write() while loop.sendfile() runs on {self.owner!r}")
        if not self.is_open:
            self.owner._drop_write_after_close()
            return False
        return True

    def _append(self, view: memoryview) -> None:
        # The caller may reuse a bytearray/memoryview after write() returns: keep
        # our own copy. bytes are immutable, a view of them is enough.
        if not isinstance(view.obj, bytes):
            view = memoryview(view.tobytes())
        self.buffer.append(view)
        self.buffer_size += len(view)

    def _send_now(self, chunks: list[memoryview] | tuple[bytes | bytearray | memoryview]) -> int:
        """Send what the kernel takes now; -1 after a fatal error."""
        sock = self.sock
        assert sock is not None
        try:
            if isinstance(chunks, tuple):
                return sock.send(chunks[0])
            return sock.sendmsg(chunks)
        except (BlockingIOError, InterruptedError):
            return 0
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.owner._fatal_error(exc, _WRITE_ERROR)
            return -1

    def write_ready(self) -> None:
        """The socket is writable: send what is buffered."""
        if self.state is _CLOSED or not self.buffer:
            return
        sock = self.sock
        assert sock is not None
        buffer = self.buffer
        try:
            if len(buffer) == 1:
                sent = sock.send(buffer[0])
            else:
                sent = sock.sendmsg(islice(buffer, _IOV_MAX))
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.owner._fatal_error(exc, _WRITE_ERROR)
            return
        self._consume(sent)
        self.owner._maybe_resume_protocol()
        # resume_writing() may have closed us (cast: mypy keeps the narrowing above).
        if self.buffer or cast(State, self.state) is _CLOSED:
            return
        self.loop._remove_writer(self.fileno)
        self.owner._buffer_drained()

    def _consume(self, sent: int) -> None:
        self.buffer_size -= sent
        buffer = self.buffer
        done = 0
        for head in buffer:
            size = len(head)
            if sent < size:
                break
            sent -= size
            done += 1
        if done:
            del buffer[:done]
        if sent:
            buffer[0] = buffer[0][sent:]

    def clear_buffer(self) -> None:
        """Drop what is buffered (abort or fatal error)."""
        self.buffer.clear()
        self.buffer_size = 0

    def write_eof(self) -> None:
        """The transport's ``write_eof``: shut the write side once the buffer is sent."""
        if not self.is_open or self.eof_written:
            return
        self.eof_written = True
        if not self.buffer:
            self.shutdown_write()

    def shutdown_write(self) -> None:
        """``shutdown(SHUT_WR)``, once."""
        sock = self.sock
        if self.shut_wr or sock is None:
            return
        self.shut_wr = True
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            self.owner._fatal_error(exc, "Fatal error on shutdown(SHUT_WR)")
