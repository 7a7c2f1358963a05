"""asyncio's tasks, shown to loopcore's tools (task tree, monitor, leak report, plugin).

Registered with :func:`loopcore.tasks.register_task_source` when loopasyncio is
imported, so that ``loopcore.current_task()``, ``loopcore.timeout()``,
``loopcore.TaskGroup`` and the introspection tools see the :class:`asyncio.Task`
objects an :class:`~loopasyncio.EventLoop` runs. Only loops of that class are asked
about: asyncio's registry is global, and other loops have no asyncio tasks to show.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import cast

import loopcore
import loopcore.tasks

from .loop import EventLoop


class _AsyncioTasks:
    """The :class:`loopcore.tasks.TaskSource` of asyncio's tasks.

    asyncio's Task offers every method and attribute the TaskSource contract lists
    (loopcore's Task copied asyncio's API), hence the casts.
    """

    def current_task(self, loop: loopcore.AbstractEventLoop) -> loopcore.Task[object] | None:
        if not isinstance(loop, EventLoop):
            return None
        return cast("loopcore.Task[object] | None", asyncio.current_task(loop))

    def all_tasks(self, loop: loopcore.AbstractEventLoop) -> Iterable[loopcore.Task[object]]:
        if not isinstance(loop, EventLoop):
            return ()
        return cast("set[loopcore.Task[object]]", asyncio.all_tasks(loop))

    def __repr__(self) -> str:
        return "<loopasyncio: asyncio's tasks on loopasyncio.EventLoop>"


loopcore.tasks.register_task_source(_AsyncioTasks())
