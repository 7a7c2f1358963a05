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


# -- Cancellations of another library ------------------------------------------------------
# A library that runs another one's code on loopcore's loop (loopasyncio runs asyncio's)
# has two cancellation classes in one program, and Python's `except` matches classes,
# not duck types. So loopcore (1) recognises the other class wherever it must tell a
# cancellation from an error (timeout(), TaskGroup, wait_for, Task, ...), and (2) raises
# its own cancellations as a class that subclasses both, so that either library's
# `except` clause catches them. Both are no-ops until a library registers its class.
_cancelled_error_types: tuple[type[BaseException], ...] = (CancelledError,)
_cancelled_error_class: type[CancelledError] = CancelledError


def cancelled_error_types() -> tuple[type[BaseException], ...]:
    """Every exception class loopcore treats as a cancellation, for ``except`` and
    :func:`isinstance`: ``(CancelledError,)``, plus the class given to
    :func:`register_foreign_cancelled_error`.

    Call it where the exception is caught (``except cancelled_error_types():``), not
    once at import, so that a registration made later counts. Thread-safe (it reads one
    module attribute).
    """
    return _cancelled_error_types


def new_cancelled_error(*args: object) -> CancelledError:
    """A new cancellation exception, as loopcore raises them: a :class:`CancelledError`,
    or the subclass registered with :func:`register_foreign_cancelled_error`."""
    return _cancelled_error_class(*args)


def register_foreign_cancelled_error(
    foreign: type[BaseException], raise_as: type[CancelledError]
) -> None:
    """Make loopcore interoperate with another library's cancellation class *foreign*.

    After the call, :func:`cancelled_error_types` includes *foreign* (loopcore's
    timeouts, task groups, ``wait_for``, tasks and the layers above treat it as a
    cancellation), and loopcore raises its own cancellations as *raise_as*, which must
    subclass both :class:`CancelledError` and *foreign*: then ``except
    loopcore.CancelledError`` and ``except foreign`` both catch them. Registering the
    same pair again does nothing; loopasyncio registers ``asyncio.CancelledError``.
    Call it at import time, before loops run (it is not synchronised with them).

    :raises TypeError: if *raise_as* does not subclass both classes, or another
        foreign class was registered already.
    """
    global _cancelled_error_types, _cancelled_error_class
    if not (
        isinstance(raise_as, type)
        and issubclass(raise_as, CancelledError)
        and issubclass(raise_as, foreign)
    ):
        raise TypeError(
            f"raise_as must subclass both loopcore.CancelledError and {foreign!r}, "
            f"got {raise_as!r}: define class X(loopcore.CancelledError, {foreign.__name__})"
        )
    if _cancelled_error_class is not CancelledError:
        if _cancelled_error_types[1] is foreign and raise_as is _cancelled_error_class:
            return
        raise TypeError(
            f"a foreign cancellation class is registered already ({_cancelled_error_types[1]!r}"
            f" raised as {_cancelled_error_class!r}); only one can be"
        )
    _cancelled_error_types = (CancelledError, foreign)
    _cancelled_error_class = raise_as
