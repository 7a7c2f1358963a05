"""The datagram (UDP, Unix datagram) transport of the selector loop.

Datagrams are sent at once when nothing is queued; one that the kernel refuses
for lack of buffer space (``EAGAIN``) is queued whole and sent when the socket is
writable, with the same write flow control as stream transports (each queued
datagram counts its size plus :data:`DATAGRAM_OVERHEAD`). An :class:`OSError` from
a send or receive (``ECONNREFUSED`` after an ICMP port-unreachable on a connected
socket, ``EMSGSIZE``...) goes to ``protocol.error_received(exc)``: datagram
endpoints are not connections and stay open.

States as for the stream transport: OPEN -> CLOSING (close() with datagrams queued)
-> CLOSED, or OPEN -> CLOSED directly.
"""

from __future__ import annotations

import collections
import logging
import socket
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, cast

from loopcore.futures import Future
from loopcore.introspect import register_resource

from ._sockets import (
    _CLOSED,
    _CLOSING,
    _OPEN,
    _TRANSITIONS,
    LOG_THRESHOLD_FOR_CONNLOST_WRITES,
    State,
    _check_data,
    _set_result_unless_cancelled,
)
from .protocols import DatagramProtocol
from .transports import DatagramTransport, _FlowControlMixin

if TYPE_CHECKING:
    from loopcore.base_loop import BaseEventLoop as AbstractEventLoop

__all__ = ["DATAGRAM_OVERHEAD", "SocketDatagramTransport"]

logger = logging.getLogger("looptransports")

#: Bytes counted per queued datagram on top of its payload, so that many empty
#: datagrams still fill the buffer.
DATAGRAM_OVERHEAD = 8

#: The largest datagram ``recvfrom`` asks for (the largest UDP payload).
MAX_DATAGRAM_SIZE = 256 * 1024

_Address = tuple[object, ...] | str | bytes


class SocketDatagramTransport(_FlowControlMixin, DatagramTransport):
    """A datagram transport over a non-blocking socket.

    *address* is the connected peer, or ``None`` for an unconnected socket (then
    every :meth:`sendto` names its destination). Created by
    ``loop.create_datagram_endpoint()``. Not thread-safe.
    """

    def __init__(
        self,
        loop: AbstractEventLoop,
        sock: socket.socket,
        protocol: DatagramProtocol,
        address: _Address | None = None,
        waiter: Future[object] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        info: dict[str, object] = {"socket": sock}
        try:
            info["sockname"] = sock.getsockname()
        except OSError:
            info["sockname"] = None
        try:
            info["peername"] = sock.getpeername()
        except OSError:
            pass  # not connected
        if address is None and "peername" in info:
            # A socket given already connected (sock=): sendto(data) goes to its peer.
            address = cast(_Address, info["peername"])
        if extra:
            info.update(extra)
        self._loop = loop
        # Known to loopcore.introspect: the monitor lists it, the leak report names it.
        register_resource(loop, self, "datagram transport")
        self._protocol = protocol
        super().__init__(info, loop)
        self._sock: socket.socket | None = sock
        self._fileno = sock.fileno()
        self._address = address
        self._state = _OPEN
        self._writes_after_close = 0
        self._buffer: collections.deque[tuple[bytes, _Address | None]] = collections.deque()
        self._buffer_size = 0
        owners = getattr(loop, "_fd_owners", None)
        if owners is not None:
            owners[self._fileno] = self
        loop.call_soon(self._call_connection_made)
        if waiter is not None:
            loop.call_soon(_set_result_unless_cancelled, waiter)

    def _set_state(self, new: State) -> None:
        if new not in _TRANSITIONS[self._state]:
            raise RuntimeError(
                f"invalid transport state change {self._state.value} -> {new.value} for {self!r}"
            )
        self._state = new

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self._fileno} {self._state.value.lower()}>"

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        sock = getattr(self, "_sock", None)
        if sock is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, stacklevel=2, source=self)
            sock.close()

    def is_closing(self) -> bool:
        return self._state is not _OPEN

    def get_protocol(self) -> DatagramProtocol:
        assert isinstance(self._protocol, DatagramProtocol)
        return self._protocol

    def set_protocol(self, protocol: object) -> None:
        if not isinstance(protocol, DatagramProtocol):
            raise TypeError(f"a DatagramProtocol was expected, got {protocol!r}")
        self._protocol = protocol

    def get_write_buffer_size(self) -> int:
        return self._buffer_size

    def _call_connection_made(self) -> None:
        try:
            self._protocol.connection_made(self)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "protocol.connection_made() failed")
            return
        if self._state is _OPEN:
            self._loop._add_reader(self._fileno, self._read_ready)

    # -- receiving -------------------------------------------------------------------

    def _read_ready(self) -> None:
        if self._state is not _OPEN:
            return
        sock = self._sock
        assert sock is not None
        protocol = self.get_protocol()
        try:
            data, addr = sock.recvfrom(MAX_DATAGRAM_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._call_error_received(exc)
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on datagram transport")
            return
        try:
            protocol.datagram_received(data, addr)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "protocol.datagram_received() failed")

    def _call_error_received(self, exc: OSError) -> None:
        try:
            self.get_protocol().error_received(exc)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as err:
            self._fatal_error(err, "protocol.error_received() failed")

    # -- sending ---------------------------------------------------------------------

    def sendto(self, data: bytes | bytearray | memoryview, addr: _Address | None = None) -> None:
        """Send the datagram *data* to *addr* (``None``: the connected peer).

        :raises ValueError: when the socket is connected and *addr* is another
            address, or when it is not connected and *addr* is ``None``.
        """
        _check_data(data)
        if self._address is not None:
            if addr not in (None, self._address):
                raise ValueError(
                    f"invalid address {addr!r}: this endpoint is connected to "
                    f"{self._address!r}; pass None or that address"
                )
            addr = None
        elif addr is None:
            raise ValueError("sendto() needs an address: this endpoint is not connected")
        if self._state is not _OPEN:
            self._writes_after_close += 1
            count = self._writes_after_close
            if count >= LOG_THRESHOLD_FOR_CONNLOST_WRITES and count & (count - 1) == 0:
                logger.warning("%d datagrams were dropped: %r is closed", count, self)
            return
        if not self._buffer:
            sock = self._sock
            assert sock is not None
            try:
                if addr is None:
                    sock.send(data)
                else:
                    sock.sendto(data, addr)
                return
            except (BlockingIOError, InterruptedError):
                self._loop._add_writer(self._fileno, self._write_ready)
            except OSError as exc:
                self._call_error_received(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on datagram transport")
                return
        payload = bytes(data)
        self._buffer.append((payload, addr))
        self._buffer_size += len(payload) + DATAGRAM_OVERHEAD
        self._maybe_pause_protocol()

    def _write_ready(self) -> None:
        sock = self._sock
        if sock is None:
            return
        while self._buffer:
            data, addr = self._buffer.popleft()
            self._buffer_size -= len(data) + DATAGRAM_OVERHEAD
            try:
                if addr is None:
                    sock.send(data)
                else:
                    sock.sendto(data, addr)
            except (BlockingIOError, InterruptedError):
                self._buffer.appendleft((data, addr))
                self._buffer_size += len(data) + DATAGRAM_OVERHEAD
                break
            except OSError as exc:
                # That datagram is lost; the others may still go.
                self._call_error_received(exc)
                if self._state is _CLOSED:
                    return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on datagram transport")
                return
        self._maybe_resume_protocol()
        if not self._buffer and self._state is not _CLOSED:
            self._loop._remove_writer(self._fileno)
            if self._state is _CLOSING:
                self._close_now(None)

    # -- closing ---------------------------------------------------------------------

    def close(self) -> None:
        if self._state is not _OPEN:
            return
        self._loop._remove_reader(self._fileno)
        if self._buffer:
            self._set_state(_CLOSING)
        else:
            self._close_now(None)

    def abort(self) -> None:
        self._force_close(None)

    def _close_now(self, exc: BaseException | None) -> None:
        self._set_state(_CLOSED)
        self._loop.call_soon(self._call_connection_lost, exc)

    def _force_close(self, exc: BaseException | None) -> None:
        if self._state is _CLOSED:
            return
        if self._buffer:
            self._buffer.clear()
            self._buffer_size = 0
            self._loop._remove_writer(self._fileno)
        if self._state is _OPEN:
            self._loop._remove_reader(self._fileno)
        self._close_now(exc)

    def _fatal_error(self, exc: BaseException, message: str) -> None:
        if self._state is _CLOSED:
            return
        self._loop.call_exception_handler(
            {"message": message, "exception": exc, "transport": self, "protocol": self._protocol}
        )
        self._force_close(exc)

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        try:
            self._protocol.connection_lost(exc)  # type: ignore[arg-type]
        finally:
            sock = self._sock
            self._sock = None
            owners = getattr(self._loop, "_fd_owners", None)
            if owners is not None and owners.get(self._fileno) is self:
                del owners[self._fileno]
            if sock is not None:
                sock.close()
