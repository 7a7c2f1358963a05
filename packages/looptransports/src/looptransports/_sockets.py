"""The stream socket transport (TCP and Unix sockets) of the selector loop.

:class:`SocketTransport` is what users get; it keeps the transport's life: the state
machine of :mod:`._lifecycle` (shared with datagram and pipe transports: entering
CLOSED schedules ``connection_lost`` exactly once and, after it, closes the socket),
``connection_made``, errors, the end of file, flow control and ``loop.sendfile``.
The bytes move in its :class:`~._socket_io.SocketIO` (reads, writes, the write
buffer; see that module for why it is a class of its own). Reading paused, end of
file received and ``write_eof`` are flags: they do not change what the transport may
still do on the other direction.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Final

from loopcore._build import mypyc_attr
from loopcore.futures import Future
from loopcore.introspect import register_resource

from ._lifecycle import (
    _CLOSING,
    _OPEN,
    LOG_THRESHOLD_FOR_CONNLOST_WRITES,
    State,
    _FdReadLifecycle,
    _socket_extra,
)
from ._recvbuf import loop_recv_buffer
from ._socket_io import SocketIO
from .protocols import BaseProtocol, BufferedProtocol
from .transports import Transport, _FlowControlMixin

if TYPE_CHECKING:
    from loopcore.base_loop import BaseEventLoop

    from .server import Server

__all__ = ["LOG_THRESHOLD_FOR_CONNLOST_WRITES", "SocketTransport", "State"]

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


# Compiled build: it stays a Python (non-native) class (docs: "Compiled build"): a
# native class's instance could not be weakly referenced safely with mypyc 2.4.1 on
# 3.11 (its __weakref__ slot is decref'd, never cleared, when the instance dies), and
# its bases (the lifecycle and flow-control mixins, the public interfaces) are Python
# classes that pipes and datagrams share. Its SocketIO is the native part.
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
        # The reads, writes and their state (_state, _sock, _protocol, _buffer, ...:
        # the properties below read and set its fields).
        self._io = SocketIO(
            self,
            loop,
            sock,
            protocol,
            isinstance(protocol, BufferedProtocol),
            loop_recv_buffer(loop),
        )
        # Named, not super(): the next __init__ in the MRO is the (Python) mixin's,
        # which a compiled class reaches only through an explicit call.
        _FlowControlMixin.__init__(self, None, loop)
        # The mapping _socket_extra just built is ours: keep it rather than a copy
        # (one dict less per idle connection).
        self._extra = info
        self._fileno = sock.fileno()
        self._writes_after_close = 0
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

    # -- the state its SocketIO keeps -------------------------------------------------

    @property
    def _state(self) -> State:
        return self._io.state

    @_state.setter
    def _state(self, state: State) -> None:
        self._io.set_state(state)

    @property
    def _protocol(self) -> BaseProtocol:
        return self._io.protocol  # type: ignore[return-value]

    @_protocol.setter
    def _protocol(self, protocol: BaseProtocol) -> None:
        self._io.protocol = protocol
        self._io.buffered_reads = isinstance(protocol, BufferedProtocol)

    @property
    def _sock(self) -> socket.socket | None:
        return self._io.sock

    @_sock.setter
    def _sock(self, sock: socket.socket | None) -> None:
        self._io.sock = sock

    @property
    def _reading_paused(self) -> bool:
        return self._io.reading_paused

    @_reading_paused.setter
    def _reading_paused(self, paused: bool) -> None:
        self._io.reading_paused = paused

    @property
    def _eof_received(self) -> bool:
        return self._io.eof_received

    @_eof_received.setter
    def _eof_received(self, received: bool) -> None:
        self._io.eof_received = received

    @property
    def _eof_written(self) -> bool:
        return self._io.eof_written

    @property
    def _buffer(self) -> list[memoryview]:
        return self._io.buffer

    @property
    def _buffer_size(self) -> int:  # type: ignore[override]
        return self._io.buffer_size

    # -- state ----------------------------------------------------------------------

    def __repr__(self) -> str:
        info = [type(self).__name__, f"fd={self._fileno}", self._state.value.lower()]
        if self._state is _OPEN:
            info.append("reading" if self.is_reading() else "not reading")
        if self._buffer_size:
            info.append(f"buffered={self._buffer_size}")
        return f"<{' '.join(info)}>"

    # -- reading (pausing and zero-copy reads: _FdReadLifecycle) -------------------

    def _read_callback(self) -> Callable[[], None]:
        return self._io.read_ready

    def _read_ready(self) -> None:
        self._io.read_ready()

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
        return self._io.buffer_size

    def _has_buffered_writes(self) -> bool:
        return bool(self._io.buffer)

    def _clear_buffered_writes(self) -> None:
        self._io.clear_buffer()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._io.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self._io.writelines(list_of_data)

    def _write_ready(self) -> None:
        self._io.write_ready()

    def _buffer_drained(self) -> None:
        """The buffer was sent to the last byte (SocketIO stopped watching for
        writability): wake loop.sendfile(), finish a close or a write_eof()."""
        if self._empty_waiter is not None and not self._empty_waiter.done():
            self._empty_waiter.set_result(None)
        if self._state is _CLOSING:
            self._close_now(None)
        elif self._io.eof_written:
            self._io.shutdown_write()

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self._io.write_eof()

    # -- sendfile support -----------------------------------------------------------

    def _make_empty_waiter(self) -> Future[object]:
        """A future resolved when the write buffer is empty; writes are refused until
        :meth:`_reset_empty_waiter` (``loop.sendfile`` uses the socket meanwhile)."""
        if self._empty_waiter is not None:
            raise RuntimeError("loop.sendfile() is already running on this transport")
        waiter = self._loop.create_future()
        self._empty_waiter = waiter
        self._io.sendfile_running = True
        if not self._io.buffer:
            waiter.set_result(None)
        return waiter

    def _reset_empty_waiter(self) -> None:
        self._empty_waiter = None
        self._io.sendfile_running = False

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
