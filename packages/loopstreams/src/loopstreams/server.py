"""Connecting and serving with streams: ``open_connection`` and ``start_server``.

Each connection gets a :class:`~loopstreams.StreamReader` (with the given *limit*),
a :class:`~loopstreams.StreamReaderProtocol` and a
:class:`~loopstreams.StreamWriter`. Every other keyword argument goes to the loop's
``create_connection``/``create_server`` (``ssl=``, ``server_hostname=``,
``family=``, ``sock=``, ``local_addr=``, ``reuse_address=``...), so TLS is ``ssl=``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from loopcore.events import AbstractEventLoop
from looptransports.transports import Transport

from .streams import (
    _DEFAULT_LIMIT,
    ClientConnectedCallback,
    StreamReader,
    StreamReaderProtocol,
    StreamWriter,
    _check_limit,
    _loop_method,
    _resolve_loop,
)

if TYPE_CHECKING:
    from loopcore.futures import Future
    from looptransports.server import Server

__all__ = ["open_connection", "open_unix_connection", "start_server", "start_unix_server"]


async def open_connection(
    host: str | None = None,
    port: int | str | None = None,
    *,
    loop: AbstractEventLoop | None = None,
    limit: int = _DEFAULT_LIMIT,
    **kwds: object,
) -> tuple[StreamReader, StreamWriter]:
    """Connect to *host*:*port* and return ``(reader, writer)``.

    :param limit: the reader's buffer limit (see :class:`StreamReader`).
    :param loop: the 3.4 keyword; must be the running loop if given.
    :param kwds: passed to ``loop.create_connection()``: ``ssl=`` (True or an
        :class:`ssl.SSLContext`) for TLS, ``server_hostname=``, ``family=``,
        ``local_addr=``, ``sock=``, ``happy_eyeballs_delay=``...
    :raises OSError: when the connection cannot be made.
    :raises ValueError: for a bad *limit* or a *loop* that is not the running one.
    """
    loop = _resolve_loop(loop)
    reader = StreamReader(limit=_check_limit(limit), loop=loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    create_connection = _loop_method(loop, "create_connection")
    transport, _ = cast(
        "tuple[Transport, object]",
        await create_connection(lambda: protocol, host, port, **kwds),
    )
    return reader, StreamWriter(transport, protocol, reader, loop)


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

    :param host: the address(es) to listen on; None for all interfaces.
    :param port: the port; 0 picks a free one (read it from ``server.sockets``).
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


async def open_unix_connection(
    path: str | bytes | os.PathLike[str] | None = None,
    *,
    loop: AbstractEventLoop | None = None,
    limit: int = _DEFAULT_LIMIT,
    **kwds: object,
) -> tuple[StreamReader, StreamWriter]:
    """Connect to the Unix socket at *path* and return ``(reader, writer)``.

    As :func:`open_connection`; *kwds* go to ``loop.create_unix_connection()``
    (``ssl=``, ``server_hostname=``, ``sock=``...).
    """
    loop = _resolve_loop(loop)
    reader = StreamReader(limit=_check_limit(limit), loop=loop)
    protocol = StreamReaderProtocol(reader, loop=loop)
    create_unix_connection = _loop_method(loop, "create_unix_connection")
    transport, _ = cast(
        "tuple[Transport, object]",
        await create_unix_connection(lambda: protocol, path, **kwds),
    )
    return reader, StreamWriter(transport, protocol, reader, loop)


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
