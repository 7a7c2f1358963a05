"""Run unmodified asyncio programs and libraries on loopcore, as uvloop does.

The drop-in line::

    loopasyncio.run(main())    # instead of asyncio.run(main())

or ``asyncio.run(main(), loop_factory=loopasyncio.new_event_loop)`` (3.12+),
``asyncio.Runner(loop_factory=loopasyncio.new_event_loop)``, or
``asyncio.set_event_loop_policy(loopasyncio.EventLoopPolicy())``.
"""

from __future__ import annotations

# Imported for their registrations with loopcore: one cancellation class for both
# libraries, and asyncio's tasks visible to loopcore's tools.
from . import _task_source
from . import exceptions as exceptions
from .loop import EventLoop, new_event_loop
from .policy import EventLoopPolicy, install
from .runners import run

__all__ = ["EventLoop", "EventLoopPolicy", "install", "new_event_loop", "run"]

__version__ = "0.1.0"

del _task_source
