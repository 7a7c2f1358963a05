"""Pipe transports: ``connect_read_pipe`` and ``connect_write_pipe``.

A pipe transport wraps one end of a pipe (or a character device such as a
terminal, or a socket used one way) in a transport, so that a protocol can read
from it or write to it without blocking the loop. The file descriptor is made
non-blocking and watched with the loop's selector.

Regular files are refused: a selector reports them always readable and writable,
so "non-blocking" reads and writes on them would still block on the disk, and
nothing would ever tell the loop to wait. Use ``run_in_executor`` for files.

How the write end learns that the reader went away: a write then fails with
``EPIPE`` (:class:`BrokenPipeError`), but a writer with nothing to write would never
find out. So the write transport also watches its fd for *reading*: a write end is
never readable, and the selector reports it ready (``EPOLLERR``/``EPOLLHUP`` on
Linux, ``EV_EOF`` with kqueue) exactly when the other side is closed. Then the
transport closes: ``connection_lost(None)`` if nothing was waiting to be written,
``connection_lost(BrokenPipeError())`` if data was lost.

Both transports follow the state machine of :mod:`._lifecycle` (shared with the
socket transports; ``write_eof()`` also leads to CLOSING while data is buffered, end
of file to CLOSED): ``connection_lost`` is scheduled when the state becomes
``CLOSED``; the pipe object is closed right after the protocol's ``connection_lost``
returns.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from loopcore.base_loop import BaseEventLoop
from loopcore.introspect import register_resource

from ._lifecycle import (
    _CLOSED,
    _CLOSING,
    _OPEN,
    State,
    _check_data,
    _FdReadLifecycle,
    _FdTransportLifecycle,
    _wait_connection_made,
)
from ._recvbuf import loop_recv_buffer
from .protocols import BaseProtocol, BufferedProtocol
from .transports import BytesLike, ReadTransport, _FlowControlMixin

if TYPE_CHECKING:
    from loopcore import Future

__all__ = ["PipesMixin", "ReadPipeTransport", "State", "WritePipeTransport"]

_P = TypeVar("_P", bound=BaseProtocol)
_T = TypeVar("_T", "ReadPipeTransport", "WritePipeTransport")


class PipeLike(Protocol):
    """What a pipe argument must offer: a file descriptor and a way to close it."""

    def fileno(self) -> int: ...

    def close(self) -> None: ...


def _pipe_fileno(pipe: object, role: str) -> tuple[int, int]:
    """The fd of *pipe* and its ``st_mode``, refusing what a selector cannot watch."""
    get_fileno = getattr(pipe, "fileno", None)
    if get_fileno is None:
        raise TypeError(f"{role}: a file object with fileno() was expected, got {pipe!r}")
    fileno = get_fileno()
    if not isinstance(fileno, int) or fileno < 0:
        raise ValueError(f"{role}: {pipe!r} has no valid file descriptor (fileno() = {fileno!r})")
    mode = os.fstat(fileno).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
        raise ValueError(
            f"{role}: {pipe!r} (fd {fileno}) is not a pipe, socket or character device; "
            f"regular files cannot be watched by the loop (use run_in_executor for files)"
        )
    return fileno, mode


class ReadPipeTransport(_FdReadLifecycle, ReadTransport):
    """The read end of a pipe, as made by ``loop.connect_read_pipe``.

    Calls ``protocol.connection_made(self)`` on the next loop iteration, then
    ``data_received(data)`` for each chunk (or, for a
    :class:`~looptransports.BufferedProtocol`, ``get_buffer``/``buffer_updated``
    with the data read straight into its buffer), ``eof_received()`` when the writer
    closes (its return value is ignored: a pipe has nothing to keep half-open), and
    ``connection_lost(exc)`` last. ``get_extra_info('pipe')`` is the pipe object.
    Not thread-safe.
    """

    def __init__(
        self,
        loop: BaseEventLoop,
        pipe: PipeLike,
        protocol: BaseProtocol,
        waiter: Future[object] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        fileno, _mode = _pipe_fileno(pipe, "connect_read_pipe()")
        info = dict(extra) if extra else {}
        info["pipe"] = pipe
        super().__init__(info)
        self._loop = loop
        # Known to loopcore.introspect: the monitor lists it, the leak report names it.
        register_resource(loop, self, "read pipe transport")
        self._pipe: PipeLike | None = pipe
        self._fileno = fileno
        self._protocol = protocol
        self._state = _OPEN
        self._reading_paused = False
        self._eof_received = False
        # A plain Protocol's reads land in the loop's shared buffer first (at most its
        # 256 KiB per read; a default Linux pipe holds 64 KiB); the protocol gets a
        # bytes copy of exactly what was read (see _recvbuf for why).
        self._recv_view = loop_recv_buffer(loop)
        os.set_blocking(fileno, False)
        self._schedule_start(waiter)

    def __repr__(self) -> str:
        info = [type(self).__name__, f"fd={self._fileno}", self._state.value.lower()]
        if self._state is _OPEN:
            info.append("paused" if self._reading_paused else "reading")
        return f"<{' '.join(info)}>"

    def _resource_name(self) -> str:
        return "_pipe"

    def _read_ready(self) -> None:
        if self._state is not _OPEN or self._reading_paused:
            return
        if isinstance(self._protocol, BufferedProtocol):
            self._read_into_buffer(self._readv, "Fatal read error on pipe transport")
            return
        view = self._recv_view
        try:
            nbytes = os.readv(self._fileno, (view,))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._fatal_error(exc, "Fatal read error on pipe transport")
            return
        if nbytes:
            try:
                self._protocol.data_received(view[:nbytes].tobytes())  # type: ignore[attr-defined]
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "protocol.data_received() failed")
            return
        self._read_eof()

    def _readv(self, buf: Any) -> int:
        return os.readv(self._fileno, [buf])

    def _read_eof(self) -> None:
        # End of file: every writer closed its end.
        self._eof_received = True
        self._loop._remove_reader(self._fileno)
        self._set_state(_CLOSED)
        try:
            self._protocol.eof_received()  # type: ignore[attr-defined]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._report_error("protocol.eof_received() failed", exc)
        self._loop.call_soon(self._call_connection_lost, None)

    # -- closing (the rest is in _FdTransportLifecycle) ----------------------------------------
    def close(self) -> None:
        """Stop reading and close the pipe; ``connection_lost(None)`` follows."""
        if self._state is _OPEN:
            self._force_close(None)

    def _drop_io(self) -> None:
        self._loop._remove_reader(self._fileno)

    def _is_ordinary_end(self, exc: BaseException) -> bool:
        # A pty whose other side closed reports EIO: that is its end of file.
        return isinstance(exc, OSError) and exc.errno == errno.EIO


class WritePipeTransport(_FdTransportLifecycle, _FlowControlMixin):
    """The write end of a pipe, as made by ``loop.connect_write_pipe``.

    ``write()`` writes at once what the pipe takes and buffers the rest; the
    protocol's ``pause_writing()`` comes when the buffer goes strictly over the
    high-water mark and ``resume_writing()`` when it drains to the low-water mark.
    ``write_eof()`` and ``close()`` close the pipe once the buffer is written;
    ``abort()`` drops it. When the reader closes its end, ``connection_lost`` gets
    ``None`` (nothing was lost) or :class:`BrokenPipeError` (buffered data was).
    ``get_extra_info('pipe')`` is the pipe object. Not thread-safe.
    """

    _loop: BaseEventLoop

    def __init__(
        self,
        loop: BaseEventLoop,
        pipe: PipeLike,
        protocol: BaseProtocol,
        waiter: Future[object] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        fileno, mode = _pipe_fileno(pipe, "connect_write_pipe()")
        info = dict(extra) if extra else {}
        info["pipe"] = pipe
        self._loop = loop
        # Known to loopcore.introspect: the monitor lists it, the leak report names it.
        register_resource(loop, self, "write pipe transport")
        self._protocol = protocol
        super().__init__(info, loop)
        self._pipe: PipeLike | None = pipe
        self._fileno = fileno
        self._state = _OPEN
        self._buffer = bytearray()
        self._eof = False
        self._writes_after_close = 0
        os.set_blocking(fileno, False)
        # See the module docstring: a readable write end means the reader is gone.
        # AIX cannot select a pipe's write end for reading.
        self._watch_reader = stat.S_ISSOCK(mode) or (
            stat.S_ISFIFO(mode) and not sys.platform.startswith("aix")
        )
        self._schedule_start(waiter)

    def __repr__(self) -> str:
        info = [type(self).__name__, f"fd={self._fileno}", self._state.value.lower()]
        if self._buffer:
            info.append(f"buffered={len(self._buffer)}")
        return f"<{' '.join(info)}>"

    def _resource_name(self) -> str:
        return "_pipe"

    def _has_buffered_writes(self) -> bool:
        return bool(self._buffer)

    def _clear_buffered_writes(self) -> None:
        self._buffer.clear()

    def _wants_reader(self) -> bool:
        return self._state is not _CLOSED and self._watch_reader

    def _read_ready(self) -> None:
        # The reader closed its end (see the module docstring).
        if self._state is _CLOSED:
            return
        if self._buffer:
            self._force_close(
                BrokenPipeError(errno.EPIPE, "the reading end of the pipe was closed")
            )
        else:
            self._force_close(None)

    # -- WriteTransport -----------------------------------------------------------------------
    def get_write_buffer_size(self) -> int:
        """Bytes buffered, waiting for the reader."""
        return len(self._buffer)

    def write(self, data: BytesLike) -> None:
        """Write *data* now if the pipe takes it, buffer the rest; never blocks.

        :raises TypeError: when *data* is not bytes-like.
        :raises RuntimeError: after :meth:`write_eof`.
        """
        _check_data(data)
        if self._eof:
            raise RuntimeError(f"cannot write() after write_eof() on {self!r}")
        if self._state is not _OPEN:
            self._drop_write_after_close()
            return
        if not data:
            return
        view = memoryview(data).cast("B")
        if not self._buffer:
            try:
                written = os.write(self._fileno, view)
            except (BlockingIOError, InterruptedError):
                written = 0
            except OSError as exc:
                self._fatal_error(exc, "Fatal write error on pipe transport")
                return
            if written == len(view):
                return
            view = view[written:]
            self._loop._add_writer(self._fileno, self._write_ready)
        self._buffer += view
        self._maybe_pause_protocol()

    def writelines(self, list_of_data: Iterable[BytesLike]) -> None:
        """Write every chunk of *list_of_data*, in order."""
        for data in list_of_data:
            self.write(data)

    def _write_ready(self) -> None:
        if self._state is _CLOSED or not self._buffer:
            return
        try:
            written = os.write(self._fileno, self._buffer)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._fatal_error(exc, "Fatal write error on pipe transport")
            return
        del self._buffer[:written]
        self._maybe_resume_protocol()
        if self._buffer:
            return
        self._loop._remove_writer(self._fileno)
        if self._state is _CLOSING:
            self._force_close(None)

    def can_write_eof(self) -> bool:
        """True: closing the write end is the pipe's end of file."""
        return True

    def write_eof(self) -> None:
        """Close the pipe once the buffer is written (the reader then sees EOF).

        Writing afterwards is a :class:`RuntimeError` (a bug in the caller), unlike
        writing after :meth:`close`, which is silently dropped.
        """
        if self._state is not _OPEN:
            return
        self._eof = True
        self._shut_down()

    def close(self) -> None:
        """Write what is buffered, then close; ``connection_lost(None)`` follows."""
        if self._state is _OPEN:
            self._shut_down()

    def _shut_down(self) -> None:
        if self._buffer:
            self._set_state(_CLOSING)
        else:
            self._force_close(None)

    # -- closing hooks of _FdTransportLifecycle -------------------------------------------------
    def _is_ordinary_end(self, exc: BaseException) -> bool:
        # The reader went away: ordinary, reported through connection_lost.
        return isinstance(exc, (BrokenPipeError, ConnectionResetError))

    def _drop_io(self) -> None:
        if self._buffer:
            self._buffer.clear()
            self._loop._remove_writer(self._fileno)
        if self._watch_reader:
            self._loop._remove_reader(self._fileno)


class PipesMixin(BaseEventLoop):
    """Adds ``connect_read_pipe``/``connect_write_pipe`` to the selector loop.

    A mixin of ``looptransports.SelectorEventLoop``; it uses the loop's
    ``create_future`` and fd watching (``_add_reader``/``_add_writer``).
    """

    async def connect_read_pipe(  # type: ignore[override]
        self, protocol_factory: Callable[[], _P], pipe: PipeLike
    ) -> tuple[ReadPipeTransport, _P]:
        """Wrap the read end *pipe* (a file object) in a transport.

        The transport owns *pipe* from now on: it closes it after the protocol's
        ``connection_lost``. The fd is made non-blocking.

        :returns: ``(transport, protocol)`` once ``connection_made`` has run.
        :raises ValueError: when *pipe* is a regular file (or anything that is not a
            pipe, socket or character device).
        """
        return await self._connect_pipe(ReadPipeTransport, protocol_factory, pipe)

    async def connect_write_pipe(  # type: ignore[override]
        self, protocol_factory: Callable[[], _P], pipe: PipeLike
    ) -> tuple[WritePipeTransport, _P]:
        """Wrap the write end *pipe* (a file object) in a transport.

        The transport owns *pipe* from now on: it closes it after the protocol's
        ``connection_lost``. The fd is made non-blocking.

        :returns: ``(transport, protocol)`` once ``connection_made`` has run.
        :raises ValueError: when *pipe* is a regular file (or anything that is not a
            pipe, socket or character device).
        """
        return await self._connect_pipe(WritePipeTransport, protocol_factory, pipe)

    async def _connect_pipe(
        self, transport_class: type[_T], protocol_factory: Callable[[], _P], pipe: PipeLike
    ) -> tuple[_T, _P]:
        protocol = protocol_factory()
        waiter = self.create_future()
        transport = transport_class(self, pipe, protocol, waiter)
        await _wait_connection_made(transport, waiter)
        return transport, protocol
