"""Transports: the connection side a protocol talks to.

These are the interfaces of PEP 3156; the loop creates the concrete transports
(``create_connection``, ``create_server``, ``create_datagram_endpoint``, pipes,
subprocesses) and users rarely subclass them. Every method not overridden by a
concrete transport raises :class:`NotImplementedError`.

Write flow control is shared by every write transport through
:class:`_FlowControlMixin`: the protocol's ``pause_writing()`` is called once when
the write buffer grows *strictly over* the high-water mark, and ``resume_writing()``
once when it drains to the low-water mark *or below*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopcore.base_loop import BaseEventLoop

    from .protocols import BaseProtocol

__all__ = [
    "DEFAULT_HIGH_WATER",
    "BaseSubprocessTransport",
    "BaseTransport",
    "DatagramTransport",
    "ReadTransport",
    "SubprocessTransport",
    "Transport",
    "WriteTransport",
]

#: Default high-water mark of a write buffer, in bytes (64 KiB). The default
#: low-water mark is a quarter of the high-water mark.
DEFAULT_HIGH_WATER = 64 * 1024

BytesLike = bytes | bytearray | memoryview


class BaseTransport:
    """What every transport offers: extra information, closing, the protocol.

    :param extra: the mapping :meth:`get_extra_info` reads.
    """

    __slots__ = ("_extra",)

    def __init__(self, extra: Mapping[str, object] | None = None) -> None:
        self._extra: dict[str, object] = dict(extra) if extra else {}

    def get_extra_info(self, name: str, default: object = None) -> object:
        """Optional information about the transport, or *default* when absent.

        Socket transports know ``'peername'``, ``'sockname'`` and ``'socket'``;
        TLS adds ``'sslcontext'``, ``'ssl_object'``, ``'peercert'``, ``'cipher'`` and
        ``'compression'``; pipes ``'pipe'``; subprocesses ``'subprocess'``.
        """
        return self._extra.get(name, default)

    def is_closing(self) -> bool:
        """True once the transport is closing or closed."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the transport.

        Buffered data is flushed first (asynchronously); then the protocol's
        ``connection_lost(None)`` is called. No more data is received. Calling it
        again is a no-op.
        """
        raise NotImplementedError

    def set_protocol(self, protocol: BaseProtocol) -> None:
        """Use *protocol* for the following callbacks."""
        raise NotImplementedError

    def get_protocol(self) -> BaseProtocol:
        """The protocol the transport calls."""
        raise NotImplementedError


class ReadTransport(BaseTransport):
    """The read side of a transport: pausing and resuming delivery."""

    __slots__ = ()

    def is_reading(self) -> bool:
        """True while the transport delivers received data (not paused, not closed)."""
        raise NotImplementedError

    def pause_reading(self) -> None:
        """Stop calling ``data_received`` until :meth:`resume_reading`.

        Idempotent: pausing a paused or closing transport is a no-op.
        """
        raise NotImplementedError

    def resume_reading(self) -> None:
        """Deliver received data again. Idempotent."""
        raise NotImplementedError


class WriteTransport(BaseTransport):
    """The write side of a transport: writing, end of file, write flow control."""

    __slots__ = ()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the high- and low-water marks of the write buffer, in bytes.

        Defaults: *high* is 64 KiB when neither is given, four times *low* when
        only *low* is given; *low* is ``high // 4``. ``high=0`` pauses the protocol
        as soon as anything is buffered; ``low=0`` resumes it only when the buffer
        is empty.

        :raises ValueError: when a mark is negative or *low* exceeds *high*.
        """
        raise NotImplementedError

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """The ``(low, high)`` water marks."""
        raise NotImplementedError

    def get_write_buffer_size(self) -> int:
        """How many bytes are buffered, waiting to be sent."""
        raise NotImplementedError

    def write(self, data: BytesLike) -> None:
        """Send *data* (bytes-like), without blocking.

        What cannot be sent at once is buffered and sent when the peer can take
        it. Writing to a closing or closed transport is ignored (with a warning
        after a few attempts), never an error.
        """
        raise NotImplementedError

    def writelines(self, list_of_data: Iterable[BytesLike]) -> None:
        """Write every chunk of *list_of_data*, in order (as one write where possible)."""
        self.write(b"".join(list_of_data))

    def write_eof(self) -> None:
        """Close the write side once the buffer is flushed; reading goes on.

        :raises NotImplementedError: when :meth:`can_write_eof` is false.
        """
        raise NotImplementedError

    def can_write_eof(self) -> bool:
        """True if :meth:`write_eof` is supported (TCP and Unix yes, TLS no)."""
        raise NotImplementedError

    def abort(self) -> None:
        """Close at once, dropping buffered data; ``connection_lost(None)`` follows."""
        raise NotImplementedError


class Transport(ReadTransport, WriteTransport):
    """A bidirectional stream transport (TCP, Unix socket, TLS)."""

    __slots__ = ()


class DatagramTransport(BaseTransport):
    """A datagram (UDP) transport."""

    __slots__ = ()

    def sendto(self, data: BytesLike, addr: tuple[object, ...] | str | None = None) -> None:
        """Send the datagram *data* to *addr* (``None``: the connected peer).

        Never blocks: what cannot be sent at once is buffered.
        """
        raise NotImplementedError

    def abort(self) -> None:
        """Close at once, dropping buffered datagrams; ``connection_lost(None)`` follows."""
        raise NotImplementedError


class SubprocessTransport(BaseTransport):
    """The transport of a child process (``subprocess_exec``/``subprocess_shell``)."""

    __slots__ = ()

    def get_pid(self) -> int:
        """The child's process id."""
        raise NotImplementedError

    def get_returncode(self) -> int | None:
        """The child's return code (negative signal number if killed), or ``None``."""
        raise NotImplementedError

    def get_pipe_transport(self, fd: int) -> BaseTransport | None:
        """The transport of the child's pipe *fd* (0, 1 or 2), or ``None``."""
        raise NotImplementedError

    def send_signal(self, signal: int) -> None:
        """Send *signal* to the child."""
        raise NotImplementedError

    def terminate(self) -> None:
        """Ask the child to stop (SIGTERM)."""
        raise NotImplementedError

    def kill(self) -> None:
        """Kill the child (SIGKILL)."""
        raise NotImplementedError


#: The name the Python docs use for :class:`SubprocessTransport`.
BaseSubprocessTransport = SubprocessTransport


class _FlowControlMixin(WriteTransport):
    """Write-buffer flow control shared by every concrete write transport.

    The subclass sets ``self._loop`` and ``self._protocol``, implements
    :meth:`get_write_buffer_size`, and calls :meth:`_maybe_pause_protocol` after
    growing the buffer and :meth:`_maybe_resume_protocol` after draining it.

    Rules: ``pause_writing`` once when the size goes strictly over *high*;
    ``resume_writing`` once when it falls to *low* or below. An exception raised by
    either callback goes to the loop's exception handler; the transport goes on.
    """

    _loop: BaseEventLoop
    _protocol: BaseProtocol

    def __init__(
        self, extra: Mapping[str, object] | None = None, loop: BaseEventLoop | None = None
    ) -> None:
        super().__init__(extra)
        if loop is not None:
            self._loop = loop
        self._protocol_paused = False
        self._high_water = DEFAULT_HIGH_WATER
        self._low_water = DEFAULT_HIGH_WATER // 4
        self._set_write_buffer_limits()

    def _set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is None:
            high = DEFAULT_HIGH_WATER if low is None else 4 * low
        if low is None:
            low = high // 4
        if not isinstance(high, int) or not isinstance(low, int):
            raise TypeError(f"write buffer limits must be integers, got high={high!r}, low={low!r}")
        if high < 0 or low < 0:
            raise ValueError(
                f"write buffer limits must be non-negative, got high={high!r}, low={low!r}"
            )
        if low > high:
            raise ValueError(
                f"the low-water mark must not exceed the high-water mark, "
                f"got high={high!r}, low={low!r}"
            )
        self._high_water = high
        self._low_water = low

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._set_write_buffer_limits(high=high, low=low)
        # New limits may put the buffer over (or back under) a mark at once; a
        # closing transport no longer signals (connection_lost may be near or past).
        if not self.is_closing():
            self._maybe_pause_protocol()
            self._maybe_resume_protocol()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return (self._low_water, self._high_water)

    def _report_flow_error(self, what: str, exc: BaseException) -> None:
        self._loop.call_exception_handler(
            {
                "message": f"protocol.{what}() failed",
                "exception": exc,
                "transport": self,
                "protocol": self._protocol,
            }
        )

    def _maybe_pause_protocol(self) -> None:
        if self._protocol_paused or self.get_write_buffer_size() <= self._high_water:
            return
        self._protocol_paused = True
        try:
            self._protocol.pause_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._report_flow_error("pause_writing", exc)

    def _maybe_resume_protocol(self) -> None:
        if not self._protocol_paused or self.get_write_buffer_size() > self._low_water:
            return
        self._protocol_paused = False
        try:
            self._protocol.resume_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._report_flow_error("resume_writing", exc)
