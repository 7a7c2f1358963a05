"""wait(): FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, timeout; coroutines
accepted as in the 3.4 docs."""

from __future__ import annotations

import pytest

import loopcore
from loopcore import CancelledError

# Timers run on the virtual clock: delays are exact and cost no real time.
pytestmark = pytest.mark.loopcore(clock="virtual")


async def _value_after(value, delay):
    await loopcore.sleep(delay)
    return value


async def _fail_after(exc, delay):
    await loopcore.sleep(delay)
    raise exc


def test_wait_constants_match_concurrent_futures():
    import concurrent.futures

    assert loopcore.FIRST_COMPLETED == concurrent.futures.FIRST_COMPLETED
    assert loopcore.FIRST_EXCEPTION == concurrent.futures.FIRST_EXCEPTION
    assert loopcore.ALL_COMPLETED == concurrent.futures.ALL_COMPLETED


async def test_wait_all_completed_returns_every_future_done(loopcore_loop):
    t1 = loopcore_loop.create_task(_value_after(1, 0.002))
    t2 = loopcore_loop.create_task(_value_after(2, 0))
    done, pending = await loopcore.wait([t1, t2])
    assert done == {t1, t2}
    assert pending == set()


async def test_wait_first_completed_returns_as_soon_as_one_is_done(loopcore_loop):
    fast = loopcore_loop.create_task(_value_after("fast", 0))
    slow = loopcore_loop.create_task(_value_after("slow", 3600))
    done, pending = await loopcore.wait([fast, slow], return_when=loopcore.FIRST_COMPLETED)
    assert done == {fast}
    assert pending == {slow}
    assert not slow.cancelled()  # wait() never cancels
    slow.cancel()
    await loopcore.wait([slow])


async def test_wait_first_exception_returns_when_one_raises(loopcore_loop):
    ok = loopcore_loop.create_task(_value_after("ok", 0))
    bad = loopcore_loop.create_task(_fail_after(ValueError("bad"), 0.001))
    slow = loopcore_loop.create_task(_value_after("slow", 3600))
    done, pending = await loopcore.wait([ok, bad, slow], return_when=loopcore.FIRST_EXCEPTION)
    assert done == {ok, bad}
    assert pending == {slow}
    assert isinstance(bad.exception(), ValueError)
    slow.cancel()
    await loopcore.wait([slow])


async def test_wait_first_exception_without_exception_waits_for_all(loopcore_loop):
    t1 = loopcore_loop.create_task(_value_after(1, 0))
    t2 = loopcore_loop.create_task(_value_after(2, 0.002))
    done, pending = await loopcore.wait([t1, t2], return_when=loopcore.FIRST_EXCEPTION)
    assert done == {t1, t2} and not pending


async def test_wait_first_exception_does_not_count_a_cancelled_future(loopcore_loop):
    cancelled = loopcore_loop.create_task(_value_after(1, 3600))
    other = loopcore_loop.create_task(_value_after(2, 0.002))
    await loopcore.sleep(0)
    cancelled.cancel()
    done, pending = await loopcore.wait([cancelled, other], return_when=loopcore.FIRST_EXCEPTION)
    assert done == {cancelled, other} and not pending


async def test_wait_first_exception_returns_at_once_if_one_already_failed(loopcore_loop):
    failed = loopcore_loop.create_future()
    failed.set_exception(KeyError("k"))
    pending_fut = loopcore_loop.create_future()
    done, pending = await loopcore.wait([failed, pending_fut], return_when=loopcore.FIRST_EXCEPTION)
    assert done == {failed} and pending == {pending_fut}


async def test_wait_timeout_returns_pending_without_cancelling_or_raising(loopcore_loop):
    slow = loopcore_loop.create_task(_value_after("slow", 3600))
    fast = loopcore_loop.create_task(_value_after("fast", 0))
    done, pending = await loopcore.wait([slow, fast], timeout=0.003)
    assert done == {fast}
    assert pending == {slow}
    assert not slow.done()
    slow.cancel()
    await loopcore.wait([slow])


async def test_wait_timeout_timer_is_cancelled_when_futures_finish_first(loopcore_loop):
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
        done, _ = await loopcore.wait([fut], timeout=3600)
    finally:
        del loopcore_loop.call_later
    assert done == {fut}
    assert len(handles) == 1 and handles[0].cancelled()


async def test_wait_accepts_coroutines_as_the_3_4_docs_did_and_returns_their_tasks():
    async def native():
        return "n"

    @loopcore.coroutine
    def generator_style():
        yield from loopcore.sleep(0)
        return "g"

    done, pending = await loopcore.wait([native(), generator_style()])
    assert not pending
    assert all(isinstance(t, loopcore.Task) for t in done)
    assert sorted(t.result() for t in done) == ["g", "n"]


async def test_wait_counts_duplicates_once(loopcore_loop):
    fut = loopcore_loop.create_future()
    loopcore_loop.call_soon(fut.set_result, 1)
    done, pending = await loopcore.wait([fut, fut, fut])
    assert done == {fut} and not pending


async def test_wait_with_empty_iterable_raises_valueerror():
    with pytest.raises(ValueError, match="at least one"):
        await loopcore.wait([])


async def test_wait_with_bad_return_when_raises_valueerror(loopcore_loop):
    fut = loopcore_loop.create_future()
    with pytest.raises(ValueError, match="'SOMETIMES'"):
        await loopcore.wait([fut], return_when="SOMETIMES")


async def test_wait_with_a_single_future_instead_of_an_iterable_raises_typeerror(loopcore_loop):
    fut = loopcore_loop.create_future()
    with pytest.raises(TypeError, match="iterable"):
        await loopcore.wait(fut)

    async def coro():
        return None

    c = coro()
    with pytest.raises(TypeError, match="iterable"):
        await loopcore.wait(c)
    c.close()


async def test_wait_cancellation_of_caller_propagates_and_leaves_futures_alone(loopcore_loop):
    inner = loopcore_loop.create_task(_value_after("inner", 0.002))
    task = loopcore_loop.create_task(loopcore.wait([inner]))
    await loopcore.sleep(0)
    task.cancel()
    with pytest.raises(CancelledError):
        await task
    assert not inner.cancelled()
    assert await inner == "inner"


def test_wait_works_with_yield_from_in_generator_coroutines(loopcore_loop):
    @loopcore.coroutine
    def body():
        done, pending = yield from loopcore.wait([_value_after(1, 0)])
        return [t.result() for t in done], pending

    assert loopcore_loop.run_until_complete(body()) == ([1], set())


async def test_wait_accepts_the_3_4_loop_keyword(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_result(1)
    done, _ = await loopcore.wait([fut], loop=loopcore_loop)
    assert done == {fut}


async def test_wait_refuses_a_loop_keyword_that_is_not_the_running_loop(loopcore_loop):
    from loopcore import policies

    other = policies.new_event_loop()
    try:
        fut = loopcore_loop.create_future()
        with pytest.raises(ValueError, match="not the running loop"):
            await loopcore.wait([fut], loop=other)
    finally:
        other.close()
