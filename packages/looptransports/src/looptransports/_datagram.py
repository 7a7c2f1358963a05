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
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from loopcore.futures import Future
from loopcore.introspect import register_resource

from ._lifecycle import _CLOSED, _CLOSING, _OPEN, _check_data, _FdTransportLifecycle, _socket_extra
from ._recvbuf import loop_recv_buffer
from .protocols import DatagramProtocol
from .transports import DatagramTransport, _FlowControlMixin

if TYPE_CHECKING:
    from loopcore.base_loop import BaseEventLoop

__all__ = ["DATAGRAM_OVERHEAD", "SocketDatagramTransport"]

#: Bytes counted per queued datagram on top of its payload, so that many empty
#: datagrams still fill the buffer.
DATAGRAM_OVERHEAD = 8

_Address = tuple[object, ...] | str | bytes


class SocketDatagramTransport(_FdTransportLifecycle, _FlowControlMixin, DatagramTransport):
    """A datagram transport over a non-blocking socket.

    *address* is the connected peer, or ``None`` for an unconnected socket (then
    every :meth:`sendto` names its destination). Created by
    ``loop.create_datagram_endpoint()``. Not thread-safe.
    """

    def __init__(
        self,
        loop: BaseEventLoop,
        sock: socket.socket,
        protocol: DatagramProtocol,
        address: _Address | None = None,
        waiter: Future[object] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        info = _socket_extra(sock, None, peername_required=False)  # no peername: not connected
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
        # Datagrams land in the loop's shared buffer; the protocol gets a bytes copy.
        # Its size (RECV_BUFFER_SIZE, 256 KiB) is more than the largest UDP payload;
        # a longer datagram (Unix datagram sockets only) is truncated, as by recvfrom.
        self._recv_view = loop_recv_buffer(loop)
        self._state = _OPEN
        self._writes_after_close = 0
        self._buffer: collections.deque[tuple[bytes, _Address | None]] = collections.deque()
        self._buffer_size = 0
        self._claim_fd()
        self._schedule_start(waiter)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self._fileno} {self._state.value.lower()}>"

    def get_protocol(self) -> DatagramProtocol:
        assert isinstance(self._protocol, DatagramProtocol)
        return self._protocol

    def set_protocol(self, protocol: object) -> None:
        if not isinstance(protocol, DatagramProtocol):
            raise TypeError(f"a DatagramProtocol was expected, got {protocol!r}")
        self._protocol = protocol

    def get_write_buffer_size(self) -> int:
        return self._buffer_size

    def _has_buffered_writes(self) -> bool:
        return bool(self._buffer)

    def _clear_buffered_writes(self) -> None:
        self._buffer.clear()
        self._buffer_size = 0

    # -- receiving -------------------------------------------------------------------

    def _read_ready(self) -> None:
        if self._state is not _OPEN:
            return
        sock = self._sock
        assert sock is not None
        protocol = self.get_protocol()
        try:
            nbytes, addr = sock.recvfrom_into(self._recv_view)
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
            # The copy is the protocol's own: the buffer is reused by the next read.
            protocol.datagram_received(self._recv_view[:nbytes].tobytes(), addr)
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
                    f"Invalid address: must be None or {self._address!s}, got {addr!r} "
                    "(this endpoint is connected)"
                )
            addr = None
        elif addr is None:
            raise ValueError("sendto() needs an address: this endpoint is not connected")
        if self._state is not _OPEN:
            self._drop_write_after_close("datagrams")
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
