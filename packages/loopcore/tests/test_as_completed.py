"""as_completed(): completion order, timeout, plain and async iteration."""

from __future__ import annotations

import pytest

import loopcore

# Timers run on the virtual clock: delays are exact and cost no real time.
pytestmark = pytest.mark.loopcore(clock="virtual")


async def _value_after(value, delay):
    await loopcore.sleep(delay)
    return value


def _futures(loop, n):
    return [loop.create_future() for _ in range(n)]


async def test_as_completed_yields_results_in_completion_order(loopcore_loop):
    f1, f2, f3 = _futures(loopcore_loop, 3)
    loopcore_loop.call_soon(f2.set_result, "second")
    loopcore_loop.call_soon(f3.set_result, "third")
    loopcore_loop.call_soon(f1.set_result, "first")
    results = [await aw for aw in loopcore.as_completed([f1, f2, f3])]
    assert results == ["second", "third", "first"]


async def test_as_completed_plain_iteration_yields_coroutines(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_result(1)
    items = list(loopcore.as_completed([fut]))
    assert len(items) == 1
    assert loopcore.iscoroutine(items[0])
    assert await items[0] == 1


async def test_as_completed_coroutines_may_be_taken_before_awaiting(loopcore_loop):
    f1, f2 = _futures(loopcore_loop, 2)
    pending = list(loopcore.as_completed([f1, f2]))
    loopcore_loop.call_soon(f2.set_result, "b")
    loopcore_loop.call_soon(f1.set_result, "a")
    assert [await c for c in pending] == ["b", "a"]


async def test_as_completed_async_for_yields_the_finished_futures(loopcore_loop):
    f1, f2 = _futures(loopcore_loop, 2)
    loopcore_loop.call_soon(f2.set_result, "b")
    loopcore_loop.call_soon(f1.set_result, "a")
    seen = [fut async for fut in loopcore.as_completed([f1, f2])]
    assert seen == [f2, f1]


async def test_as_completed_async_for_yields_tasks_for_coroutines():
    seen = [
        t
        async for t in loopcore.as_completed([_value_after("slow", 0.002), _value_after("fast", 0)])
    ]
    assert all(isinstance(t, loopcore.Task) for t in seen)
    assert [t.result() for t in seen] == ["fast", "slow"]


async def test_as_completed_wraps_coroutines_of_both_styles():
    @loopcore.coroutine
    def generator_style():
        yield from loopcore.sleep(0.002)
        return "generator"

    results = [
        await c for c in loopcore.as_completed([generator_style(), _value_after("native", 0)])
    ]
    assert results == ["native", "generator"]


async def test_as_completed_raises_the_exception_of_a_failed_future(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_exception(ValueError("failed"))
    (coro,) = loopcore.as_completed([fut])
    with pytest.raises(ValueError, match="failed"):
        await coro


async def test_as_completed_raises_timeouterror_for_each_future_not_done_in_time(loopcore_loop):
    fast = loopcore_loop.create_task(_value_after("fast", 0))
    slow1 = loopcore_loop.create_task(_value_after("slow", 3600))
    slow2 = loopcore_loop.create_task(_value_after("slow", 3600))
    outcomes = []
    for coro in loopcore.as_completed([slow1, fast, slow2], timeout=0.003):
        try:
            outcomes.append(await coro)
        except TimeoutError:
            outcomes.append("timeout")
    assert outcomes == ["fast", "timeout", "timeout"]
    # The futures left behind are not cancelled.
    assert not slow1.done() and not slow2.done()
    slow1.cancel()
    slow2.cancel()
    await loopcore.wait([slow1, slow2])


async def test_as_completed_async_for_raises_timeouterror(loopcore_loop):
    slow = loopcore_loop.create_task(_value_after("slow", 3600))
    with pytest.raises(TimeoutError):
        async for _ in loopcore.as_completed([slow], timeout=0.002):
            pass
    slow.cancel()
    await loopcore.wait([slow])


async def test_as_completed_timeout_timer_is_cancelled_when_all_finish_in_time(loopcore_loop):
    handles = []
    original = loopcore_loop.call_later

    def recording(*args, **kwargs):
        handle = original(*args, **kwargs)
        handles.append(handle)
        return handle

    fut = loopcore_loop.create_future()
    loopcore_loop.call_later = recording
    try:
        iterator = loopcore.as_completed([fut], timeout=3600)
    finally:
        del loopcore_loop.call_later
    loopcore_loop.call_soon(fut.set_result, 1)
    assert [await c for c in iterator] == [1]
    assert len(handles) == 1 and handles[0].cancelled()


async def test_as_completed_counts_duplicates_once(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_result(1)
    items = list(loopcore.as_completed([fut, fut]))
    assert len(items) == 1
    assert await items[0] == 1


async def test_as_completed_of_nothing_yields_nothing():
    assert list(loopcore.as_completed([])) == []
    assert [f async for f in loopcore.as_completed([])] == []


async def test_as_completed_with_a_single_future_instead_of_an_iterable_raises_typeerror(
    loopcore_loop,
):
    fut = loopcore_loop.create_future()
    with pytest.raises(TypeError, match="iterable"):
        loopcore.as_completed(fut)


async def test_as_completed_cancelled_await_gives_its_turn_back_and_loses_no_result(loopcore_loop):
    f1, f2 = _futures(loopcore_loop, 2)
    iterator = loopcore.as_completed([f1, f2])
    first = loopcore_loop.create_task(next(iterator))
    await loopcore.sleep(0)
    first.cancel()
    await loopcore.wait([first])
    f1.set_result("kept")
    f2.set_result("also kept")
    assert [await c for c in iterator] == ["kept", "also kept"]


def test_as_completed_works_with_yield_from_in_generator_coroutines(loopcore_loop):
    @loopcore.coroutine
    def body():
        results = []
        for coro in loopcore.as_completed([_value_after("b", 0.002), _value_after("a", 0)]):
            results.append((yield from coro))
        return results

    assert loopcore_loop.run_until_complete(body()) == ["a", "b"]


async def test_as_completed_accepts_the_3_4_loop_keyword(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_result(1)
    assert [await c for c in loopcore.as_completed([fut], loop=loopcore_loop)] == [1]


async def test_as_completed_refuses_a_loop_keyword_that_is_not_the_running_loop(loopcore_loop):
    from loopcore import policies

    other = policies.new_event_loop()
    try:
        fut = loopcore_loop.create_future()
        with pytest.raises(ValueError, match="not the running loop"):
            loopcore.as_completed([fut], loop=other)
    finally:
        other.close()
