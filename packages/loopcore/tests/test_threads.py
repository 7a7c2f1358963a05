"""to_thread() and run_coroutine_threadsafe(): crossing between threads and the loop."""

from __future__ import annotations

import concurrent.futures
import contextvars
import threading

import pytest

import loopcore
from loopcore import CancelledError

request_id = contextvars.ContextVar("request_id", default="unset")


async def test_to_thread_runs_the_function_in_another_thread_and_returns_its_result():
    main_thread = threading.get_ident()
    ident = await loopcore.to_thread(threading.get_ident)
    assert ident != main_thread


async def test_to_thread_passes_positional_and_keyword_arguments():
    def combine(a, b, *, sep):
        return f"{a}{sep}{b}"

    assert await loopcore.to_thread(combine, "x", "y", sep="-") == "x-y"


async def test_to_thread_copies_the_callers_context_into_the_thread():
    request_id.set("req-42")

    def read_and_change():
        seen = request_id.get()
        request_id.set("changed in thread")
        return seen

    assert await loopcore.to_thread(read_and_change) == "req-42"
    assert request_id.get() == "req-42"  # changes made in the thread stay there


async def test_to_thread_propagates_the_exception_of_the_function():
    def fail():
        raise ValueError("in thread")

    with pytest.raises(ValueError, match="in thread"):
        await loopcore.to_thread(fail)


async def test_to_thread_uses_the_loops_default_executor(loopcore_loop):
    executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="h2-default")
    loopcore_loop.set_default_executor(executor)
    name = await loopcore.to_thread(lambda: threading.current_thread().name)
    assert name.startswith("h2-default")


def test_to_thread_works_with_yield_from_in_generator_coroutines(loopcore_loop):
    @loopcore.coroutine
    def body():
        return (yield from loopcore.to_thread(lambda: "from thread"))

    assert loopcore_loop.run_until_complete(body()) == "from thread"


async def _value_after(value, delay):
    await loopcore.sleep(delay)
    return value


async def test_run_coroutine_threadsafe_returns_a_concurrent_future_with_the_result(loopcore_loop):
    def from_thread():
        fut = loopcore.run_coroutine_threadsafe(_value_after("done", 0.001), loopcore_loop)
        assert isinstance(fut, concurrent.futures.Future)
        return fut.result(timeout=30)

    assert await loopcore.to_thread(from_thread) == "done"


async def test_run_coroutine_threadsafe_runs_the_coroutine_in_a_task_on_the_loop(loopcore_loop):
    loop_thread = threading.get_ident()

    async def where():
        return threading.get_ident(), loopcore.current_task() is not None

    def from_thread():
        return loopcore.run_coroutine_threadsafe(where(), loopcore_loop).result(timeout=30)

    assert await loopcore.to_thread(from_thread) == (loop_thread, True)


async def test_run_coroutine_threadsafe_passes_the_exception_to_the_future(loopcore_loop):
    async def fail():
        await loopcore.sleep(0)
        raise KeyError("from the loop")

    def from_thread():
        fut = loopcore.run_coroutine_threadsafe(fail(), loopcore_loop)
        return fut.exception(timeout=30)

    exc = await loopcore.to_thread(from_thread)
    assert isinstance(exc, KeyError)


async def test_run_coroutine_threadsafe_cancelling_the_future_cancels_the_task(loopcore_loop):
    started = threading.Event()
    seen_tasks = []

    async def long_running():
        seen_tasks.append(loopcore.current_task())
        started.set()
        await loopcore.sleep(3600)

    def from_thread():
        fut = loopcore.run_coroutine_threadsafe(long_running(), loopcore_loop)
        assert started.wait(30)
        assert fut.cancel()
        return fut

    fut = await loopcore.to_thread(from_thread)
    (task,) = seen_tasks
    with pytest.raises(CancelledError):
        await task
    assert task.cancelled()
    assert fut.cancelled()


async def test_run_coroutine_threadsafe_cancelled_task_cancels_the_future(loopcore_loop):
    started = threading.Event()
    seen_tasks = []

    async def long_running():
        seen_tasks.append(loopcore.current_task())
        started.set()
        await loopcore.sleep(3600)

    fut = loopcore.run_coroutine_threadsafe(long_running(), loopcore_loop)
    await loopcore.to_thread(started.wait, 30)
    seen_tasks[0].cancel()
    # fut.result() raises concurrent.futures.CancelledError in the worker thread;
    # to_thread's future converts it to loopcore's, as asyncio converts it.
    with pytest.raises(loopcore.CancelledError):
        await loopcore.to_thread(fut.result, 30)
    assert fut.cancelled()


async def test_run_coroutine_threadsafe_accepts_generator_coroutines(loopcore_loop):
    @loopcore.coroutine
    def generator_style():
        yield from loopcore.sleep(0)
        return "generator"

    def from_thread():
        return loopcore.run_coroutine_threadsafe(generator_style(), loopcore_loop).result(30)

    assert await loopcore.to_thread(from_thread) == "generator"


async def test_run_coroutine_threadsafe_refuses_what_is_not_a_coroutine(loopcore_loop):
    with pytest.raises(TypeError, match="coroutine object is required"):
        loopcore.run_coroutine_threadsafe(lambda: None, loopcore_loop)
    with pytest.raises(TypeError, match="coroutine object is required"):
        loopcore.run_coroutine_threadsafe(loopcore_loop.create_future(), loopcore_loop)
