"""loopsync: locks, events, conditions, semaphores, barriers and queues for loopcore.

The synchronization layer of the loopcore stack, as the Python 3.4 asyncio docs
describe it (PEP 3156), plus :class:`Barrier` (CPython 3.11) and ``Queue.shutdown``
(CPython 3.13). It needs only ``loopcore``. Every primitive is cancellation-safe
(a cancelled waiter never takes a lock, permit, item or wake-up with it) and fair
(waiters are served first come, first served), and works from ``async def`` code and
from ``@loopcore.coroutine`` generators alike.
"""

from __future__ import annotations

# loopcore first: with LOOPCORE_PURE=1 it installs the finder that loads our .py
# sources instead of the compiled modules (docs: "Compiled build").
import loopcore as _loopcore  # noqa: F401

from .locks import Barrier, BoundedSemaphore, BrokenBarrierError, Condition, Event, Lock, Semaphore
from .queues import (
    JoinableQueue,
    LifoQueue,
    PriorityQueue,
    Queue,
    QueueEmpty,
    QueueFull,
    QueueShutDown,
)

__version__ = "0.1.0"

__all__ = [
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "Condition",
    "Event",
    "JoinableQueue",
    "LifoQueue",
    "Lock",
    "PriorityQueue",
    "Queue",
    "QueueEmpty",
    "QueueFull",
    "QueueShutDown",
    "Semaphore",
]


# Introspection: tell loopcore's task tree (loopcore.introspect) what a task blocked in
# one of our methods (Lock.acquire, Queue.get, ...) waits for. Registered, not
# imported by loopcore, which knows nothing of this layer.
def _describe(obj: object) -> dict[str, object]:
    return {"kind": type(obj).__name__.lower(), "description": f"waiting on {obj!r}"}


def _register_describers() -> None:
    from loopcore import introspect

    for cls in (Lock, Event, Condition, Semaphore, Barrier, Queue):
        introspect.register_describer(cls, _describe)


_register_describers()
