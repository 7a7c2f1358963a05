"""looptransports: the selector event loop, transports and protocols for loopcore.

Installing it makes :class:`SelectorEventLoop` the loop that
``loopcore.new_event_loop()``, ``get_event_loop()`` and ``run()`` give (through the
``loopcore.event_loops`` entry point).
"""

from __future__ import annotations

from loopcore.exceptions import CancelledError, InvalidStateError, SendfileNotAvailableError

from ._ssl import SSLProtocol
from .pipes import PipesMixin, ReadPipeTransport, WritePipeTransport
from .protocols import (
    BaseProtocol,
    BufferedProtocol,
    DatagramProtocol,
    Protocol,
    SubprocessProtocol,
)
from .selector_loop import SelectorEventLoop
from .server import Server
from .subprocess import ProcessTransport, SubprocessMixin
from .transports import (
    BaseSubprocessTransport,
    BaseTransport,
    DatagramTransport,
    ReadTransport,
    SubprocessTransport,
    Transport,
    WriteTransport,
)

__version__ = "0.1.0"

__all__ = [
    "BaseProtocol",
    "BaseSubprocessTransport",
    "BaseTransport",
    "BufferedProtocol",
    "CancelledError",
    "DatagramProtocol",
    "DatagramTransport",
    "InvalidStateError",
    "PipesMixin",
    "ProcessTransport",
    "Protocol",
    "ReadPipeTransport",
    "ReadTransport",
    "SSLProtocol",
    "SelectorEventLoop",
    "SendfileNotAvailableError",
    "Server",
    "SubprocessMixin",
    "SubprocessProtocol",
    "SubprocessTransport",
    "Transport",
    "WritePipeTransport",
    "WriteTransport",
]
