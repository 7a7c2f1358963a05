"""``timeout()`` and ``timeout_at()``: limit the time a block of code may take.

How it works, and why it cannot swallow a cancellation that is not its own:

* When the deadline passes, the :class:`Timeout` cancels the task running the
  block (``task.cancel()``), which counts one more cancellation request
  (``task.cancelling()``).
* On leaving the block, it withdraws that request with ``task.uncancel()``. If the
  count is then back to what it was on entering, the :class:`CancelledError` was
  ours and becomes :class:`TimeoutError`. If it is still higher, someone else
  cancelled the task too: the :class:`CancelledError` propagates untouched.

The states of a :class:`Timeout` and the only moves between them::

    CREATED --enter--> ENTERED --deadline--> EXPIRING --exit--> EXPIRED
                       ENTERED --exit-----------------------> EXITED
"""

from __future__ import annotations

import enum
from types import TracebackType
from typing import TYPE_CHECKING, final

from . import events, exceptions, tasks

if TYPE_CHECKING:
    from .handles import Handle

__all__ = ["Timeout", "timeout", "timeout_at"]


class _State(enum.Enum):
    CREATED = "created"
    ENTERED = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    EXITED = "finished"


_TRANSITIONS: dict[_State, frozenset[_State]] = {
    _State.CREATED: frozenset({_State.ENTERED}),
    _State.ENTERED: frozenset({_State.EXPIRING, _State.EXITED}),
    _State.EXPIRING: frozenset({_State.EXPIRED}),
    _State.EXPIRED: frozenset(),
    _State.EXITED: frozenset(),
}


@final
class Timeout:
    """An async context manager that cancels its block at a deadline (loop time).

    Create it with :func:`timeout` or :func:`timeout_at` (or directly as
    ``Timeout(when)``), and use it once, with ``async with``, inside a task. If the
    deadline passes while the block runs, the block is cancelled and
    :class:`TimeoutError` (the builtin) is raised out of the ``async with``, chained
    to the :class:`~loopcore.CancelledError` it replaced. A cancellation coming
    from elsewhere is never turned into :class:`TimeoutError`. Timeouts nest: only
    the one whose deadline passed converts its own cancellation.
    """

    __slots__ = ("_cancelling", "_state", "_task", "_timeout_handler", "_when")

    def __init__(self, when: float | None) -> None:
        """*when* is an absolute loop time (``loop.time()`` based), or ``None`` for
        no deadline (yet: see :meth:`reschedule`)."""
        self._state = _State.CREATED
        self._timeout_handler: Handle | None = None
        self._task: tasks.Task[object] | None = None
        self._cancelling = 0
        self._when = when

    def _set_state(self, new: _State) -> None:
        if new not in _TRANSITIONS[self._state]:
            raise RuntimeError(f"cannot move Timeout from {self._state.value} to {new.value}")
        self._state = new

    def when(self) -> float | None:
        """The deadline (loop time), or ``None`` if there is none."""
        return self._when

    def reschedule(self, when: float | None) -> None:
        """Move the deadline to *when* (loop time; ``None`` removes it).

        A deadline already in the past cancels the block on the next loop iteration.

        :raises RuntimeError: if the timeout is not active (not entered yet, or
            already expired or exited).
        """
        if self._state is not _State.ENTERED:
            if self._state is _State.CREATED:
                raise RuntimeError("Timeout has not been entered: use it with 'async with' first")
            raise RuntimeError(f"cannot reschedule a Timeout that is {self._state.value}")
        self._when = when
        if self._timeout_handler is not None:
            self._timeout_handler.cancel()
            self._timeout_handler = None
        if when is None:
            return
        loop = events.get_running_loop()
        if when <= loop.time():
            self._timeout_handler = loop.call_soon(self._on_timeout)
        else:
            self._timeout_handler = loop.call_at(when, self._on_timeout)

    def expired(self) -> bool:
        """True once the deadline has passed and the block was cancelled for it."""
        return self._state in (_State.EXPIRING, _State.EXPIRED)

    def __repr__(self) -> str:
        info = [self._state.value]
        if self._state is _State.ENTERED:
            info.append(f"when={self._when!r}")
        return f"<Timeout [{' '.join(info)}]>"

    async def __aenter__(self) -> Timeout:
        """Start the timeout in the current task.

        :raises RuntimeError: if it was entered before, or when not inside a task.
        """
        if self._state is not _State.CREATED:
            raise RuntimeError(
                f"Timeout has already been entered ({self._state.value}); use a new one"
            )
        task = tasks.current_task()
        if task is None:
            raise RuntimeError(
                "Timeout must be used inside a task (e.g. a coroutine run by loopcore.run())"
            )
        self._task = task
        self._cancelling = task.cancelling()
        self._set_state(_State.ENTERED)
        self.reschedule(self._when)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        assert self._task is not None
        if self._timeout_handler is not None:
            self._timeout_handler.cancel()
            self._timeout_handler = None
        if self._state is _State.EXPIRING:
            self._set_state(_State.EXPIRED)
            # Withdraw our own cancel request; only if no other one remains is the
            # CancelledError ours to convert.
            if self._task.uncancel() <= self._cancelling and exc_val is not None:
                if isinstance(exc_val, exceptions.cancelled_error_types()):
                    raise TimeoutError(
                        f"the block did not finish by loop time {self._when!r}"
                    ) from exc_val
                # Another exception escaped while the block was handling our
                # cancellation: leave it, but put a TimeoutError where the
                # CancelledError sits in its context chain, so the timeout shows.
                _insert_timeout_error(exc_val)
                if isinstance(exc_val, BaseExceptionGroup):
                    for sub in exc_val.exceptions:
                        _insert_timeout_error(sub)
        elif self._state is _State.ENTERED:
            self._set_state(_State.EXITED)
        return None

    def _on_timeout(self) -> None:
        assert self._task is not None
        self._task.cancel()
        self._set_state(_State.EXPIRING)
        # The handle has run; dropping it avoids cancelling a handle that is done.
        self._timeout_handler = None


def _insert_timeout_error(exc: BaseException) -> None:
    """Replace the first CancelledError in *exc*'s ``__context__`` chain by a
    TimeoutError whose own context is that CancelledError."""
    while exc.__context__ is not None:
        context = exc.__context__
        if isinstance(context, exceptions.cancelled_error_types()):
            timeout_error = TimeoutError()
            timeout_error.__context__ = context
            exc.__context__ = timeout_error
            return
        exc = context


def timeout(delay: float | None) -> Timeout:
    """A :class:`Timeout` that expires *delay* seconds from now (``None``: never).

    Use as ``async with loopcore.timeout(1.5): ...`` inside a task; see
    :class:`Timeout`. The deadline can be moved with :meth:`Timeout.reschedule`.

    :raises RuntimeError: when no loop is running.
    """
    loop = events.get_running_loop()
    return Timeout(loop.time() + delay if delay is not None else None)


def timeout_at(when: float | None) -> Timeout:
    """A :class:`Timeout` that expires at loop time *when* (``None``: never).

    *when* is on the clock of ``loop.time()``, not :func:`time.time`.
    """
    return Timeout(when)
