"""Event: set/clear/is_set/wait; every waiter wakes on set."""

from __future__ import annotations

from collections.abc import Coroutine

import loopcore
import loopsync


def spawn(coro: Coroutine[object, object, object]) -> loopcore.Task[object]:
    return loopcore.get_running_loop().create_task(coro)


async def settle(steps: int = 5) -> None:
    for _ in range(steps):
        await loopcore.sleep(0)


async def test_new_event_is_not_set() -> None:
    assert not loopsync.Event().is_set()


async def test_set_and_clear_change_is_set() -> None:
    event = loopsync.Event()
    event.set()
    assert event.is_set()
    event.set()  # idempotent
    assert event.is_set()
    event.clear()
    assert not event.is_set()


async def test_wait_on_a_set_event_returns_true_at_once() -> None:
    event = loopsync.Event()
    event.set()
    assert await event.wait() is True


async def test_wait_blocks_until_set_and_returns_true() -> None:
    event = loopsync.Event()
    waiter = spawn(event.wait())
    await settle()
    assert not waiter.done()
    event.set()
    assert await waiter is True


async def test_set_wakes_every_waiter() -> None:
    event = loopsync.Event()
    waiters = [spawn(event.wait()) for _ in range(5)]
    await settle()
    assert not any(w.done() for w in waiters)
    event.set()
    await settle()
    assert [w.result() for w in waiters] == [True] * 5


async def test_woken_waiter_returns_true_even_if_cleared_before_it_runs() -> None:
    event = loopsync.Event()
    waiter = spawn(event.wait())
    await settle()
    event.set()
    event.clear()
    assert await waiter is True


async def test_wait_after_clear_blocks_again() -> None:
    event = loopsync.Event()
    event.set()
    event.clear()
    waiter = spawn(event.wait())
    await settle()
    assert not waiter.done()
    event.set()
    await waiter


async def test_cancelled_waiter_leaves_the_others_waiting() -> None:
    event = loopsync.Event()
    cancelled = spawn(event.wait())
    other = spawn(event.wait())
    await settle()
    cancelled.cancel()
    await settle()
    assert cancelled.cancelled()
    assert repr(event) == "<Event [unset, waiters:1]>"
    event.set()
    assert await other is True


async def test_repr_shows_state_and_waiter_count() -> None:
    event = loopsync.Event()
    assert repr(event) == "<Event [unset]>"
    waiter = spawn(event.wait())
    await settle()
    assert repr(event) == "<Event [unset, waiters:1]>"
    event.set()
    assert repr(event) == "<Event [set]>"
    await waiter
