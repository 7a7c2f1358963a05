"""Queues for tasks: Queue (FIFO), PriorityQueue, LifoQueue, and the 3.4 JoinableQueue.

They follow the Python 3.4 asyncio docs, with ``shutdown()`` as CPython 3.13 added
it. Not thread-safe: use a queue from the tasks of one loop (from another thread,
go through ``loop.call_soon_threadsafe``).

How waiting works, and why:

- Items always live in the queue's storage; a waiting ``get()`` is *woken* when an
  item arrives, and takes an item when its task runs. A cancelled ``get()`` has
  therefore taken nothing: no item is ever lost to a cancellation. Likewise a
  ``put()`` inserts only once it is its turn and there is room, so a cancelled
  ``put()`` has inserted nothing.
- The queue wakes exactly as many waiting getters as there are items not yet
  promised to an earlier woken getter (and as many putters as there are free slots
  not yet promised). A woken waiter that is cancelled before it runs gives its turn
  to the next waiter in line, so a wake-up is never lost either.
- Waiters are served first come, first served: a ``get()``/``put()`` that finds
  others waiting (or woken but not yet run) queues behind them instead of taking
  the item or slot that was meant for them. ``get_nowait()``/``put_nowait()`` never
  wait, so they may take an item (or a slot) that a woken waiter was about to
  take; that waiter then waits again *in its original place* in the line (each
  waiter keeps its ticket), so it is not pushed behind later arrivals.
"""

from __future__ import annotations

import collections
import heapq
from typing import TYPE_CHECKING, Generic, TypeVar

from loopcore import sleep
from loopcore._build import mypyc_attr
from loopcore.events import AbstractEventLoop
from loopcore.events import this_thread as _this_thread  # see locks.py
from loopcore.exceptions import QueueEmpty, QueueFull, QueueShutDown

from .locks import Event, _LoopBound

if TYPE_CHECKING:
    from loopcore.futures import Future

__all__ = [
    "JoinableQueue",
    "LifoQueue",
    "PriorityQueue",
    "Queue",
    "QueueEmpty",
    "QueueFull",
    "QueueShutDown",
]

_T = TypeVar("_T")


class _WaitLine:
    """The tasks waiting to get (or to put), in the order they arrived.

    Each entry is ``(ticket, future)``; tickets grow with arrival, so a waiter that
    has to wait again re-enters at its original place. ``woken`` counts waiters whose
    future was resolved but whose task has not run yet: each is owed an item (or a
    slot).
    """

    __slots__ = ("_next_ticket", "entries", "woken")

    def __init__(self) -> None:
        self.entries: collections.deque[tuple[int, Future[object]]] = collections.deque()
        self._next_ticket = 0
        self.woken = 0

    def ticket(self) -> int:
        self._next_ticket += 1
        return self._next_ticket

    def enter(self, ticket: int, fut: Future[object]) -> None:
        entries = self.entries
        if not entries or entries[-1][0] < ticket:
            entries.append((ticket, fut))
            return
        # Waiting again after a barging *_nowait() call: back to our old place,
        # which is near the front (the earliest waiters are the ones woken).
        for position, (other, _) in enumerate(entries):
            if other > ticket:
                entries.insert(position, (ticket, fut))
                return
        entries.append((ticket, fut))  # pragma: no cover - the loop always inserts

    def leave(self, fut: Future[object]) -> None:
        """Remove a waiter that was not woken (it was cancelled)."""
        for position, (_, other) in enumerate(self.entries):
            if other is fut:
                del self.entries[position]
                return

    def has_waiters(self) -> bool:
        """True if a task is waiting (woken or not) in this line."""
        if self.woken:
            return True
        entries = self.entries
        while entries and entries[0][1].done():
            entries.popleft()  # cancelled, its task will find it gone
        return bool(entries)

    def wake(self, limit: int | float) -> None:
        """Wake waiters, first come first served, while fewer than *limit* are woken
        (a float limit, from a float maxsize, rounds up as ``full()`` does)."""
        entries = self.entries
        while self.woken < limit and entries:
            _, fut = entries.popleft()
            if not fut.done():  # skip the cancelled
                fut.set_result(None)
                self.woken += 1

    def wake_all(self) -> None:
        entries = self.entries
        while entries:
            _, fut = entries.popleft()
            if not fut.done():
                fut.set_result(None)
                self.woken += 1

    def count(self) -> int:
        """Waiters not woken yet, for reprs."""
        return sum(1 for _, fut in self.entries if not fut.done())


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class Queue(_LoopBound, Generic[_T]):
    """A first-in, first-out queue for tasks.

    Example (a bounded queue: the producer waits while it is full)::

        queue: loopsync.Queue[int] = loopsync.Queue(maxsize=2)

        async def producer() -> None:
            for i in range(5):
                await queue.put(i)

        async def consumer() -> None:
            while True:
                item = await queue.get()
                ...
                queue.task_done()

    :param maxsize: the most items it holds; ``put()`` waits while it is full. 0 or
        less means unbounded. A float is accepted, as CPython does: the queue is full
        once it holds *maxsize* items or more (``Queue(2.5)`` holds 3).
    :param loop: the 3.4 keyword (checked against the running loop); by default the
        queue binds to the loop its first coroutine call (``put``, ``get``, ``join``) runs on.
    :raises TypeError: when *maxsize* is not a number (an int or a float).
    """

    def __init__(self, maxsize: int | float = 0, *, loop: AbstractEventLoop | None = None) -> None:
        if not isinstance(maxsize, (int, float)):
            # CPython accepts anything and fails at the first put(); refuse it here.
            raise TypeError(
                f"Queue maxsize must be a number (an int, or a float as CPython "
                f"accepts), got {maxsize!r}"
            )
        super().__init__(loop)
        self._maxsize = maxsize
        self._getters = _WaitLine()
        self._putters = _WaitLine()
        self._unfinished_tasks = 0
        self._finished = Event(loop=loop)
        self._finished.set()
        self._is_shutdown = False
        self._init(maxsize)

    # -- Storage: the hooks PriorityQueue and LifoQueue (and user subclasses) override -
    def _init(self, maxsize: int | float) -> None:
        self._queue: collections.deque[_T] = collections.deque()

    def _put(self, item: _T) -> None:
        self._queue.append(item)

    def _get(self) -> _T:
        return self._queue.popleft()

    def _qsize(self) -> int:
        return len(self._queue)

    # -- Introspection -----------------------------------------------------------------
    def __repr__(self) -> str:
        info = [f"size:{self._qsize()}"]
        getters = self._getters.count()
        putters = self._putters.count()
        if getters:
            info.append(f"getters:{getters}")
        if putters:
            info.append(f"putters:{putters}")
        if self._unfinished_tasks:
            info.append(f"unfinished:{self._unfinished_tasks}")
        if self._is_shutdown:
            info.append("shut down")
        return f"<{type(self).__name__} maxsize={self._maxsize} [{', '.join(info)}]>"

    def qsize(self) -> int:
        """Number of items in the queue."""
        return self._qsize()

    @property
    def maxsize(self) -> int | float:
        """The most items the queue holds (0 or less: unbounded)."""
        return self._maxsize

    def empty(self) -> bool:
        """True if the queue holds no item."""
        return self._qsize() == 0

    def full(self) -> bool:
        """True if the queue holds *maxsize* items; never true for an unbounded queue
        (*maxsize* 0 or less)."""
        return 0 < self._maxsize <= self._qsize()

    # -- Waking ------------------------------------------------------------------------
    def _wake_getters(self) -> None:
        if self._is_shutdown:
            self._getters.wake_all()  # each finds out for itself whether items remain
        else:
            self._getters.wake(self._qsize())

    def _wake_putters(self) -> None:
        if self._is_shutdown:
            self._putters.wake_all()  # they all raise QueueShutDown
        elif self._maxsize > 0:
            self._putters.wake(self._maxsize - self._qsize())

    async def _wait_turn(self, loop: AbstractEventLoop, line: _WaitLine, getting: bool) -> None:
        """Wait in *line* until woken with an item (*getting*) or a free slot (not
        *getting*) there for us, or until the queue is shut down."""
        ticket = line.ticket()
        while True:
            fut = loop.create_future()
            line.enter(ticket, fut)
            # A wake-up may be due at once: we queued behind woken waiters, and there
            # is enough for them and for us. (The queue is not shut down here: that
            # wakes every waiter, and we return below.)
            available = self._qsize() if getting else self._maxsize - self._qsize()
            if available > line.woken:
                line.wake(available)
            try:
                if fut.done():
                    # Woken at once. `await fut` would not suspend, and we would take
                    # our item (or slot) before the waiters woken ahead of us have run:
                    # give them their turn first (their wake-ups are already scheduled).
                    await sleep(0)
                await fut
            except BaseException:
                if fut.done() and not fut.cancelled():
                    # Woken, then cancelled before running: our turn goes to the next.
                    line.woken -= 1
                    if getting:
                        self._wake_getters()
                    else:
                        self._wake_putters()
                else:
                    line.leave(fut)
                raise
            line.woken -= 1
            if self._is_shutdown or not (self.empty() if getting else self.full()):
                return

    # -- Putting -----------------------------------------------------------------------
    async def put(self, item: _T) -> None:
        """Put *item* in the queue, waiting in line (FIFO) while it is full.

        :raises QueueShutDown: when the queue is (or, while waiting, gets) shut down.
        :raises CancelledError: when cancelled while waiting; *item* was then not
            inserted.
        """
        loop = _this_thread.loop
        if loop is not self._loop or loop is None:
            loop = self._bind(loop)  # first use, or not ours (raises)
        if self._is_shutdown:
            raise QueueShutDown(f"put() on a queue that was shut down: {self!r}")
        putters = self._putters
        maxsize = self._maxsize  # full(), inline: put() is the queue's hot path
        if (0 < maxsize <= self._qsize()) or (
            (putters.woken or putters.entries) and putters.has_waiters()
        ):
            await self._wait_turn(loop, putters, getting=False)
            if self._is_shutdown:  # while we waited
                raise QueueShutDown(f"put() on a queue that was shut down: {self!r}")
        # Our turn, and not full (_wait_turn returned): _insert(item), inline.
        self._put(item)
        self._unfinished_tasks += 1
        if self._unfinished_tasks == 1:
            self._finished.clear()  # (it is set exactly while no task is unfinished)
        if self._getters.entries:  # someone may need waking (the queue is not shut down)
            self._getters.wake(self._qsize())

    def put_nowait(self, item: _T) -> None:
        """Put *item* in the queue without waiting.

        :raises QueueFull: when the queue is full.
        :raises QueueShutDown: when the queue was shut down.
        """
        self._check_loop()
        if self._is_shutdown:
            raise QueueShutDown(f"put_nowait() on a queue that was shut down: {self!r}")
        if self.full():
            raise QueueFull(f"put_nowait() on a full queue: {self!r}")
        self._insert(item)

    def _insert(self, item: _T) -> None:
        """Store *item* (the queue is open, not full, and it is the caller's turn).

        put() has this body inline (its hot path): keep the two the same.
        """
        self._put(item)
        self._unfinished_tasks += 1
        if self._unfinished_tasks == 1:
            self._finished.clear()  # (it is set exactly while no task is unfinished)
        if self._getters.entries:  # someone may need waking (the queue is not shut down)
            self._getters.wake(self._qsize())

    # -- Getting -----------------------------------------------------------------------
    async def get(self) -> _T:
        """Remove and return an item, waiting in line (FIFO) while the queue is empty.

        :raises QueueShutDown: when the queue is shut down and empty (at once, or while
            waiting).
        :raises CancelledError: when cancelled while waiting; no item was then taken.
        """
        loop = _this_thread.loop
        if loop is not self._loop or loop is None:
            loop = self._bind(loop)  # first use, or not ours (raises)
        getters = self._getters
        if self._qsize() and not ((getters.woken or getters.entries) and getters.has_waiters()):
            # An item is there and nobody is ahead of us: _take(), inline.
            item = self._get()
            if self._putters.entries:  # someone may need waking
                self._wake_putters()
            return item
        if not self._is_shutdown:
            await self._wait_turn(loop, getters, getting=True)
            if not self._is_shutdown:
                return self._take()  # our turn, and an item is there: _wait_turn returned
        return self.get_nowait()  # after a shutdown: what is left, or QueueShutDown

    def get_nowait(self) -> _T:
        """Remove and return an item without waiting.

        :raises QueueEmpty: when the queue is empty.
        :raises QueueShutDown: when the queue is empty and was shut down.
        """
        self._check_loop()
        if self.empty():
            if self._is_shutdown:
                raise QueueShutDown(f"get_nowait() on a queue that was shut down: {self!r}")
            raise QueueEmpty(f"get_nowait() on an empty queue: {self!r}")
        return self._take()

    def _take(self) -> _T:
        """Remove and return an item (there is one, and it is the caller's turn).

        get() has this body inline on its fast path: keep the two the same.
        """
        item = self._get()
        if self._putters.entries:  # someone may need waking
            self._wake_putters()
        return item

    # -- Tracking work done ------------------------------------------------------------
    def task_done(self) -> None:
        """Say that an item taken with :meth:`get` has been processed.

        Each :meth:`put` counts one unfinished task; when every one is done,
        :meth:`join` returns.

        :raises ValueError: when called more times than items were put.
        """
        if self._unfinished_tasks <= 0:
            raise ValueError(
                "task_done() called too many times (more times than items were put in "
                f"the queue): {self!r}"
            )
        self._check_loop()
        self._unfinished_tasks -= 1
        if self._unfinished_tasks == 0:
            self._finished.set()

    async def join(self) -> None:
        """Wait until every item put in the queue has been marked done with
        :meth:`task_done` (return at once if none is unfinished)."""
        self._get_loop()
        if self._unfinished_tasks > 0:
            await self._finished.wait()

    # -- Shutting down -----------------------------------------------------------------
    def shutdown(self, immediate: bool = False) -> None:
        """Shut the queue down (CPython 3.13 semantics).

        Afterwards ``put()``/``put_nowait()`` raise :class:`QueueShutDown`, and so do
        ``get()``/``get_nowait()`` once the queue is empty. Tasks blocked in ``put()``
        raise :class:`QueueShutDown`; tasks blocked in ``get()`` raise it too (the
        queue is empty, since they were waiting). With *immediate* true the queue is
        emptied first and each dropped item counts as done, which may let
        :meth:`join` return. Calling it again does nothing more (except that an
        *immediate* call still empties the queue).
        """
        self._check_loop()
        self._is_shutdown = True
        if immediate:
            while self._qsize():
                self._get()
                if self._unfinished_tasks > 0:
                    self._unfinished_tasks -= 1
            if self._unfinished_tasks == 0:
                self._finished.set()
        self._getters.wake_all()
        self._putters.wake_all()


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class PriorityQueue(Queue[_T]):
    """A :class:`Queue` that returns the smallest item first (by ``<``, with
    :mod:`heapq`); entries are typically ``(priority, data)`` tuples.

    Example::

        queue = loopsync.PriorityQueue()
        queue.put_nowait((2, "later"))
        queue.put_nowait((1, "first"))
        queue.get_nowait()  # (1, "first")
    """

    def _init(self, maxsize: int | float) -> None:
        self._heap: list[_T] = []

    # The items must be orderable; Queue's type variable has no bound to say so
    # (a plain Queue takes anything), hence the two ignores.
    def _put(self, item: _T) -> None:
        heapq.heappush(self._heap, item)  # type: ignore[type-var]

    def _get(self) -> _T:
        return heapq.heappop(self._heap)  # type: ignore[type-var]

    def _qsize(self) -> int:
        return len(self._heap)


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class LifoQueue(Queue[_T]):
    """A :class:`Queue` that returns the most recently added item first (a stack).

    Example::

        stack = loopsync.LifoQueue()
        stack.put_nowait(1)
        stack.put_nowait(2)
        stack.get_nowait()  # 2
    """

    def _init(self, maxsize: int | float) -> None:
        self._stack: list[_T] = []

    def _put(self, item: _T) -> None:
        self._stack.append(item)

    def _get(self) -> _T:
        return self._stack.pop()

    def _qsize(self) -> int:
        return len(self._stack)


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class JoinableQueue(Queue[_T]):
    """The Python 3.4 name of a :class:`Queue` with :meth:`~Queue.task_done` and
    :meth:`~Queue.join`; every :class:`Queue` has them now, so this subclass adds
    nothing and is kept so that 3.4 code runs unchanged.

    Example::

        queue = loopsync.JoinableQueue()
        queue.put_nowait("job")
        queue.get_nowait()
        queue.task_done()
        await queue.join()  # returns at once: every job is done
    """
