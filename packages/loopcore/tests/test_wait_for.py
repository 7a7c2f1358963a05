"""wait_for(): never loses a result that arrives as the timeout fires, never
swallows a cancellation of the caller."""

from __future__ import annotations

import math

import pytest

import loopcore
from loopcore import CancelledError, policies
from loopcore.testing import get_clock

# Timers run on the virtual clock: delays are exact and cost no real time.
pytestmark = pytest.mark.loopcore(clock="virtual")


async def _value_after(value, delay):
    await loopcore.sleep(delay)
    return value


async def test_wait_for_returns_result_before_timeout():
    assert await loopcore.wait_for(_value_after("v", 0), 3600) == "v"


async def test_wait_for_timeout_none_is_a_plain_await_in_the_callers_task():
    caller = loopcore.current_task()

    async def inner():
        await loopcore.sleep(0)
        return loopcore.current_task()

    assert await loopcore.wait_for(inner(), None) is caller


async def test_wait_for_timeout_cancels_inner_and_raises_builtin_timeouterror(loopcore_loop):
    inner = loopcore_loop.create_task(_value_after("never", 3600))
    with pytest.raises(TimeoutError) as info:
        await loopcore.wait_for(inner, 0.002)
    assert info.type is TimeoutError  # the builtin
    assert isinstance(info.value.__cause__, CancelledError)
    assert inner.cancelled()


async def test_wait_for_timeout_waits_for_the_inner_cleanup_before_raising(loopcore_loop):
    events = []

    async def inner():
        try:
            await loopcore.sleep(3600)
        finally:
            events.append("cleanup started")
            await loopcore.sleep(0)
            await loopcore.sleep(0)
            events.append("cleanup done")

    with pytest.raises(TimeoutError):
        await loopcore.wait_for(inner(), 0.002)
    assert events == ["cleanup started", "cleanup done"]


async def test_wait_for_zero_timeout_returns_result_of_a_done_future(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_result("ready")
    assert await loopcore.wait_for(fut, 0) == "ready"


async def test_wait_for_zero_timeout_cancels_pending_inner_and_raises_timeouterror(loopcore_loop):
    fut = loopcore_loop.create_future()
    with pytest.raises(TimeoutError):
        await loopcore.wait_for(fut, 0)
    assert fut.cancelled()


async def test_wait_for_negative_timeout_behaves_like_zero(loopcore_loop):
    fut = loopcore_loop.create_future()
    with pytest.raises(TimeoutError):
        await loopcore.wait_for(fut, -1)
    assert fut.cancelled()
    done = loopcore_loop.create_future()
    done.set_result(3)
    assert await loopcore.wait_for(done, -1) == 3


async def test_wait_for_zero_timeout_returns_result_of_inner_that_swallows_cancellation(
    loopcore_loop,
):
    async def stubborn():
        try:
            await loopcore.sleep(3600)
        except CancelledError:
            return "finished anyway"

    inner = loopcore_loop.create_task(stubborn())
    await loopcore.sleep(0)  # started: it is inside its try block
    assert await loopcore.wait_for(inner, 0) == "finished anyway"


@pytest.mark.loopcore(clock="virtual", autojump_threshold=math.inf)
async def test_wait_for_returns_result_that_arrives_as_timeout_fires(loopcore_loop):
    fut = loopcore_loop.create_future()
    task = loopcore_loop.create_task(loopcore.wait_for(fut, 10))
    await loopcore.sleep(0)  # wait_for has started: its deadline is now + 10
    # The result is due just after wait_for's deadline. Moving the clock past both
    # makes the timeout fire first and the result arrive in the same iteration,
    # before wait_for gets to run again.
    loopcore_loop.call_at(loopcore_loop.time() + 10.5, fut.set_result, "arrived")
    get_clock(loopcore_loop).advance(11)
    assert await task == "arrived"
    assert not fut.cancelled()


async def test_wait_for_returns_result_of_inner_that_swallows_cancellation_on_timeout():
    async def stubborn():
        try:
            await loopcore.sleep(3600)
        except CancelledError:
            await loopcore.sleep(0)
            return "result after the timeout"

    assert await loopcore.wait_for(stubborn(), 0.002) == "result after the timeout"


async def test_wait_for_raises_inner_error_raised_while_it_was_being_cancelled():
    async def failing_cleanup():
        try:
            await loopcore.sleep(3600)
        except CancelledError:
            raise ValueError("cleanup failed")

    with pytest.raises(ValueError, match="cleanup failed"):
        await loopcore.wait_for(failing_cleanup(), 0.002)


async def test_wait_for_propagates_the_inner_exception():
    async def failing():
        await loopcore.sleep(0)
        raise KeyError("inner")

    with pytest.raises(KeyError):
        await loopcore.wait_for(failing(), 3600)


async def test_wait_for_never_swallows_cancellation_of_caller(loopcore_loop):
    inner_events = []

    async def stubborn():
        try:
            await loopcore.sleep(3600)
        except CancelledError:
            inner_events.append("cancelled")
            await loopcore.sleep(0)
            return "swallowed"

    inner = loopcore_loop.create_task(stubborn())
    caller = loopcore_loop.create_task(loopcore.wait_for(inner, 3600))
    await loopcore.sleep(0)
    await loopcore.sleep(0)
    caller.cancel("caller cancelled")
    with pytest.raises(CancelledError):
        await caller
    assert caller.cancelled()
    # The inner was cancelled and waited for before the caller ended.
    assert inner_events == ["cancelled"]
    assert inner.done() and inner.result() == "swallowed"


async def test_wait_for_caller_cancelled_as_the_result_arrives_still_raises_cancellederror(
    loopcore_loop,
):
    fut = loopcore_loop.create_future()
    caller = loopcore_loop.create_task(loopcore.wait_for(fut, 3600))
    await loopcore.sleep(0)
    fut.set_result("arrived")  # the result and the cancellation land together
    caller.cancel()
    with pytest.raises(CancelledError):
        await caller
    assert caller.cancelled()


@pytest.mark.loopcore(clock="virtual", autojump_threshold=math.inf)
async def test_wait_for_caller_cancelled_as_the_timeout_fires_raises_cancellederror(
    loopcore_loop,
):
    fut = loopcore_loop.create_future()
    caller = loopcore_loop.create_task(loopcore.wait_for(fut, 10))
    await loopcore.sleep(0)
    loopcore_loop.call_at(loopcore_loop.time() + 10.5, caller.cancel)
    get_clock(loopcore_loop).advance(11)  # the timeout and the cancel in one iteration
    with pytest.raises(CancelledError):
        await caller
    assert caller.cancelled()
    assert fut.cancelled()


async def test_wait_for_caller_cancelled_cancels_the_inner_task(loopcore_loop):
    inner = loopcore_loop.create_task(_value_after(1, 3600))
    caller = loopcore_loop.create_task(loopcore.wait_for(inner, 3600))
    await loopcore.sleep(0)
    caller.cancel()
    with pytest.raises(CancelledError):
        await caller
    assert inner.cancelled()


async def test_wait_for_cancels_its_timer_once_the_result_is_in(loopcore_loop):
    handles = []
    original = loopcore_loop.call_later

    def recording(*args, **kwargs):
        handle = original(*args, **kwargs)
        handles.append(handle)
        return handle

    fut = loopcore_loop.create_future()
    loopcore_loop.call_soon(fut.set_result, 1)
    loopcore_loop.call_later = recording
    try:
        assert await loopcore.wait_for(fut, 3600) == 1
    finally:
        del loopcore_loop.call_later
    assert len(handles) == 1 and handles[0].cancelled()


def test_wait_for_works_with_yield_from_in_generator_coroutines(loopcore_loop):
    @loopcore.coroutine
    def slow():
        yield from loopcore.sleep(3600)

    @loopcore.coroutine
    def body():
        first = yield from loopcore.wait_for(_value_after("a", 0), 1)
        try:
            yield from loopcore.wait_for(slow(), 0.002)
        except TimeoutError:
            return first, "timed out"
        return first, "no timeout"

    assert loopcore_loop.run_until_complete(body()) == ("a", "timed out")


async def test_wait_for_accepts_the_3_4_loop_keyword(loopcore_loop):
    assert await loopcore.wait_for(_value_after(1, 0), 1, loop=loopcore_loop) == 1


async def test_wait_for_refuses_a_loop_keyword_that_is_not_the_running_loop():
    other = policies.new_event_loop()
    try:
        coro = _value_after(1, 0)
        with pytest.raises(ValueError, match="not the running loop"):
            await loopcore.wait_for(coro, 1, loop=other)
        coro.close()
    finally:
        other.close()


async def test_wait_for_caller_cancelled_as_inner_fails_reports_the_inner_error(loopcore_loop):
    import gc

    reported = []
    loopcore_loop.set_exception_handler(lambda loop, context: reported.append(context))

    async def failing():
        await loopcore.sleep(0)
        raise KeyError("inner error")

    async def scenario():
        inner = loopcore_loop.create_task(failing())
        caller = loopcore_loop.create_task(loopcore.wait_for(inner, 3600))
        await loopcore.sleep(0)  # both started
        await loopcore.sleep(0)  # the inner has failed; the caller not yet resumed
        assert inner.done()
        caller.cancel()
        try:
            await caller
        except CancelledError:
            return "caller cancelled"
        return "caller not cancelled"

    # Run in its own task, so that no frame of ours keeps the inner task alive.
    assert await loopcore_loop.create_task(scenario()) == "caller cancelled"
    gc.collect()
    assert [type(c.get("exception")) for c in reported] == [KeyError]
