"""Lock: acquire/release/locked, FIFO hand-over, cancellation safety."""

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


async def test_acquire_returns_true_and_locks() -> None:
    lock = loopsync.Lock()
    assert not lock.locked()
    assert await lock.acquire() is True
    assert lock.locked()
    lock.release()
    assert not lock.locked()


async def test_release_of_unlocked_lock_raises_runtime_error() -> None:
    lock = loopsync.Lock()
    with pytest.raises(RuntimeError, match="unlocked"):
        lock.release()
    await lock.acquire()
    lock.release()
    with pytest.raises(RuntimeError, match="unlocked"):
        lock.release()


async def test_async_with_holds_lock_inside_and_releases_on_exit_even_on_error() -> None:
    lock = loopsync.Lock()
    async with lock:
        assert lock.locked()
    assert not lock.locked()
    with pytest.raises(ZeroDivisionError):
        async with lock:
            assert lock.locked()
            1 / 0
    assert not lock.locked()


async def test_second_acquire_waits_until_release() -> None:
    lock = loopsync.Lock()
    await lock.acquire()
    waiter = spawn(lock.acquire())
    await settle()
    assert not waiter.done()
    lock.release()
    await settle()
    assert waiter.result() is True
    assert lock.locked()
    lock.release()


async def test_any_task_may_release_the_lock() -> None:
    lock = loopsync.Lock()
    await spawn(lock.acquire())
    assert lock.locked()
    lock.release()  # not the task that acquired it
    assert not lock.locked()


async def test_waiters_get_the_lock_in_fifo_order() -> None:
    lock = loopsync.Lock()
    order: list[int] = []

    async def worker(n: int) -> None:
        async with lock:
            order.append(n)
            await settle(2)

    await lock.acquire()
    tasks = [spawn(worker(n)) for n in range(5)]
    await settle()
    lock.release()
    for task in tasks:
        await task
    assert order == [0, 1, 2, 3, 4]
    assert not lock.locked()


async def test_release_hands_the_lock_to_the_first_waiter_so_a_newcomer_cannot_barge() -> None:
    lock = loopsync.Lock()
    await lock.acquire()
    first = spawn(lock.acquire())
    await settle()
    lock.release()
    # The woken waiter has not run yet: the lock is already its own.
    assert lock.locked()
    newcomer = spawn(lock.acquire())
    await settle()
    assert first.done() and not newcomer.done()
    lock.release()
    await newcomer
    lock.release()


async def test_cancelled_waiter_is_skipped_by_release() -> None:
    lock = loopsync.Lock()
    await lock.acquire()
    cancelled = spawn(lock.acquire())
    second = spawn(lock.acquire())
    await settle()
    cancelled.cancel()
    await settle()
    assert cancelled.cancelled()
    lock.release()
    await second
    assert lock.locked()
    lock.release()
    assert not lock.locked()


async def test_waiter_cancelled_after_hand_over_passes_the_lock_to_the_next_waiter() -> None:
    lock = loopsync.Lock()
    await lock.acquire()
    first = spawn(lock.acquire())
    second = spawn(lock.acquire())
    await settle()
    lock.release()  # handed to `first`...
    first.cancel()  # ...which is cancelled before it runs
    await settle()
    assert first.cancelled()
    assert second.result() is True
    assert lock.locked()
    lock.release()
    assert not lock.locked()


async def test_waiter_cancelled_after_hand_over_unlocks_when_nobody_else_waits() -> None:
    lock = loopsync.Lock()
    await lock.acquire()
    only = spawn(lock.acquire())
    await settle()
    lock.release()
    only.cancel()
    await settle()
    assert only.cancelled()
    assert not lock.locked()  # never left held by nobody


async def test_cancelling_the_holder_does_not_release_a_lock_held_outside_async_with() -> None:
    lock = loopsync.Lock()

    async def hold() -> None:
        await lock.acquire()
        await loopcore.sleep(3600)

    holder = spawn(hold())
    await settle()
    holder.cancel()
    await settle()
    assert lock.locked()  # the lock is not owned: only release() frees it
    lock.release()


async def test_repr_shows_state_and_waiter_count() -> None:
    lock = loopsync.Lock()
    assert repr(lock) == "<Lock [unlocked]>"
    await lock.acquire()
    assert repr(lock) == "<Lock [locked]>"
    waiters = [spawn(lock.acquire()) for _ in range(2)]
    await settle()
    assert repr(lock) == "<Lock [locked, waiters:2]>"
    for waiter in waiters:
        waiter.cancel()
    await settle()
    lock.release()


async def test_yield_from_lock_gives_a_context_manager_that_releases_once() -> None:
    lock = loopsync.Lock()

    @loopcore.coroutine
    def body():  # type: ignore[no-untyped-def]
        with (yield from lock) as value:
            assert lock.locked()
            assert value is None
        assert not lock.locked()

    await body()


async def test_plain_with_on_a_lock_is_refused() -> None:
    lock = loopsync.Lock()
    with pytest.raises(TypeError):
        with lock:  # type: ignore[attr-defined]
            pass
    assert not lock.locked()
