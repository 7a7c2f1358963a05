"""Differential tests: the same small scenario on stdlib asyncio and on loopsync.

Each scenario is written once against a namespace ``aio``: ``asyncio``, or loopcore
and loopsync together. It returns what a user can observe (the order waiters are
served in, results, exception types by name, flags), and the test runs it on a
fresh loop of each and compares. Where loopsync documents a deliberate difference
(docs/differences/loopsync.rst) the test asserts the documented behaviour for each
side instead and names the entry.
"""

from __future__ import annotations

import asyncio
import queue
import sys
import types
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import loopcore
import loopsync

OURS = types.SimpleNamespace(**{**vars(loopcore), **vars(loopsync)})
OURS.__name__ = "loopcore+loopsync"

Scenario = Callable[[Any], Awaitable[object]]


def _run(aio: Any, scenario: Scenario) -> object:
    loop = aio.new_event_loop()
    try:
        return loop.run_until_complete(scenario(aio))
    finally:
        loop.close()


def on_both(scenario: Scenario) -> tuple[object, object]:
    """Run *scenario* on asyncio and on loopcore+loopsync; return (asyncio's, ours)."""
    return _run(asyncio, scenario), _run(OURS, scenario)


def same_on_both(scenario: Scenario) -> object:
    ref, ours = on_both(scenario)
    assert ours == ref, f"asyncio: {ref!r}\nloopsync: {ours!r}"
    return ours


def raised(call: Callable[[], object]) -> str:
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - comparing what is raised
        return type(exc).__name__
    return "no error"


async def settle(aio: Any, rounds: int = 5) -> None:
    """Let every ready task run a few steps (no time passes)."""
    for _ in range(rounds):
        await aio.sleep(0)


async def cancel_all(aio: Any, tasks: list[Any]) -> None:
    for t in tasks:
        t.cancel()
    await aio.gather(*tasks, return_exceptions=True)


# -- Lock -----------------------------------------------------------------------------------


def test_lock_serves_waiters_first_come_first_served() -> None:
    async def scenario(aio: Any) -> object:
        lock = aio.Lock()
        order: list[int] = []

        async def worker(i: int) -> None:
            async with lock:
                order.append(i)
                await aio.sleep(0)

        assert await lock.acquire() is True
        tasks = [aio.ensure_future(worker(i)) for i in range(5)]
        await settle(aio)
        lock.release()
        await aio.gather(*tasks)
        return order, lock.locked()

    assert same_on_both(scenario) == ([0, 1, 2, 3, 4], False)


def test_lock_release_when_unlocked_raises_runtime_error() -> None:
    async def scenario(aio: Any) -> object:
        lock = aio.Lock()
        first = raised(lock.release)
        await lock.acquire()
        lock.release()
        return first, raised(lock.release), lock.locked()

    assert same_on_both(scenario) == ("RuntimeError", "RuntimeError", False)


def test_lock_cancelled_waiter_is_skipped() -> None:
    async def scenario(aio: Any) -> object:
        lock = aio.Lock()
        order: list[str] = []

        async def worker(name: str) -> None:
            async with lock:
                order.append(name)

        await lock.acquire()
        tasks = {n: aio.ensure_future(worker(n)) for n in "abc"}
        await settle(aio)
        tasks["b"].cancel()
        await settle(aio)
        lock.release()
        await aio.gather(*tasks.values(), return_exceptions=True)
        return order, tasks["b"].cancelled(), lock.locked()

    assert same_on_both(scenario) == (["a", "c"], True, False)


def test_lock_waiter_cancelled_while_being_woken_passes_the_lock_on() -> None:
    async def scenario(aio: Any) -> object:
        lock = aio.Lock()
        order: list[str] = []

        async def worker(name: str) -> None:
            async with lock:
                order.append(name)

        await lock.acquire()
        tasks = {n: aio.ensure_future(worker(n)) for n in "abc"}
        await settle(aio)
        lock.release()
        locked_after_release = lock.locked()
        tasks["a"].cancel()  # woken (or handed the lock) but has not run yet
        await aio.gather(*tasks.values(), return_exceptions=True)
        return order, tasks["a"].cancelled(), lock.locked(), locked_after_release

    # differences/loopsync.rst "Lock and Semaphore hand over": with a waiter,
    # release() gives the lock to it, so locked() stays true; CPython frees it.
    ref, ours = on_both(scenario)
    assert ref == (["b", "c"], True, False, False)
    assert ours == (["b", "c"], True, False, True)


def test_lock_newcomer_cannot_overtake_a_woken_waiter() -> None:
    async def scenario(aio: Any) -> object:
        lock = aio.Lock()
        order: list[str] = []

        async def worker(name: str) -> None:
            async with lock:
                order.append(name)

        await lock.acquire()
        waiter = aio.ensure_future(worker("waiter"))
        await settle(aio)
        lock.release()
        newcomer = aio.ensure_future(worker("newcomer"))
        await aio.gather(waiter, newcomer)
        return order

    assert same_on_both(scenario) == ["waiter", "newcomer"]


# -- Event ----------------------------------------------------------------------------------


def test_event_set_wakes_every_waiter_and_clear_resets() -> None:
    async def scenario(aio: Any) -> object:
        event = aio.Event()
        woken: list[object] = []

        async def waiter(i: int) -> None:
            woken.append((i, await event.wait()))

        tasks = [aio.ensure_future(waiter(i)) for i in range(3)]
        await settle(aio)
        observed: list[object] = [event.is_set(), list(woken)]
        event.set()
        event.set()
        await aio.gather(*tasks)
        observed.append(sorted(woken))  # type: ignore[type-var]
        observed.append(await event.wait())  # already set: returns at once
        event.clear()
        observed.append(event.is_set())
        late = aio.ensure_future(event.wait())
        await settle(aio)
        observed.append(late.done())
        event.set()
        event.clear()  # set then clear before the waiter runs: it still wakes
        observed.append(await late)
        return observed

    assert same_on_both(scenario) == [
        False,
        [],
        [(0, True), (1, True), (2, True)],
        True,
        False,
        False,
        True,
    ]


# -- Condition ------------------------------------------------------------------------------


def test_condition_notify_wakes_waiters_in_order() -> None:
    async def scenario(aio: Any) -> object:
        cond = aio.Condition()
        woken: list[int] = []

        async def waiter(i: int) -> None:
            async with cond:
                assert await cond.wait() is True
                woken.append(i)

        tasks = [aio.ensure_future(waiter(i)) for i in range(5)]
        await settle(aio)
        async with cond:
            cond.notify(2)
        await settle(aio)
        observed: list[object] = [list(woken)]
        async with cond:
            cond.notify()
        await settle(aio)
        observed.append(list(woken))
        async with cond:
            cond.notify_all()
        await aio.gather(*tasks)
        observed.append(woken)
        return observed

    assert same_on_both(scenario) == [[0, 1], [0, 1, 2], [0, 1, 2, 3, 4]]


def test_condition_needs_its_lock_held() -> None:
    async def scenario(aio: Any) -> object:
        cond = aio.Condition()
        observed = [raised(cond.notify), raised(cond.notify_all)]
        try:
            await cond.wait()
        except RuntimeError:
            observed.append("RuntimeError")
        try:
            await cond.wait_for(lambda: False)
        except RuntimeError:
            observed.append("RuntimeError")
        lock = aio.Lock()
        shared = aio.Condition(lock)
        await lock.acquire()
        observed.append(str(shared.locked()))
        lock.release()
        return observed

    assert same_on_both(scenario) == ["RuntimeError"] * 4 + ["True"]


def test_condition_wait_for_returns_the_predicates_final_value() -> None:
    async def scenario(aio: Any) -> object:
        cond = aio.Condition()
        box: list[int] = []
        checks: list[int] = []

        def predicate() -> object:
            checks.append(len(box))
            return len(box) >= 2 and f"have {len(box)}"

        async def consumer() -> object:
            async with cond:
                return await cond.wait_for(predicate)

        task = aio.ensure_future(consumer())
        for i in range(3):
            await settle(aio)
            async with cond:
                box.append(i)
                cond.notify()
        return await task, checks

    assert same_on_both(scenario) == ("have 2", [0, 1, 2])


def test_condition_wait_reacquires_the_lock_even_when_cancelled() -> None:
    async def scenario(aio: Any) -> object:
        cond = aio.Condition()
        observed: list[object] = []

        async def waiter() -> None:
            async with cond:
                try:
                    await cond.wait()
                except aio.CancelledError:
                    observed.append(("held when cancelled", cond.locked()))
                    raise

        task = aio.ensure_future(waiter())
        await settle(aio)
        await cond.acquire()  # hold the lock while the waiter is cancelled
        task.cancel()
        await settle(aio)
        observed.append(("waiter done while lock held", task.done()))
        cond.release()
        await aio.gather(task, return_exceptions=True)
        observed.append((task.cancelled(), cond.locked()))
        return observed

    assert same_on_both(scenario) == [
        ("waiter done while lock held", False),
        ("held when cancelled", True),
        (True, False),
    ]


# -- Semaphores -----------------------------------------------------------------------------


def test_semaphore_counts_permits_and_serves_waiters_in_order() -> None:
    async def scenario(aio: Any) -> object:
        observed: list[object] = [raised(lambda: aio.Semaphore(-1))]
        sem = aio.Semaphore(2)
        order: list[int] = []
        observed.append(sem.locked())
        await sem.acquire()
        await sem.acquire()
        observed.append(sem.locked())

        async def worker(i: int) -> None:
            async with sem:
                order.append(i)
                await aio.sleep(0)

        tasks = [aio.ensure_future(worker(i)) for i in range(4)]
        await settle(aio)
        sem.release()
        sem.release()
        await aio.gather(*tasks)
        observed.append(order)
        observed.append(sem.locked())
        sem.release()  # a plain Semaphore may go above its initial value
        observed.append(aio.Semaphore(0).locked())
        return observed

    assert same_on_both(scenario) == ["ValueError", False, True, [0, 1, 2, 3], False, True]


def test_bounded_semaphore_refuses_a_release_above_the_initial_value() -> None:
    async def scenario(aio: Any) -> object:
        sem = aio.BoundedSemaphore(1)
        first = raised(sem.release)
        await sem.acquire()
        sem.release()
        return first, raised(sem.release), sem.locked()

    assert same_on_both(scenario) == ("ValueError", "ValueError", False)


def test_semaphore_waiter_cancelled_while_woken_keeps_the_permit_count() -> None:
    async def scenario(aio: Any) -> object:
        sem = aio.Semaphore(0)
        got: list[str] = []

        async def worker(name: str) -> None:
            await sem.acquire()
            got.append(name)

        tasks = {n: aio.ensure_future(worker(n)) for n in "abc"}
        await settle(aio)
        sem.release()
        tasks["a"].cancel()
        await settle(aio)
        observed: list[object] = [list(got)]
        sem.release()
        await settle(aio)
        observed.append(list(got))
        await cancel_all(aio, list(tasks.values()))
        observed.append(sem.locked())
        return observed

    assert same_on_both(scenario) == [["b"], ["b", "c"], True]


# -- Barrier --------------------------------------------------------------------------------


def test_barrier_releases_all_parties_with_distinct_indices() -> None:
    if not hasattr(asyncio, "Barrier"):
        pytest.skip("asyncio.Barrier is 3.11+")

    async def scenario(aio: Any) -> object:
        barrier = aio.Barrier(3)
        observed: list[object] = [barrier.parties, barrier.n_waiting, barrier.broken]
        tasks = [aio.ensure_future(barrier.wait()) for _ in range(2)]
        await settle(aio)
        observed.append(barrier.n_waiting)
        last = await barrier.wait()
        observed.append((sorted([last, *(await aio.gather(*tasks))]), barrier.n_waiting))
        # Reusable after a round; `async with` gives the index too.
        single = aio.Barrier(1)
        async with single as index:
            observed.append(index)
        async with single as index:
            observed.append(index)
        return observed

    assert same_on_both(scenario) == [3, 0, False, 2, ([0, 1, 2], 0), 0, 0]


def test_barrier_abort_and_reset_break_the_waiters() -> None:
    if not hasattr(asyncio, "Barrier"):
        pytest.skip("asyncio.Barrier is 3.11+")

    async def scenario(aio: Any) -> object:
        barrier = aio.Barrier(3)
        waiters = [aio.ensure_future(barrier.wait()) for _ in range(2)]
        await settle(aio)
        await barrier.abort()
        results = await aio.gather(*waiters, return_exceptions=True)
        observed: list[object] = [[type(r).__name__ for r in results], barrier.broken]
        try:
            await barrier.wait()
        except aio.BrokenBarrierError:
            observed.append("BrokenBarrierError")
        await barrier.reset()
        observed.append(barrier.broken)
        waiters = [aio.ensure_future(barrier.wait()) for _ in range(2)]
        await settle(aio)
        await barrier.reset()
        results = await aio.gather(*waiters, return_exceptions=True)
        observed.append([type(r).__name__ for r in results])
        observed.append((barrier.broken, barrier.n_waiting))
        observed.append(raised(lambda: aio.Barrier(0)))
        return observed

    assert same_on_both(scenario) == [
        ["BrokenBarrierError", "BrokenBarrierError"],
        True,
        "BrokenBarrierError",
        False,
        ["BrokenBarrierError", "BrokenBarrierError"],
        (False, 0),
        "ValueError",
    ]


# -- Queues ---------------------------------------------------------------------------------


def test_queue_kinds_order_their_items() -> None:
    async def scenario(aio: Any) -> object:
        observed: list[object] = []
        for cls in (aio.Queue, aio.LifoQueue, aio.PriorityQueue):
            q = cls()
            for item in (3, 1, 2):
                q.put_nowait(item)
            observed.append([q.get_nowait() for _ in range(3)])
        return observed

    assert same_on_both(scenario) == [[3, 1, 2], [2, 1, 3], [1, 2, 3]]


def test_queue_size_rules_and_nowait_errors() -> None:
    async def scenario(aio: Any) -> object:
        observed: list[object] = []
        for maxsize in (0, -1):
            q = aio.Queue(maxsize)
            for i in range(100):
                q.put_nowait(i)
            observed.append((q.maxsize, q.full(), q.qsize(), q.empty()))
        q = aio.Queue(2)
        observed.append((q.maxsize, q.empty(), q.full()))
        q.put_nowait("a")
        await q.put("b")
        observed.append((q.full(), q.qsize(), raised(lambda: q.put_nowait("c"))))
        observed.append([q.get_nowait(), await q.get(), raised(q.get_nowait)])
        return observed

    assert same_on_both(scenario) == [
        (0, False, 100, False),
        (-1, False, 100, False),
        (2, True, False),
        (True, 2, "QueueFull"),
        ["a", "b", "QueueEmpty"],
    ]


def test_queue_float_maxsize_is_accepted_as_cpython_does() -> None:
    async def scenario(aio: Any) -> object:
        observed: list[object] = []
        for maxsize in (2.5, 1.0, 0.5, 0.0, -0.5):
            q = aio.Queue(maxsize)
            fills = 0
            while fills < 10 and not q.full():
                q.put_nowait(fills)
                fills += 1
            observed.append((q.maxsize, fills, q.full(), raised(lambda q=q: q.put_nowait(0))))
        return observed

    assert same_on_both(scenario) == [
        (2.5, 3, True, "QueueFull"),
        (1.0, 1, True, "QueueFull"),
        (0.5, 1, True, "QueueFull"),
        (0.0, 10, False, "no error"),
        (-0.5, 10, False, "no error"),
    ]


def test_queue_nowait_errors_are_also_the_queue_modules() -> None:
    # differences/loopsync.rst: QueueEmpty/QueueFull subclass queue.Empty/queue.Full,
    # which the 3.4 docs named; CPython's subclass Exception only.
    q = loopsync.Queue(1)
    with pytest.raises(queue.Empty):
        q.get_nowait()
    q.put_nowait(1)
    with pytest.raises(queue.Full):
        q.put_nowait(2)
    assert not issubclass(asyncio.QueueEmpty, queue.Empty)


def test_queue_getters_and_putters_are_served_in_order() -> None:
    async def scenario(aio: Any) -> object:
        q = aio.Queue(1)
        got: list[object] = []

        async def getter(i: int) -> None:
            got.append((i, await q.get()))

        getters = [aio.ensure_future(getter(i)) for i in range(3)]
        await settle(aio)
        for item in "xyz":
            await q.put(item)
        await aio.gather(*getters)
        q.put_nowait("first")
        putters = [aio.ensure_future(q.put(i)) for i in range(3)]
        await settle(aio)
        drained = [await q.get() for _ in range(4)]
        await aio.gather(*putters)
        return got, drained, q.qsize()

    assert same_on_both(scenario) == (
        [(0, "x"), (1, "y"), (2, "z")],
        ["first", 0, 1, 2],
        0,
    )


def test_queue_cancelled_get_loses_no_item_and_cancelled_put_inserts_none() -> None:
    async def scenario(aio: Any) -> object:
        q = aio.Queue(1)
        getter = aio.ensure_future(q.get())
        await settle(aio)
        q.put_nowait("item")
        getter.cancel()  # woken with the item on its way, then cancelled
        await aio.gather(getter, return_exceptions=True)
        observed: list[object] = [getter.cancelled(), q.qsize(), q.get_nowait()]
        q.put_nowait("full")
        putter = aio.ensure_future(q.put("never"))
        await settle(aio)
        putter.cancel()
        await aio.gather(putter, return_exceptions=True)
        observed.append((putter.cancelled(), q.qsize(), q.get_nowait(), q.empty()))
        return observed

    assert same_on_both(scenario) == [True, 1, "item", (True, 1, "full", True)]


def test_queue_task_done_and_join() -> None:
    async def scenario(aio: Any) -> object:
        q = aio.Queue()
        observed: list[object] = [raised(q.task_done)]
        await q.join()  # nothing unfinished: returns at once
        for i in range(3):
            q.put_nowait(i)
        joiner = aio.ensure_future(q.join())
        await settle(aio)
        for _ in range(3):
            q.get_nowait()
        q.task_done()
        q.task_done()
        await settle(aio)
        observed.append(joiner.done())
        q.task_done()
        await settle(aio)
        observed.append(joiner.done())
        observed.append(raised(q.task_done))
        return observed

    assert same_on_both(scenario) == ["ValueError", False, True, "ValueError"]


def test_joinable_queue_is_the_34_name_of_a_queue() -> None:
    async def scenario(aio: Any) -> object:
        q = aio.JoinableQueue()
        q.put_nowait(1)
        q.get_nowait()
        q.task_done()
        await q.join()
        return isinstance(q, aio.Queue), raised(q.task_done)

    assert _run(OURS, scenario) == (True, "ValueError")


@pytest.mark.skipif(sys.version_info < (3, 13), reason="asyncio's Queue.shutdown is 3.13")
def test_queue_shutdown_lets_getters_drain_then_raises() -> None:
    async def scenario(aio: Any) -> object:
        q = aio.Queue(2)
        q.put_nowait("a")
        q.put_nowait("b")
        putter = aio.ensure_future(q.put("blocked"))
        await settle(aio)
        q.shutdown()
        (put_result,) = await aio.gather(putter, return_exceptions=True)
        observed: list[object] = [type(put_result).__name__]
        observed.append(raised(lambda: q.put_nowait("x")))
        observed.append([await q.get(), q.get_nowait()])
        try:
            await q.get()
        except aio.QueueShutDown:
            observed.append("QueueShutDown")
        observed.append(raised(q.get_nowait))
        getter_queue = aio.Queue()
        getter = aio.ensure_future(getter_queue.get())
        await settle(aio)
        getter_queue.shutdown()
        (get_result,) = await aio.gather(getter, return_exceptions=True)
        observed.append(type(get_result).__name__)
        return observed

    assert same_on_both(scenario) == [
        "QueueShutDown",
        "QueueShutDown",
        ["a", "b"],
        "QueueShutDown",
        "QueueShutDown",
        "QueueShutDown",
    ]


@pytest.mark.skipif(sys.version_info < (3, 13), reason="asyncio's Queue.shutdown is 3.13")
def test_queue_shutdown_immediate_drops_items_and_releases_join() -> None:
    async def scenario(aio: Any) -> object:
        q = aio.Queue()
        for i in range(3):
            q.put_nowait(i)
        q.get_nowait()  # one taken, not yet marked done
        joiner = aio.ensure_future(q.join())
        await settle(aio)
        q.shutdown(immediate=True)
        await settle(aio)
        observed: list[object] = [q.qsize(), q.empty(), joiner.done()]
        observed.append(raised(q.get_nowait))
        q.task_done()  # the one taken before the shutdown
        await settle(aio)
        observed.append(joiner.done())
        observed.append(raised(q.task_done))
        return observed

    assert same_on_both(scenario) == [0, True, False, "QueueShutDown", True, "ValueError"]


def test_semaphore_newcomer_waits_behind_existing_waiters() -> None:
    async def scenario(aio: Any) -> object:
        sem = aio.Semaphore(0)
        order: list[str] = []

        async def worker(name: str) -> None:
            async with sem:
                order.append(name)

        waiter = aio.ensure_future(worker("waiter"))
        await settle(aio)
        sem.release()
        newcomer = aio.ensure_future(worker("newcomer"))
        await aio.gather(waiter, newcomer)
        return order, sem.locked()

    assert same_on_both(scenario) == (["waiter", "newcomer"], False)


def test_condition_notified_waiter_cancelled_before_it_runs_passes_the_wakeup_on() -> None:
    async def scenario(aio: Any) -> object:
        cond = aio.Condition()
        woken: list[str] = []

        async def waiter(name: str) -> None:
            async with cond:
                await cond.wait()
                woken.append(name)

        tasks = {n: aio.ensure_future(waiter(n)) for n in "abc"}
        await settle(aio)
        async with cond:
            cond.notify(1)
            tasks["a"].cancel()
        await settle(aio, 10)
        observed: list[object] = [list(woken), tasks["a"].cancelled()]
        await cancel_all(aio, list(tasks.values()))
        observed.append(cond.locked())
        return observed

    # The rule (a waiter cancelled while being woken passes the wake-up
    # on) is CPython's since 3.13; older versions lose the notification.
    ref, ours = on_both(scenario)
    assert ours == [["b"], True, False]
    if sys.version_info >= (3, 13):
        assert ours == ref


def test_event_waiter_cancelled_is_not_woken_and_others_are() -> None:
    async def scenario(aio: Any) -> object:
        event = aio.Event()
        waiters = [aio.ensure_future(event.wait()) for _ in range(3)]
        await settle(aio)
        waiters[1].cancel()
        await settle(aio)
        event.set()
        results = await aio.gather(*waiters, return_exceptions=True)
        return [r if r is True else type(r).__name__ for r in results]

    assert same_on_both(scenario) == [True, "CancelledError", True]


def test_barrier_waiter_cancelled_while_filling_leaves_the_count() -> None:
    if not hasattr(asyncio, "Barrier"):
        pytest.skip("asyncio.Barrier is 3.11+")

    async def scenario(aio: Any) -> object:
        barrier = aio.Barrier(3)
        waiters = [aio.ensure_future(barrier.wait()) for _ in range(2)]
        await settle(aio)
        waiters[0].cancel()
        await settle(aio)
        observed: list[object] = [barrier.n_waiting, barrier.broken, waiters[0].cancelled()]
        others = [aio.ensure_future(barrier.wait()) for _ in range(2)]
        results = await aio.gather(waiters[1], *others)
        observed.append(sorted(results))
        return observed

    # The docs: wait() "returns a unique integer in the range 0 to parties-1".
    # CPython gives the task that arrived after the cancelled one the same index
    # as the next arrival; loopsync moves it up so the indices stay distinct.
    ref, ours = on_both(scenario)
    assert ref == [1, False, True, [1, 1, 2]]
    assert ours == [1, False, True, [0, 1, 2]]


def test_barrier_indices_stay_distinct_after_abort_and_reset() -> None:
    async def scenario(aio: Any) -> object:
        barrier = aio.Barrier(2)
        waiter = aio.ensure_future(barrier.wait())
        await settle(aio)
        await barrier.abort()
        await aio.gather(waiter, return_exceptions=True)
        await barrier.reset()
        first = aio.ensure_future(barrier.wait())
        await settle(aio)
        return sorted([await barrier.wait(), await first])

    assert _run(OURS, scenario) == [0, 1]


def test_queue_join_waits_for_unfinished_items_after_a_plain_shutdown() -> None:
    if sys.version_info < (3, 13):
        pytest.skip("asyncio's Queue.shutdown is 3.13")

    async def scenario(aio: Any) -> object:
        q = aio.Queue()
        q.put_nowait("a")
        q.shutdown()
        joiner = aio.ensure_future(q.join())
        await settle(aio)
        observed: list[object] = [joiner.done(), q.get_nowait()]
        q.task_done()
        await settle(aio)
        observed.append(joiner.done())
        return observed

    assert same_on_both(scenario) == [False, "a", True]


def test_condition_waiter_cancelled_before_notify_wakes_nobody() -> None:
    # differences/loopsync.rst "No spurious wake-up from a cancelled Condition
    # waiter": CPython 3.13 wakes the next waiter (allowed by the docs); loopsync not.
    async def scenario(aio: Any) -> object:
        cond = aio.Condition()
        woken: list[str] = []

        async def waiter(name: str) -> None:
            async with cond:
                await cond.wait()
                woken.append(name)

        first = aio.ensure_future(waiter("first"))
        await settle(aio)
        second = aio.ensure_future(waiter("second"))
        await settle(aio)
        first.cancel()
        await settle(aio, 10)
        observed = [list(woken), first.cancelled()]
        await cancel_all(aio, [first, second])
        return observed

    ref, ours = on_both(scenario)
    assert ours == [[], True]
    if sys.version_info >= (3, 13):
        assert ref == [["second"], True]


def test_error_messages_contain_asyncio_wording() -> None:
    # loopsync's messages say more (the object, what to do) but keep asyncio's
    # wording, so code and tests that match on it keep working.
    async def scenario(aio: Any) -> object:
        messages: dict[str, str] = {}

        def message(name: str, call: Callable[[], object]) -> None:
            try:
                call()
            except (RuntimeError, ValueError) as exc:
                messages[name] = str(exc)

        message("lock release", aio.Lock().release)
        message("semaphore value", lambda: aio.Semaphore(-1))
        message("bounded release", aio.BoundedSemaphore(1).release)
        message("task_done", aio.Queue().task_done)
        cond = aio.Condition()
        message("notify", cond.notify)
        message("notify_all", cond.notify_all)
        try:
            await cond.wait()
        except RuntimeError as exc:
            messages["wait"] = str(exc)
        if hasattr(aio, "Barrier"):
            message("barrier parties", lambda: aio.Barrier(0))
        return messages

    ref, ours = on_both(scenario)
    assert set(ours) >= set(ref)  # type: ignore[arg-type]
    for name, text in ref.items():  # type: ignore[attr-defined]
        assert text.rstrip(".") in ours[name], (name, text, ours[name])  # type: ignore[index]
