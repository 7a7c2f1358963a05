"""Property tests: random interleavings of waits, wake-ups and cancellations never
break an invariant, checked against a simple model of each primitive.

Each example runs a script of operations on a fresh loop. ``step`` lets the other
tasks run one loop iteration (``await loopcore.sleep(0)``), so hypothesis explores
every order of "woken", "cancelled" and "ran", including a cancellation that lands
between a wake-up and the woken task's next step. At the end the script drains:
it keeps releasing/feeding until every task is done, with a bound on the number of
iterations, and the final state is compared with the model.

The number of examples comes from the hypothesis profile (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine

import pytest
from hypothesis import given
from hypothesis import strategies as st

import loopcore
import loopsync

DRAIN_ITERATIONS = 1000

Op = tuple[str, int]


def run(main: Callable[[], Coroutine[object, object, None]]) -> None:
    loop = loopcore.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        # After a failed example, end the tasks it left so that the report is readable.
        leftovers = [t for t in loopcore.all_tasks(loop) if not t.done()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            loop.run_until_complete(loopcore.gather(*leftovers, return_exceptions=True))
        loop.close()


def spawn(coro: Coroutine[object, object, object]) -> loopcore.Task[object]:
    return loopcore.get_running_loop().create_task(coro)


def ops_of(*names: str) -> st.SearchStrategy[list[Op]]:
    simple = [st.tuples(st.just(name), st.just(0)) for name in names]
    cancel = st.tuples(st.just("cancel"), st.integers(0, 30))
    return st.lists(st.one_of(*simple, cancel), max_size=50)


def cancel_one(tasks: list[loopcore.Task[object]], index: int) -> None:
    if tasks:
        tasks[index % len(tasks)].cancel()


# -- Lock -----------------------------------------------------------------------------


@given(ops=ops_of("spawn", "release", "step"))
def test_lock_is_exclusive_fifo_and_never_left_held_by_nobody(ops: list[Op]) -> None:
    async def main() -> None:
        lock = loopsync.Lock()
        acquired: list[int] = []  # spawn indexes, in the order they got the lock
        released = 0
        tasks: list[loopcore.Task[object]] = []

        async def acquirer(index: int) -> None:
            await lock.acquire()
            acquired.append(index)

        def check() -> None:
            held = len(acquired) - released
            assert held in (0, 1), "two tasks hold the lock"
            if held:
                assert lock.locked()
            assert acquired == sorted(acquired), "waiters were not served FIFO"

        for name, arg in ops:
            if name == "spawn":
                tasks.append(spawn(acquirer(len(tasks))))
            elif name == "release":
                if len(acquired) - released == 1:
                    lock.release()
                    released += 1
            elif name == "step":
                await loopcore.sleep(0)
            else:
                cancel_one(tasks, arg)
            check()

        for _ in range(DRAIN_ITERATIONS):
            if all(t.done() for t in tasks):
                break
            if len(acquired) - released == 1:
                lock.release()
                released += 1
            await loopcore.sleep(0)
            check()
        assert all(t.done() for t in tasks)
        for index, task in enumerate(tasks):
            # Each task either got the lock or was cancelled, never both, never neither.
            assert (index in acquired) != task.cancelled()
        held = len(acquired) - released
        assert lock.locked() == (held == 1), "the lock is held by nobody"
        if held:
            lock.release()
        assert not lock.locked()
        assert repr(lock) == "<Lock [unlocked]>"

    run(main)


# -- Semaphore ------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [loopsync.Semaphore, loopsync.BoundedSemaphore])
@given(value=st.integers(0, 3), ops=ops_of("spawn", "release", "step"))
def test_semaphore_never_loses_or_creates_a_permit_and_serves_fifo(
    cls: type[loopsync.Semaphore], value: int, ops: list[Op]
) -> None:
    async def main() -> None:
        sem = cls(value)
        acquired: list[int] = []
        waited: list[int] = []  # those that found no free permit, in the order they got one
        released = 0
        tasks: list[loopcore.Task[object]] = []

        async def acquirer(index: int) -> None:
            had_to_wait = sem.locked()
            await sem.acquire()
            acquired.append(index)
            if had_to_wait:
                waited.append(index)

        def check() -> None:
            held = len(acquired) - released
            assert 0 <= held <= value, "more permits held than exist"
            if held == value:
                assert sem.locked()
            # Several permits may be handed out before their tasks run, so a task that
            # found a free permit may record before an earlier waiter it did not
            # overtake; among the tasks that waited, the order is strictly FIFO.
            assert waited == sorted(waited), "waiters were not served FIFO"

        for name, arg in ops:
            if name == "spawn":
                tasks.append(spawn(acquirer(len(tasks))))
            elif name == "release":
                if len(acquired) > released:
                    sem.release()
                    released += 1
            elif name == "step":
                await loopcore.sleep(0)
            else:
                cancel_one(tasks, arg)
            check()

        for _ in range(DRAIN_ITERATIONS):
            if all(t.done() for t in tasks):
                break
            if len(acquired) > released:
                sem.release()
                released += 1
            elif value == 0:
                # No permit exists and nobody holds one: the waiters can only be cancelled.
                for task in tasks:
                    task.cancel()
            await loopcore.sleep(0)
            check()
        assert all(t.done() for t in tasks)
        for index, task in enumerate(tasks):
            assert (index in acquired) != task.cancelled()
        for _ in range(len(acquired) - released):
            sem.release()
        # Exactly `value` permits are free again: no more, no fewer.
        for _ in range(value):
            assert not sem.locked()
            await sem.acquire()
        assert sem.locked()

    run(main)


# -- Condition ------------------------------------------------------------------------


@given(ops=ops_of("spawn", "notify", "notify_all", "hold", "unhold", "step"))
def test_condition_wait_always_returns_or_raises_holding_the_lock(ops: list[Op]) -> None:
    async def main() -> None:
        cond = loopsync.Condition()
        woken: list[int] = []
        held_on_exit: list[bool] = []
        inside = 0
        driver_holds = False
        tasks: list[loopcore.Task[object]] = []

        async def waiter(index: int) -> None:
            nonlocal inside
            async with cond:
                inside += 1
                assert inside == 1, "two tasks inside the condition's lock"
                inside -= 1
                try:
                    await cond.wait()
                finally:
                    held_on_exit.append(cond.locked())
                    inside += 1
                    assert inside == 1, "two tasks inside the condition's lock"
                    inside -= 1
                woken.append(index)

        async def notify(all_of_them: bool) -> None:
            if driver_holds or cond.locked():
                return  # the driver never waits for the lock
            async with cond:
                if all_of_them:
                    cond.notify_all()
                else:
                    cond.notify()

        for name, arg in ops:
            if name == "spawn":
                tasks.append(spawn(waiter(len(tasks))))
            elif name in ("notify", "notify_all"):
                await notify(name == "notify_all")
            elif name == "hold":
                if not driver_holds and not cond.locked():
                    await cond.acquire()
                    driver_holds = True
            elif name == "unhold":
                if driver_holds:
                    cond.release()
                    driver_holds = False
            elif name == "step":
                await loopcore.sleep(0)
            else:
                cancel_one(tasks, arg)
            assert woken == sorted(woken), "notified waiters did not return FIFO"

        if driver_holds:
            cond.release()
            driver_holds = False
        for _ in range(DRAIN_ITERATIONS):
            if all(t.done() for t in tasks):
                break
            await notify(True)
            await loopcore.sleep(0)
        assert all(t.done() for t in tasks)
        assert all(held_on_exit), "wait() returned or raised without the lock"
        assert not cond.locked(), "the lock is held by nobody"
        assert woken == sorted(woken)
        for index, task in enumerate(tasks):
            assert (index in woken) != task.cancelled()

    run(main)


# -- Queues ---------------------------------------------------------------------------


QUEUE_OPS = ops_of("spawn_get", "spawn_put", "get_nowait", "put_nowait", "step", "shutdown")


@pytest.mark.parametrize("cls", [loopsync.Queue, loopsync.LifoQueue, loopsync.PriorityQueue])
@given(maxsize=st.integers(0, 3), ops=QUEUE_OPS)
def test_queue_never_loses_duplicates_or_invents_an_item_and_serves_waiters_fifo(
    cls: type[loopsync.Queue[int]], maxsize: int, ops: list[Op]
) -> None:
    async def main() -> None:
        q = cls(maxsize)
        counter = 0
        inserted: list[int] = []  # in insertion order
        got: list[int] = []  # in retrieval order
        dropped: list[int] = []  # emptied by shutdown(immediate=True)
        getters_served: list[int] = []
        putters_served: list[int] = []
        tasks: list[loopcore.Task[object]] = []
        put_items: dict[int, int] = {}  # task index -> its item
        shut = False

        async def getter(index: int) -> None:
            item = await q.get()
            got.append(item)
            getters_served.append(index)

        async def putter(index: int, item: int) -> None:
            await q.put(item)
            inserted.append(item)
            putters_served.append(index)

        def in_queue() -> list[int]:
            taken = set(got) | set(dropped)
            return [item for item in inserted if item not in taken]

        def check() -> None:
            if maxsize > 0:
                assert q.qsize() <= maxsize
            assert q.qsize() == len(in_queue()), "an item was lost or invented"
            assert len(set(got)) == len(got), "an item was got twice"
            assert set(got) <= set(inserted), "an item was got that was never put"
            if cls is loopsync.Queue:
                assert got == [i for i in inserted if i not in dropped][: len(got)]
            assert getters_served == sorted(getters_served), "getters were not served FIFO"
            assert putters_served == sorted(putters_served), "putters were not served FIFO"

        for name, arg in ops:
            if name == "spawn_get":
                tasks.append(spawn(getter(len(tasks))))
            elif name == "spawn_put":
                counter += 1
                put_items[len(tasks)] = counter
                tasks.append(spawn(putter(len(tasks), counter)))
            elif name == "get_nowait":
                try:
                    got.append(q.get_nowait())
                except loopsync.QueueEmpty:
                    assert q.empty() and not shut
                except loopsync.QueueShutDown:
                    assert q.empty() and shut
            elif name == "put_nowait":
                counter += 1
                try:
                    q.put_nowait(counter)
                    inserted.append(counter)
                except loopsync.QueueFull:
                    assert q.full() and not shut
                except loopsync.QueueShutDown:
                    assert shut
            elif name == "shutdown":
                immediate = arg % 2 == 1 or counter % 2 == 1
                if immediate:
                    dropped.extend(in_queue())
                q.shutdown(immediate=immediate)
                shut = True
            elif name == "step":
                await loopcore.sleep(0)
            else:
                cancel_one(tasks, arg)
            check()

        for _ in range(DRAIN_ITERATIONS):
            pending = [i for i, t in enumerate(tasks) if not t.done()]
            if not pending:
                break
            if not shut:
                if any(i not in put_items for i in pending) and q.empty():
                    counter += 1
                    q.put_nowait(counter)
                    inserted.append(counter)
                elif any(i in put_items for i in pending) and q.full():
                    got.append(q.get_nowait())
            await loopcore.sleep(0)
            check()
        assert all(t.done() for t in tasks)

        for index, task in enumerate(tasks):
            if task.cancelled():
                if index in put_items:
                    assert put_items[index] not in inserted, "a cancelled put inserted"
                continue
            error = task.exception()
            if error is not None:
                assert isinstance(error, loopsync.QueueShutDown) and shut, error
                if index in put_items:
                    assert put_items[index] not in inserted
            elif index in put_items:
                assert put_items[index] in inserted
            else:
                assert index in getters_served

        while not q.empty():
            got.append(q.get_nowait())
        assert sorted(got + dropped) == sorted(inserted), "items lost or duplicated"
        if cls is loopsync.Queue:
            assert got == [i for i in inserted if i not in dropped]
        # Every item put is one unfinished task until task_done (or an immediate shutdown).
        for _ in got:
            q.task_done()
        joiner = spawn(q.join())
        await loopcore.sleep(0)
        assert joiner.done()
        with pytest.raises(ValueError):
            q.task_done()

    run(main)
