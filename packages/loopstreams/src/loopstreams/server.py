"""Serving with streams: ``start_server`` and ``start_unix_server``.

Each accepted connection gets a :class:`~loopstreams.StreamReader` (with the given
*limit*), a :class:`~loopstreams.StreamReaderProtocol` and a
:class:`~loopstreams.StreamWriter`, handed to the client callback. Every other keyword
argument goes to the loop's ``create_server``/``create_unix_server`` (``ssl=``,
``family=``, ``sock=``, ``reuse_address=``...), so TLS is ``ssl=``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from loopcore.events import AbstractEventLoop

# open_connection and open_unix_connection lived here before loopstreams.client held
# them; they stay importable from this module for code that named it.
from .client import open_connection, open_unix_connection  # noqa: F401
from .streams import (
    _DEFAULT_LIMIT,
    ClientConnectedCallback,
    StreamReader,
    StreamReaderProtocol,
    _check_limit,
    _loop_method,
    _resolve_loop,
)

if TYPE_CHECKING:
    from loopcore.futures import Future
    from looptransports.server import Server

__all__ = ["start_server", "start_unix_server"]


def _protocol_factory(
    client_connected_cb: ClientConnectedCallback, limit: int, loop: AbstractEventLoop
) -> Callable[[], StreamReaderProtocol]:
    # The tasks of the coroutine callbacks of one server, held here (and so by the
    # server, which holds the factory) until each finishes.
    tasks: set[Future[object]] = set()

    def factory() -> StreamReaderProtocol:
        reader = StreamReader(limit=limit, loop=loop)
        protocol = StreamReaderProtocol(reader, client_connected_cb, loop=loop)
        protocol._task_registry = tasks
        return protocol

    return factory


def _check_callback(client_connected_cb: object) -> ClientConnectedCallback:
    if not callable(client_connected_cb):
        raise TypeError(
            "client_connected_cb must be a function or coroutine function taking "
            f"(reader, writer), got {client_connected_cb!r}"
        )
    return cast(ClientConnectedCallback, client_connected_cb)


async def start_server(
    client_connected_cb: ClientConnectedCallback,
    host: str | list[str] | None = None,
    port: int | str | None = None,
    *,
    loop: AbstractEventLoop | None = None,
    limit: int = _DEFAULT_LIMIT,
    **kwds: object,
) -> Server:
    """Start a server calling ``client_connected_cb(reader, writer)`` for each client.

    The callback may be a plain function or a coroutine function; a coroutine is
    run as a task, kept alive by the server until it finishes. An exception escaping
    it is reported to the loop's exception handler and that client's connection is
    closed; the server keeps serving.

    :param client_connected_cb: called as ``client_connected_cb(reader, writer)``
        for each accepted connection; a plain function or a coroutine function.
    :param host: the address(es) to listen on; None for all interfaces.
    :param port: the port; 0 picks a free one (read it from ``server.sockets``).
    :param loop: the 3.4 keyword; must be the running loop if given.
    :param limit: each reader's buffer limit.
    :param kwds: passed to ``loop.create_server()``: ``ssl=`` for TLS, ``family=``,
        ``backlog=``, ``reuse_address=``, ``sock=``, ``start_serving=``...
    :returns: the server (``close()``, ``wait_closed()``, ``serve_forever()``, and
        ``async with``).
    :raises OSError: when the address cannot be bound.
    """
    loop = _resolve_loop(loop)
    callback = _check_callback(client_connected_cb)
    factory = _protocol_factory(callback, _check_limit(limit), loop)
    create_server = _loop_method(loop, "create_server")
    return cast("Server", await create_server(factory, host, port, **kwds))


async def start_unix_server(
    client_connected_cb: ClientConnectedCallback,
    path: str | bytes | os.PathLike[str] | None = None,
    *,
    loop: AbstractEventLoop | None = None,
    limit: int = _DEFAULT_LIMIT,
    **kwds: object,
) -> Server:
    """Start a server on the Unix socket *path*; as :func:`start_server`.

    *kwds* go to ``loop.create_unix_server()`` (``ssl=``, ``sock=``, ``backlog=``,
    ``cleanup_socket=``...).
    """
    loop = _resolve_loop(loop)
    callback = _check_callback(client_connected_cb)
    factory = _protocol_factory(callback, _check_limit(limit), loop)
    create_unix_server = _loop_method(loop, "create_unix_server")
    return cast("Server", await create_unix_server(factory, path, **kwds))
