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


# Introspection: register every transport and server with loopcore.introspect when it
# is made, so that loopcore's monitor lists the open ones and its debug-mode leak
# report names those never closed (loopcore knows nothing of this layer). Weak
# references only; a class whose __slots__ forbid them is skipped.
def _register_resources() -> None:
    import functools

    from loopcore import introspect

    from ._datagram import SocketDatagramTransport
    from ._sockets import SocketTransport

    def track(cls: type, kind: str) -> None:
        original = cls.__init__  # type: ignore[misc]

        @functools.wraps(original)
        def __init__(self: object, *args: object, **kwargs: object) -> None:
            original(self, *args, **kwargs)
            loop = getattr(self, "_loop", None)
            if loop is not None:
                try:
                    introspect.register_resource(loop, self, kind)
                except TypeError:
                    pass

        cls.__init__ = __init__  # type: ignore[misc]

    for cls, kind in (
        (SocketTransport, "socket transport"),
        (SocketDatagramTransport, "datagram transport"),
        (ReadPipeTransport, "read pipe transport"),
        (WritePipeTransport, "write pipe transport"),
        (ProcessTransport, "subprocess transport"),
        (Server, "server"),
    ):
        track(cls, kind)


_register_resources()
