"""The life of a file-descriptor transport, shared by sockets, datagrams and pipes.

Every such transport is a small state machine (:data:`_TRANSITIONS`)::

    OPEN --close() with data buffered--> CLOSING --buffer written--> CLOSED
    OPEN --close() with empty buffer, abort(), error---------------> CLOSED
    CLOSING --abort(), error--------------------------------------> CLOSED

Entering CLOSED schedules ``connection_lost`` (exactly once); the file object
(socket or pipe) is closed right after the protocol's ``connection_lost`` returns.

:class:`_FdTransportLifecycle` holds that sequence once: ``_set_state``, the start
(``connection_made``, then reading), ``close``/``abort``/``_force_close``,
``_fatal_error``, ``connection_lost`` and the release of the file object, the
:class:`ResourceWarning` of an unclosed transport and the count of writes dropped
after close. The transports fill in what differs through a few hooks.
"""

from __future__ import annotations

import enum
import logging
import socket
import warnings
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

from ._recvbuf import read_into_buffer
from .protocols import BufferedProtocol

if TYPE_CHECKING:
    from loopcore.base_loop import BaseEventLoop
    from loopcore.futures import Future

    from .protocols import BaseProtocol

__all__ = ["LOG_THRESHOLD_FOR_CONNLOST_WRITES", "State"]

logger = logging.getLogger("looptransports")

_warn: Final[Callable[..., None]] = warnings.warn

#: Writes to a closed transport are dropped silently up to this many times, then
#: each further one is logged as a warning (a writer ignoring connection_lost).
LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5


class State(enum.Enum):
    """Where a socket, datagram or pipe transport is in its life."""

    OPEN = "OPEN"
    CLOSING = "CLOSING"
    CLOSED = "CLOSED"


# Final: C statics in the compiled build (a module-global read otherwise).
_OPEN: Final = State.OPEN
_CLOSING: Final = State.CLOSING
_CLOSED: Final = State.CLOSED

#: Every allowed state change; anything else is a bug (RuntimeError).
_TRANSITIONS: Final[dict[State, frozenset[State]]] = {
    _OPEN: frozenset({_CLOSING, _CLOSED}),
    _CLOSING: frozenset({_CLOSED}),
    _CLOSED: frozenset(),
}


def _check_data(data: object) -> None:
    """Refuse what ``write``/``sendto`` cannot send (TypeError naming its type)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(
            f"data argument must be a bytes-like object (bytes, bytearray or memoryview), "
            f"not {type(data).__name__!r}"
        )


def _log_dropped_write(count: int, transport: object, what: str = "writes") -> None:
    """Log the *count*-th write dropped by a closed *transport*: every power of two
    from :data:`LOG_THRESHOLD_FOR_CONNLOST_WRITES` on (visible, not a log flood)."""
    if count >= LOG_THRESHOLD_FOR_CONNLOST_WRITES and count & (count - 1) == 0:
        logger.warning(
            "%d %s were dropped: %r is closed (did the protocol ignore connection_lost()?)",
            count,
            what,
            transport,
        )


class _Closable(Protocol):
    def close(self) -> None: ...


def _set_result_unless_cancelled(fut: Future[object]) -> None:
    if not fut.cancelled():
        fut.set_result(None)


async def _wait_connection_made(transport: _Closable, waiter: Future[object]) -> None:
    """Wait for *waiter* (resolved after ``connection_made``); close *transport* if
    the wait fails or is cancelled."""
    try:
        await waiter
    except BaseException:
        transport.close()
        raise


def _socket_extra(
    sock: socket.socket, extra: Mapping[str, object] | None, *, peername_required: bool
) -> dict[str, object]:
    """The ``get_extra_info`` mapping of a socket transport, *extra* on top.

    ``sockname`` is ``None`` when the socket has none; ``peername`` too, or absent
    when not *peername_required* (an unconnected datagram socket).
    """
    info: dict[str, object] = {"socket": sock}
    try:
        info["sockname"] = sock.getsockname()
    except OSError:
        info["sockname"] = None
    try:
        info["peername"] = sock.getpeername()
    except OSError:
        if peername_required:
            info["peername"] = None
    if extra:
        info.update(extra)
    return info


class _FdTransportLifecycle:
    """The state machine and close sequence of a transport over one fd (a base class).

    The class using it sets ``_loop``, ``_protocol``, ``_fileno``, ``_state``,
    ``_writes_after_close`` and the attribute named by :meth:`_resource_name` (the
    socket or pipe object closed after ``connection_lost``), implements
    :meth:`_read_ready`, and may override the hooks :meth:`_read_callback`, :meth:`_wants_reader`,
    :meth:`_has_buffered_writes`, :meth:`_clear_buffered_writes`, :meth:`_drop_io`,
    :meth:`_on_closed` and :meth:`_is_ordinary_end`.
    """

    _loop: BaseEventLoop
    _protocol: BaseProtocol
    _fileno: int
    _state: State
    _buffer_size: int
    _writes_after_close: int

    # -- hooks ----------------------------------------------------------------------

    def _resource_name(self) -> str:
        """The attribute holding the file object closed after ``connection_lost``."""
        return "_sock"

    def _read_ready(self) -> None:
        """The fd is readable (the loop's reader callback)."""
        raise NotImplementedError

    def _read_callback(self) -> Callable[[], None]:
        """What the loop calls when the fd is readable: :meth:`_read_ready`, unless
        the transport reads through another object."""
        return self._read_ready

    def _has_buffered_writes(self) -> bool:
        """True while written data waits in the transport's buffer."""
        return False

    def _clear_buffered_writes(self) -> None:
        """Drop the buffered data (abort or fatal error)."""

    # -- state ----------------------------------------------------------------------

    def _set_state(self, new: State) -> None:
        if new not in _TRANSITIONS[self._state]:
            raise RuntimeError(
                f"invalid transport state change {self._state.value} -> {new.value} for {self!r}"
            )
        self._state = new

    def __del__(self) -> None:
        # _warn (bound at import) keeps `warnings.warn` reachable at interpreter
        # shutdown. Not a default argument: mypyc 2.4.1 emits a __del__ call without
        # it (the C code does not compile).
        resource = getattr(self, self._resource_name(), None)
        if resource is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, stacklevel=2, source=self)
            resource.close()

    def is_closing(self) -> bool:
        """True once ``close()``, ``write_eof()`` or ``abort()`` was called, or the fd broke."""
        return self._state is not _OPEN

    def get_protocol(self) -> BaseProtocol:
        """The protocol the transport calls."""
        return self._protocol

    def set_protocol(self, protocol: BaseProtocol) -> None:
        """Deliver the following callbacks to *protocol*."""
        self._protocol = protocol

    def _claim_fd(self) -> None:
        """Tell the loop that our fd belongs to us (its fd methods then refuse it)."""
        owners = getattr(self._loop, "_fd_owners", None)
        if owners is not None:
            owners[self._fileno] = weakref.ref(self)

    # -- the start ------------------------------------------------------------------

    def _schedule_start(self, waiter: Future[object] | None) -> None:
        """``connection_made`` on the next iteration, then *waiter* resolved."""
        self._loop.call_soon(self._call_connection_made)
        if waiter is not None:
            self._loop.call_soon(_set_result_unless_cancelled, waiter)

    def _wants_reader(self) -> bool:
        """Whether to watch the fd for reading once ``connection_made`` returned."""
        return self._state is _OPEN

    def _call_connection_made(self) -> None:
        try:
            self._protocol.connection_made(self)  # type: ignore[arg-type]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            # As asyncio (which calls connection_made as a plain callback): the error
            # goes to the exception handler and the connection stays open. The
            # protocol got its transport and may well be usable; closing here would
            # make connection_lost(exc) the only sign, and differ from asyncio where
            # programs count on it. connection_lost(None) follows a normal close.
            self._report_error("protocol.connection_made() failed", exc)
        # The protocol may have closed or paused us from connection_made.
        if self._wants_reader():
            self._loop._add_reader(self._fileno, self._read_callback())

    # -- writes after close -----------------------------------------------------------

    def _drop_write_after_close(self, what: str = "writes") -> None:
        """Count a write to a closed transport (see :func:`_log_dropped_write`)."""
        self._writes_after_close += 1
        _log_dropped_write(self._writes_after_close, self, what)

    # -- closing --------------------------------------------------------------------

    def close(self) -> None:
        if self._state is not _OPEN:
            return
        self._loop._remove_reader(self._fileno)
        if self._has_buffered_writes():
            # connection_lost(None) comes when the buffer is flushed.
            self._set_state(_CLOSING)
        else:
            self._close_now(None)

    def abort(self) -> None:
        """Close at once, dropping the buffer; ``connection_lost(None)`` follows."""
        self._force_close(None)

    def _drop_io(self) -> None:
        """Drop the write buffer and stop watching the fd (before CLOSED)."""
        if self._has_buffered_writes():
            self._clear_buffered_writes()
            self._loop._remove_writer(self._fileno)
        if self._state is _OPEN:
            self._loop._remove_reader(self._fileno)

    def _force_close(self, exc: BaseException | None) -> None:
        if self._state is _CLOSED:
            return
        self._drop_io()
        self._close_now(exc)

    def _close_now(self, exc: BaseException | None) -> None:
        self._set_state(_CLOSED)
        self._on_closed(exc)
        self._loop.call_soon(self._call_connection_lost, exc)

    def _on_closed(self, exc: BaseException | None) -> None:
        """Called on entering CLOSED, before ``connection_lost`` is scheduled."""

    def _is_ordinary_end(self, exc: BaseException) -> bool:
        """True for errors that are an ordinary end (logged in debug mode only)."""
        return False

    def _report_error(self, message: str, exc: BaseException) -> None:
        self._loop.call_exception_handler(
            {
                "message": message,
                "exception": exc,
                "transport": self,
                "protocol": self._protocol,
            }
        )

    def _fatal_error(self, exc: BaseException, message: str) -> None:
        if self._state is _CLOSED:
            return
        if self._is_ordinary_end(exc):
            # An ordinary end, reported to the protocol by connection_lost.
            if self._loop.get_debug():
                logger.debug("%r: %s", self, message, exc_info=True)
        else:
            self._report_error(message, exc)
        self._force_close(exc)

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        try:
            self._protocol.connection_lost(exc)  # type: ignore[arg-type]
        finally:
            self._release()

    def _release(self) -> None:
        """Close the file object and give the fd back to the loop."""
        name = self._resource_name()
        resource = getattr(self, name)
        setattr(self, name, None)
        owners = getattr(self._loop, "_fd_owners", None)
        if owners is not None:
            owner = owners.get(self._fileno)
            if owner is not None and owner() is self:
                del owners[self._fileno]
        if resource is not None:
            resource.close()


class _FdReadLifecycle(_FdTransportLifecycle):
    """:class:`_FdTransportLifecycle` with a read side that can be paused.

    The class using it also sets ``_reading_paused`` and ``_eof_received``, and
    implements :meth:`_read_eof`.
    """

    _reading_paused: bool
    _eof_received: bool

    def _read_eof(self) -> None:
        """The peer closed its side (a read returned nothing)."""
        raise NotImplementedError

    def is_reading(self) -> bool:
        """True while data is delivered (open and not paused)."""
        return self._state is _OPEN and not self._reading_paused

    def pause_reading(self) -> None:
        """Stop reading until :meth:`resume_reading`. Idempotent."""
        if self._state is not _OPEN or self._reading_paused:
            return
        self._reading_paused = True
        self._loop._remove_reader(self._fileno)

    def resume_reading(self) -> None:
        """Read again (unless the end of file came). Idempotent."""
        if self._state is not _OPEN or not self._reading_paused:
            return
        self._reading_paused = False
        if not self._eof_received:
            self._loop._add_reader(self._fileno, self._read_callback())

    def _wants_reader(self) -> bool:
        # The protocol may have closed or paused us from connection_made.
        return self.is_reading()

    def _read_into_buffer(self, read_into: Callable[[Any], int], error_message: str) -> None:
        """Read with ``read_into(buf)`` straight into a :class:`BufferedProtocol`'s
        buffer (zero-copy); a failed read goes to :meth:`_fatal_error` with
        *error_message* (see :func:`._recvbuf.read_into_buffer`)."""
        assert isinstance(self._protocol, BufferedProtocol)
        read_into_buffer(self, self._protocol, read_into, error_message)
