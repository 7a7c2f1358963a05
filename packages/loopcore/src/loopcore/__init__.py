"""loopcore: the event loop core of an asyncio-compatible stack (PEP 3156).

Holds the loop (ready queue, timers, fd readiness, thread-safe wake-up, signals,
executor, exception handler, debug mode), Handle/TimerHandle, Future, Task, the
coroutine helpers, policies and ``run()``. Needs only the standard library.
"""

from __future__ import annotations

import sys as _sys
from typing import TYPE_CHECKING as _TYPE_CHECKING

# First: with LOOPCORE_PURE set, it makes every later import of the stack's modules
# load their .py source (see loopcore._build).
from . import _build
from .base_loop import BaseEventLoop
from .coroutines import coroutine, iscoroutine, iscoroutinefunction
from .events import AbstractEventLoop, AbstractServer, get_running_loop
from .exceptions import (
    BrokenBarrierError,
    CancelledError,
    IncompleteReadError,
    InvalidStateError,
    LimitOverrunError,
    QueueEmpty,
    QueueFull,
    QueueShutDown,
    SendfileNotAvailableError,
    TimeoutError,
)
from .futures import Future, isfuture, wrap_future
from .handles import Handle, TimerHandle
from .policies import (
    AbstractEventLoopPolicy,
    DefaultEventLoopPolicy,
    get_event_loop,
    get_event_loop_policy,
    new_event_loop,
    set_event_loop,
    set_event_loop_policy,
)
from .runners import Runner, run
from .task_functions import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    as_completed,
    create_eager_task_factory,
    eager_task_factory,
    gather,
    run_coroutine_threadsafe,
    shield,
    sleep,
    to_thread,
    wait,
    wait_for,
)
from .taskgroups import TaskGroup
from .tasks import Task, all_tasks, create_task, current_task, ensure_future
from .timeouts import Timeout, timeout, timeout_at

__version__ = "0.1.0"

__all__ = [
    "ALL_COMPLETED",
    "COMPILED",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "AbstractEventLoop",
    "AbstractEventLoopPolicy",
    "AbstractServer",
    "BaseEventLoop",
    "BrokenBarrierError",
    "CancelledError",
    "DefaultEventLoopPolicy",
    "EventLoop",
    "Future",
    "Handle",
    "IncompleteReadError",
    "InvalidStateError",
    "LimitOverrunError",
    "QueueEmpty",
    "QueueFull",
    "QueueShutDown",
    "Runner",
    "SendfileNotAvailableError",
    "Task",
    "TaskGroup",
    "Timeout",
    "TimeoutError",
    "TimerHandle",
    "all_tasks",
    "as_completed",
    "coroutine",
    "create_eager_task_factory",
    "create_task",
    "current_task",
    "eager_task_factory",
    "ensure_future",
    "gather",
    "get_event_loop",
    "get_event_loop_policy",
    "get_running_loop",
    "iscoroutine",
    "iscoroutinefunction",
    "isfuture",
    "new_event_loop",
    "run",
    "run_coroutine_threadsafe",
    "set_event_loop",
    "set_event_loop_policy",
    "shield",
    "sleep",
    "timeout",
    "timeout_at",
    "to_thread",
    "wait",
    "wait_for",
    "wrap_future",
]

# The 3.4 name of ensure_future: `async` is a keyword since Python 3.7, so it can
# only be reached as getattr(loopcore, "async").
setattr(_sys.modules[__name__], "async", ensure_future)

if _TYPE_CHECKING:
    # For type checkers, the class every default loop class derives from.
    EventLoop = BaseEventLoop
else:

    def __getattr__(name: str) -> object:
        # EventLoop (CPython 3.13's name for the default loop class) is looked up
        # when first read: which class it is depends on the layers installed, found
        # through entry points (see loopcore.policies), and an import of loopcore
        # must not load the upper layers.
        if name == "EventLoop":
            from .policies import _default_loop_class

            return _default_loop_class()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: True when loopcore runs its compiled build (modules compiled with mypyc, from the
#: compiled wheels), False for pure Python: the pure-Python wheel, or a compiled wheel
#: with ``LOOPCORE_PURE=1`` set when loopcore was first imported. See "Compiled build"
#: in the docs.
COMPILED: bool = bool(_build.compiled_modules(__name__))
