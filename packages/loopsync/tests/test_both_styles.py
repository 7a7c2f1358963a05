"""Every primitive works from ``@loopcore.coroutine`` generators (``yield from``, the
3.4 style) and from ``async def`` coroutines, and the two styles share them."""

from __future__ import annotations

from collections.abc import Coroutine, Generator

import pytest

import loopcore
import loopsync


def spawn(
    coro: Coroutine[object, object, object] | Generator[object, None, object],
) -> loopcore.Task[object]:
    return loopcore.get_running_loop().create_task(coro)


async def settle(steps: int = 5) -> None:
    for _ in range(steps):
        await loopcore.sleep(0)


# -- Lock -----------------------------------------------------------------------------


async def test_lock_with_yield_from_and_async_with_exclude_each_other() -> None:
    lock = loopsync.Lock()
    log: list[str] = []

    @loopcore.coroutine
    def old_style() -> Generator[object, None, None]:
        with (yield from lock):
            log.append("old in")
            yield from loopcore.sleep(0)
            log.append("old out")

    async def new_style() -> None:
        async with lock:
            log.append("new in")
            await loopcore.sleep(0)
            log.append("new out")

    tasks = [spawn(old_style()), spawn(new_style()), spawn(old_style())]
    for task in tasks:
        await task
    assert log == ["old in", "old out", "new in", "new out", "old in", "old out"]
    assert not lock.locked()


async def test_lock_acquire_with_yield_from_returns_true() -> None:
    lock = loopsync.Lock()

    @loopcore.coroutine
    def old_style() -> Generator[object, None, bool]:
        got = yield from lock.acquire()
        lock.release()
        return got

    assert await old_style() is True


async def test_with_yield_from_lock_releases_on_error() -> None:
    lock = loopsync.Lock()

    @loopcore.coroutine
    def old_style() -> Generator[object, None, None]:
        with (yield from lock):
            raise KeyError("boom")

    with pytest.raises(KeyError):
        await old_style()
    assert not lock.locked()


# -- Event ----------------------------------------------------------------------------


async def test_event_waited_with_yield_from_is_set_from_async_def() -> None:
    event = loopsync.Event()

    @loopcore.coroutine
    def old_style() -> Generator[object, None, bool]:
        return (yield from event.wait())

    waiter = spawn(old_style())
    await settle()
    event.set()
    assert await waiter is True


# -- Condition ------------------------------------------------------------------------


async def test_condition_with_yield_from_waits_and_async_def_notifies() -> None:
    cond = loopsync.Condition()
    items: list[int] = []

    @loopcore.coroutine
    def old_style() -> Generator[object, None, int]:
        with (yield from cond):
            yield from cond.wait_for(lambda: items)
            return items.pop()

    async def new_style() -> None:
        async with cond:
            items.append(42)
            cond.notify()

    consumer = spawn(old_style())
    await settle()
    await new_style()
    assert await consumer == 42
    assert not cond.locked()


async def test_condition_wait_with_yield_from_returns_true() -> None:
    cond = loopsync.Condition()

    @loopcore.coroutine
    def old_style() -> Generator[object, None, bool]:
        yield from cond.acquire()
        try:
            return (yield from cond.wait())
        finally:
            cond.release()

    waiter = spawn(old_style())
    await settle()
    async with cond:
        cond.notify_all()
    assert await waiter is True


# -- Semaphores -----------------------------------------------------------------------


@pytest.mark.parametrize("cls", [loopsync.Semaphore, loopsync.BoundedSemaphore])
async def test_semaphore_with_yield_from_and_async_with_share_the_permits(
    cls: type[loopsync.Semaphore],
) -> None:
    sem = cls(2)
    inside = 0
    most = 0

    @loopcore.coroutine
    def old_style() -> Generator[object, None, None]:
        nonlocal inside, most
        with (yield from sem):
            inside += 1
            most = max(most, inside)
            yield from loopcore.sleep(0)
            inside -= 1

    async def new_style() -> None:
        nonlocal inside, most
        async with sem:
            inside += 1
            most = max(most, inside)
            await loopcore.sleep(0)
            inside -= 1

    tasks = [spawn(old_style() if i % 2 else new_style()) for i in range(6)]
    for task in tasks:
        await task
    assert most == 2
    assert not sem.locked()


# -- Barrier --------------------------------------------------------------------------


async def test_barrier_parties_of_both_styles_meet() -> None:
    barrier = loopsync.Barrier(2)

    @loopcore.coroutine
    def old_style() -> Generator[object, None, int]:
        return (yield from barrier.wait())

    old = spawn(old_style())
    await settle()
    assert await barrier.wait() == 1
    assert await old == 0

    @loopcore.coroutine
    def old_reset_and_abort() -> Generator[object, None, None]:
        yield from barrier.abort()
        yield from barrier.reset()

    await old_reset_and_abort()
    assert not barrier.broken


# -- Queues ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls", [loopsync.Queue, loopsync.PriorityQueue, loopsync.LifoQueue, loopsync.JoinableQueue]
)
async def test_queue_producer_of_one_style_feeds_consumer_of_the_other(
    cls: type[loopsync.Queue[int]],
) -> None:
    q = cls(maxsize=1)
    got: list[int] = []

    @loopcore.coroutine
    def old_producer() -> Generator[object, None, None]:
        for i in range(3):
            yield from q.put(i)
        yield from q.join()

    async def new_consumer() -> None:
        for _ in range(3):
            got.append(await q.get())
            q.task_done()

    @loopcore.coroutine
    def old_consumer() -> Generator[object, None, None]:
        for _ in range(3):
            got.append((yield from q.get()))
            q.task_done()

    async def new_producer() -> None:
        for i in range(3):
            await q.put(i)
        await q.join()

    for producer, consumer in ((old_producer, new_consumer), (new_producer, old_consumer)):
        got.clear()
        tasks = [spawn(producer()), spawn(consumer())]
        for task in tasks:
            await task
        assert got == [0, 1, 2]  # maxsize=1: each item is taken before the next is put
