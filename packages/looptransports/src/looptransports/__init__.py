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

#: CPython 3.13's name for the default event loop class: here, as in asyncio on POSIX,
#: :class:`SelectorEventLoop` (the class ``loopcore.new_event_loop()`` makes when
#: looptransports is installed; ``loopcore.EventLoop`` names the same class then).
EventLoop = SelectorEventLoop

__version__ = "0.1.0"

__all__ = [
    "BaseProtocol",
    "BaseSubprocessTransport",
    "BaseTransport",
    "BufferedProtocol",
    "CancelledError",
    "DatagramProtocol",
    "DatagramTransport",
    "EventLoop",
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
