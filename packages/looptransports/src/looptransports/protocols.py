"""Protocols: the callbacks a transport calls when something happens on a connection.

Users subclass these plain classes and override the methods they need; every method
has a harmless default. A protocol object serves exactly one connection.

The call order for a stream protocol (:class:`Protocol`, :class:`BufferedProtocol`)::

    connection_made -> data_received* -> eof_received? -> connection_lost

``connection_made`` and ``connection_lost`` are called exactly once each and every
other callback is called between them. ``data_received`` is never called after
``eof_received``. ``pause_writing``/``resume_writing`` (flow control) may come at any
point between ``connection_made`` and ``connection_lost``, alternating, starting with
``pause_writing``.

Callbacks are called by the loop, one at a time, never from inside a transport method
the protocol called itself (except ``pause_writing``, which ``write()`` may trigger).
An exception escaping a callback is reported to the loop's exception handler and the
transport is closed with that error, except for ``connection_made``: as in asyncio,
its error is only reported and the connection stays open (socket, datagram, pipe and
subprocess transports; ``connection_lost(None)`` follows a normal close). Over TLS,
as in asyncio, it fails the connection: the awaiting ``create_connection`` (or
``start_server``'s accept) gets the error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .transports import BaseTransport

__all__ = [
    "BaseProtocol",
    "BufferedProtocol",
    "DatagramProtocol",
    "Protocol",
    "SubprocessProtocol",
]


class BaseProtocol:
    """The callbacks shared by every kind of protocol.

    ``connection_made(transport)`` comes first, ``connection_lost(exc)`` last, each
    exactly once. ``pause_writing()`` and ``resume_writing()`` are flow-control
    signals about the transport's write buffer.
    """

    __slots__ = ()

    def connection_made(self, transport: BaseTransport) -> None:
        """Called once when the connection is made.

        *transport* is the connection; keep it to write and to close. Called before
        any other callback.
        """

    def connection_lost(self, exc: Exception | None) -> None:
        """Called once when the connection is lost or closed; the last callback.

        *exc* is ``None`` on a regular end of file, ``close()`` or ``abort()``,
        otherwise the exception that ended the connection (for example
        :class:`ConnectionResetError`).
        """

    def pause_writing(self) -> None:
        """The transport's write buffer went strictly over its high-water mark.

        Stop writing until :meth:`resume_writing` is called. Writing more is still
        allowed (it is buffered), but the buffer keeps growing. Called at most once
        before each :meth:`resume_writing`.
        """

    def resume_writing(self) -> None:
        """The transport's write buffer drained to its low-water mark or below.

        Called once after each :meth:`pause_writing`.
        """


class Protocol(BaseProtocol):
    """A stream protocol (TCP, Unix sockets, pipes, TLS).

    Call order::

        connection_made -> data_received* -> eof_received? -> connection_lost
    """

    __slots__ = ()

    def data_received(self, data: bytes) -> None:
        """Called with each chunk of *data* received, in order.

        Chunk boundaries mean nothing: the peer's writes may arrive split or joined.
        Never called after :meth:`eof_received`.
        """

    def eof_received(self) -> bool | None:
        """The peer closed its sending side (or called ``write_eof()``).

        Return a false value (the default) to let the transport close itself; return
        a true value to keep the connection half-open, so that the protocol can still
        write and close the transport later. TLS transports ignore the return value
        and always close.
        """
        return None


class BufferedProtocol(BaseProtocol):
    """A stream protocol that supplies its own receive buffer (zero-copy reads).

    Call order::

        connection_made -> (get_buffer -> buffer_updated)* -> eof_received? -> connection_lost
    """

    __slots__ = ()

    def get_buffer(self, sizehint: int) -> memoryview | bytearray:
        """Return a writable buffer the transport receives into.

        *sizehint* is the size the transport would like (``-1`` when it has no
        preference); the buffer may be smaller or larger but must not be empty.
        """
        raise NotImplementedError

    def buffer_updated(self, nbytes: int) -> None:
        """*nbytes* bytes were written at the start of the last buffer returned."""
        raise NotImplementedError

    def eof_received(self) -> bool | None:
        """As :meth:`Protocol.eof_received`."""
        return None


class DatagramProtocol(BaseProtocol):
    """A datagram (UDP) protocol.

    Call order::

        connection_made -> (datagram_received | error_received)* -> connection_lost
    """

    __slots__ = ()

    def datagram_received(self, data: bytes, addr: tuple[object, ...]) -> None:
        """A datagram *data* arrived from *addr*."""

    def error_received(self, exc: Exception) -> None:
        """A send or receive failed with the :class:`OSError` *exc*.

        For example :class:`ConnectionRefusedError` when an ICMP port-unreachable
        comes back on a connected socket. The endpoint stays open.
        """


class SubprocessProtocol(BaseProtocol):
    """The protocol of a child process started by ``subprocess_exec``/``subprocess_shell``.

    Call order::

        connection_made -> (pipe_data_received | pipe_connection_lost)*
                        -> process_exited -> connection_lost
    """

    __slots__ = ()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        """The child wrote *data* to its stdout (*fd* 1) or stderr (*fd* 2)."""

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        """One of the child's pipes (*fd* 0, 1 or 2) was closed."""

    def process_exited(self) -> None:
        """The child process exited."""
