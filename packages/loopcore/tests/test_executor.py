"""run_in_executor, the default executor, and shutting it down."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest

import loopcore
from loopcore.base_loop import BaseEventLoop


@pytest.fixture
def loop():
    loop = BaseEventLoop()
    yield loop
    loop.close()


def test_run_in_executor_runs_the_function_in_a_thread_and_returns_a_loop_future(loop):
    def work(a, b):
        return a + b, threading.current_thread().name

    fut = loop.run_in_executor(None, work, 1, 2)
    assert isinstance(fut, loopcore.Future)
    assert fut.get_loop() is loop
    result, thread_name = loop.run_until_complete(fut)
    assert result == 3
    assert thread_name.startswith("loopcore")
    assert thread_name != threading.current_thread().name


def test_default_executor_is_a_thread_pool_created_lazily_and_reused(loop):
    assert loop._default_executor is None
    loop.run_until_complete(loop.run_in_executor(None, int))
    executor = loop._default_executor
    assert isinstance(executor, concurrent.futures.ThreadPoolExecutor)
    loop.run_until_complete(loop.run_in_executor(None, int))
    assert loop._default_executor is executor


def test_run_in_executor_propagates_the_exception(loop):
    def fail():
        raise KeyError("in thread")

    with pytest.raises(KeyError, match="in thread"):
        loop.run_until_complete(loop.run_in_executor(None, fail))


def test_run_in_executor_uses_the_given_executor(loop):
    with concurrent.futures.ThreadPoolExecutor(thread_name_prefix="mine") as pool:
        name = loop.run_until_complete(
            loop.run_in_executor(pool, lambda: threading.current_thread().name)
        )
    assert name.startswith("mine")
    assert loop._default_executor is None


def test_set_default_executor_is_used_for_none(loop):
    with concurrent.futures.ThreadPoolExecutor(thread_name_prefix="custom-default") as pool:
        loop.set_default_executor(pool)
        name = loop.run_until_complete(
            loop.run_in_executor(None, lambda: threading.current_thread().name)
        )
    assert name.startswith("custom-default")


def test_set_default_executor_accepts_any_executor(loop):
    class InlineExecutor(concurrent.futures.Executor):
        def submit(self, fn, /, *args, **kwargs):
            f = concurrent.futures.Future()
            f.set_result(fn(*args, **kwargs))
            return f

    loop.set_default_executor(InlineExecutor())
    assert loop.run_until_complete(loop.run_in_executor(None, sum, [1, 2, 3])) == 6


def test_set_default_executor_rejects_what_is_not_an_executor(loop):
    with pytest.raises(TypeError, match="'pool'"):
        loop.set_default_executor("pool")


def test_cancelling_the_loop_future_cancels_a_call_not_started(loop):
    release = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        blocker = loop.run_in_executor(pool, release.wait, 30)
        queued = loop.run_in_executor(pool, print, "never")
        queued.cancel()
        release.set()
        loop.run_until_complete(blocker)
        assert queued.cancelled()


def test_shutdown_default_executor_joins_the_threads(loop):
    loop.run_until_complete(loop.run_in_executor(None, int))
    executor = loop._default_executor
    threads = list(executor._threads)
    loop.run_until_complete(loop.shutdown_default_executor())
    assert all(not t.is_alive() for t in threads)
    with pytest.raises(RuntimeError, match="shut down"):
        loop.run_in_executor(None, int)


def test_shutdown_default_executor_without_executor_is_a_noop(loop):
    loop.run_until_complete(loop.shutdown_default_executor())
    with pytest.raises(RuntimeError, match="shut down"):
        loop.run_in_executor(None, int)


def test_shutdown_default_executor_keeps_the_loop_running_while_joining(loop):
    release = threading.Event()
    ticks = []

    async def main():
        loop.run_in_executor(None, release.wait, 30)
        shutdown = loop.create_task(loop.shutdown_default_executor())
        for i in range(3):
            await loopcore.sleep(0)
            ticks.append(i)
        assert not shutdown.done()
        release.set()
        await shutdown

    loop.run_until_complete(main())
    assert ticks == [0, 1, 2]


def test_shutdown_default_executor_warns_when_the_threads_do_not_finish_in_time(loop):
    release = threading.Event()
    loop.run_in_executor(None, release.wait, 30)
    try:
        with pytest.warns(RuntimeWarning, match="did not finish joining its threads within 0.01"):
            loop.run_until_complete(loop.shutdown_default_executor(timeout=0.01))
    finally:
        release.set()


def test_close_shuts_the_default_executor_down_without_waiting():
    loop = BaseEventLoop()
    release = threading.Event()
    started = threading.Event()

    def slow():
        started.set()
        release.wait(30)

    loop.run_in_executor(None, slow)
    executor = loop._default_executor
    started.wait(30)
    loop.close()  # returns although `slow` is still running
    assert loop._default_executor is None
    with pytest.raises(RuntimeError):
        executor.submit(int)
    release.set()
    executor.shutdown(wait=True)


# -- Results reach the loop's thread and wake it ------------------------------------------


class _AsyncioFutureLoop(BaseEventLoop):
    """A loop whose futures are stdlib asyncio ones (as an asyncio-compatibility
    layer may make them): futures that are not loopcore's."""

    def __init__(self) -> None:
        super().__init__()
        self.set_in_threads: list[int] = []

    def create_future(self):
        import asyncio

        threads = self.set_in_threads

        class RecordingFuture(asyncio.Future):
            def set_result(self, result):
                threads.append(threading.get_ident())
                super().set_result(result)

        return RecordingFuture(loop=self)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("loop_class", [BaseEventLoop, _AsyncioFutureLoop])
def test_run_in_executor_result_wakes_the_loop_with_no_timer_pending(loop_class):
    loop = loop_class()
    try:
        assert not loop._scheduled
        # 0.1 s in the worker; the loop waits in its selector with no timeout, so
        # only the wake-up of call_soon_threadsafe ends it (the test timeout bounds it).
        result = loop.run_until_complete(loop.run_in_executor(None, time.sleep, 0.1))
        assert result is None
    finally:
        loop.close()
    if loop_class is _AsyncioFutureLoop:
        assert loop.set_in_threads == [threading.get_ident()]


def test_run_in_executor_resolves_a_foreign_future_on_the_loop_thread():
    loop = _AsyncioFutureLoop()
    try:
        fut = loop.run_in_executor(None, threading.get_ident)
        worker = loop.run_until_complete(fut)
        assert worker != threading.get_ident()
    finally:
        loop.close()
    assert loop.set_in_threads == [threading.get_ident()]


# -- Executor exceptions are converted to loopcore's ---------------------------------------


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (concurrent.futures.CancelledError, loopcore.CancelledError),
        (concurrent.futures.InvalidStateError, loopcore.InvalidStateError),
        (concurrent.futures.TimeoutError, loopcore.TimeoutError),
    ],
)
def test_run_in_executor_converts_concurrent_futures_exceptions_to_ours(loop, raised, expected):
    def fail():
        raise raised("in the worker")

    async def main():
        try:
            await loop.run_in_executor(None, fail)
        except BaseException as exc:  # CancelledError is a BaseException
            return exc
        raise AssertionError("the executor error was not raised")

    exc = loop.run_until_complete(main())
    assert type(exc) is expected
    assert exc.args == ("in the worker",)


def test_run_in_executor_future_is_cancelled_when_the_executor_cancels_the_call(loop):
    release = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = loop.run_in_executor(pool, release.wait, 10)
        queued = loop.run_in_executor(pool, int)
        # The queued call never starts: shutting the pool down cancels it.
        pool.shutdown(wait=False, cancel_futures=True)
        release.set()
        loop.run_until_complete(loopcore.wait([running, queued]))
    assert running.result() is True
    assert queued.cancelled()
    with pytest.raises(loopcore.CancelledError):
        queued.result()
