"""TLS over any stream transport, built on :class:`ssl.MemoryBIO`.

Why memory BIOs and not wrapped sockets: a wrapped socket does its own reads and
writes and blocks or raises ``SSLWantRead``/``SSLWantWrite`` at awkward moments, so
the loop would need a second, TLS-aware transport for every kind of stream. With two
memory BIOs the TLS engine (:class:`ssl.SSLObject`) never touches a file descriptor:
we feed it the bytes the socket transport received (*incoming*) and send what it
produced (*outgoing*) through the same transport. TLS thus works unchanged over TCP,
Unix sockets, or any transport that has ``write``/``pause_reading``/``close``, and
``start_tls`` can upgrade a connection that already exists.

The pieces::

    app protocol  <-- data_received -----  SSLProtocol  <-- buffer_updated -- socket transport
    app protocol  --- _SSLTransport.write -> SSLProtocol  --- transport.write -> socket transport

:class:`SSLProtocol` is a :class:`BufferedProtocol`: the socket transport receives
ciphertext straight into one buffer the protocol keeps for its whole life, and the
same buffer then receives the plaintext decrypted for an application
:class:`Protocol` (one ``bytes`` copy per ``data_received``). A
:class:`BufferedProtocol` application gets the plaintext decrypted straight into its
own buffer. No read allocates a buffer of its own.

:class:`SSLProtocol` is the socket transport's protocol; :class:`_SSLTransport` is the
transport the application sees (``ssl_protocol._app_transport``).

States of the TLS pipe (:data:`_TRANSITIONS`, changed only by ``_set_state``)::

    UNWRAPPED --connection_made--> DO_HANDSHAKE --handshake done--> WRAPPED
    WRAPPED --app close()--> FLUSHING --backlog written--> SHUTDOWN
    WRAPPED --peer close_notify or end of file--> SHUTDOWN
    any state --connection_lost, handshake failure--> UNWRAPPED

In ``SHUTDOWN`` our ``close_notify`` has been sent and the application no longer
receives data; the underlying transport is closed once the peer answers with its own
``close_notify`` (or aborted after ``ssl_shutdown_timeout`` seconds).

The application protocol sees ``connection_made`` after the handshake, then
``data_received``/``eof_received``, then ``connection_lost`` exactly once. TLS cannot
be half-closed here: the return value of ``eof_received`` is ignored and the
connection always closes after the peer's end of stream.
"""

from __future__ import annotations

import collections
import enum
import logging
import ssl
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._lifecycle import _check_data, _log_dropped_write
from .protocols import BaseProtocol, BufferedProtocol
from .transports import BaseTransport, BytesLike, Transport

if TYPE_CHECKING:
    from loopcore import AbstractEventLoop, Future, TimerHandle

__all__ = ["SSL_HANDSHAKE_TIMEOUT", "SSL_SHUTDOWN_TIMEOUT", "SSLProtocol", "State", "start_tls"]

logger = logging.getLogger("looptransports")

#: Seconds a TLS handshake may take before the connection is aborted.
SSL_HANDSHAKE_TIMEOUT = 60.0
#: Seconds to wait for the peer's ``close_notify`` after ours before aborting.
SSL_SHUTDOWN_TIMEOUT = 30.0

# The most plaintext handed to the application in one data_received call, the
# size of the one buffer each connection reads ciphertext into and decrypts into,
# and the size hint given to a BufferedProtocol application's get_buffer().
_MAX_READ = 256 * 1024


class State(enum.Enum):
    """Where the TLS pipe of an :class:`SSLProtocol` is in its life."""

    UNWRAPPED = "UNWRAPPED"
    DO_HANDSHAKE = "DO_HANDSHAKE"
    WRAPPED = "WRAPPED"
    FLUSHING = "FLUSHING"
    SHUTDOWN = "SHUTDOWN"


_UNWRAPPED = State.UNWRAPPED
_DO_HANDSHAKE = State.DO_HANDSHAKE
_WRAPPED = State.WRAPPED
_FLUSHING = State.FLUSHING
_SHUTDOWN = State.SHUTDOWN

#: Every allowed state change of the TLS pipe; anything else is a bug (RuntimeError).
_TRANSITIONS: dict[State, frozenset[State]] = {
    _UNWRAPPED: frozenset({_DO_HANDSHAKE}),
    _DO_HANDSHAKE: frozenset({_WRAPPED, _UNWRAPPED}),
    _WRAPPED: frozenset({_FLUSHING, _SHUTDOWN, _UNWRAPPED}),
    _FLUSHING: frozenset({_SHUTDOWN, _UNWRAPPED}),
    _SHUTDOWN: frozenset({_UNWRAPPED}),
}


def _check_timeout(name: str, value: float | None, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


class _SSLTransport(Transport):
    """The transport an application sees on a TLS connection.

    Writes are encrypted and passed to the underlying transport; ``close()`` sends a
    TLS ``close_notify`` and waits (up to the shutdown timeout) for the peer's before
    closing the underlying connection. ``write_eof`` is not supported: TLS 1.2 has no
    half-close and asyncio's TLS never offered one.
    """

    __slots__ = ("_closed", "_conn_lost_writes", "_loop", "_ssl_protocol")

    def __init__(self, loop: AbstractEventLoop, ssl_protocol: SSLProtocol) -> None:
        super().__init__()
        self._loop = loop
        self._ssl_protocol = ssl_protocol
        self._closed = False
        self._conn_lost_writes = 0

    def __repr__(self) -> str:
        state = "closed" if self._closed else self._ssl_protocol._state.value.lower()
        return f"<_SSLTransport {state} protocol={self._ssl_protocol._app_protocol!r}>"

    def __del__(self) -> None:
        # Reached only when the whole connection is unreachable (the loop no longer
        # watches its socket), so there is nothing left to close: just say so.
        if not getattr(self, "_closed", True):
            self._closed = True
            warnings.warn(
                f"unclosed TLS transport {self!r}", ResourceWarning, stacklevel=2, source=self
            )

    # -- BaseTransport -----------------------------------------------------------------
    def get_extra_info(self, name: str, default: object = None) -> object:
        """TLS keys (``'sslcontext'``, ``'ssl_object'``, ``'peercert'``, ``'cipher'``,
        ``'compression'``), then the underlying transport's (``'peername'``, ...)."""
        return self._ssl_protocol._get_extra_info(name, default)

    def set_protocol(self, protocol: BaseProtocol) -> None:
        """Deliver the following callbacks to *protocol*."""
        self._ssl_protocol._set_app_protocol(protocol)

    def get_protocol(self) -> BaseProtocol:
        """The application protocol."""
        return self._ssl_protocol._app_protocol

    def is_closing(self) -> bool:
        """True once ``close()``/``abort()`` was called or the connection was lost."""
        return self._closed

    def close(self) -> None:
        """Write what is buffered, shut TLS down cleanly, then close the connection.

        The peer's ``close_notify`` is awaited for at most the shutdown timeout;
        ``connection_lost(None)`` follows (``TimeoutError`` if the peer never
        answered). Calling it again is a no-op.
        """
        if self._closed:
            return
        self._closed = True
        self._ssl_protocol._start_closing()

    def abort(self) -> None:
        """Close at once, without a TLS shutdown; buffered data is dropped."""
        self._closed = True
        self._ssl_protocol._abort(None)

    # -- ReadTransport ---------------------------------------------------------------------
    def is_reading(self) -> bool:
        """True while plaintext is delivered (not paused, not closing)."""
        return not self._closed and not self._ssl_protocol._app_reading_paused

    def pause_reading(self) -> None:
        """Stop calling ``data_received``; the underlying transport stops reading too."""
        if self._closed:
            return
        self._ssl_protocol._pause_reading()

    def resume_reading(self) -> None:
        """Deliver data again, starting with what was already received and decrypted."""
        if self._closed:
            return
        self._ssl_protocol._resume_reading()

    # -- WriteTransport ----------------------------------------------------------------------
    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the water marks; they apply to the underlying transport's buffer.

        Every plaintext write is encrypted at once, so the ciphertext waiting in the
        underlying transport is what the limits measure.

        :raises ValueError: when a mark is negative or *low* exceeds *high*.
        """
        transport = self._ssl_protocol._transport
        if transport is None:
            raise RuntimeError("the TLS connection is closed; its write buffer is gone")
        assert isinstance(transport, Transport)
        transport.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """The ``(low, high)`` water marks of the underlying transport."""
        transport = self._ssl_protocol._transport
        if transport is None:
            raise RuntimeError("the TLS connection is closed; its write buffer is gone")
        assert isinstance(transport, Transport)
        return transport.get_write_buffer_limits()

    def get_write_buffer_size(self) -> int:
        """Plaintext not yet encrypted plus ciphertext not yet sent, in bytes."""
        return self._ssl_protocol._get_write_buffer_size()

    def write(self, data: BytesLike) -> None:
        """Encrypt and send *data*; ignored (with a warning after a few) once closing."""
        _check_data(data)
        if data:
            self._write_chunks((data,))

    def writelines(self, list_of_data: Iterable[BytesLike]) -> None:
        """Encrypt and send every chunk, in order, without joining them first."""
        chunks = list(list_of_data)
        for data in chunks:
            _check_data(data)
        chunks = [data for data in chunks if data]
        if chunks:
            self._write_chunks(chunks)

    def _write_chunks(self, chunks: Iterable[BytesLike]) -> None:
        # After close(), abort(), the peer's close_notify or a lost connection the
        # data can never be sent: drop it rather than buffer it forever.
        if self._closed or not self._ssl_protocol._can_write():
            self._conn_lost_writes += 1
            _log_dropped_write(self._conn_lost_writes, self)
            return
        self._ssl_protocol._write_appdata(chunks)

    def write_eof(self) -> None:
        """Not supported on TLS.

        :raises NotImplementedError: always; see :meth:`can_write_eof`.
        """
        raise NotImplementedError("TLS transports cannot half-close: write_eof() is not supported")

    def can_write_eof(self) -> bool:
        """False: TLS transports have no half-close."""
        return False


class SSLProtocol(BufferedProtocol):
    """The TLS engine between a stream transport and an application protocol.

    Set it as the protocol of a socket transport (or give it to ``start_tls``); it
    takes ciphertext through ``get_buffer``/``buffer_updated`` (zero-copy) or, from a
    transport that does not do buffered reads, ``data_received``. Once
    the handshake succeeds, *app_protocol* gets ``connection_made(app_transport)``
    (unless *call_connection_made* is false, for ``start_tls``) and *waiter* gets the
    result ``None``. A handshake that fails (bad certificate, wrong host name, garbage
    from the peer, end of file, :data:`SSL_HANDSHAKE_TIMEOUT`) fails *waiter* with the
    error and closes the connection.

    :param loop: the loop the transport runs on.
    :param app_protocol: the application's :class:`Protocol` or :class:`BufferedProtocol`.
    :param sslcontext: the :class:`ssl.SSLContext` to use.
    :param waiter: a future of *loop*, or ``None``.
    :param server_side: True to play the server's part of the handshake.
    :param server_hostname: the name the peer's certificate must match (client side).
    :param ssl_handshake_timeout: seconds (default 60) before a handshake is aborted.
    :param ssl_shutdown_timeout: seconds (default 30) to wait for the peer's
        ``close_notify`` before aborting.
    :raises TypeError: when *sslcontext* is not an :class:`ssl.SSLContext`.
    :raises ValueError: when a timeout is not positive, or *server_hostname* is given
        on the server side.
    """

    __slots__ = (
        "__weakref__",
        "_app_connected",
        "_app_eof_delivered",
        "_app_lost",
        "_app_protocol",
        "_app_protocol_is_buffered",
        "_app_reading_paused",
        "_app_transport",
        "_app_writing_paused",
        "_call_connection_made",
        "_extra",
        "_handshake_timeout",
        "_handshake_timer",
        "_incoming",
        "_loop",
        "_outgoing",
        "_pending_exc",
        "_read_buffer",
        "_server_hostname",
        "_server_side",
        "_shutdown_timeout",
        "_shutdown_timer",
        "_sslcontext",
        "_sslobj",
        "_state",
        "_transport",
        "_transport_writing_paused",
        "_waiter",
        "_write_backlog",
        "_write_backlog_size",
    )

    def __init__(
        self,
        loop: AbstractEventLoop,
        app_protocol: BaseProtocol,
        sslcontext: ssl.SSLContext,
        waiter: Future[object] | None,
        server_side: bool = False,
        server_hostname: str | None = None,
        call_connection_made: bool = True,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> None:
        if not isinstance(sslcontext, ssl.SSLContext):
            raise TypeError(f"sslcontext must be an ssl.SSLContext, got {sslcontext!r}")
        if server_side and server_hostname:
            raise ValueError(
                f"server_hostname is only meaningful on the client side, got {server_hostname!r}"
            )
        self._handshake_timeout = _check_timeout(
            "ssl_handshake_timeout", ssl_handshake_timeout, SSL_HANDSHAKE_TIMEOUT
        )
        self._shutdown_timeout = _check_timeout(
            "ssl_shutdown_timeout", ssl_shutdown_timeout, SSL_SHUTDOWN_TIMEOUT
        )
        self._loop = loop
        self._sslcontext = sslcontext
        self._server_side = server_side
        # An empty name means "do not check the host name" to the caller; OpenSSL
        # wants None for that.
        self._server_hostname = server_hostname or None
        self._waiter = waiter
        self._call_connection_made = call_connection_made
        self._state = _UNWRAPPED
        self._transport: Transport | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._sslobj: ssl.SSLObject | None = None
        # Allocated on the first read: ciphertext is received into it, then (after
        # it was fed to the engine) plaintext for a plain Protocol is decrypted into it.
        self._read_buffer: memoryview | None = None
        self._extra: dict[str, object] = {"sslcontext": sslcontext}
        self._write_backlog: collections.deque[BytesLike] = collections.deque()
        self._write_backlog_size = 0
        self._handshake_timer: TimerHandle | None = None
        self._shutdown_timer: TimerHandle | None = None
        # An error to give the application's connection_lost when the underlying
        # transport reports a plain connection_lost(None) after we aborted it.
        self._pending_exc: BaseException | None = None
        # The application protocol's side. With start_tls the protocol already had
        # connection_made (from the plain transport), so it is "connected" from the
        # start and is owed a connection_lost whatever happens.
        self._app_protocol = app_protocol
        self._app_protocol_is_buffered = isinstance(app_protocol, BufferedProtocol)
        self._app_connected = not call_connection_made
        self._app_lost = False
        self._app_eof_delivered = False
        self._app_reading_paused = False
        self._app_writing_paused = False
        self._transport_writing_paused = False
        self._app_transport = _SSLTransport(loop, self)

    def __repr__(self) -> str:
        side = "server" if self._server_side else "client"
        return f"<SSLProtocol {side} {self._state.value} app={self._app_protocol!r}>"

    # -- State -------------------------------------------------------------------------
    def _set_state(self, new: State) -> None:
        """The one place where the state changes; refuses moves not in the table."""
        if new not in _TRANSITIONS[self._state]:
            raise RuntimeError(
                f"cannot move the TLS pipe from {self._state.value} to {new.value}: {self!r}"
            )
        self._state = new

    # -- Callbacks from the underlying transport --------------------------------------------
    def connection_made(self, transport: BaseTransport) -> None:
        """The underlying connection is up: start the handshake."""
        if self._transport is not None or self._sslobj is not None:
            raise RuntimeError(f"connection_made() called twice on {self!r}")
        if not isinstance(transport, Transport):
            raise TypeError(f"TLS needs a stream transport, got {transport!r}")
        self._transport = transport
        try:
            self._sslobj = self._sslcontext.wrap_bio(
                self._incoming,
                self._outgoing,
                server_side=self._server_side,
                server_hostname=self._server_hostname,
            )
        except (ValueError, ssl.SSLError) as exc:
            # For example "check_hostname requires server_hostname": the caller's
            # mistake, reported through the waiter like a failed handshake.
            self._pending_exc = exc
            waiter = self._waiter
            self._waiter = None
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc)
            transport.abort()
            return
        self._extra["ssl_object"] = self._sslobj
        self._set_state(_DO_HANDSHAKE)
        self._handshake_timer = self._loop.call_later(
            self._handshake_timeout, self._on_handshake_timeout
        )
        self._do_handshake()

    def get_buffer(self, sizehint: int) -> memoryview:
        """The buffer the transport receives ciphertext into (the same one every time)."""
        buf = self._read_buffer
        if buf is None:
            buf = self._read_buffer = memoryview(bytearray(_MAX_READ))
        return buf

    def buffer_updated(self, nbytes: int) -> None:
        """*nbytes* encrypted bytes arrived in the buffer: feed the TLS engine."""
        if self._sslobj is None:
            return
        buf = self._read_buffer
        assert buf is not None
        self._incoming.write(buf[:nbytes])
        self._on_incoming()

    def data_received(self, data: bytes) -> None:
        """Encrypted bytes arrived (from a transport without buffered reads)."""
        if self._sslobj is None:
            return
        self._incoming.write(data)
        self._on_incoming()

    def _on_incoming(self) -> None:
        """Act on the state after the engine got more ciphertext."""
        state = self._state
        if state is _WRAPPED:
            self._do_read()
        elif state is _DO_HANDSHAKE:
            self._do_handshake()
        elif state is _FLUSHING:
            self._do_flush()
        elif state is _SHUTDOWN:
            self._do_shutdown()

    def eof_received(self) -> bool:
        """The peer closed its side of the underlying stream.

        During the handshake that is a failure (``ConnectionResetError``); afterwards
        it ends the TLS stream: the application gets what was still buffered, then
        ``eof_received`` (result ignored), and the connection closes. Returns True so
        that the underlying transport lets this protocol do the closing.
        """
        self._incoming.write_eof()
        state = self._state
        if state is _DO_HANDSHAKE:
            self._on_handshake_complete(
                ConnectionResetError("the peer closed the connection during the TLS handshake")
            )
        elif state is _WRAPPED:
            # Decrypt what is left; the engine then reports the end of the stream
            # (SSLEOFError without close_notify), which closes the connection.
            self._do_read()
        elif state in (_FLUSHING, _SHUTDOWN):
            # We were shutting down and the peer went away without close_notify:
            # there is nobody left to wait for.
            self._on_shutdown_complete(None)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        """The underlying connection is gone: tell the application, once."""
        self._cancel_timers()
        self._write_backlog.clear()
        self._write_backlog_size = 0
        if self._state is not _UNWRAPPED:
            self._set_state(_UNWRAPPED)
        self._app_transport._closed = True
        error: BaseException | None = exc if exc is not None else self._pending_exc
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(
                error
                if error is not None
                else ConnectionResetError("the connection was lost during the TLS handshake")
            )
        if self._app_connected and not self._app_lost:
            self._app_lost = True
            app_exc = error if isinstance(error, Exception) or error is None else None
            try:
                self._app_protocol.connection_lost(app_exc)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as cb_exc:
                self._report("protocol.connection_lost() failed", cb_exc)
        self._transport = None
        self._sslobj = None

    def pause_writing(self) -> None:
        """The underlying transport's buffer is full: pass it on to the application."""
        self._transport_writing_paused = True
        self._maybe_pause_app_writing()

    def resume_writing(self) -> None:
        """The underlying transport's buffer drained: pass it on to the application."""
        self._transport_writing_paused = False
        self._maybe_resume_app_writing()

    # -- Handshake ---------------------------------------------------------------------------
    def _do_handshake(self) -> None:
        assert self._sslobj is not None
        try:
            self._sslobj.do_handshake()
        except ssl.SSLWantReadError:
            self._flush_outgoing()
            return
        except ssl.SSLError as exc:
            # The engine may have queued an alert telling the peer why: send it.
            self._flush_outgoing()
            self._on_handshake_complete(exc)
            return
        self._flush_outgoing()
        self._on_handshake_complete(None)

    def _on_handshake_timeout(self) -> None:
        self._handshake_timer = None
        if self._state is not _DO_HANDSHAKE:
            return
        self._on_handshake_complete(
            ConnectionAbortedError(
                f"the TLS handshake did not finish within {self._handshake_timeout} s "
                f"(ssl_handshake_timeout): the connection was aborted"
            ),
            abort=True,
        )

    def _on_handshake_complete(self, exc: BaseException | None, *, abort: bool = False) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        sslobj = self._sslobj
        assert sslobj is not None
        if exc is None:
            try:
                self._extra["peercert"] = sslobj.getpeercert()
                self._extra["cipher"] = sslobj.cipher()
                self._extra["compression"] = sslobj.compression()
            except Exception as info_exc:
                exc = info_exc
        if exc is not None:
            self._set_state(_UNWRAPPED)
            self._pending_exc = exc
            waiter = self._waiter
            self._waiter = None
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc)
            elif waiter is None and self._loop.get_debug():
                self._report("TLS handshake failed", exc)
            transport = self._transport
            assert transport is not None
            if abort:
                transport.abort()
            else:
                # close(), not abort(): the TLS alert telling the peer why (already
                # handed to the transport) still gets sent.
                transport.close()
            return
        self._set_state(_WRAPPED)
        if self._call_connection_made:
            self._app_connected = True
            try:
                self._app_protocol.connection_made(self._app_transport)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as cb_exc:
                waiter = self._waiter
                self._waiter = None
                if waiter is not None and not waiter.done():
                    waiter.set_exception(cb_exc)
                self._fatal_error(cb_exc, "protocol.connection_made() failed")
                return
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._transport_writing_paused:
            self._maybe_pause_app_writing()
        # Anything written before the handshake finished, and any application data
        # that arrived with the peer's last handshake flight.
        self._do_write()
        self._do_read()

    # -- Reading -------------------------------------------------------------------------------
    def _do_read(self) -> None:
        """Decrypt and deliver plaintext until the engine runs dry or the app pauses."""
        if not self._can_deliver():
            return
        try:
            if self._app_protocol_is_buffered:
                end = self._read_into_app_buffer()
            else:
                end = self._read_copied()
        except ssl.SSLError as exc:
            self._fatal_error(exc, "TLS error while reading")
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "the application protocol failed to receive data")
            return
        if end is not None:
            self._on_tls_eof(clean=end)
        elif self._outgoing.pending:
            # Reading produced output (key updates, TLS 1.3 tickets).
            self._flush_outgoing()

    def _can_deliver(self) -> bool:
        return (
            self._state is _WRAPPED
            and not self._app_reading_paused
            and not self._app_transport._closed
        )

    def _read_copied(self) -> bool | None:
        """Deliver plaintext to ``data_received``.

        The records decrypted in one go (up to :data:`_MAX_READ` bytes) are
        decrypted side by side into the connection's buffer and copied once into
        the ``bytes`` of one ``data_received`` call. Returns None when the engine
        needs more input (or the app paused or closed), True at the peer's
        close_notify, False at an end of file without it.
        """
        # The ciphertext in it was already fed to the engine, so it is free.
        view = self._read_buffer
        if view is None:
            view = self.get_buffer(-1)
        # _do_read checked _can_deliver() for the first round.
        while True:
            total, end = self._decrypt_into(view)
            if total:
                self._app_protocol.data_received(view[:total].tobytes())  # type: ignore[attr-defined]
            if end is not None or total < _MAX_READ:
                return end
            if not self._can_deliver():
                return None

    def _read_into_app_buffer(self) -> bool | None:
        """Decrypt straight into a :class:`BufferedProtocol`'s buffer; as :meth:`_read_copied`.

        The buffer is filled with as many records as the engine has before
        ``buffer_updated`` is called: one call per batch, not one per 16 KiB record.
        """
        # _app_protocol_is_buffered said so.
        app: BufferedProtocol = self._app_protocol  # type: ignore[assignment]
        # _do_read checked _can_deliver() for the first round.
        while True:
            buf = app.get_buffer(_MAX_READ)
            size = len(buf)
            if not size:
                raise RuntimeError("get_buffer() returned an empty buffer")
            total, end = self._decrypt_into(buf)
            if total:
                app.buffer_updated(total)
            if end is not None or total < size:
                return end
            if not self._can_deliver():
                return None

    def _decrypt_into(self, buf: BytesLike) -> tuple[int, bool | None]:
        """Decrypt into *buf* until it is full or the engine has no more records.

        The engine returns at most one record (16 KiB) per read, so a large message
        takes several reads; they land side by side in *buf*, to be handed on in one
        call. Returns the number of bytes decrypted and how the stream ended: None when
        it goes on, True at the peer's close_notify, False at an end of file without it
        (a "ragged EOF": like asyncio, an ordinary end of stream).

        The views of *buf* made here die with this call, so the caller's bytearray can
        be resized again as soon as it returns.
        """
        sslobj = self._sslobj
        assert sslobj is not None
        incoming = self._incoming
        size = len(buf)
        total = 0
        try:
            total = sslobj.read(size, buf)  # type: ignore[assignment]
            if not total:
                return 0, True
            # Python's SSLObject never reads ahead: once a record is read whole
            # and the incoming BIO is empty (and has no end of file), the engine
            # holds nothing more, and another read would only raise
            # SSLWantReadError -- which costs more than decrypting a 1 KiB record.
            if total < size and (incoming.pending or incoming.eof):
                view = memoryview(buf).cast("B")
                while total < size and (incoming.pending or incoming.eof):
                    count: int = sslobj.read(size - total, view[total:])  # type: ignore[assignment]
                    if not count:
                        return total, True
                    total += count
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            return total, True
        except ssl.SSLEOFError:
            return total, False
        return total, None

    def _on_tls_eof(self, *, clean: bool) -> None:
        """The peer ended the TLS stream: close_notify (*clean*) or a bare EOF."""
        if self._state is not _WRAPPED:
            return
        self._set_state(_SHUTDOWN)
        if not self._app_transport._closed:  # an abort() from data_received
            self._call_app_eof_received()
        if clean:
            # Answer the peer's close_notify with ours; the peer is done, so there
            # is nothing more to wait for.
            self._cancel_timers()
            try:
                assert self._sslobj is not None
                self._sslobj.unwrap()
            except ssl.SSLError:
                pass
            self._flush_outgoing()
        self._on_shutdown_complete(None)

    def _call_app_eof_received(self) -> None:
        if self._app_eof_delivered or not self._app_connected:
            return
        self._app_eof_delivered = True
        try:
            # The result is ignored: TLS cannot stay half-open.
            self._app_protocol.eof_received()  # type: ignore[attr-defined]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._report("protocol.eof_received() failed", exc)

    def _pause_reading(self) -> None:
        if self._app_reading_paused:
            return
        self._app_reading_paused = True
        if self._transport is not None:
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        if not self._app_reading_paused:
            return
        self._app_reading_paused = False
        if self._transport is not None:
            self._transport.resume_reading()
        # Plaintext may already be waiting in the engine; deliver it on a later
        # iteration, never from inside resume_reading().
        self._loop.call_soon(self._do_read)

    # -- Writing -------------------------------------------------------------------------------
    def _can_write(self) -> bool:
        return self._state is _WRAPPED or self._state is _DO_HANDSHAKE

    def _write_appdata(self, chunks: Iterable[BytesLike]) -> None:
        backlog = self._write_backlog
        for data in chunks:
            if isinstance(data, memoryview):
                data = data.cast("B")  # count bytes, not items of another format
            backlog.append(data)
            self._write_backlog_size += len(data)
        if self._state is _WRAPPED:
            self._do_write()
        # What is still waiting must not change if the caller reuses its buffer.
        if backlog:
            for i, data in enumerate(backlog):
                if not isinstance(data, bytes):
                    backlog[i] = bytes(data)

    def _do_write(self) -> None:
        """Encrypt the backlog into the outgoing BIO and hand the result to the transport."""
        sslobj = self._sslobj
        backlog = self._write_backlog
        if sslobj is None:
            return
        try:
            while backlog:
                data = backlog[0]
                count = sslobj.write(data)
                if count < len(data):
                    backlog[0] = memoryview(data)[count:]
                else:
                    backlog.popleft()
                self._write_backlog_size -= count
        except ssl.SSLWantReadError:
            # The engine needs the peer's data first (renegotiation); the backlog
            # is retried after the next read.
            pass
        except ssl.SSLError as exc:
            self._flush_outgoing()
            self._fatal_error(exc, "TLS error while writing")
            return
        if self._outgoing.pending:
            self._flush_outgoing()

    def _flush_outgoing(self) -> None:
        if self._outgoing.pending and self._transport is not None:
            self._transport.write(self._outgoing.read())

    def _get_write_buffer_size(self) -> int:
        size = self._write_backlog_size + self._outgoing.pending
        if self._transport is not None:
            size += self._transport.get_write_buffer_size()
        return size

    def _maybe_pause_app_writing(self) -> None:
        if self._app_writing_paused or not self._app_connected or self._app_lost:
            return
        self._app_writing_paused = True
        try:
            self._app_protocol.pause_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._report("protocol.pause_writing() failed", exc)

    def _maybe_resume_app_writing(self) -> None:
        if not self._app_writing_paused or self._app_lost:
            return
        self._app_writing_paused = False
        try:
            self._app_protocol.resume_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._report("protocol.resume_writing() failed", exc)

    # -- Closing ---------------------------------------------------------------------------------
    def _start_closing(self) -> None:
        """The application called close()."""
        state = self._state
        if state is _WRAPPED:
            if self._app_reading_paused and self._transport is not None:
                # The application wants no more data, but the peer's close_notify
                # must still be read.
                self._transport.resume_reading()
            self._set_state(_FLUSHING)
            self._shutdown_timer = self._loop.call_later(
                self._shutdown_timeout, self._on_shutdown_timeout
            )
            self._do_flush()
        elif state is _DO_HANDSHAKE:
            # Nothing was ever sent under TLS: just close the connection.
            self._abort(None)

    def _do_flush(self) -> None:
        self._do_write()
        if self._state is _FLUSHING and not self._write_backlog:
            self._set_state(_SHUTDOWN)
            self._do_shutdown()

    def _do_shutdown(self) -> None:
        """Send our close_notify and look for the peer's."""
        sslobj = self._sslobj
        assert sslobj is not None
        try:
            # The application closed: whatever it still receives is dropped. The
            # engine must still read it to reach the peer's close_notify.
            view = self.get_buffer(-1)
            while True:
                if not sslobj.read(len(view), view):
                    break
        except (ssl.SSLWantReadError, ssl.SSLZeroReturnError, ssl.SSLEOFError):
            pass
        except ssl.SSLError as exc:
            self._flush_outgoing()
            self._on_shutdown_complete(exc)
            return
        try:
            sslobj.unwrap()
        except ssl.SSLWantReadError:
            self._flush_outgoing()
            return
        except ssl.SSLError as exc:
            self._flush_outgoing()
            self._on_shutdown_complete(exc)
            return
        self._flush_outgoing()
        self._on_shutdown_complete(None)

    def _on_shutdown_timeout(self) -> None:
        self._shutdown_timer = None
        if self._state not in (_FLUSHING, _SHUTDOWN):
            return
        self._abort(
            TimeoutError(
                f"the peer did not finish the TLS shutdown within {self._shutdown_timeout} s "
                f"(ssl_shutdown_timeout): the connection was aborted"
            )
        )

    def _on_shutdown_complete(self, exc: BaseException | None) -> None:
        self._cancel_timers()
        if exc is not None:
            self._fatal_error(exc, "TLS shutdown failed")
        elif self._transport is not None:
            self._transport.close()

    def _abort(self, exc: BaseException | None) -> None:
        self._app_transport._closed = True
        if exc is not None and self._pending_exc is None:
            self._pending_exc = exc
        if self._transport is not None:
            self._transport.abort()

    def _fatal_error(self, exc: BaseException, message: str) -> None:
        """Abort the connection; the application's connection_lost gets *exc*."""
        if not isinstance(exc, OSError):
            # OSErrors (ssl.SSLError included) are about the connection and reach
            # the application through connection_lost; anything else is a bug.
            self._report(message, exc)
        self._abort(exc)

    def _cancel_timers(self) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None
        if self._shutdown_timer is not None:
            self._shutdown_timer.cancel()
            self._shutdown_timer = None

    def _report(self, message: str, exc: BaseException) -> None:
        self._loop.call_exception_handler(
            {
                "message": message,
                "exception": exc,
                "transport": self._transport,
                "protocol": self,
            }
        )

    # -- For _SSLTransport -----------------------------------------------------------------
    def _get_extra_info(self, name: str, default: object) -> object:
        if name in self._extra:
            return self._extra[name]
        if self._transport is not None:
            return self._transport.get_extra_info(name, default)
        return default

    def _set_app_protocol(self, protocol: BaseProtocol) -> None:
        self._app_protocol = protocol
        self._app_protocol_is_buffered = isinstance(protocol, BufferedProtocol)


async def start_tls(
    loop: AbstractEventLoop,
    transport: Transport,
    protocol: BaseProtocol,
    sslcontext: ssl.SSLContext,
    *,
    server_side: bool = False,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
    ssl_shutdown_timeout: float | None = None,
) -> Transport:
    """Upgrade the live connection *transport* to TLS and return the new transport.

    *protocol* (the application protocol, already connected to *transport*) keeps
    receiving callbacks, now with plaintext; it does not get a second
    ``connection_made``. Write through the returned transport from now on; the old
    one belongs to the TLS layer.

    :raises TypeError: when *sslcontext* is not an :class:`ssl.SSLContext`.
    :raises RuntimeError: when *transport* is already closing.
    :raises ssl.SSLError: when the handshake fails (the connection is closed).
    :raises ConnectionAbortedError: when it takes longer than *ssl_handshake_timeout*.
    """
    if not isinstance(sslcontext, ssl.SSLContext):
        raise TypeError(f"sslcontext must be an ssl.SSLContext, got {sslcontext!r}")
    if not isinstance(transport, Transport):
        raise TypeError(f"start_tls() needs a stream transport, got {transport!r}")
    if transport.is_closing():
        raise RuntimeError(f"cannot start TLS on a closing transport: {transport!r}")
    waiter = loop.create_future()
    ssl_protocol = SSLProtocol(
        loop,
        protocol,
        sslcontext,
        waiter,
        server_side=server_side,
        server_hostname=server_hostname,
        call_connection_made=False,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
    )
    # Hold incoming bytes until the TLS layer is in place: a byte read in between
    # would reach the application as plaintext.
    transport.pause_reading()
    transport.set_protocol(ssl_protocol)
    made = loop.call_soon(ssl_protocol.connection_made, transport)
    resumed = loop.call_soon(transport.resume_reading)
    try:
        await waiter
    except BaseException:
        made.cancel()
        resumed.cancel()
        transport.close()
        raise
    return ssl_protocol._app_transport
