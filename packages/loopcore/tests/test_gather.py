"""gather() and shield(): CPython 3.13 semantics, both coroutine styles."""

from __future__ import annotations

import gc

import pytest

import loopcore
from loopcore import CancelledError, policies

# Timers run on the virtual clock: delays are exact and cost no real time.
pytestmark = pytest.mark.loopcore(clock="virtual")


async def _value_after(value, delay):
    await loopcore.sleep(delay)
    return value


async def _fail_after(exc, delay):
    await loopcore.sleep(delay)
    raise exc


def _ready_steps(n):
    """A coroutine that lets the loop run *n* times (no timers)."""

    async def steps():
        for _ in range(n):
            await loopcore.sleep(0)

    return steps()


# -- gather -----------------------------------------------------------------------------


async def test_gather_results_in_argument_order_not_completion_order():
    results = await loopcore.gather(_value_after("slow", 0.004), _value_after("fast", 0))
    assert results == ["slow", "fast"]


async def test_gather_wraps_coroutines_of_both_styles_in_tasks(loopcore_loop):
    seen_tasks = []

    async def native():
        seen_tasks.append(loopcore.current_task())
        return "native"

    @loopcore.coroutine
    def generator_style():
        seen_tasks.append(loopcore.current_task())
        yield from loopcore.sleep(0)
        return "generator"

    fut = loopcore.gather(native(), generator_style())
    assert await fut == ["native", "generator"]
    assert len(seen_tasks) == 2
    assert all(isinstance(t, loopcore.Task) for t in seen_tasks)
    assert seen_tasks[0] is not seen_tasks[1]


async def test_gather_accepts_futures_and_tasks(loopcore_loop):
    fut = loopcore_loop.create_future()
    task = loopcore_loop.create_task(_value_after("t", 0))
    loopcore_loop.call_soon(fut.set_result, "f")
    assert await loopcore.gather(fut, task) == ["f", "t"]


async def test_gather_same_awaitable_twice_is_waited_once_and_reported_twice(loopcore_loop):
    runs = []

    async def once():
        runs.append(1)
        return "x"

    coro = once()
    fut = loopcore_loop.create_future()
    loopcore_loop.call_soon(fut.set_result, "f")
    assert await loopcore.gather(coro, fut, coro, fut) == ["x", "f", "x", "f"]
    assert runs == [1]


async def test_gather_with_no_arguments_returns_done_future_with_empty_list(loopcore_loop):
    fut = loopcore.gather()
    assert fut.done()
    assert fut.result() == []
    assert fut.get_loop() is loopcore_loop
    assert await fut == []


def test_gather_with_no_arguments_uses_the_loop_keyword():
    loop = policies.new_event_loop()
    try:
        fut = loopcore.gather(loop=loop)
        assert fut.get_loop() is loop
        assert fut.result() == []
    finally:
        loop.close()


async def test_gather_accepts_the_3_4_loop_keyword(loopcore_loop):
    assert await loopcore.gather(_value_after(1, 0), loop=loopcore_loop) == [1]


async def test_gather_first_exception_fails_outer_and_other_children_keep_running(loopcore_loop):
    gate = loopcore_loop.create_future()

    async def slow_child():
        return await gate

    slow = loopcore_loop.create_task(slow_child())
    outer = loopcore.gather(_fail_after(ValueError("boom"), 0), slow)
    with pytest.raises(ValueError, match="boom"):
        await outer
    assert not slow.done()
    gate.set_result("slow")
    assert await slow == "slow"


async def test_gather_later_child_exceptions_are_marked_retrieved(loopcore_loop):
    # The fixture fails the test if "exception was never retrieved" is reported.
    second = loopcore_loop.create_task(_fail_after(KeyError("second"), 0.002))
    outer = loopcore.gather(_fail_after(ValueError("first"), 0), second)
    with pytest.raises(ValueError):
        await outer
    with pytest.raises(KeyError):
        await second
    del second, outer
    gc.collect()


async def test_gather_return_exceptions_puts_exceptions_in_the_results():
    err = KeyError("k")
    results = await loopcore.gather(
        _value_after(1, 0.001), _fail_after(err, 0), _value_after(3, 0), return_exceptions=True
    )
    assert results == [1, err, 3]


async def test_gather_cancelling_outer_cancels_children(loopcore_loop):
    child1 = loopcore_loop.create_task(_value_after(1, 3600))
    child2 = loopcore_loop.create_task(_value_after(2, 3600))
    outer = loopcore.gather(child1, child2)
    await loopcore.sleep(0)
    assert outer.cancel("stop all")
    assert not outer.done()  # it ends when the children have reacted
    with pytest.raises(CancelledError, match="stop all"):
        await outer
    assert child1.cancelled() and child2.cancelled()
    # CPython 3.13: the outer future fails with CancelledError; cancelled() is False.
    assert outer.done() and not outer.cancelled()


async def test_gather_cancel_outer_returns_false_when_no_child_can_be_cancelled(loopcore_loop):
    fut = loopcore_loop.create_future()
    outer = loopcore.gather(fut)
    fut.set_result(1)
    assert not outer.cancel()
    assert await outer == [1]
    assert not outer.cancel()  # done: nothing to cancel


async def test_gather_cancelling_the_awaiting_task_cancels_children(loopcore_loop):
    child = loopcore_loop.create_task(_value_after(1, 3600))

    async def waiter():
        return await loopcore.gather(child)

    task = loopcore_loop.create_task(waiter())
    await loopcore.sleep(0)
    task.cancel()
    with pytest.raises(CancelledError):
        await task
    assert child.cancelled()


async def test_gather_outer_cancelled_fails_with_cancellederror_even_if_a_child_swallows_it(
    loopcore_loop,
):
    async def stubborn():
        try:
            await loopcore.sleep(3600)
        except CancelledError:
            return "ignored the cancel"

    child = loopcore_loop.create_task(stubborn())
    outer = loopcore.gather(child)
    await loopcore.sleep(0)
    assert outer.cancel()
    with pytest.raises(CancelledError):
        await outer
    assert child.result() == "ignored the cancel"


async def test_gather_cancelled_child_is_cancellederror_result_and_outer_not_cancelled(
    loopcore_loop,
):
    child = loopcore_loop.create_task(_value_after(1, 3600))
    outer = loopcore.gather(child, _value_after(2, 0), return_exceptions=True)
    await loopcore.sleep(0)
    child.cancel("child only")
    results = await outer
    assert isinstance(results[0], CancelledError)
    assert results[0].args == ("child only",)
    assert results[1] == 2
    assert not outer.cancelled()


async def test_gather_cancelled_child_makes_outer_raise_cancellederror_without_being_cancelled(
    loopcore_loop,
):
    child = loopcore_loop.create_task(_value_after(1, 3600))
    sibling = loopcore_loop.create_task(_value_after(2, 0.002))
    outer = loopcore.gather(child, sibling)
    await loopcore.sleep(0)
    child.cancel("child only")
    with pytest.raises(CancelledError, match="child only"):
        await outer
    assert outer.done() and not outer.cancelled()
    assert isinstance(outer.exception(), CancelledError)
    assert not sibling.cancelled()  # a cancelled child does not cancel its siblings
    assert await sibling == 2


async def test_gather_cancelled_child_does_not_cancel_the_awaiting_task(loopcore_loop):
    child = loopcore_loop.create_task(_value_after(1, 3600))

    async def waiter():
        try:
            await loopcore.gather(child)
        except CancelledError:
            return "caught", loopcore.current_task().cancelling()

    task = loopcore_loop.create_task(waiter())
    await loopcore.sleep(0)
    child.cancel()
    assert await task == ("caught", 0)


def test_gather_works_with_yield_from_in_generator_coroutines(loopcore_loop):
    @loopcore.coroutine
    def body():
        results = yield from loopcore.gather(_value_after("a", 0), _value_after("b", 0.001))
        return results

    assert loopcore_loop.run_until_complete(body()) == ["a", "b"]


async def test_gather_refuses_a_future_of_another_loop(loopcore_loop):
    other = policies.new_event_loop()
    try:
        fut = other.create_future()
        with pytest.raises(ValueError):
            loopcore.gather(fut, loop=loopcore_loop)
    finally:
        other.close()


# -- shield -----------------------------------------------------------------------------


async def test_shield_returns_the_inner_result():
    assert await loopcore.shield(_value_after("v", 0.001)) == "v"


async def test_shield_cancelling_outer_does_not_cancel_inner(loopcore_loop):
    inner = loopcore_loop.create_task(_value_after("kept", 0.002))

    async def waiter():
        return await loopcore.shield(inner)

    task = loopcore_loop.create_task(waiter())
    await loopcore.sleep(0)
    task.cancel()
    with pytest.raises(CancelledError):
        await task
    assert not inner.cancelled()
    assert await inner == "kept"


async def test_shield_cancelled_inner_cancels_outer(loopcore_loop):
    inner = loopcore_loop.create_task(_value_after(1, 3600))
    outer = loopcore.shield(inner)
    await loopcore.sleep(0)
    inner.cancel()
    with pytest.raises(CancelledError):
        await outer
    assert outer.cancelled()


async def test_shield_propagates_the_inner_exception(loopcore_loop):
    with pytest.raises(ValueError, match="inner"):
        await loopcore.shield(_fail_after(ValueError("inner"), 0))


async def test_shield_returns_a_done_inner_future_as_it_is(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_result(5)
    assert loopcore.shield(fut) is fut


async def test_shield_inner_error_after_outer_cancelled_is_reported_not_lost(loopcore_loop):
    reported = []
    loopcore_loop.set_exception_handler(lambda loop, context: reported.append(context))
    inner = loopcore_loop.create_task(_fail_after(KeyError("late"), 0.001))
    outer = loopcore.shield(inner)
    outer.cancel()
    await loopcore.wait([inner])
    del inner, outer
    gc.collect()
    assert [type(c.get("exception")) for c in reported] == [KeyError]


def test_shield_works_with_yield_from_in_generator_coroutines(loopcore_loop):
    @loopcore.coroutine
    def body():
        return (yield from loopcore.shield(_value_after("s", 0)))

    assert loopcore_loop.run_until_complete(body()) == "s"


async def test_gather_cancelled_outer_with_return_exceptions_ends_after_every_child(
    loopcore_loop,
):
    cleanup_steps = []

    async def slow_cleanup(n):
        try:
            await loopcore.sleep(3600)
        finally:
            for _ in range(n):
                await loopcore.sleep(0)
            cleanup_steps.append(n)

    children = [loopcore_loop.create_task(slow_cleanup(n)) for n in (0, 3)]
    outer = loopcore.gather(*children, return_exceptions=True)
    await loopcore.sleep(0)
    outer.cancel()
    with pytest.raises(CancelledError):
        await outer
    assert cleanup_steps == [0, 3]
    assert all(child.cancelled() for child in children)


async def test_gather_cancelled_outer_fails_as_soon_as_the_first_child_ends_cancelled(
    loopcore_loop,
):
    async def slow_cleanup(n):
        try:
            await loopcore.sleep(3600)
        finally:
            for _ in range(n):
                await loopcore.sleep(0)

    quick = loopcore_loop.create_task(slow_cleanup(0))
    slow = loopcore_loop.create_task(slow_cleanup(5))
    outer = loopcore.gather(quick, slow)
    await loopcore.sleep(0)
    outer.cancel()
    with pytest.raises(CancelledError):
        await outer
    assert quick.cancelled()
    assert not slow.done()  # as in CPython: the outer does not wait for the rest
    await loopcore.wait([slow])
    assert slow.cancelled()


async def test_gather_and_shield_refuse_a_loop_keyword_that_is_not_the_running_loop():
    other = policies.new_event_loop()
    try:
        coro = _value_after(1, 0)
        with pytest.raises(ValueError, match="not the running loop"):
            loopcore.gather(coro, loop=other)
        with pytest.raises(ValueError, match="not the running loop"):
            loopcore.gather(loop=other)
        with pytest.raises(ValueError, match="not the running loop"):
            loopcore.shield(coro, loop=other)
        coro.close()
    finally:
        other.close()


async def test_gather_accepts_asyncio_futures_bound_to_this_loop(loopcore_loop):
    import asyncio

    ok = asyncio.Future(loop=loopcore_loop)
    failed = asyncio.Future(loop=loopcore_loop)
    cancelled = asyncio.Future(loop=loopcore_loop)
    loopcore_loop.call_soon(ok.set_result, "stdlib")
    loopcore_loop.call_soon(failed.set_exception, KeyError("stdlib"))
    loopcore_loop.call_soon(cancelled.cancel, "why")
    results = await loopcore.gather(
        ok, failed, cancelled, _value_after("ours", 0.1), return_exceptions=True
    )
    assert results[0] == "stdlib"
    assert isinstance(results[1], KeyError)
    # asyncio's CancelledError of the cancelled child is reported as ours.
    assert type(results[2]) is CancelledError and results[2].args == ("why",)
    assert results[3] == "ours"


async def test_gather_without_loop_takes_the_loop_of_an_asyncio_future(loopcore_loop):
    import asyncio

    fut = asyncio.Future(loop=loopcore_loop)
    fut.set_result(1)
    outer = loopcore.gather(fut)
    assert outer.get_loop() is loopcore_loop
    assert await outer == [1]
