"""The listening server returned by ``create_server`` and ``create_unix_server``.

A :class:`Server` owns its listening sockets and knows the transports it accepted
(so that :meth:`Server.close_clients` and :meth:`Server.wait_closed` can reach
them). Accepting is driven by the loop's reader callback on each listening socket.

When ``accept()`` fails for lack of resources (``EMFILE``, ``ENFILE``, ``ENOBUFS``,
``ENOMEM``) the pending connection stays in the kernel's backlog and the socket
stays readable: accepting again at once would spin at 100 % CPU. The server reports
the error, stops watching that socket for :attr:`Server.accept_retry_delay` seconds,
then watches it again, so it recovers as soon as descriptors are free.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING

from loopcore import introspect
from loopcore.events import AbstractEventLoop, AbstractServer
from loopcore.exceptions import cancelled_error_types
from loopcore.futures import Future
from loopcore.introspect import register_resource

from .protocols import BaseProtocol

if TYPE_CHECKING:
    import ssl as _ssl_module

    from .selector_loop import SelectorEventLoop
    from .transports import BaseTransport

__all__ = ["Server"]

logger = logging.getLogger("looptransports")

#: accept() errors that mean "out of resources now", worth a pause and a retry.
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Server(AbstractServer):
    """A server listening on one or more sockets.

    Created by ``loop.create_server()``/``loop.create_unix_server()``; usable as
    ``async with server:`` (closes it and waits on exit). Not thread-safe.

    :ivar accept_retry_delay: seconds to stop accepting after ``accept()`` failed
        for lack of resources (``EMFILE``...); 1.0 by default.
    """

    accept_retry_delay: float = 1.0

    def __init__(
        self,
        loop: SelectorEventLoop,
        sockets: list[socket.socket],
        protocol_factory: Callable[[], BaseProtocol],
        ssl_context: _ssl_module.SSLContext | None,
        backlog: int,
        ssl_handshake_timeout: float | None,
        ssl_shutdown_timeout: float | None,
        unix_path: tuple[str | bytes, int] | None = None,
    ) -> None:
        self._loop = loop
        # Known to loopcore.introspect: the monitor lists it, the leak report names it.
        register_resource(loop, self, "server")
        self._sockets: list[socket.socket] | None = sockets
        self._protocol_factory = protocol_factory
        self._ssl_context = ssl_context
        self._backlog = backlog
        self._ssl_handshake_timeout = ssl_handshake_timeout
        self._ssl_shutdown_timeout = ssl_shutdown_timeout
        # (path, inode) of a Unix socket file to remove on close, if it is still ours.
        self._unix_path = unix_path
        self._clients: set[BaseTransport] = set()
        self._waiters: list[Future[object]] | None = []
        self._serving = False
        self._serving_forever_fut: Future[object] | None = None
        self._paused_sockets: dict[int, object] = {}

    def is_closing(self) -> bool:
        """True once :meth:`close` was called (the listening sockets are closed)."""
        return self._sockets is None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} sockets={self.sockets!r}>"

    # -- bookkeeping of accepted connections ---------------------------------------

    def _attach(self, transport: BaseTransport) -> None:
        assert self._sockets is not None, "a closed server cannot accept connections"
        self._clients.add(transport)

    def _detach(self, transport: BaseTransport) -> None:
        self._clients.discard(transport)
        if not self._clients and self._sockets is None:
            self._wakeup()

    def _wakeup(self) -> None:
        waiters = self._waiters
        self._waiters = None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    # -- public API ------------------------------------------------------------------

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        """The listening sockets (empty once the server is closed)."""
        return tuple(self._sockets) if self._sockets is not None else ()

    def get_loop(self) -> AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    def close(self) -> None:
        """Stop listening and close the listening sockets.

        Connections already accepted stay open (close them with
        :meth:`close_clients` or :meth:`abort_clients`). Idempotent.
        """
        sockets = self._sockets
        if sockets is None:
            return
        self._sockets = None
        for sock in sockets:
            self._loop._remove_reader(sock.fileno())
        for handle in self._paused_sockets.values():
            handle.cancel()  # type: ignore[attr-defined]
        self._paused_sockets.clear()
        self._serving = False
        for sock in sockets:
            sock.close()
        self._remove_unix_path()
        fut = self._serving_forever_fut
        if fut is not None and not fut.done():
            fut.cancel()
            self._serving_forever_fut = None
        if not self._clients:
            self._wakeup()

    def _remove_unix_path(self) -> None:
        if self._unix_path is None:
            return
        path, inode = self._unix_path
        self._unix_path = None
        try:
            st = os.stat(path)
            # Another server may have replaced the file since: only remove ours.
            if stat.S_ISSOCK(st.st_mode) and st.st_ino == inode:
                os.unlink(path)
        except OSError:
            pass

    def close_clients(self) -> None:
        for transport in list(self._clients):
            transport.close()

    def abort_clients(self) -> None:
        for transport in list(self._clients):
            transport.abort()  # type: ignore[attr-defined]

    async def start_serving(self) -> None:
        """Start accepting connections; a no-op when already serving.

        :raises RuntimeError: when the server is closed.
        """
        self._start_serving()

    async def wait_closed(self) -> None:
        """Wait until the server is closed and every accepted connection is gone.

        Returns at once if that already happened; waits for :meth:`close` otherwise.
        """
        if self._waiters is None:
            return
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        await waiter

    async def serve_forever(self) -> None:
        """Accept connections until this call is cancelled.

        On cancellation the server is closed, and the call waits for
        :meth:`wait_closed` before re-raising :class:`CancelledError`.

        :raises RuntimeError: when another ``serve_forever()`` is running, or the
            server is closed.
        """
        if self._serving_forever_fut is not None:
            raise RuntimeError(f"serve_forever() is already running on {self!r}")
        if self._sockets is None:
            raise RuntimeError(f"{self!r} is closed")
        self._start_serving()
        fut = self._loop.create_future()
        self._serving_forever_fut = fut
        try:
            await fut
        except cancelled_error_types():
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._serving_forever_fut = None

    # -- accepting -------------------------------------------------------------------

    def _start_serving(self) -> None:
        if self._sockets is None:
            raise RuntimeError(f"{self!r} is closed")
        if self._serving:
            return
        self._serving = True
        for sock in self._sockets:
            sock.listen(self._backlog)
            self._loop._add_reader(sock.fileno(), self._accept_ready, sock)

    def _resume_accepting(self, sock: socket.socket) -> None:
        self._paused_sockets.pop(sock.fileno(), None)
        if self._sockets is not None and self._serving:
            self._loop._add_reader(sock.fileno(), self._accept_ready, sock)

    def _accept_ready(self, sock: socket.socket) -> None:
        # Accept up to a backlog's worth per readiness event, so that a burst of
        # connections does not cost one loop iteration each.
        for _ in range(self._backlog):
            if self._sockets is None:
                return
            try:
                conn, addr = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                resource = exc.errno in _RESOURCE_ERRORS
                self._loop.call_exception_handler(
                    {
                        "message": (
                            "socket.accept() out of system resource; accepting again in "
                            f"{self.accept_retry_delay} s"
                            if resource
                            else "socket.accept() failed; accepting again in "
                            f"{self.accept_retry_delay} s"
                        ),
                        "exception": exc,
                        "socket": sock,
                        "server": self,
                    }
                )
                self._loop._remove_reader(sock.fileno())
                self._paused_sockets[sock.fileno()] = self._loop.call_later(
                    self.accept_retry_delay, self._resume_accepting, sock
                )
                return
            conn.setblocking(False)
            self._loop._accept_connection(self, conn, addr)


def _describe_server(server: object) -> dict[str, object]:
    assert isinstance(server, Server)
    names = [sock.getsockname() for sock in server.sockets]
    state = "serving" if server.is_serving() else "closed" if server.is_closing() else "idle"
    return {
        "kind": "server",
        "description": f"server {state} on {names!r} ({len(server._clients)} connections)",
    }


# A task in serve_forever() or wait_closed() is shown waiting on its server.
introspect.register_describer(Server, _describe_server)
