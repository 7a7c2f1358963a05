"""Synchronization primitives for tasks: Lock, Event, Condition, Semaphore, Barrier.

They follow the Python 3.4 asyncio docs (PEP 3156), plus :class:`Barrier` as CPython
3.11 added it. None is thread-safe: use them from the tasks of one loop, and from
another thread reach them through ``loop.call_soon_threadsafe``.

Some facts the design rests on:

- A waiter is a future made with ``loop.create_future()``; a task blocked on one is
  resumed by a callback scheduled with ``call_soon``, so between "the waiter was
  woken" and "the waiter's task runs again" other tasks may run, and the task may be
  cancelled. Every primitive here has to be correct in that gap.
- :class:`Lock` and :class:`Semaphore` therefore *hand over*: ``release()`` with a
  task waiting gives the lock (or the permit) straight to the first waiter in line,
  instead of freeing it and letting whoever runs first grab it. Nobody can barge in
  front of a woken waiter, so waiters are served first come, first served. If the
  woken waiter is cancelled before it runs, it owns what it was handed, and passes
  it on (``release()``) before the :class:`CancelledError` propagates: a lock is
  never left held by nobody and a permit is never lost.
- :class:`Condition` waiters woken by ``notify()`` and then cancelled pass the
  notification on to the next waiter, so that ``notify(1)`` is never swallowed.
- A primitive belongs to one loop. It is bound lazily, to the running loop, the
  first time one of its coroutine methods runs (or at construction, with the 3.4
  ``loop=`` keyword); using it from another loop afterwards is a
  :class:`RuntimeError` naming both loops.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Callable, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Literal, TypeVar

from loopcore._build import mypyc_attr
from loopcore.events import AbstractEventLoop, get_running_loop
from loopcore.events import this_thread as _this_thread
from loopcore.exceptions import (
    BrokenBarrierError,
    InvalidStateError,
    cancelled_error_types,
)

if TYPE_CHECKING:
    from loopcore.futures import Future

__all__ = [
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "Condition",
    "Event",
    "Lock",
    "Semaphore",
]

_R = TypeVar("_R")


# -- Loop binding ---------------------------------------------------------------------

# The loop running in this thread is ``_this_thread.loop`` (None when none runs):
# loopcore's documented fast accessor ``loopcore.events.this_thread``. Every lock,
# event and queue operation reads it, and an attribute read costs less than half a
# call to a function that returns the same thing.


# Compiled build: a base of the public classes, which allow interpreted subclasses.
@mypyc_attr(allow_interpreted_subclasses=True)
class _LoopBound:
    """Binds a primitive to one event loop, lazily (the 3.4 ``loop=`` keyword binds it
    at once).

    The binding is what makes waiting safe: every waiter future of the primitive
    belongs to that loop, so waking one never touches another loop's futures.
    """

    __slots__ = ("_loop",)

    def __init__(self, loop: AbstractEventLoop | None) -> None:
        if loop is not None:
            if not isinstance(loop, AbstractEventLoop):
                raise TypeError(
                    f"loop= must be a loopcore event loop (an AbstractEventLoop), got {loop!r}"
                )
            running = _this_thread.loop
            if running is not None and running is not loop:
                raise ValueError(
                    f"{type(self).__name__} was given loop={loop!r} but the running loop is "
                    f"{running!r}: pass the running loop, or leave loop= out"
                )
        self._loop: AbstractEventLoop | None = loop

    def _mismatch(self, running: AbstractEventLoop) -> RuntimeError:
        return RuntimeError(
            f"{self!r} is bound to event loop {self._loop!r} but is used from event loop "
            f"{running!r}: a primitive belongs to the loop it was first used on; "
            "create one for each loop"
        )

    def _get_loop(self) -> AbstractEventLoop:
        """The running loop, after binding to it (first use) or checking it is ours.

        :raises RuntimeError: when no loop is running, or when the primitive is bound
            to another loop.
        """
        running = _this_thread.loop
        if running is self._loop and running is not None:
            return running  # the common case: ours, and running (so not closed)
        return self._bind(running)

    def _bind(self, running: AbstractEventLoop | None) -> AbstractEventLoop:
        """_get_loop()'s slow path: no loop runs, or the primitive is not bound to it."""
        if running is None:
            return get_running_loop()  # raises the "no running event loop" error
        if self._loop is None or self._loop.is_closed():
            # A closed loop can never wake a waiter again, so a primitive it left
            # behind (a module-level lock used by successive run() calls) moves on.
            self._loop = running
            return running
        raise self._mismatch(running)

    def _check_loop(self) -> None:
        """For the synchronous methods: fail if a loop runs and it is not ours.

        They may be called with no loop running (3.4 code prepares its objects before
        ``run_until_complete``), and they never bind: only waiting needs a loop.
        """
        bound = self._loop
        if bound is not None:
            running = _this_thread.loop
            if running is not bound and running is not None and not bound.is_closed():
                raise self._mismatch(running)


def _discard(waiters: collections.deque[Future[object]], fut: Future[object]) -> None:
    """Remove *fut* from *waiters* if it is still there (a waker may have popped it)."""
    try:
        waiters.remove(fut)
    except ValueError:
        pass


def _live(waiters: collections.deque[Future[object]]) -> int:
    """How many waiters are still waiting (not woken, not cancelled)."""
    return sum(1 for fut in waiters if not fut.done())


def _repr(obj: object, state: str, waiters: int) -> str:
    extra = f", waiters:{waiters}" if waiters else ""
    return f"<{type(obj).__name__} [{state}{extra}]>"


class _ReleaseOnExit:
    """What ``yield from lock`` returns in 3.4 code: ``with (yield from lock):`` holds
    the lock for the block and releases it on exit, exactly once."""

    __slots__ = ("_primitive",)

    def __init__(self, primitive: _ContextManagerMixin) -> None:
        self._primitive: _ContextManagerMixin | None = primitive

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        primitive = self._primitive
        if primitive is None:
            raise RuntimeError("this 'with (yield from ...)' block has already released its lock")
        self._primitive = None
        primitive.release()


# Compiled build: a base of the public classes, which allow interpreted subclasses.
@mypyc_attr(allow_interpreted_subclasses=True)
class _ContextManagerMixin(_LoopBound):
    """``async with primitive:`` and the 3.4 ``with (yield from primitive):``.

    A subclass of :class:`_LoopBound` rather than a second base beside it: mypyc's
    native classes (the compiled build) have one base class each."""

    __slots__ = ()

    async def acquire(self) -> Literal[True]:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __iter__(self) -> Generator[object, None, _ReleaseOnExit]:
        # `yield from lock` in a @coroutine generator: acquire, then give the caller
        # a context manager whose exit releases.
        yield from self.acquire().__await__()
        return _ReleaseOnExit(self)


# -- Lock -----------------------------------------------------------------------------


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class Lock(_ContextManagerMixin):
    """A mutual-exclusion lock for tasks; not owned by a task (any task may release it).

    ``acquire()`` takes the lock, waiting while it is held; ``release()`` frees it, or,
    when tasks are waiting, hands it straight to the one that has waited longest, so
    waiters get the lock first come, first served and a task that was not waiting can
    never take it in between. Use it as::

        async with lock:
            ...

    or, in a ``@coroutine`` generator (3.4 style)::

        with (yield from lock):
            ...

    A waiter cancelled after the lock was handed to it releases it again before the
    :class:`CancelledError` propagates, so the lock is never left held by nobody.

    :param loop: the 3.4 keyword: the loop the lock belongs to (checked against the
        running loop). By default the lock binds to the loop it is first used on.
    """

    __slots__ = ("_locked", "_waiters")

    def __init__(self, *, loop: AbstractEventLoop | None = None) -> None:
        super().__init__(loop)
        self._locked = False
        self._waiters: collections.deque[Future[object]] = collections.deque()

    def __repr__(self) -> str:
        return _repr(self, "locked" if self._locked else "unlocked", _live(self._waiters))

    def locked(self) -> bool:
        """True while the lock is held (including handed to a waiter that has not run yet)."""
        return self._locked

    async def acquire(self) -> Literal[True]:
        """Take the lock, waiting in line (FIFO) while another task holds it.

        :returns: True.
        :raises CancelledError: when cancelled while waiting; the lock is then not held
            by this task (if it had just been handed over, it is passed on).
        :raises RuntimeError: when the lock belongs to another loop.
        """
        loop = _this_thread.loop
        if loop is not self._loop or loop is None:
            loop = self._bind(loop)  # first use, or not ours (raises)
        if not self._locked:
            # Unlocked means nobody is waiting: release() hands over while anybody is.
            self._locked = True
            return True
        fut = loop.create_future()
        self._waiters.append(fut)
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                # The lock was handed to us, then we were cancelled: pass it on.
                self.release()
            else:
                _discard(self._waiters, fut)
            raise
        return True

    def release(self) -> None:
        """Release the lock; if tasks wait for it, hand it to the first of them.

        :raises RuntimeError: when the lock is not locked.
        """
        if not self._locked:
            raise RuntimeError(
                f"Lock is not acquired: release() called on an unlocked lock {self!r}"
            )
        if _this_thread.loop is not self._loop:
            self._check_loop()  # no loop runs, or another one
        waiters = self._waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():  # skip waiters cancelled but not yet resumed
                fut.set_result(True)  # stays locked: it now belongs to that waiter
                return
        self._locked = False


# -- Event ----------------------------------------------------------------------------


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class Event(_LoopBound):
    """A flag tasks can wait for: ``set()`` wakes every task waiting in ``wait()``.

    Example::

        ready = loopsync.Event()
        # in one task
        await ready.wait()
        # in another
        ready.set()

    :param loop: the 3.4 keyword (checked against the running loop); by default the
        event binds to the loop its first ``wait()`` runs on.
    """

    __slots__ = ("_value", "_waiters")

    def __init__(self, *, loop: AbstractEventLoop | None = None) -> None:
        super().__init__(loop)
        self._value = False
        self._waiters: collections.deque[Future[object]] = collections.deque()

    def __repr__(self) -> str:
        return _repr(self, "set" if self._value else "unset", _live(self._waiters))

    def is_set(self) -> bool:
        """True if the flag is set."""
        return self._value

    def set(self) -> None:
        """Set the flag and wake every task waiting for it (they run on later loop
        iterations). Tasks calling :meth:`wait` afterwards do not block."""
        if self._value:
            return
        if _this_thread.loop is not self._loop:
            self._check_loop()  # no loop runs, or another one
        self._value = True
        waiters = self._waiters
        while waiters:
            fut = waiters.popleft()
            try:
                fut.set_result(True)
            except InvalidStateError:
                pass  # cancelled: its task is leaving wait()

    def clear(self) -> None:
        """Reset the flag: later calls to :meth:`wait` block until :meth:`set`."""
        self._value = False

    async def wait(self) -> Literal[True]:
        """Return True at once if the flag is set, otherwise wait until it is.

        A task woken by :meth:`set` returns True even if :meth:`clear` was called
        before it got to run.

        :raises RuntimeError: when the event belongs to another loop.
        """
        loop = _this_thread.loop
        if loop is not self._loop or loop is None:
            loop = self._bind(loop)  # first use, or not ours (raises)
        if self._value:
            return True
        fut = loop.create_future()
        self._waiters.append(fut)
        try:
            await fut
        except BaseException:
            _discard(self._waiters, fut)
            raise
        return True


# -- Condition ------------------------------------------------------------------------


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class Condition(_ContextManagerMixin):
    """A condition variable: tasks wait, holding a lock, until another task notifies them.

    Example::

        cond = loopsync.Condition()
        async with cond:
            await cond.wait_for(lambda: queue_has_work)
        # elsewhere
        async with cond:
            cond.notify()

    ``wait()`` releases the lock while it waits and always takes it back before it
    returns or raises, even when it is cancelled. A waiter that was notified and then
    cancelled passes the notification on to the next waiter.

    :param lock: the :class:`Lock` to use (several conditions may share one); a new
        lock by default.
    :param loop: the 3.4 keyword (checked against the running loop and the lock's).
    :raises TypeError: when *lock* is not a :class:`Lock`.
    :raises ValueError: when *lock* belongs to another loop than *loop*.
    """

    __slots__ = ("_lock", "_waiters")

    def __init__(self, lock: Lock | None = None, *, loop: AbstractEventLoop | None = None) -> None:
        super().__init__(loop)
        if lock is None:
            lock = Lock(loop=loop)
        elif not isinstance(lock, Lock):
            raise TypeError(f"Condition(lock=) takes a loopsync.Lock, got {lock!r}")
        elif loop is not None and lock._loop is not None and lock._loop is not loop:
            raise ValueError(
                f"the lock {lock!r} belongs to event loop {lock._loop!r}, not to loop={loop!r}"
            )
        if self._loop is None:
            self._loop = lock._loop
        self._lock = lock
        self._waiters: collections.deque[Future[object]] = collections.deque()

    def __repr__(self) -> str:
        return _repr(self, "locked" if self.locked() else "unlocked", _live(self._waiters))

    def locked(self) -> bool:
        """True while the underlying lock is held."""
        return self._lock.locked()

    async def acquire(self) -> Literal[True]:
        """Acquire the underlying lock (see :meth:`Lock.acquire`); returns True."""
        self._get_loop()
        return await self._lock.acquire()

    def release(self) -> None:
        """Release the underlying lock (see :meth:`Lock.release`).

        :raises RuntimeError: when it is not locked.
        """
        self._lock.release()

    def _require_lock(self, method: str) -> None:
        if not self._lock.locked():
            verb = "notify" if method.startswith("notify") else "wait"
            raise RuntimeError(
                f"cannot {verb} on un-acquired lock: Condition.{method}() needs the "
                f"condition's lock held: use it inside 'async with condition:' ({self!r})"
            )

    async def wait(self) -> Literal[True]:
        """Release the lock, wait until notified, then take the lock back.

        The lock is held again when this returns *and* when it raises: if the task is
        cancelled, it still waits for the lock, then re-raises :class:`CancelledError`.

        :returns: True.
        :raises RuntimeError: when the lock is not held.
        """
        self._require_lock("wait")
        loop = self._get_loop()
        fut = loop.create_future()
        self._lock.release()
        self._waiters.append(fut)
        # No await inside a finally or except block: compiled with mypyc 2.4.1, an
        # await there loses the exception in flight (the cancelled wait returned
        # True). The error is kept in a variable and raised at the end instead.
        error: BaseException | None = None
        try:
            await fut
        except BaseException as exc:
            error = exc
        if not fut.done() or fut.cancelled():
            _discard(self._waiters, fut)
        try:
            await self._reacquire()
        except BaseException as exc:
            error = exc
        if error is not None:
            if fut.done() and not fut.cancelled():
                # Notified, but leaving with an error: give the notification to the
                # next waiter so that notify(n) still wakes n tasks.
                self._notify(1)
            raise error
        return True

    async def _reacquire(self) -> None:
        """Take the lock back, whatever happens; re-raise a cancellation afterwards."""
        cancelled: BaseException | None = None
        while True:
            try:
                await self._lock.acquire()
            except cancelled_error_types() as exc:
                cancelled = exc
            else:
                break
        if cancelled is not None:
            raise cancelled

    async def wait_for(self, predicate: Callable[[], _R]) -> _R:
        """Wait until ``predicate()`` is true; return its final value.

        The predicate is called with the lock held, first before waiting at all, then
        after each wake-up.

        :raises RuntimeError: when the lock is not held (and the predicate is false).
        """
        result = predicate()
        while not result:
            await self.wait()
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to *n* tasks waiting on this condition, longest-waiting first.

        They return from :meth:`wait` once they have the lock back, i.e. after the
        caller releases it.

        :raises RuntimeError: when the lock is not held.
        """
        self._require_lock("notify")
        self._check_loop()
        self._notify(n)

    def _notify(self, n: int) -> None:
        woken = 0
        waiters = self._waiters
        while woken < n and waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(False)
                woken += 1

    def notify_all(self) -> None:
        """Wake every task waiting on this condition.

        :raises RuntimeError: when the lock is not held.
        """
        self._require_lock("notify_all")
        self._check_loop()
        self._notify(len(self._waiters))


# -- Semaphores -----------------------------------------------------------------------


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class Semaphore(_ContextManagerMixin):
    """A counter of permits: ``acquire()`` takes one, waiting while there are none;
    ``release()`` gives one back, or hands it straight to the longest-waiting task.

    Example (at most 3 downloads at a time)::

        slots = loopsync.Semaphore(3)
        async with slots:
            await download()

    A waiter cancelled after a permit was handed to it gives the permit back before
    the :class:`CancelledError` propagates: no permit is ever lost.

    :param value: the initial number of permits.
    :param loop: the 3.4 keyword (checked against the running loop).
    :raises ValueError: when *value* is below 0.
    """

    __slots__ = ("_value", "_waiters")

    def __init__(self, value: int = 1, *, loop: AbstractEventLoop | None = None) -> None:
        if value < 0:
            raise ValueError(f"Semaphore initial value must be >= 0, got {value!r}")
        super().__init__(loop)
        self._value = value
        self._waiters: collections.deque[Future[object]] = collections.deque()

    def __repr__(self) -> str:
        state = "locked" if self.locked() else f"unlocked, value:{self._value}"
        return _repr(self, state, _live(self._waiters))

    def locked(self) -> bool:
        """True when :meth:`acquire` would wait (no permit is free)."""
        return self._value == 0

    async def acquire(self) -> Literal[True]:
        """Take a permit, waiting in line (FIFO) while none is free.

        :returns: True.
        :raises CancelledError: when cancelled while waiting; no permit is then held
            (one just handed over is given back).
        """
        loop = _this_thread.loop
        if loop is not self._loop or loop is None:
            loop = self._bind(loop)  # first use, or not ours (raises)
        if self._value > 0:
            # A free permit means nobody is waiting: release() hands over while anybody is.
            self._value -= 1
            return True
        fut = loop.create_future()
        self._waiters.append(fut)
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.release()  # handed a permit, then cancelled: pass it on
            else:
                _discard(self._waiters, fut)
            raise
        return True

    def release(self) -> None:
        """Give a permit back: to the longest-waiting task if any, else to the counter.

        A plain :class:`Semaphore` may be released more often than it was acquired
        (its value then grows); :class:`BoundedSemaphore` refuses that.
        """
        if _this_thread.loop is not self._loop:
            self._check_loop()  # no loop runs, or another one
        waiters = self._waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(True)  # the permit goes straight to that waiter
                return
        self._value += 1


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class BoundedSemaphore(Semaphore):
    """A :class:`Semaphore` that refuses to be released above its initial value,
    which catches a release without a matching acquire.

    Example::

        sem = loopsync.BoundedSemaphore(2)
        sem.release()  # ValueError: nothing was acquired

    :raises ValueError: from :meth:`release`, when it would raise the value above the
        initial value (and from the constructor when *value* is below 0).
    """

    __slots__ = ("_bound_value",)

    def __init__(self, value: int = 1, *, loop: AbstractEventLoop | None = None) -> None:
        super().__init__(value, loop=loop)
        self._bound_value = value

    def release(self) -> None:
        """Give a permit back.

        :raises ValueError: when every permit is already free.
        """
        if self._value >= self._bound_value:
            raise ValueError(
                f"BoundedSemaphore released too many times: its value would exceed "
                f"its initial value {self._bound_value}"
            )
        super().release()


# -- Barrier --------------------------------------------------------------------------


class _BarrierState(enum.Enum):
    FILLING = "filling"  # tasks arrive and wait for the last one
    DRAINING = "draining"  # the last one arrived: the waiters leave, newcomers wait
    RESETTING = "resetting"  # reset(): the waiters leave with BrokenBarrierError
    BROKEN = "broken"  # abort(): every wait() raises until reset()


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class Barrier(_LoopBound):
    """Make *parties* tasks wait for each other: each ``wait()`` blocks until *parties*
    tasks are waiting, then all of them return (CPython 3.11 semantics).

    Example::

        barrier = loopsync.Barrier(3)
        # in each of 3 tasks
        index = await barrier.wait()  # 0, 1 or 2: the order of arrival

    The barrier is reusable: once every task of one round has left, the next round
    fills. Tasks arriving while a round drains wait for the next round. A task
    cancelled while it waits simply leaves the round (one party fewer is waiting);
    the barrier is not broken, and the tasks that arrived after it move up one
    place, so the indices of a round stay distinct.

    :param parties: how many tasks each round needs.
    :param loop: the 3.4-style keyword (checked against the running loop).
    :raises ValueError: when *parties* is below 1.
    """

    __slots__ = ("_cond", "_count", "_parties", "_places", "_state")

    def __init__(self, parties: int, *, loop: AbstractEventLoop | None = None) -> None:
        if parties < 1:
            raise ValueError(f"Barrier parties must be > 0, got {parties!r}")
        super().__init__(loop)
        self._cond = Condition(loop=loop)
        self._parties = parties
        self._state = _BarrierState.FILLING
        self._count = 0  # tasks inside wait(), past the entry gate
        # One box per task waiting in the filling round, in arrival order; a box
        # holds its task's index, renumbered when an earlier task leaves.
        self._places: list[list[int]] = []

    def __repr__(self) -> str:
        state = self._state.value
        if self._state is _BarrierState.FILLING:
            state += f", waiters:{self._count}/{self._parties}"
        return f"<{type(self).__name__} [{state}]>"

    async def __aenter__(self) -> int:
        """``async with barrier as index:`` waits on the barrier; see :meth:`wait`."""
        return await self.wait()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def wait(self) -> int:
        """Wait until *parties* tasks are waiting, then return this task's arrival
        index in its round (0 to ``parties - 1``).

        :raises BrokenBarrierError: when the barrier is broken (:meth:`abort`), or
            is reset (:meth:`reset`) while this task waits.
        :raises CancelledError: when cancelled; the round goes on without this task.
        """
        self._get_loop()
        async with self._cond:
            # Entry gate: a round that is draining or resetting must empty first.
            await self._cond.wait_for(
                lambda: self._state not in (_BarrierState.DRAINING, _BarrierState.RESETTING)
            )
            if self._state is _BarrierState.BROKEN:
                raise BrokenBarrierError(f"the barrier is broken (aborted): {self!r}")
            place = [len(self._places)]
            self._places.append(place)
            self._count += 1
            try:
                if self._count == self._parties:
                    # The last arrival trips the barrier and lets everybody go.
                    self._places = []
                    self._state = _BarrierState.DRAINING
                    self._cond.notify_all()
                else:
                    await self._cond.wait_for(lambda: self._state is not _BarrierState.FILLING)
                    if self._state is not _BarrierState.DRAINING:
                        raise BrokenBarrierError(
                            f"the barrier was {self._state.value} while this task waited"
                        )
                return place[0]
            finally:
                if self._places:
                    # Left before the round tripped (cancelled, or broken by
                    # abort/reset): later arrivals move up, so that no two tasks
                    # of a round share an index.
                    self._places = [p for p in self._places if p is not place]
                    for i, p in enumerate(self._places):
                        p[0] = i
                self._count -= 1
                if self._count == 0 and self._state in (
                    _BarrierState.DRAINING,
                    _BarrierState.RESETTING,
                ):
                    # The last one out opens the gate for the next round.
                    self._state = _BarrierState.FILLING
                    self._cond.notify_all()

    async def reset(self) -> None:
        """Return the barrier to its empty, filling state.

        Tasks waiting in the current round get :class:`BrokenBarrierError`; a
        broken barrier becomes usable again.
        """
        self._get_loop()
        async with self._cond:
            if self._count > 0:
                self._state = _BarrierState.RESETTING  # the last one out refills it
            else:
                self._state = _BarrierState.FILLING
            self._cond.notify_all()

    async def abort(self) -> None:
        """Break the barrier: waiting tasks and every later :meth:`wait` get
        :class:`BrokenBarrierError` until :meth:`reset`."""
        self._get_loop()
        async with self._cond:
            self._state = _BarrierState.BROKEN
            self._cond.notify_all()

    @property
    def parties(self) -> int:
        """How many tasks each round needs."""
        return self._parties

    @property
    def n_waiting(self) -> int:
        """How many tasks are waiting in the round that is filling (0 otherwise)."""
        return self._count if self._state is _BarrierState.FILLING else 0

    @property
    def broken(self) -> bool:
        """True once :meth:`abort` was called (until :meth:`reset`)."""
        return self._state is _BarrierState.BROKEN
