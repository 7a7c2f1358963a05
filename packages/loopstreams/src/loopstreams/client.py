"""Connecting with streams: ``open_connection`` and ``open_unix_connection``.

The connection gets a :class:`~loopstreams.StreamReader` (with the given *limit*), a
:class:`~loopstreams.StreamReaderProtocol` and a :class:`~loopstreams.StreamWriter`.
Every other keyword argument goes to the loop's ``create_connection``/
``create_unix_connection`` (``ssl=``, ``server_hostname=``, ``family=``, ``sock=``,
``local_addr=``...), so TLS is ``ssl=``.
"""

from __future__ import annotations

import os
from typing import cast

from loopcore.events import AbstractEventLoop
from looptransports.transports import Transport

from .streams import (
    _DEFAULT_LIMIT,
    StreamReader,
    StreamReaderProtocol,
    StreamWriter,
    _check_limit,
    _loop_method,
    _resolve_loop,
)

__all__ = ["open_connection", "open_unix_connection"]


async def open_connection(
    host: str | None = None,
    port: int | str | None = None,
    *,
    loop: AbstractEventLoop | None = None,
    limit: int = _DEFAULT_LIMIT,
    **kwds: object,
) -> tuple[StreamReader, StreamWriter]:
    """Connect to *host*:*port* and return ``(reader, writer)``.

    :param host: the host name or address to connect to.
    :param port: the port.
    :param loop: the 3.4 keyword; must be the running loop if given.
    :param limit: the reader's buffer limit (see :class:`StreamReader`).
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
