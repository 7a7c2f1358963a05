"""The clock the event loop schedules by.

The loop reads time only through :meth:`BaseEventLoop.time`, which calls
:func:`monotonic` here. A subclass (the virtual clock of ``loopcore.testing``)
overrides ``time()`` and nothing else needs to change.

Why a monotonic clock: wall-clock time jumps (NTP, daylight saving, a user setting
the date), and a timer due "in 5 seconds" must not fire an hour early or late
because of it. :func:`time.monotonic` only moves forward.

Why a resolution: the OS clock ticks in steps (:data:`CLOCK_RESOLUTION`, often 1 ns
on Linux, up to ~16 ms elsewhere). A timer due at ``t`` and checked at ``now`` with
``t - now`` smaller than one tick is due: waiting for it again would make the loop
spin through a zero-timeout poll with nothing to do. The loop therefore treats
every timer with ``when < now + CLOCK_RESOLUTION`` as due.
"""

from __future__ import annotations

import time

__all__ = ["CLOCK_RESOLUTION", "monotonic", "wall_clock"]

#: The loop's clock: seconds from an arbitrary point, never going backwards.
monotonic = time.monotonic

#: A clock for measuring how long a callback really took (debug mode). It is the
#: real monotonic clock even when a subclass runs the loop on virtual time.
wall_clock = time.perf_counter

#: The smallest step of :func:`monotonic`, in seconds.
CLOCK_RESOLUTION: float = time.get_clock_info("monotonic").resolution
