"""The virtual clock and the deterministic shuffler of ``loopcore.testing``.

Both plug into an existing loop *instance* rather than into a class, so that they
work with whatever loop class is the default (:class:`loopcore.base_loop.BaseEventLoop`
when ``loopcore`` is installed alone, ``looptransports``' ``SelectorEventLoop`` when it
is installed): the loop reads time only through ``loop.time()`` and blocks only in
its poll, and ``loop._set_instrumentation()`` routes both through this module's
``_Instrumentation`` (in the compiled build the loop consults its
``_instrumentation`` attribute, as it calls its own methods natively; in the pure
build the two methods are replaced on the instance, which costs nothing when no
instrumentation is installed).

How the virtual clock decides to jump (trio's ``MockClock`` semantics):

* ``loop.time()`` returns virtual time, which moves only when :meth:`VirtualClock.advance`
  is called, or when the loop "autojumps".
* When the loop would block in ``_poll`` (nothing ready, the next timer in the future),
  it first polls for real without waiting; if nothing arrived it waits for *real* I/O
  for up to ``autojump_threshold`` seconds of real time (``0``: not at all), and if
  still nothing arrived it sets virtual time to the next timer's deadline. So a test
  that sleeps for an hour finishes in milliseconds.
* When there is no timer at all, there is nothing to jump to: the loop waits for real
  I/O (or another thread) like a real loop, for as long as it takes.

The trap: a wait on *real* I/O with a virtual timeout, such as
``wait_for(proc.stdout.read(), 5)`` with a threshold of 0, times out at once, because
the subprocess has had no real time to answer before the loop jumped 5 virtual
seconds ahead. Use a small real threshold (``0.05`` s, say) when real sockets,
threads or subprocesses are involved.

How the shuffler perturbs (only what no documented rule fixes):

* the order of the I/O events returned by one poll;
* the order of timers due at the same instant (timers due at different instants
  still run in deadline order);
* the interleaving of wake-ups arriving from different threads
  (``call_soon_threadsafe`` called from other threads while the loop runs): they are
  collected once per iteration and the threads' sequences merged in random order;
  the calls of one thread keep their order.

It never touches the order of ``call_soon`` callbacks, done callbacks, or anything
built on them (the FIFO wake-ups of locks and queues): those orders are documented.
"""

from __future__ import annotations

import contextvars
import heapq
import math
import random
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVarTuple, Unpack

from loopcore import _clock
from loopcore.handles import Handle, TimerHandle

if TYPE_CHECKING:
    from loopcore._poller import FdWatch
    from loopcore.base_loop import BaseEventLoop
    from loopcore.events import AbstractEventLoop

__all__ = [
    "Shuffler",
    "VirtualClock",
    "get_clock",
    "get_shuffler",
    "virtual_clock_loop",
]

_Ts = TypeVarTuple("_Ts")

_EventList = list[tuple["FdWatch", int]]

# The attribute of a loop instance holding its _Instrumentation (declared, None by
# default, by BaseEventLoop, which consults it in time() and _run_once).
_ATTR = "_instrumentation"


class _Instrumentation:
    """The per-loop object the loop consults for its time and its poll (as
    ``loop._instrumentation``), and that owns the instance override of
    ``call_soon_threadsafe``. Installed once; the clock and the shuffler are optional
    parts of it."""

    def __init__(self, loop: BaseEventLoop) -> None:
        self.loop = loop
        self.clock: VirtualClock | None = None
        self.shuffler: Shuffler | None = None
        # Bound methods of the loop, taken before the instance override.
        self.real_poll: Callable[[float | None], _EventList] = loop._poll
        self.real_call_soon_threadsafe = loop.call_soon_threadsafe
        # Handles given to call_soon_threadsafe from other threads while shuffling:
        # deque.append/popleft are atomic, so no lock is needed between the
        # producer threads and the loop thread.
        self.inbox: deque[tuple[int, Handle]] = deque()
        #: True while the loop is blocked in the real poll (read by the stall
        #: detector of loopcore.telemetry: a loop waiting for I/O is not stalled).
        self.polling = False

    # -- What the loop consults ---------------------------------------------------
    def time(self) -> float:
        """The loop's time: the virtual clock's, else the real clock's."""
        clock = self.clock
        if clock is None:
            return _clock.monotonic()
        return clock._now

    def poll(self, timeout: float | None) -> _EventList:
        loop = self.loop
        if self.inbox:
            self._drain_inbox()
            timeout = 0.0
        clock = self.clock
        real_poll = self.real_poll
        if clock is None or timeout == 0.0:
            events = real_poll(timeout)
        else:
            events = real_poll(0.0)
            if not events:
                threshold = clock._autojump_threshold
                if timeout is None or math.isinf(threshold):
                    # Nothing to jump to, or autojump disabled: wait for real
                    # I/O, another thread, or advance() from another thread.
                    events = real_poll(None if timeout is None else _MANUAL_POLL)
                elif threshold > 0.0:
                    events = real_poll(threshold)
                if not events and timeout is not None and not math.isinf(threshold):
                    clock._jump_to_next_timer()
        shuffler = self.shuffler
        if shuffler is not None:
            if self.inbox:
                self._drain_inbox()
            if len(events) > 1:
                shuffler._rng.shuffle(events)
            if not loop._stop_pending:
                self._queue_due_timers(shuffler)
        return events

    def call_soon_threadsafe(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> Handle:
        loop = self.loop
        thread_id = loop._thread_id
        if self.shuffler is None or thread_id is None or thread_id == threading.get_ident():
            # From the loop's own thread (or with the loop not running) the call is
            # ordered with call_soon, as documented: nothing to shuffle.
            return self.real_call_soon_threadsafe(callback, *args, context=context)
        from loopcore.base_loop import _check_callback

        if loop._closed:
            raise RuntimeError("Event loop is closed")
        _check_callback(callback, "call_soon_threadsafe")
        handle = Handle(callback, args, loop, context)
        self.inbox.append((threading.get_ident(), handle))
        loop._write_to_self()
        return handle

    # -- Helpers -------------------------------------------------------------------
    def _drain_inbox(self) -> None:
        """Move the wake-ups that arrived from other threads to the ready queue.

        Calls made by one thread keep their order (that thread made them one after
        the other: FIFO holds); only the interleaving of different threads is drawn
        at random.
        """
        inbox = self.inbox
        lanes: dict[int, deque[Handle]] = {}
        while inbox:
            try:
                thread_id, handle = inbox.popleft()
            except IndexError:  # pragma: no cover - drained concurrently: impossible
                break
            lane = lanes.get(thread_id)
            if lane is None:
                lane = lanes[thread_id] = deque()
            lane.append(handle)
        ready_append = self.loop._ready.append
        queues = list(lanes.values())
        shuffler = self.shuffler
        if shuffler is None or len(queues) == 1:
            for lane in queues:
                for handle in lane:
                    ready_append(handle)
            return
        randrange = shuffler._rng.randrange
        while queues:
            i = randrange(len(queues))
            lane = queues[i]
            ready_append(lane.popleft())
            if not lane:
                queues.pop(i)

    def _queue_due_timers(self, shuffler: Shuffler) -> None:
        """Move the timers due now to the ready queue, ties in shuffled order.

        Done here, just before the loop's own timer phase (which then finds nothing
        due: time does not move in between on a virtual clock, and on a real one a
        timer becoming due meanwhile simply runs in that phase).
        """
        loop = self.loop
        scheduled = loop._scheduled
        if not scheduled:
            return
        now = loop.time()
        end_time = now + loop._clock_resolution
        due: list[TimerHandle] = []
        while scheduled and scheduled[0]._when < end_time:
            timer = heapq.heappop(scheduled)
            timer._scheduled = False
            if timer._cancelled:
                loop._cancelled_timers -= 1
            else:
                due.append(timer)
        if not due:
            return
        # The loop's always-on telemetry, as its own timer phase would count it.
        loop._timers_fired += len(due)
        for timer in due:
            lag = now - timer._when
            if lag > 0.0:
                loop._timer_lag_total += lag
                if lag > loop._timer_lag_max:  # noqa: PLR1730
                    loop._timer_lag_max = lag
        ready_append = loop._ready.append
        rng = shuffler._rng
        i = 0
        while i < len(due):
            j = i + 1
            when = due[i]._when
            while j < len(due) and due[j]._when == when:
                j += 1
            group = due[i:j]
            if len(group) > 1:
                rng.shuffle(group)
            for timer in group:
                ready_append(timer)
            i = j


# With autojump disabled the loop cannot compute a real timeout from a virtual one;
# it wakes up at this real interval to notice advance() calls made from a thread
# that did not write to the self-pipe (advance() does, so this is only a backstop).
_MANUAL_POLL = 1.0


def _instrument(loop: AbstractEventLoop) -> _Instrumentation:
    hooks = getattr(loop, _ATTR, None)
    if isinstance(hooks, _Instrumentation):
        return hooks
    from loopcore.base_loop import BaseEventLoop

    if not isinstance(loop, BaseEventLoop):
        raise TypeError(
            f"the virtual clock and the shuffler plug into a loopcore BaseEventLoop "
            f"(or a subclass), got {loop!r}"
        )
    if loop.is_closed():
        raise RuntimeError(f"cannot instrument a closed loop: {loop!r}")
    if loop.is_running():
        raise RuntimeError(f"cannot instrument a running loop: {loop!r}; do it before running it")
    hooks = _Instrumentation(loop)
    loop._set_instrumentation(hooks)
    return hooks


class VirtualClock:
    """A clock for tests: virtual time that jumps to the next timer when the loop is idle.

    Install it into a loop with :meth:`install` (or create both with
    :func:`virtual_clock_loop`). From then on ``loop.time()`` is virtual: it starts at
    *start* and moves only by :meth:`advance`, :meth:`jump_to_next_timer`, or by the
    autojump: when the loop has nothing to do but wait for a timer, it waits up to
    :attr:`autojump_threshold` seconds of *real* time for real I/O, and if nothing
    arrives it jumps virtual time to that timer's deadline.

    A threshold of ``0`` (the default) suits code that waits only on timers. Code
    that waits on real sockets, threads or subprocesses needs a small real threshold
    (e.g. ``0.05``), or a ``wait_for(real_io, 5)`` times out at once. ``math.inf``
    disables the autojump: time moves only when the test moves it.

    :param autojump_threshold: seconds of real time, ``>= 0`` (``math.inf`` allowed).
    :param start: the virtual time at installation.
    :raises ValueError: for a negative or NaN threshold.
    """

    def __init__(self, *, autojump_threshold: float = 0.0, start: float = 0.0) -> None:
        self._autojump_threshold = _check_threshold(autojump_threshold)
        self._now = float(start)
        self._hooks: _Instrumentation | None = None

    def __repr__(self) -> str:
        return f"<VirtualClock time={self._now} autojump_threshold={self._autojump_threshold}>"

    @property
    def autojump_threshold(self) -> float:
        """Seconds of real time the idle loop waits for real I/O before jumping
        (``0``: jump at once; ``math.inf``: never jump)."""
        return self._autojump_threshold

    @autojump_threshold.setter
    def autojump_threshold(self, value: float) -> None:
        self._autojump_threshold = _check_threshold(value)
        self._wake()

    @property
    def loop(self) -> AbstractEventLoop | None:
        """The loop this clock is installed in, or ``None``."""
        return None if self._hooks is None else self._hooks.loop

    def install(self, loop: AbstractEventLoop) -> None:
        """Make *loop* run on this clock.

        Must be done before the loop runs and before it has any timer (their
        deadlines are on the real clock).

        :raises TypeError: if *loop* is not a loopcore ``BaseEventLoop``.
        :raises RuntimeError: if the loop is running or closed, if it already has a
            virtual clock, or if this clock is installed elsewhere.
        :raises ValueError: if the loop has timers scheduled.
        """
        if self._hooks is not None:
            raise RuntimeError(f"{self!r} is already installed in {self._hooks.loop!r}")
        hooks = _instrument(loop)
        if hooks.clock is not None:
            raise RuntimeError(f"{loop!r} already runs on a virtual clock ({hooks.clock!r})")
        if any(not t._cancelled for t in hooks.loop._scheduled):
            raise ValueError(
                f"{loop!r} already has timers scheduled on the real clock: install the "
                "virtual clock before scheduling anything"
            )
        hooks.clock = self
        self._hooks = hooks

    def time(self) -> float:
        """The current virtual time (what ``loop.time()`` returns)."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by *seconds*; timers now due run on the loop's
        next iteration.

        May be called from the loop (inside a test coroutine) or, while the loop
        waits, from another thread (the loop is woken up).

        :raises ValueError: if *seconds* is negative or NaN (time never goes back).
        """
        seconds = float(seconds)
        if not seconds >= 0.0:
            raise ValueError(f"advance() needs a number of seconds >= 0, got {seconds!r}")
        self._now += seconds
        self._wake()

    def jump_to_next_timer(self) -> float:
        """Set virtual time to the deadline of the earliest pending timer.

        :returns: how many seconds time moved (``0.0`` if no timer is pending or the
            earliest one is already due).
        :raises RuntimeError: if the clock is not installed.
        """
        if self._hooks is None:
            raise RuntimeError(f"{self!r} is not installed in a loop")
        return self._jump_to_next_timer()

    def _jump_to_next_timer(self) -> float:
        assert self._hooks is not None
        when = None
        for timer in self._hooks.loop._scheduled:
            if not timer._cancelled and (when is None or timer._when < when):
                when = timer._when
        if when is None or when <= self._now:
            return 0.0
        moved = when - self._now
        self._now = when
        return moved

    def _wake(self) -> None:
        hooks = self._hooks
        if hooks is None:
            return
        loop = hooks.loop
        thread_id = loop._thread_id
        if thread_id is not None and thread_id != threading.get_ident():
            loop._write_to_self()


def _check_threshold(value: float) -> float:
    value = float(value)
    if not value >= 0.0:
        raise ValueError(f"autojump_threshold must be a number of seconds >= 0, got {value!r}")
    return value


class Shuffler:
    """Deterministic perturbation of the orders that no documented rule fixes.

    With the same *seed*, the same program sees the same orders, so a failure found
    with one seed can be replayed (given the same arrivals of real I/O and of
    wake-ups from threads in each iteration). What is shuffled: the I/O events of one
    poll, timers due at the same instant, and the interleaving of wake-ups that
    arrive from different threads in the same iteration. What is never shuffled:
    ``call_soon`` FIFO order (also among the calls of one thread), done callbacks,
    and everything built on them (lock and queue wake-ups).

    :param seed: any value :class:`random.Random` accepts; ``None`` picks a random
        integer seed (read it back from :attr:`seed` to replay).
    """

    def __init__(self, seed: int | None = None) -> None:
        if seed is None:
            seed = random.SystemRandom().randrange(2**32)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"the shuffle seed must be an int or None, got {seed!r}")
        self._seed = seed
        self._rng = random.Random(seed)
        self._hooks: _Instrumentation | None = None

    def __repr__(self) -> str:
        return f"<Shuffler seed={self._seed}>"

    @property
    def seed(self) -> int:
        """The seed; ``Shuffler(seed)`` replays the same orders."""
        return self._seed

    def install(self, loop: AbstractEventLoop) -> None:
        """Shuffle the unordered events of *loop* from now on.

        :raises TypeError: if *loop* is not a loopcore ``BaseEventLoop``.
        :raises RuntimeError: if the loop is running or closed, or already has a
            shuffler, or this one is installed elsewhere.
        """
        if self._hooks is not None:
            raise RuntimeError(f"{self!r} is already installed in {self._hooks.loop!r}")
        hooks = _instrument(loop)
        if hooks.shuffler is not None:
            raise RuntimeError(f"{loop!r} already has a shuffler ({hooks.shuffler!r})")
        hooks.shuffler = self
        self._hooks = hooks
        hooks.loop.call_soon_threadsafe = hooks.call_soon_threadsafe  # type: ignore[method-assign]


def get_clock(loop: AbstractEventLoop) -> VirtualClock | None:
    """The :class:`VirtualClock` installed in *loop*, or ``None`` if it runs on real time."""
    hooks = getattr(loop, _ATTR, None)
    return hooks.clock if isinstance(hooks, _Instrumentation) else None


def get_shuffler(loop: AbstractEventLoop) -> Shuffler | None:
    """The :class:`Shuffler` installed in *loop*, or ``None``."""
    hooks = getattr(loop, _ATTR, None)
    return hooks.shuffler if isinstance(hooks, _Instrumentation) else None


def _pending_threadsafe_handles(loop: AbstractEventLoop) -> list[Handle]:
    """Wake-ups from other threads not yet moved to the ready queue (leak checks)."""
    hooks = getattr(loop, _ATTR, None)
    return [h for _, h in hooks.inbox] if isinstance(hooks, _Instrumentation) else []


def virtual_clock_loop(
    loop_class: Callable[[], AbstractEventLoop] | None = None,
    *,
    autojump_threshold: float = 0.0,
    seed: int | None = None,
) -> AbstractEventLoop:
    """A new event loop running on a :class:`VirtualClock` (see :func:`get_clock`).

    :param loop_class: called with no argument to make the loop; by default
        :func:`loopcore.new_event_loop` (the default loop class installed).
    :param autojump_threshold: see :attr:`VirtualClock.autojump_threshold`.
    :param seed: when not ``None``, a :class:`Shuffler` with this seed is installed
        too.
    :raises ValueError: for a negative threshold.
    """
    clock = VirtualClock(autojump_threshold=autojump_threshold)
    if loop_class is None:
        from loopcore.policies import new_event_loop

        loop = new_event_loop()
    else:
        loop = loop_class()
    try:
        clock.install(loop)
        if seed is not None:
            Shuffler(seed).install(loop)
    except BaseException:
        loop.close()
        raise
    return loop
