"""Which tasks exist and which one runs: :func:`current_task`, :func:`all_tasks`, and
the task sources through which another library's tasks (asyncio's, under loopasyncio)
count as well.

Re-exported by :mod:`loopcore.tasks` (and :mod:`loopcore`), where they are documented.
This module stays interpreted in the compiled build, on purpose: the functions here
return tasks of other libraries where the signatures say :class:`~loopcore.Task`
(the :class:`TaskSource` contract types them so for loopcore's tools), and a compiled
function checks its declared return type at run time. loopcore's own registries stay
in the compiled :mod:`loopcore.tasks`, which hands them over at import
(:func:`_bind_registries`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from . import events

if TYPE_CHECKING:
    from .events import AbstractEventLoop, LoopLike
    from .tasks import Task

__all__ = ["TaskSource", "all_tasks", "current_task", "register_task_source"]

# loopcore.tasks' registries (see there): pending tasks per id(loop), the running
# task per loop, and the function that drops a loop's entries.
_pending_tasks: dict[int, set[Task[object]]] = {}
_current_tasks: dict[LoopLike, Task[object]] = {}
_forget_loop: Callable[[int], None] = lambda _key: None  # noqa: E731 (until bound)
_bound = False


def _bind_registries(
    pending: dict[int, set[Task[object]]],
    current: dict[LoopLike, Task[object]],
    forget: Callable[[int], None],
) -> None:
    """Called by :mod:`loopcore.tasks` at import: its registries, read here.

    Only the first call counts: that is the module the loop runs. A later one comes
    from another copy of its source run as a module of its own (as
    :func:`loopcore.testing.source_signature` does in the compiled build), whose
    registries no loop uses.
    """
    global _pending_tasks, _current_tasks, _forget_loop, _bound
    if _bound:
        return
    _pending_tasks, _current_tasks, _forget_loop = pending, current, forget
    _bound = True


def _report_pending_tasks(loop: AbstractEventLoop) -> None:
    """Report every task still pending on *loop* (called by ``loop.close()``).

    Each is passed to the exception handler with the place it was created (in debug
    mode), then released, so that closing a loop never leaks its tasks silently.
    """
    tasks = _pending_tasks.get(id(loop))
    _forget_loop(id(loop))
    pending = list(tasks) if tasks else []
    # The tasks of a registered library (asyncio's, under loopasyncio) too.
    for source in _task_sources:
        pending.extend(source.all_tasks(loop))
    for task in pending:
        if task.done():
            continue
        task._log_destroy_pending = False
        context: dict[str, object] = {
            "message": "Task was still pending when the loop was closed",
            "task": task,
        }
        if task._source_traceback:
            context["source_traceback"] = task._source_traceback
        loop.call_exception_handler(context)


class TaskSource(Protocol):
    """Tasks of another library that run on loopcore's loop (see
    :func:`register_task_source`).

    Each method is called on the loop's thread (or while the loop is stopped) and must
    not block. The tasks it returns must offer :class:`Task`'s public methods
    (``get_name``, ``get_coro``, ``get_stack``, ``cancel``, ``cancelling``,
    ``uncancel``, ``add_done_callback``, ...) and the ``_source_traceback``,
    ``_fut_waiter`` and ``_log_destroy_pending`` attributes, as asyncio's tasks do:
    they are typed as :class:`Task` for loopcore's tools, which read only those. The
    loop's ``close()`` reports those still pending, as it does loopcore's.
    """

    def current_task(self, loop: AbstractEventLoop) -> Task[object] | None:
        """The task of this library whose step runs on *loop* now, or ``None``."""
        ...

    def all_tasks(self, loop: AbstractEventLoop) -> Iterable[Task[object]]:
        """The tasks of this library on *loop* that are not done yet."""
        ...


# Consulted only when loopcore's own registry has no answer: empty unless a library
# such as loopasyncio registered itself.
_task_sources: list[TaskSource] = []


def register_task_source(source: TaskSource) -> None:
    """Make :func:`current_task` and :func:`all_tasks` (and with them ``timeout()``,
    ``TaskGroup``, the task tree, the monitor, the leak report and the pytest plugin's
    leak check) see the tasks of another library that runs on loopcore's loop.

    loopasyncio registers asyncio's tasks. Registering the same source again does
    nothing. Call it at import time, before loops run (it is not synchronised with them).
    """
    if source not in _task_sources:
        _task_sources.append(source)


def current_task(loop: AbstractEventLoop | None = None) -> Task[object] | None:
    """The task running on *loop* (the running loop by default), or ``None``.

    A task of another library registered with :func:`register_task_source` counts.

    :raises RuntimeError: when *loop* is omitted and no loop is running.
    """
    if loop is None:
        loop = events.get_running_loop()
    task = _current_tasks.get(loop)
    if task is None and _task_sources:
        for source in _task_sources:
            task = source.current_task(loop)
            if task is not None:
                break
    return task


def all_tasks(loop: AbstractEventLoop | None = None) -> set[Task[object]]:
    """The tasks of *loop* (the running loop by default) that are not done yet.

    Includes the tasks of other libraries registered with :func:`register_task_source`.
    """
    if loop is None:
        loop = events.get_running_loop()
    tasks = _pending_tasks.get(id(loop))
    found = {t for t in tasks if not t.done()} if tasks else set()
    for source in _task_sources:
        found.update(t for t in source.all_tasks(loop) if not t.done())
    return found
