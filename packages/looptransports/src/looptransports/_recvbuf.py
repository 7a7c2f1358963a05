"""The receive buffer that a loop's transports and ``sock_recv`` share.

Why it exists: ``sock.recv(256 KiB)`` asks the allocator for a fresh 256 KiB block
on every read and shrinks it to the size received. Until the process has freed one
block that large, glibc serves such requests with ``mmap``, shrinks them with
``mremap`` and frees them with ``munmap``: three extra system calls and fresh,
unfaulted pages on every read. A long-running server whose connections never close
stays in that state forever. Receiving into one preallocated buffer, then copying
out exactly the bytes received, costs one system call per read in every allocator
state, and a copy of what was read (small next to the syscalls it saves, for small
reads; a socket transport reads large ones another way, see ``_sockets``).

Why per loop: a loop runs in one thread at a time, and each use of the buffer (a
``recv_into`` and the copy of its result) happens within one callback, with no
other code running in between. So every transport of a loop can use the same
buffer, and what a protocol is handed is its own ``bytes`` object: it never
changes after the call, whatever the loop reads next.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from loopcore.base_loop import BaseEventLoop

__all__ = ["RECV_BUFFER_SIZE", "loop_recv_buffer", "read_into_buffer"]

#: The size of a loop's receive buffer: the most one read of a plain-``Protocol``
#: stream or pipe transport delivers, and the largest datagram received whole.
RECV_BUFFER_SIZE = 256 * 1024


def loop_recv_buffer(loop: BaseEventLoop) -> memoryview:
    """The receive buffer of *loop* (a writable view of :data:`RECV_BUFFER_SIZE`
    bytes), made on first use and kept as long as the loop.

    Only code running in the loop's thread may use it, and only between a read into
    it and the copy of what was read, with no callback or ``await`` in between.
    """
    view: memoryview | None = getattr(loop, "_recv_buffer", None)
    if view is None:
        view = memoryview(bytearray(RECV_BUFFER_SIZE))
        loop._recv_buffer = view  # type: ignore[attr-defined]
    return view


class _Reader(Protocol):
    """The transport of :func:`read_into_buffer`: where errors and the end go."""

    def _fatal_error(self, exc: BaseException, message: str) -> None: ...
    def _read_eof(self) -> None: ...


class _BufferOwner(Protocol):
    """A :class:`~looptransports.BufferedProtocol`, as the read sees it."""

    def get_buffer(self, sizehint: int) -> memoryview: ...
    def buffer_updated(self, nbytes: int) -> object: ...


def read_into_buffer(
    transport: _Reader,
    protocol: object,
    read_into: Callable[[memoryview], int],
    error_message: str,
) -> None:
    """One read of a :class:`~looptransports.BufferedProtocol`'s *transport*, with
    ``read_into(buf)`` straight into the buffer ``protocol.get_buffer(-1)`` returns
    (zero-copy), then ``protocol.buffer_updated(nbytes)``.

    A failed ``get_buffer``, read or ``buffer_updated`` goes to
    ``transport._fatal_error`` (the read's with *error_message*); a read of nothing is
    the end of file (``transport._read_eof()``); a read that would block does nothing.
    Compiled, so that socket transports (from their compiled reads) and pipe
    transports share it without a Python frame.
    """
    buffered = cast(_BufferOwner, protocol)
    try:
        buf = buffered.get_buffer(-1)
        if not len(buf):
            raise RuntimeError("get_buffer() returned an empty buffer")
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        transport._fatal_error(exc, "protocol.get_buffer() failed")
        return
    try:
        nbytes = read_into(buf)
    except (BlockingIOError, InterruptedError):
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        transport._fatal_error(exc, error_message)
        return
    if not nbytes:
        transport._read_eof()
        return
    try:
        buffered.buffer_updated(nbytes)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        transport._fatal_error(exc, "protocol.buffer_updated() failed")
