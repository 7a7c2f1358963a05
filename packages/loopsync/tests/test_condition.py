"""Condition: wait/wait_for/notify/notify_all, the lock rules, cancellation."""

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


async def test_wait_without_the_lock_raises_runtime_error() -> None:
    cond = loopsync.Condition()
    with pytest.raises(RuntimeError, match="lock held"):
        await cond.wait()


async def test_notify_and_notify_all_without_the_lock_raise_runtime_error() -> None:
    cond = loopsync.Condition()
    with pytest.raises(RuntimeError, match="lock held"):
        cond.notify()
    with pytest.raises(RuntimeError, match="lock held"):
        cond.notify_all()


async def test_wait_for_without_the_lock_raises_when_it_has_to_wait() -> None:
    cond = loopsync.Condition()
    with pytest.raises(RuntimeError, match="lock held"):
        await cond.wait_for(lambda: False)


async def test_acquire_release_locked_use_the_underlying_lock() -> None:
    lock = loopsync.Lock()
    cond = loopsync.Condition(lock)
    assert await cond.acquire() is True
    assert cond.locked() and lock.locked()
    cond.release()
    assert not lock.locked()
    async with cond:
        assert lock.locked()
    assert not cond.locked()


async def test_wait_releases_the_lock_while_waiting_and_holds_it_on_return() -> None:
    cond = loopsync.Condition()
    seen: list[bool] = []

    async def waiter() -> None:
        async with cond:
            assert await cond.wait() is True
            seen.append(cond.locked())

    task = spawn(waiter())
    await settle()
    assert not cond.locked()  # released while waiting
    async with cond:
        cond.notify()
        await settle()
        assert not task.done()  # it needs the lock back first
    await task
    assert seen == [True]
    assert not cond.locked()


async def test_notify_wakes_n_waiters_in_fifo_order() -> None:
    cond = loopsync.Condition()
    woken: list[int] = []

    async def waiter(n: int) -> None:
        async with cond:
            await cond.wait()
            woken.append(n)

    tasks = [spawn(waiter(n)) for n in range(4)]
    await settle()
    async with cond:
        cond.notify(2)
    await settle()
    assert woken == [0, 1]
    async with cond:
        cond.notify()
    await settle()
    assert woken == [0, 1, 2]
    async with cond:
        cond.notify()
    for task in tasks:
        await task
    assert woken == [0, 1, 2, 3]


async def test_notify_all_wakes_every_waiter() -> None:
    cond = loopsync.Condition()
    tasks = []

    async def waiter() -> None:
        async with cond:
            await cond.wait()

    tasks = [spawn(waiter()) for _ in range(5)]
    await settle()
    async with cond:
        cond.notify_all()
    for task in tasks:
        await task


async def test_notify_with_no_waiters_does_nothing() -> None:
    cond = loopsync.Condition()
    async with cond:
        cond.notify()
        cond.notify_all()


async def test_wait_for_checks_the_predicate_first_and_returns_its_final_value() -> None:
    cond = loopsync.Condition()
    state = {"value": 0}
    async with cond:
        assert await cond.wait_for(lambda: "ready") == "ready"

    async def waiter() -> object:
        async with cond:
            return await cond.wait_for(lambda: state["value"] >= 2 and state["value"])

    task = spawn(waiter())
    for value in (1, 2):
        await settle()
        async with cond:
            state["value"] = value
            cond.notify()
    assert await task == 2


async def test_cancelled_wait_reacquires_the_lock_before_raising() -> None:
    cond = loopsync.Condition()
    observed: list[bool] = []

    async def waiter() -> None:
        await cond.acquire()
        try:
            await cond.wait()
        except loopcore.CancelledError:
            observed.append(cond.locked())
            cond.release()
            raise

    task = spawn(waiter())
    await settle()
    await cond.acquire()  # the lock is busy when the waiter is cancelled
    task.cancel()
    await settle()
    assert not task.done()  # it is waiting for the lock
    cond.release()
    await settle()
    assert task.cancelled()
    assert observed == [True]
    assert not cond.locked()


async def test_wait_cancelled_again_while_reacquiring_still_returns_holding_the_lock() -> None:
    cond = loopsync.Condition()
    observed: list[bool] = []

    async def waiter() -> None:
        await cond.acquire()
        try:
            await cond.wait()
        finally:
            observed.append(cond.locked())
            cond.release()

    task = spawn(waiter())
    await settle()
    await cond.acquire()
    task.cancel()
    await settle()
    task.cancel()  # cancelled a second time while it waits for the lock
    await settle()
    assert not task.done()
    cond.release()
    await settle()
    assert task.cancelled()
    assert observed == [True]


async def test_notified_waiter_that_is_cancelled_passes_the_notification_on() -> None:
    cond = loopsync.Condition()
    woken: list[int] = []

    async def waiter(n: int) -> None:
        async with cond:
            await cond.wait()
            woken.append(n)

    first = spawn(waiter(0))
    second = spawn(waiter(1))
    await settle()
    async with cond:
        cond.notify(1)  # meant for `first`...
        first.cancel()  # ...which is cancelled before it runs
    await settle()
    assert first.cancelled()
    assert woken == [1]
    await second


async def test_conditions_can_share_a_lock() -> None:
    lock = loopsync.Lock()
    a = loopsync.Condition(lock)
    b = loopsync.Condition(lock)
    async with a:
        assert b.locked()


async def test_lock_argument_must_be_a_loopsync_lock() -> None:
    # The compiled build's message is mypyc's ("loopsync.locks.Lock or None ...").
    with pytest.raises(TypeError, match=r"loopsync(\.locks)?\.Lock"):
        loopsync.Condition(object())  # type: ignore[arg-type]


async def test_repr_shows_state_and_waiter_count() -> None:
    cond = loopsync.Condition()
    assert repr(cond) == "<Condition [unlocked]>"

    async def waiter() -> None:
        async with cond:
            await cond.wait()

    task = spawn(waiter())
    await settle()
    assert repr(cond) == "<Condition [unlocked, waiters:1]>"
    async with cond:
        assert repr(cond) == "<Condition [locked, waiters:1]>"
        cond.notify()
    await task
