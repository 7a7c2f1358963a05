"""sleep(): a zero delay yields once without a timer; a positive one uses a timer
that is cancelled with the sleeping task."""

from __future__ import annotations

import pytest

import loopcore
from loopcore import CancelledError, policies

# Timers run on the virtual clock: delays are exact and cost no real time.
pytestmark = pytest.mark.loopcore(clock="virtual")


async def test_sleep_returns_result_after_delay(loopcore_loop):
    start = loopcore_loop.time()
    assert await loopcore.sleep(0.005, "done") == "done"
    assert loopcore_loop.time() - start == pytest.approx(0.005)  # virtual time: exact


async def test_sleep_returns_none_by_default():
    assert await loopcore.sleep(0.001) is None
    assert await loopcore.sleep(0) is None


async def test_sleep_zero_yields_exactly_once_and_lets_ready_callbacks_run(loopcore_loop):
    ran = []
    loopcore_loop.call_soon(ran.append, 1)
    assert await loopcore.sleep(0, "r") == "r"
    assert ran == [1]


async def test_sleep_zero_schedules_no_timer(loopcore_loop):
    calls = []
    original_later, original_at = loopcore_loop.call_later, loopcore_loop.call_at

    def spy_later(*args, **kwargs):
        calls.append(args)
        return original_later(*args, **kwargs)

    def spy_at(*args, **kwargs):
        calls.append(args)
        return original_at(*args, **kwargs)

    loopcore_loop.call_later, loopcore_loop.call_at = spy_later, spy_at
    try:
        await loopcore.sleep(0)
        await loopcore.sleep(-1)
    finally:
        del loopcore_loop.call_later, loopcore_loop.call_at
    assert calls == []


async def test_sleep_negative_delay_behaves_like_zero(loopcore_loop):
    ran = []
    loopcore_loop.call_soon(ran.append, 1)
    assert await loopcore.sleep(-5, "neg") == "neg"
    assert ran == [1]


async def test_sleep_zero_interleaves_tasks_fairly():
    order = []

    async def worker(name):
        for i in range(3):
            order.append((name, i))
            await loopcore.sleep(0)

    await loopcore.gather(worker("a"), worker("b"))
    assert order == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]


async def test_sleep_timer_is_cancelled_if_sleeping_task_is_cancelled(loopcore_loop):
    handles = []
    original = loopcore_loop.call_later

    def recording_call_later(*args, **kwargs):
        handle = original(*args, **kwargs)
        handles.append(handle)
        return handle

    loopcore_loop.call_later = recording_call_later
    try:
        task = loopcore_loop.create_task(loopcore.sleep(3600))
        await loopcore.sleep(0)
        await loopcore.sleep(0)
    finally:
        del loopcore_loop.call_later
    assert len(handles) == 1
    assert not handles[0].cancelled()
    task.cancel()
    with pytest.raises(CancelledError):
        await task
    assert handles[0].cancelled()


async def test_sleep_cancellation_propagates_with_message(loopcore_loop):
    task = loopcore_loop.create_task(loopcore.sleep(3600))
    await loopcore.sleep(0)
    task.cancel("stop sleeping")
    with pytest.raises(CancelledError, match="stop sleeping"):
        await task


def test_sleep_works_with_yield_from_in_generator_coroutines(loopcore_loop):
    @loopcore.coroutine
    def body():
        first = yield from loopcore.sleep(0.001, "gen")
        second = yield from loopcore.sleep(0, "gen0")
        return first, second

    assert loopcore_loop.run_until_complete(body()) == ("gen", "gen0")


async def test_sleep_accepts_the_running_loop_as_loop_keyword(loopcore_loop):
    assert await loopcore.sleep(0.001, 1, loop=loopcore_loop) == 1
    assert await loopcore.sleep(0, 2, loop=loopcore_loop) == 2


async def test_sleep_refuses_a_loop_keyword_that_is_not_the_running_loop(loopcore_loop):
    other = policies.new_event_loop()
    try:
        with pytest.raises(ValueError, match="not the running loop"):
            await loopcore.sleep(0.001, loop=other)
    finally:
        other.close()
