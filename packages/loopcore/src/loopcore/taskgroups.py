"""TaskGroup: structured concurrency (CPython 3.11+ semantics, 3.13 details).

A group owns the tasks created with :meth:`TaskGroup.create_task`; the ``async
with`` block does not end before every one of them is done. The rules, with their
reasons:

* The first child to fail (with anything but :class:`CancelledError`) cancels its
  siblings *and the body* of the ``async with``: nobody is left working for a
  result that can no longer be used.
* The errors of all children (and of the body) come out together, as one
  :class:`BaseExceptionGroup` (an :class:`ExceptionGroup` when they are all
  :class:`Exception`): none is lost to another.
* :class:`KeyboardInterrupt` and :class:`SystemExit` in a child or the body are
  re-raised as they are, not wrapped, once the children are done: they mean "stop
  the program", and wrapping them would defeat ``except KeyboardInterrupt``.
* The group cancels its parent task itself (to stop the body), so it must never
  swallow a cancellation that came from outside: it counts its own request with
  ``cancelling()`` and takes it back with ``uncancel()``, and a
  :class:`CancelledError` propagates only when an outside request remains.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from contextvars import Context
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from . import events, exceptions, futures, tasks

if TYPE_CHECKING:
    from .events import AbstractEventLoop

__all__ = ["TaskGroup"]

_T = TypeVar("_T")


def _is_fatal(exc: BaseException) -> bool:
    return isinstance(exc, (KeyboardInterrupt, SystemExit))


class TaskGroup:
    """An async context manager that runs tasks and waits for all of them.

    ::

        async with loopcore.TaskGroup() as tg:
            t1 = tg.create_task(fetch("a"))
            t2 = tg.create_task(fetch("b"))
        # here both are done
        print(t1.result(), t2.result())

    If a child fails, the other children and the body are cancelled, and when all
    are done the errors are raised as an :class:`ExceptionGroup` (a
    :class:`BaseExceptionGroup` if one of them is not an :class:`Exception`).
    :class:`KeyboardInterrupt`/:class:`SystemExit` propagate unwrapped. Cancelling
    the task that runs the block cancels the children; the
    :class:`~loopcore.CancelledError` then propagates out of the block (unless
    children failed: their errors take precedence). A group can be entered only
    once.
    """

    def __init__(self) -> None:
        self._entered = False
        self._exiting = False
        self._aborting = False
        self._loop: AbstractEventLoop | None = None
        self._parent_task: tasks.Task[object] | None = None
        # True while we hold a cancel request of our own on the parent task.
        self._parent_cancel_requested = False
        self._tasks: set[tasks.Task[object]] = set()
        self._errors: list[BaseException] | None = []
        self._base_error: BaseException | None = None
        self._on_completed_fut: futures.Future[object] | None = None

    def __repr__(self) -> str:
        info = []
        if self._tasks:
            info.append(f"tasks={len(self._tasks)}")
        if self._errors:
            info.append(f"errors={len(self._errors)}")
        if self._aborting:
            info.append("cancelling")
        elif self._entered:
            info.append("entered")
        return f"<TaskGroup{''.join(' ' + part for part in info)}>"

    async def __aenter__(self) -> TaskGroup:
        """Bind the group to the current task.

        :raises RuntimeError: if the group was entered before, or when not run
            inside a task.
        """
        if self._entered:
            raise RuntimeError(f"TaskGroup {self!r} has already been entered; a group is used once")
        if self._loop is None:
            self._loop = events.get_running_loop()
        self._parent_task = tasks.current_task(self._loop)
        if self._parent_task is None:
            raise RuntimeError(
                f"TaskGroup {self!r} cannot determine the parent task: use it inside a task"
            )
        self._entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        try:
            await self._aexit(exc_type, exc_val)
            return None
        finally:
            # Break the reference cycles (frames <-> exceptions <-> group) that the
            # error path creates, so that the errors are freed promptly.
            self._parent_task = None
            self._errors = None
            self._base_error = None

    async def _aexit(self, exc_type: type[BaseException] | None, exc: BaseException | None) -> None:
        assert self._loop is not None and self._parent_task is not None
        self._exiting = True
        parent = self._parent_task

        if exc is not None and _is_fatal(exc) and self._base_error is None:
            self._base_error = exc

        # The CancelledError to re-raise at the end, if the cancellation turns out
        # not to be (only) ours.
        propagate: BaseException | None = (
            exc if isinstance(exc, exceptions.cancelled_error_types()) else None
        )

        if exc_type is not None and not self._aborting:
            # The body failed or was cancelled: the children must stop too.
            self._abort()

        # A loop, not one await: the parent may be cancelled again while it waits.
        while self._tasks:
            if self._on_completed_fut is None:
                self._on_completed_fut = self._loop.create_future()
            try:
                await self._on_completed_fut
            except exceptions.cancelled_error_types() as cancelled:
                if not self._aborting:
                    # The parent task is cancelled from outside: pass it on to the
                    # children and keep waiting for them.
                    propagate = cancelled
                    self._abort()
            self._on_completed_fut = None

        assert not self._tasks

        if self._parent_cancel_requested:
            # Take back the cancel request we made; only an outside one remaining
            # justifies propagating CancelledError.
            self._parent_cancel_requested = False
            if parent.uncancel() == 0:
                propagate = None

        if self._base_error is not None:
            raise self._base_error

        errors = self._errors
        assert errors is not None
        if propagate is not None and not errors:
            raise propagate

        if exc is not None and not isinstance(exc, exceptions.cancelled_error_types()):
            errors.append(exc)

        if errors:
            # An outside cancellation is pending but the errors take precedence.
            # Re-arm it (uncancel + cancel keeps the count) so that the parent is
            # still cancelled at its next suspension after handling the group.
            if parent.cancelling():
                parent.uncancel()
                parent.cancel()
            raise BaseExceptionGroup("unhandled errors in a TaskGroup", errors) from None

    def create_task(
        self,
        coro: Coroutine[object, object, _T] | Generator[object, None, _T],
        *,
        name: str | None = None,
        context: Context | None = None,
    ) -> tasks.Task[_T]:
        """Create a task in the group (with ``loop.create_task``) and return it.

        *name* and *context* are passed to ``loop.create_task``.

        :raises RuntimeError: if the group has not been entered, has finished, or is
            shutting down because a child failed (the coroutine is closed, so no
            "never awaited" warning follows).
        """
        if not self._entered:
            coro.close()
            raise RuntimeError(f"TaskGroup {self!r} has not been entered: use 'async with' first")
        if self._exiting and not self._tasks:
            coro.close()
            raise RuntimeError(f"TaskGroup {self!r} is finished: it cannot take new tasks")
        if self._aborting:
            coro.close()
            raise RuntimeError(f"TaskGroup {self!r} is shutting down: it cannot take new tasks")
        assert self._loop is not None
        task = self._loop.create_task(coro, name=name, context=context)
        # Registered even when an eager task is already done: its done callback
        # then runs on the next iteration, not inside create_task, where cancelling
        # the parent would hit the body before it even got the task back.
        self._tasks.add(task)  # type: ignore[arg-type]
        task.add_done_callback(self._on_task_done)  # type: ignore[arg-type]
        return task

    def _abort(self) -> None:
        self._aborting = True
        for task in self._tasks:
            if not task.done():
                task.cancel()

    def _on_task_done(self, task: tasks.Task[object]) -> None:
        self._tasks.discard(task)
        if (
            self._on_completed_fut is not None
            and not self._tasks
            and not self._on_completed_fut.done()
        ):
            self._on_completed_fut.set_result(True)

        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        assert self._errors is not None and self._parent_task is not None
        self._errors.append(exc)
        if _is_fatal(exc) and self._base_error is None:
            self._base_error = exc

        if self._parent_task.done():
            # The parent ended without waiting for us (it cannot, when the group is
            # used with 'async with', but a hand-driven __aexit__ could): report.
            assert self._loop is not None
            self._loop.call_exception_handler(
                {
                    "message": f"Task {task!r} has errored out but its parent task "
                    f"{self._parent_task!r} is already completed",
                    "exception": exc,
                    "task": task,
                }
            )
            return

        if not self._aborting and not self._parent_cancel_requested:
            # Stop the siblings and the body. The body is stopped by cancelling the
            # parent task; the request is ours and __aexit__ takes it back.
            self._abort()
            self._parent_cancel_requested = True
            self._parent_task.cancel()
