"""loopstreams: high-level streams on loopcore and looptransports.

:class:`StreamReader` and :class:`StreamWriter` over a connection made with
:func:`open_connection` / :func:`open_unix_connection`, or accepted by a server made
with :func:`start_server` / :func:`start_unix_server`. TLS through ``ssl=``.
Child processes whose pipes are streams: :func:`create_subprocess_exec`,
:func:`create_subprocess_shell` and :class:`Process` (module :mod:`loopstreams.subprocess`).
"""

from __future__ import annotations

from loopcore.exceptions import IncompleteReadError, LimitOverrunError

from .client import open_connection, open_unix_connection
from .server import start_server, start_unix_server
from .streams import StreamReader, StreamReaderProtocol, StreamWriter
from .subprocess import (
    DEVNULL,
    PIPE,
    STDOUT,
    Process,
    SubprocessStreamProtocol,
    create_subprocess_exec,
    create_subprocess_shell,
)

__version__ = "0.1.0"

__all__ = [
    "DEVNULL",
    "PIPE",
    "STDOUT",
    "IncompleteReadError",
    "LimitOverrunError",
    "Process",
    "StreamReader",
    "StreamReaderProtocol",
    "StreamWriter",
    "SubprocessStreamProtocol",
    "create_subprocess_exec",
    "create_subprocess_shell",
    "open_connection",
    "open_unix_connection",
    "start_server",
    "start_unix_server",
]
