"""Semaphore and BoundedSemaphore: permits, FIFO hand-over, cancellation safety."""

from __future__ import annotations

from collections.abc import Coroutine

import pytest

import loopcore
import loopsync


def spawn(coro: Coroutine[object, object, object]) -> loopcore.Task[object]:
    return loopcore.get_running_loop().create_task(coro)


async def settle(steps: int = 5) -> None:
    for _ in range(steps):
        await loopcore.sleep(0)


async def test_initial_value_below_zero_raises_value_error() -> None:
    with pytest.raises(ValueError, match="-1"):
        loopsync.Semaphore(-1)
    with pytest.raises(ValueError, match="-2"):
        loopsync.BoundedSemaphore(-2)


async def test_default_value_is_one() -> None:
    sem = loopsync.Semaphore()
    assert not sem.locked()
    assert await sem.acquire() is True
    assert sem.locked()
    sem.release()


async def test_value_zero_is_locked_from_the_start() -> None:
    sem = loopsync.Semaphore(0)
    assert sem.locked()
    waiter = spawn(sem.acquire())
    await settle()
    assert not waiter.done()
    sem.release()
    assert await waiter is True


async def test_acquire_takes_permits_until_none_is_left() -> None:
    sem = loopsync.Semaphore(3)
    for _ in range(3):
        assert not sem.locked()
        await sem.acquire()
    assert sem.locked()
    blocked = spawn(sem.acquire())
    await settle()
    assert not blocked.done()
    sem.release()
    await blocked
    assert sem.locked()


async def test_async_with_takes_and_gives_back_a_permit() -> None:
    sem = loopsync.Semaphore(1)
    async with sem:
        assert sem.locked()
    assert not sem.locked()


async def test_plain_semaphore_may_be_released_above_its_initial_value() -> None:
    sem = loopsync.Semaphore(1)
    sem.release()
    await sem.acquire()
    await sem.acquire()
    assert sem.locked()


async def test_bounded_semaphore_release_above_initial_value_raises_value_error() -> None:
    sem = loopsync.BoundedSemaphore(2)
    with pytest.raises(ValueError, match="initial value 2"):
        sem.release()
    await sem.acquire()
    sem.release()
    with pytest.raises(ValueError):
        sem.release()


async def test_bounded_semaphore_release_with_waiters_hands_over_within_the_bound() -> None:
    sem = loopsync.BoundedSemaphore(1)
    await sem.acquire()
    waiter = spawn(sem.acquire())
    await settle()
    sem.release()
    await waiter
    sem.release()
    with pytest.raises(ValueError):
        sem.release()


async def test_waiters_get_permits_in_fifo_order() -> None:
    sem = loopsync.Semaphore(2)
    order: list[int] = []

    async def worker(n: int) -> None:
        async with sem:
            order.append(n)
            await settle(2)

    await sem.acquire()
    await sem.acquire()
    tasks = [spawn(worker(n)) for n in range(6)]
    await settle()
    sem.release()
    sem.release()
    for task in tasks:
        await task
    assert order == list(range(6))
    assert not sem.locked()


async def test_release_hands_the_permit_to_a_waiter_so_a_newcomer_cannot_barge() -> None:
    sem = loopsync.Semaphore(0)
    first = spawn(sem.acquire())
    await settle()
    sem.release()
    assert sem.locked()  # the permit already belongs to `first`
    newcomer = spawn(sem.acquire())
    await settle()
    assert first.done() and not newcomer.done()
    sem.release()
    await newcomer


async def test_waiter_cancelled_after_hand_over_gives_the_permit_back() -> None:
    sem = loopsync.Semaphore(0)
    first = spawn(sem.acquire())
    await settle()
    sem.release()
    first.cancel()
    await settle()
    assert first.cancelled()
    assert not sem.locked()  # the permit was not lost
    assert await sem.acquire() is True


async def test_waiter_cancelled_after_hand_over_passes_the_permit_to_the_next_waiter() -> None:
    sem = loopsync.Semaphore(0)
    first = spawn(sem.acquire())
    second = spawn(sem.acquire())
    await settle()
    sem.release()
    first.cancel()
    await settle()
    assert first.cancelled()
    assert second.result() is True
    assert sem.locked()


async def test_cancelled_waiter_is_skipped_by_release() -> None:
    sem = loopsync.Semaphore(0)
    cancelled = spawn(sem.acquire())
    second = spawn(sem.acquire())
    await settle()
    cancelled.cancel()
    await settle()
    sem.release()
    await second
    assert sem.locked()


async def test_repr_shows_value_and_waiter_count() -> None:
    sem = loopsync.Semaphore(2)
    assert repr(sem) == "<Semaphore [unlocked, value:2]>"
    await sem.acquire()
    await sem.acquire()
    assert repr(sem) == "<Semaphore [locked]>"
    waiter = spawn(sem.acquire())
    await settle()
    assert repr(sem) == "<Semaphore [locked, waiters:1]>"
    sem.release()
    await waiter
    assert repr(loopsync.BoundedSemaphore(1)) == "<BoundedSemaphore [unlocked, value:1]>"
