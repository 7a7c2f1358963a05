"""The stream socket transport (TCP and Unix sockets) of the selector loop.

Some facts the design rests on:

* A non-blocking ``send`` takes what fits in the kernel buffer and says how much.
  Most writes fit, so :meth:`SocketTransport.write` sends at once when nothing is
  buffered and only buffers the rest; the loop then watches the socket for
  writability until the buffer is empty.
* ``sendmsg`` takes a list of buffers (up to ``IOV_MAX``), so ``writelines`` and the
  flush of a fragmented buffer need no joining copy.
* ``recv`` returning ``b""`` is the peer's end of file; a reset comes as an
  :class:`OSError` from ``recv`` or ``send``, whichever runs first.

The life of a transport is the state machine of :mod:`._lifecycle` (shared with
datagram and pipe transports): entering CLOSED schedules ``connection_lost``
(exactly once) and, after it, closes the socket. Reading paused, end of file
received and ``write_eof`` are flags: they do not change what the transport may
still do on the other direction.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Final, cast

from loopcore._build import mypyc_attr
from loopcore.futures import Future
from loopcore.introspect import register_resource

from ._lifecycle import (
    _CLOSED,
    _CLOSING,
    _OPEN,
    LOG_THRESHOLD_FOR_CONNLOST_WRITES,
    State,
    _check_data,
    _FdReadLifecycle,
    _socket_extra,
)
from ._recvbuf import loop_recv_buffer
from .protocols import BaseProtocol, BufferedProtocol
from .transports import Transport, _FlowControlMixin

if TYPE_CHECKING:
    from loopcore.base_loop import BaseEventLoop

    from .server import Server

__all__ = ["LOG_THRESHOLD_FOR_CONNLOST_WRITES", "SocketTransport", "State"]

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

#: Errors that mean "the peer or the network went away": ordinary ends of a
#: connection, told to the protocol by connection_lost(exc), not worth the
#: exception handler.
_CONNECTION_ERRORS: Final = (
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
    TimeoutError,
)
_NETWORK_ERRNOS: Final = frozenset(
    {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.ENETRESET}
)


def _is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, _CONNECTION_ERRORS) or (
        isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS
    )


def _nbytes(data: bytes | bytearray | memoryview) -> int:
    return data.nbytes if isinstance(data, memoryview) else len(data)


# Compiled build: its methods are compiled, but it stays a Python (non-native) class
# (docs: "Compiled build"): a native class's instance could not be weakly referenced
# safely with mypyc 2.4.1 on 3.11 (its __weakref__ slot is decref'd, never cleared,
# when the instance dies), and its bases (the lifecycle and flow-control mixins, the
# public interfaces) are Python classes that pipes and datagrams share.
@mypyc_attr(native_class=False)
class SocketTransport(_FdReadLifecycle, _FlowControlMixin, Transport):
    """A stream transport over a connected non-blocking socket (TCP or Unix).

    Created by the loop (``create_connection``, ``create_server``, ...), never by
    users. It calls ``protocol.connection_made(self)`` on the next loop iteration,
    then starts reading; *waiter*, when given, is resolved after that.

    Not thread-safe: use it from the loop's thread only.
    """

    def __init__(
        self,
        loop: BaseEventLoop,
        sock: socket.socket,
        protocol: BaseProtocol,
        waiter: Future[object] | None = None,
        extra: Mapping[str, object] | None = None,
        server: Server | None = None,
    ) -> None:
        info = _socket_extra(sock, extra, peername_required=True)
        self._loop = loop
        # Known to loopcore.introspect: the monitor lists it, the leak report names it.
        register_resource(loop, self, "socket transport")
        self._protocol = protocol
        # Named, not super(): the next __init__ in the MRO is the (Python) mixin's,
        # which a compiled class reaches only through an explicit call.
        _FlowControlMixin.__init__(self, None, loop)
        # The mapping _socket_extra just built is ours: keep it rather than a copy
        # (one dict less per idle connection).
        self._extra = info
        self._sock: socket.socket | None = sock
        self._fileno = sock.fileno()
        self._state = _OPEN
        self._buffered_reads = isinstance(protocol, BufferedProtocol)
        # A plain Protocol's reads land in the loop's shared buffer first; it gets
        # a bytes copy of exactly what was read (see _recvbuf for why).
        self._recv_view = loop_recv_buffer(loop)
        self._large_reads = False  # the last read was >= _LARGE_READ
        self._reading_paused = False
        self._eof_received = False
        self._eof_written = False
        self._shut_wr = False
        self._writes_after_close = 0
        # A list, not a deque: an empty deque costs a 64-slot block (~600 bytes) on
        # every idle connection, and the buffer is trimmed in one slice per send.
        self._buffer: list[memoryview] = []
        self._buffer_size = 0
        self._empty_waiter: Future[object] | None = None
        # While loop.sendfile() waits for writability of our socket: failed if we close.
        self._sendfile_wait: Future[object] | None = None
        self._server = server
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
            # Small writes of request/response protocols must not wait for Nagle.
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover - a socket that refuses it still works
                pass
        if server is not None:
            server._attach(self)
        self._claim_fd()
        self._schedule_start(waiter)

    # -- state --------------------------------------------------------------------

    def __repr__(self) -> str:
        info = [type(self).__name__, f"fd={self._fileno}", self._state.value.lower()]
        if self._state is _OPEN:
            info.append("reading" if self.is_reading() else "not reading")
        if self._buffer_size:
            info.append(f"buffered={self._buffer_size}")
        return f"<{' '.join(info)}>"

    def set_protocol(self, protocol: BaseProtocol) -> None:
        self._protocol = protocol
        self._buffered_reads = isinstance(protocol, BufferedProtocol)

    # -- reading (pausing and zero-copy reads: _FdReadLifecycle) -------------------

    def _read_ready(self) -> None:
        # A readiness event can be queued before pause_reading()/close() removed
        # the reader: check again before touching the socket.
        if self._state is not _OPEN or self._reading_paused or self._eof_received:
            return
        sock = self._sock
        assert sock is not None
        if self._buffered_reads:
            self._read_into_buffer(sock.recv_into, "Fatal read error on socket transport")
            return
        view = self._recv_view
        data: bytes | None
        try:
            if self._large_reads:
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
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not nbytes:
            self._read_eof()
            return
        self._large_reads = nbytes >= _LARGE_READ
        if data is None:
            # The copy is the protocol's own: the buffer is reused by the next read.
            data = view[:nbytes].tobytes()
        try:
            self._protocol.data_received(data)  # type: ignore[attr-defined]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "protocol.data_received() failed")

    def _read_eof(self) -> None:
        self._eof_received = True
        self._loop._remove_reader(self._fileno)
        try:
            keep_open = self._protocol.eof_received()  # type: ignore[attr-defined]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "protocol.eof_received() failed")
            return
        if not keep_open:
            self.close()

    # -- writing --------------------------------------------------------------------

    def get_write_buffer_size(self) -> int:
        return self._buffer_size

    def _has_buffered_writes(self) -> bool:
        return bool(self._buffer)

    def _clear_buffered_writes(self) -> None:
        self._buffer.clear()
        self._buffer_size = 0

    def _check_writable(self) -> bool:
        """True if a write may proceed; counts and drops writes after close."""
        if self._eof_written:
            raise RuntimeError(f"cannot write() after write_eof() on {self!r}")
        if self._empty_waiter is not None:
            raise RuntimeError(f"cannot write() while loop.sendfile() runs on {self!r}")
        if self._state is not _OPEN:
            self._drop_write_after_close()
            return False
        return True

    def write(self, data: bytes | bytearray | memoryview) -> None:
        # The common case, with no helper call: bytes, nothing buffered, open, no
        # write_eof() and no loop.sendfile() running. Most writes end at the send.
        if (
            type(data) is bytes
            and not self._buffer
            and self._state is _OPEN
            and not self._eof_written
            and self._empty_waiter is None
        ):
            if not data:
                return
            sock = self._sock
            assert sock is not None
            try:
                sent = sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on socket transport")
                return
            if sent == len(data):
                return
            self._loop._add_writer(self._fileno, self._write_ready)
            self._append(memoryview(data)[sent:])
            self._maybe_pause_protocol()
            return
        _check_data(data)
        if not self._check_writable() or not data:
            return
        if not self._buffer:
            sent = self._send_now((data,))
            if sent < 0:
                return
            if sent == _nbytes(data):
                return
            self._loop._add_writer(self._fileno, self._write_ready)
            self._append(memoryview(data).cast("B")[sent:])
        else:
            self._append(memoryview(data).cast("B"))
        self._maybe_pause_protocol()

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        chunks = list(list_of_data)
        for chunk in chunks:
            _check_data(chunk)
        if not self._check_writable():
            return
        views = [memoryview(c).cast("B") for c in chunks if c]
        if not views:
            return
        if not self._buffer:
            sent = self._send_now(views[:_IOV_MAX])
            if sent < 0:
                return
            while views and sent >= len(views[0]):
                sent -= len(views.pop(0))
            if not views:
                return
            views[0] = views[0][sent:]
            self._loop._add_writer(self._fileno, self._write_ready)
        for view in views:
            self._append(view)
        self._maybe_pause_protocol()

    def _append(self, view: memoryview) -> None:
        # The caller may reuse a bytearray/memoryview after write() returns: keep
        # our own copy. bytes are immutable, a view of them is enough.
        if not isinstance(view.obj, bytes):
            view = memoryview(view.tobytes())
        self._buffer.append(view)
        self._buffer_size += len(view)

    def _send_now(self, chunks: Iterable[bytes | bytearray | memoryview]) -> int:
        """Send what the kernel takes now; -1 after a fatal error."""
        sock = self._sock
        assert sock is not None
        try:
            if isinstance(chunks, tuple) and len(chunks) == 1:
                return sock.send(chunks[0])
            return sock.sendmsg(chunks)
        except (BlockingIOError, InterruptedError):
            return 0
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal write error on socket transport")
            return -1

    def _write_ready(self) -> None:
        if self._state is _CLOSED or not self._buffer:
            return
        sock = self._sock
        assert sock is not None
        try:
            if len(self._buffer) == 1:
                sent = sock.send(self._buffer[0])
            else:
                sent = sock.sendmsg(islice(self._buffer, _IOV_MAX))
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal write error on socket transport")
            return
        self._consume(sent)
        self._maybe_resume_protocol()
        # resume_writing() may have closed us (cast: mypy keeps the narrowing above).
        if self._buffer or cast(State, self._state) is _CLOSED:
            return
        self._loop._remove_writer(self._fileno)
        if self._empty_waiter is not None and not self._empty_waiter.done():
            self._empty_waiter.set_result(None)
        if self._state is _CLOSING:
            self._close_now(None)
        elif self._eof_written:
            self._shutdown_write()

    def _consume(self, sent: int) -> None:
        self._buffer_size -= sent
        buffer = self._buffer
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

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        if self._state is not _OPEN or self._eof_written:
            return
        self._eof_written = True
        if not self._buffer:
            self._shutdown_write()

    def _shutdown_write(self) -> None:
        if self._shut_wr or self._sock is None:
            return
        self._shut_wr = True
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            self._fatal_error(exc, "Fatal error on shutdown(SHUT_WR)")

    # -- sendfile support -----------------------------------------------------------

    def _make_empty_waiter(self) -> Future[object]:
        """A future resolved when the write buffer is empty; writes are refused until
        :meth:`_reset_empty_waiter` (``loop.sendfile`` uses the socket meanwhile)."""
        if self._empty_waiter is not None:
            raise RuntimeError("loop.sendfile() is already running on this transport")
        waiter = self._loop.create_future()
        self._empty_waiter = waiter
        if not self._buffer:
            waiter.set_result(None)
        return waiter

    def _reset_empty_waiter(self) -> None:
        self._empty_waiter = None

    # -- closing --------------------------------------------------------------------

    def _on_closed(self, exc: BaseException | None) -> None:
        # A loop.sendfile() still waiting on this socket must fail now: its writer
        # registration goes before connection_lost closes the socket.
        for waiter in (self._empty_waiter, self._sendfile_wait):
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc or ConnectionError(f"{self!r} was closed"))

    def _is_ordinary_end(self, exc: BaseException) -> bool:
        # The peer went away: an ordinary event, reported by connection_lost.
        return _is_connection_error(exc)

    def _release(self) -> None:
        super()._release()
        server = self._server
        self._server = None
        if server is not None:
            server._detach(self)
