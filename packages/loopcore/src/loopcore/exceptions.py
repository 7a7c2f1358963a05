"""Every public exception of the loop stack.

The upper layers (``looptransports``, ``loopsync``, ``loopstreams``) re-export the ones
they raise, but the classes live here so that ``except loopcore.CancelledError`` catches
a cancellation whichever layer raised it.
"""

from __future__ import annotations

import builtins
import queue

__all__ = [
    "BrokenBarrierError",
    "CancelledError",
    "IncompleteReadError",
    "InvalidStateError",
    "LimitOverrunError",
    "QueueEmpty",
    "QueueFull",
    "QueueShutDown",
    "SendfileNotAvailableError",
    "TimeoutError",
]


class CancelledError(BaseException):
    """The operation was cancelled.

    A subclass of :class:`BaseException`, not :class:`Exception` (as in CPython since
    3.8), so that a bare ``except Exception:`` cannot swallow a cancellation by accident.
    """


#: The builtin :class:`TimeoutError`: ``wait_for`` and ``timeout()`` raise it.
TimeoutError = builtins.TimeoutError


class InvalidStateError(Exception):
    """The operation is not allowed in this state (e.g. ``set_result`` on a done future)."""


class SendfileNotAvailableError(RuntimeError):
    """``sendfile`` is not available for this socket or file; the caller may fall back."""


class IncompleteReadError(EOFError):
    """``readexactly()`` hit end of stream before *expected* bytes arrived.

    :ivar partial: the bytes read before the end of the stream.
    :ivar expected: how many bytes were asked for (``None`` when unbounded).
    """

    def __init__(self, partial: bytes, expected: int | None) -> None:
        r_expected = "undefined" if expected is None else repr(expected)
        super().__init__(f"{len(partial)} bytes read on a total of {r_expected} expected bytes")
        self.partial = partial
        self.expected = expected

    def __reduce__(self) -> tuple[type[IncompleteReadError], tuple[bytes, int | None]]:
        return type(self), (self.partial, self.expected)


class LimitOverrunError(Exception):
    """The separator was not found within the buffer limit.

    :ivar consumed: how many bytes must be consumed to get past the overrun.
    """

    def __init__(self, message: str, consumed: int) -> None:
        super().__init__(message)
        self.consumed = consumed

    def __reduce__(self) -> tuple[type[LimitOverrunError], tuple[str, int]]:
        return type(self), (self.args[0], self.consumed)


class BrokenBarrierError(RuntimeError):
    """A barrier was reset or aborted while tasks were waiting on it."""


class QueueEmpty(queue.Empty):
    """``get_nowait()`` on an empty queue.

    Subclasses :class:`queue.Empty`, so code written against the 3.4 docs (which
    named ``queue.Empty``) keeps working.
    """


class QueueFull(queue.Full):
    """``put_nowait()`` on a full queue; subclasses :class:`queue.Full`."""


class QueueShutDown(Exception):
    """``put`` or ``get`` on a queue that was shut down."""
