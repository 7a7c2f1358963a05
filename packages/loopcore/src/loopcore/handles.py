"""Callback handles: what ``call_soon``, ``call_later`` and ``call_at`` return.

A :class:`Handle` is one scheduled call of a callback with its positional arguments,
run once inside a :class:`contextvars.Context`. A :class:`TimerHandle` adds the loop
time at which it is due. Both are on the loop's hot path, hence ``__slots__`` and no
allocation in ``_run`` beyond what the callback itself does.
"""

from __future__ import annotations

import contextvars
import reprlib
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from . import events
from ._build import mypyc_attr

if TYPE_CHECKING:
    from .events import AbstractEventLoop

__all__ = ["Handle", "TimerHandle"]


# Bound once: compiled, a module-level Final is a C static (no attribute lookup).
_copy_context: Final = contextvars.copy_context


def _creation_stack(own_file: str) -> list[traceback.FrameSummary]:
    """The stack where an object is being made, most recent call last, for debug
    mode's ``_source_traceback``: without this helper's frame and without the frames
    of *own_file* (the ``__file__`` of the module whose ``__init__`` calls it) at its
    end.

    In the compiled build those functions have no frames, so nothing is dropped and
    the stack ends, as in the pure build, at the code that made the object.
    """
    stack = traceback.extract_stack(limit=14)
    while stack and stack[-1].filename in (__file__, own_file):
        del stack[-1]
    return stack


def format_callback(callback: object, args: tuple[object, ...] | None = None) -> str:
    """A readable ``name(arg, ...)`` form of a callback, for reprs and debug logs."""
    name = getattr(callback, "__qualname__", None) or getattr(callback, "__name__", None)
    if name is None:
        name = repr(callback)
    if args is None:
        return str(name)
    return f"{name}({', '.join(reprlib.repr(a) for a in args)})"


@mypyc_attr(allow_interpreted_subclasses=True)
class Handle:
    """A callback scheduled on a loop by ``call_soon`` (or ``call_soon_threadsafe``).

    The callback runs at most once, in the context given at creation (a copy of the
    current context when none is given). ``cancel()`` before it runs makes the loop
    skip it. An exception escaping the callback never reaches the loop: it is passed
    to :meth:`AbstractEventLoop.call_exception_handler` with the keys ``message``,
    ``exception`` and ``handle``. :class:`SystemExit` and :class:`KeyboardInterrupt`
    still propagate, so that Ctrl-C and ``sys.exit()`` work from a callback.
    """

    __slots__ = (
        "__weakref__",
        "_args",
        "_callback",
        "_cancelled",
        "_context",
        "_loop",
        "_source_traceback",
    )

    def __init__(
        self,
        callback: Callable[..., object],
        args: tuple[object, ...],
        loop: AbstractEventLoop,
        context: contextvars.Context | None = None,
    ) -> None:
        if context is None:
            context = _copy_context()
        self._context = context
        self._loop = loop
        self._callback: Callable[..., object] | None = callback
        self._args: tuple[object, ...] | None = args
        self._cancelled = False
        # The creation stack is only worth its cost in debug mode. loopcore's loop
        # outside debug mode says so without a call: its _task_queue is set only then
        # (a call on a Python subclass of the compiled loop is a Python method lookup).
        self._source_traceback: list[traceback.FrameSummary] | None = None
        fast = isinstance(loop, events.AbstractEventLoop) and loop._task_queue is not None
        if not fast and loop.get_debug():
            self._source_traceback = _creation_stack(__file__)

    def _repr_info(self) -> list[str]:
        info = [type(self).__name__]
        if self._cancelled:
            info.append("cancelled")
        if self._callback is not None:
            info.append(format_callback(self._callback, self._args))
        if self._source_traceback:
            frame = self._source_traceback[-1]
            info.append(f"created at {frame.filename}:{frame.lineno}")
        return info

    def __repr__(self) -> str:
        return f"<{' '.join(self._repr_info())}>"

    def get_context(self) -> contextvars.Context:
        """The context the callback runs in."""
        return self._context

    def cancel(self) -> None:
        """Cancel the call; a no-op if it already ran or was cancelled."""
        if not self._cancelled:
            self._cancelled = True
            # Drop the references at once: a cancelled handle may sit in a queue
            # for a while and should not keep big objects alive.
            self._callback = None
            self._args = None

    def cancelled(self) -> bool:
        """True if :meth:`cancel` was called."""
        return self._cancelled

    def _run(self) -> None:
        # The loop's plain run phase does this inline (one call less per callback);
        # this method serves the debug/observed run phase and other callers.
        try:
            self._context.run(self._callback, *self._args)  # type: ignore[arg-type, misc]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._report_exception(exc)

    def _report_exception(self, exc: BaseException) -> None:
        """Pass *exc*, which escaped the callback, to the loop's exception handler."""
        cb = format_callback(self._callback, self._args)
        context: dict[str, object] = {
            "message": f"Exception in callback {cb}",
            "exception": exc,
            "handle": self,
        }
        if self._source_traceback:
            context["source_traceback"] = self._source_traceback
        self._loop.call_exception_handler(context)


@mypyc_attr(allow_interpreted_subclasses=True)
class TimerHandle(Handle):
    """A callback due at loop time :meth:`when` (``call_later``/``call_at``).

    ``cancel()`` tells the loop, which drops cancelled timers lazily and compacts its
    heap when they grow to a fraction of it, so scheduling and cancelling many
    timers never makes the heap grow without bound.
    """

    __slots__ = ("_scheduled", "_when")

    def __init__(
        self,
        when: float,
        callback: Callable[..., object],
        args: tuple[object, ...],
        loop: AbstractEventLoop,
        context: contextvars.Context | None = None,
    ) -> None:
        Handle.__init__(self, callback, args, loop, context)
        self._when = when
        # True while the loop's timer heap holds this handle.
        self._scheduled = False

    def _repr_info(self) -> list[str]:
        info = super()._repr_info()
        info.insert(2 if self._cancelled else 1, f"when={self._when}")
        return info

    def when(self) -> float:
        """The absolute loop time (:meth:`AbstractEventLoop.time`) the callback is due at."""
        return self._when

    def cancel(self) -> None:
        if not self._cancelled and self._scheduled:
            self._loop._timer_handle_cancelled(self)
        super().cancel()

    # The timer heap orders handles with these (heapq calls __lt__ a few times per
    # push and about log2(n) times per pop), so they are kept to one type check and
    # one comparison: compiled, the isinstance() lets mypyc compare the two float
    # slots natively (reading `_when` from an untyped object would be a Python
    # attribute lookup and a float boxed per comparison), as asyncio's does.
    def __lt__(self, other: object) -> bool:
        if isinstance(other, TimerHandle):
            return self._when < other._when
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, TimerHandle):
            return self._when <= other._when
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, TimerHandle):
            return self._when > other._when
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, TimerHandle):
            return self._when >= other._when
        return NotImplemented

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TimerHandle):
            return (
                self._when == other._when
                and self._callback == other._callback
                and self._args == other._args
                and self._cancelled == other._cancelled
            )
        return NotImplemented

    __hash__ = Handle.__hash__
