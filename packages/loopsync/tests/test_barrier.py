"""Barrier (CPython 3.11 semantics): rounds, arrival indexes, reset, abort, cancellation."""

from __future__ import annotations

from collections.abc import Coroutine

import pytest

import loopcore
import loopsync


def spawn(coro: Coroutine[object, object, object]) -> loopcore.Task[object]:
    return loopcore.get_running_loop().create_task(coro)


async def settle(steps: int = 10) -> None:
    for _ in range(steps):
        await loopcore.sleep(0)


async def test_parties_below_one_raise_value_error() -> None:
    with pytest.raises(ValueError, match="0"):
        loopsync.Barrier(0)


async def test_parties_property_is_the_constructor_argument() -> None:
    assert loopsync.Barrier(3).parties == 3


async def test_wait_blocks_until_parties_tasks_wait_then_returns_arrival_indexes() -> None:
    barrier = loopsync.Barrier(3)
    first = spawn(barrier.wait())
    second = spawn(barrier.wait())
    await settle()
    assert not first.done() and not second.done()
    assert barrier.n_waiting == 2
    assert await barrier.wait() == 2
    assert await first == 0
    assert await second == 1
    assert barrier.n_waiting == 0


async def test_single_party_barrier_never_blocks() -> None:
    barrier = loopsync.Barrier(1)
    assert await barrier.wait() == 0
    assert await barrier.wait() == 0


async def test_barrier_is_reusable_for_several_rounds() -> None:
    barrier = loopsync.Barrier(2)
    for _ in range(3):
        other = spawn(barrier.wait())
        indexes = {await barrier.wait(), await other}
        assert indexes == {0, 1}
    assert not barrier.broken


async def test_task_arriving_while_the_round_drains_waits_for_the_next_round() -> None:
    barrier = loopsync.Barrier(2)
    a = spawn(barrier.wait())
    b = spawn(barrier.wait())
    late = spawn(barrier.wait())  # its first step runs while a and b are draining
    await settle()
    assert {a.result(), b.result()} == {0, 1}
    assert not late.done()
    assert barrier.n_waiting == 1
    assert await barrier.wait() == 1
    assert await late == 0


async def test_n_waiting_counts_tasks_in_the_filling_round() -> None:
    barrier = loopsync.Barrier(3)
    assert barrier.n_waiting == 0
    tasks = [spawn(barrier.wait()) for _ in range(2)]
    await settle()
    assert barrier.n_waiting == 2
    await barrier.wait()
    for task in tasks:
        await task


async def test_abort_breaks_waiting_tasks_and_later_waits() -> None:
    barrier = loopsync.Barrier(3)
    waiters = [spawn(barrier.wait()) for _ in range(2)]
    await settle()
    await barrier.abort()
    assert barrier.broken
    for waiter in waiters:
        with pytest.raises(loopsync.BrokenBarrierError):
            await waiter
    with pytest.raises(loopsync.BrokenBarrierError):
        await barrier.wait()
    assert barrier.n_waiting == 0


async def test_reset_breaks_the_current_round_and_refills() -> None:
    barrier = loopsync.Barrier(2)
    waiter = spawn(barrier.wait())
    await settle()
    await barrier.reset()
    with pytest.raises(loopsync.BrokenBarrierError):
        await waiter
    assert not barrier.broken
    other = spawn(barrier.wait())
    await settle()
    assert await barrier.wait() == 1
    assert await other == 0


async def test_reset_makes_a_broken_barrier_usable_again() -> None:
    barrier = loopsync.Barrier(2)
    await barrier.abort()
    await barrier.reset()
    assert not barrier.broken
    other = spawn(barrier.wait())
    await barrier.wait()
    await other


async def test_reset_with_nobody_waiting_keeps_it_filling() -> None:
    barrier = loopsync.Barrier(2)
    await barrier.reset()
    assert repr(barrier) == "<Barrier [filling, waiters:0/2]>"


async def test_cancelled_waiter_leaves_the_round_without_breaking_the_barrier() -> None:
    barrier = loopsync.Barrier(2)
    cancelled = spawn(barrier.wait())
    await settle()
    assert barrier.n_waiting == 1
    cancelled.cancel()
    await settle()
    assert cancelled.cancelled()
    assert barrier.n_waiting == 0
    assert not barrier.broken
    other = spawn(barrier.wait())
    await settle()
    assert await barrier.wait() == 1
    assert await other == 0


async def test_async_with_waits_and_gives_the_arrival_index() -> None:
    barrier = loopsync.Barrier(2)

    async def party() -> int:
        async with barrier as index:
            return index

    other = spawn(party())
    await settle()
    assert await party() == 1
    assert await other == 0


async def test_broken_barrier_error_is_loopcores_runtime_error() -> None:
    assert loopsync.BrokenBarrierError is loopcore.BrokenBarrierError
    assert issubclass(loopsync.BrokenBarrierError, RuntimeError)


async def test_repr_shows_state_and_waiters() -> None:
    barrier = loopsync.Barrier(2)
    assert repr(barrier) == "<Barrier [filling, waiters:0/2]>"
    waiter = spawn(barrier.wait())
    await settle()
    assert repr(barrier) == "<Barrier [filling, waiters:1/2]>"
    await barrier.abort()
    assert repr(barrier) == "<Barrier [broken]>"
    with pytest.raises(loopsync.BrokenBarrierError):
        await waiter
