"""Future: the 3.4 rules for results, exceptions, cancellation and callbacks."""

from __future__ import annotations

import concurrent.futures
import contextvars
import gc
import threading

import pytest

import loopcore
from loopcore import CancelledError, InvalidStateError
from loopcore.futures import State, isfuture
from loopcore.testing import source_object


def test_new_future_is_pending(loopcore_loop):
    fut = loopcore_loop.create_future()
    assert not fut.done() and not fut.cancelled()
    assert fut._state is State.PENDING
    assert fut.get_loop() is loopcore_loop


def test_a_future_of_an_asyncio_compatible_loop_of_another_implementation_is_bound_to_it():
    # Future(loop=) takes any loop of PEP 3156 (a LoopLike; here the standard
    # library's, as a reference implementation), get_loop() returns it, and the
    # future's callbacks are scheduled on it.
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        fut = loopcore.Future(loop=loop)
        assert fut.get_loop() is loop
        loop.call_soon(fut.set_result, 3)
        assert loop.run_until_complete(fut) == 3
    finally:
        loop.close()


def test_result_before_done_raises_invalid_state(loopcore_loop):
    fut = loopcore_loop.create_future()
    with pytest.raises(InvalidStateError):
        fut.result()
    with pytest.raises(InvalidStateError):
        fut.exception()


def test_set_result_makes_done_and_result_returns_it(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_result(42)
    assert fut.done() and fut.result() == 42 and fut.exception() is None


def test_set_result_twice_raises_invalid_state(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_result(1)
    with pytest.raises(InvalidStateError):
        fut.set_result(2)
    with pytest.raises(InvalidStateError):
        fut.set_exception(ValueError())


def test_set_exception_makes_result_raise_it(loopcore_loop):
    fut = loopcore_loop.create_future()
    exc = ValueError("boom")
    fut.set_exception(exc)
    with pytest.raises(ValueError, match="boom"):
        fut.result()
    assert fut.exception() is exc


def test_set_exception_accepts_a_class(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_exception(KeyError)
    assert isinstance(fut.exception(), KeyError)


def test_set_exception_with_stopiteration_becomes_runtimeerror(loopcore_loop):
    fut = loopcore_loop.create_future()
    stop = StopIteration(1)
    fut.set_exception(stop)  # no error: the 3.13 rule, as the docstring says
    exc = fut.exception()
    assert type(exc) is RuntimeError
    assert exc.__cause__ is stop and exc.__context__ is stop
    assert "StopIteration interacts badly with generators" in str(exc)


@pytest.mark.parametrize("given", [StopIteration, StopIteration(2), StopAsyncIteration])
def test_set_exception_with_stopiteration_class_or_subclass_becomes_runtimeerror(
    loopcore_loop, given
):
    class MyStop(StopIteration):
        pass

    for value in (given, MyStop()):
        fut = loopcore_loop.create_future()
        fut.set_exception(value)
        exc = fut.exception()
        if value is StopAsyncIteration:  # not a StopIteration: stored as it is
            assert type(exc) is StopAsyncIteration
        else:
            assert type(exc) is RuntimeError
            assert isinstance(exc.__cause__, StopIteration)


async def test_awaiting_a_future_set_with_stopiteration_raises_runtimeerror(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_exception(StopIteration("not a return value"))
    with pytest.raises(RuntimeError, match="StopIteration interacts badly"):
        await fut


def test_cancel_pending_future_returns_true_and_result_raises_cancelled(loopcore_loop):
    fut = loopcore_loop.create_future()
    assert fut.cancel("why") is True
    assert fut.cancelled() and fut.done()
    with pytest.raises(CancelledError, match="why"):
        fut.result()
    with pytest.raises(CancelledError):
        fut.exception()


def test_cancel_done_future_returns_false(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_result(None)
    assert fut.cancel() is False
    assert not fut.cancelled()


def test_cancelled_error_is_base_exception_not_exception():
    assert issubclass(CancelledError, BaseException)
    assert not issubclass(CancelledError, Exception)


def test_timeout_error_is_the_builtin():
    assert loopcore.TimeoutError is TimeoutError


def test_done_callbacks_are_scheduled_with_call_soon_not_called_inline(loopcore_loop):
    fut = loopcore_loop.create_future()
    calls = []
    fut.add_done_callback(calls.append)
    fut.set_result(1)
    assert calls == []
    loopcore_loop.run_until_complete(loopcore.sleep(0))
    assert calls == [fut]


def test_done_callbacks_run_in_registration_order(loopcore_loop):
    fut = loopcore_loop.create_future()
    order = []
    for i in range(5):
        fut.add_done_callback(lambda f, i=i: order.append(i))
    fut.set_result(None)
    loopcore_loop.run_until_complete(loopcore.sleep(0))
    assert order == [0, 1, 2, 3, 4]


def test_callback_added_to_done_future_is_scheduled_soon(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.set_result(1)
    calls = []
    fut.add_done_callback(calls.append)
    assert calls == []
    loopcore_loop.run_until_complete(loopcore.sleep(0))
    assert calls == [fut]


def test_done_callback_runs_in_context_it_was_added_in(loopcore_loop):
    var = contextvars.ContextVar("var", default="unset")
    fut = loopcore_loop.create_future()
    seen = []
    var.set("at-add")
    fut.add_done_callback(lambda f: seen.append(var.get()))
    var.set("later")
    fut.set_result(None)
    loopcore_loop.run_until_complete(loopcore.sleep(0))
    assert seen == ["at-add"]


def test_done_callback_runs_in_explicit_context(loopcore_loop):
    var = contextvars.ContextVar("var", default="unset")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "explicit")
    fut = loopcore_loop.create_future()
    seen = []
    fut.add_done_callback(lambda f: seen.append(var.get()), context=ctx)
    fut.set_result(None)
    loopcore_loop.run_until_complete(loopcore.sleep(0))
    assert seen == ["explicit"]


def test_remove_done_callback_removes_every_registration_and_counts(loopcore_loop):
    fut = loopcore_loop.create_future()
    calls = []
    fut.add_done_callback(calls.append)
    fut.add_done_callback(calls.append)
    other = []
    fut.add_done_callback(other.append)
    assert fut.remove_done_callback(calls.append) == 2
    assert fut.remove_done_callback(calls.append) == 0
    fut.set_result(None)
    loopcore_loop.run_until_complete(loopcore.sleep(0))
    assert calls == [] and other == [fut]


def _waiting_order_scenario(loop, outcome):
    """Tasks awaiting one future and plain done callbacks, registered interleaved
    (task, callback, task, callback, task): each is resumed or called in that order,
    and every task sees the future's outcome."""
    fut = loop.create_future()
    order = []

    async def waiter(name):
        try:
            value = await fut
        except BaseException as exc:
            order.append((name, type(exc).__name__))
            raise
        order.append((name, value))

    async def main():
        waiters = []
        for i in range(3):
            waiters.append(loop.create_task(waiter(f"task{i}")))
            await loopcore.sleep(0)  # the task runs to its await and registers
            if i < 2:
                fut.add_done_callback(lambda f, i=i: order.append((f"callback{i}", None)))
        outcome(fut)
        await loopcore.gather(*waiters, return_exceptions=True)
        return order

    return loop.run_until_complete(main())


def test_tasks_awaiting_a_future_resume_in_registration_order_with_its_callbacks(loopcore_loop):
    order = _waiting_order_scenario(loopcore_loop, lambda fut: fut.set_result(7))
    assert order == [
        ("task0", 7),
        ("callback0", None),
        ("task1", 7),
        ("callback1", None),
        ("task2", 7),
    ]


def test_tasks_awaiting_a_failed_future_all_get_its_exception_in_order(loopcore_loop):
    order = _waiting_order_scenario(loopcore_loop, lambda fut: fut.set_exception(KeyError("k")))
    assert order == [
        ("task0", "KeyError"),
        ("callback0", None),
        ("task1", "KeyError"),
        ("callback1", None),
        ("task2", "KeyError"),
    ]


def test_tasks_awaiting_a_cancelled_future_all_get_cancelled_error_in_order(loopcore_loop):
    order = _waiting_order_scenario(loopcore_loop, lambda fut: fut.cancel())
    assert order == [
        ("task0", "CancelledError"),
        ("callback0", None),
        ("task1", "CancelledError"),
        ("callback1", None),
        ("task2", "CancelledError"),
    ]


def test_a_waiting_task_is_listed_and_removable_as_its_wakeup_callback(loopcore_loop):
    fut = loopcore_loop.create_future()

    async def waiter():
        await fut

    async def main():
        task = loopcore_loop.create_task(waiter())
        await loopcore.sleep(0)
        assert "_wakeup" in repr(fut)
        # The waiting task counts as the done callback task._wakeup: removing it
        # detaches the task, adding it back re-attaches it.
        assert fut.remove_done_callback(task._wakeup) == 1
        assert "_wakeup" not in repr(fut)
        fut.add_done_callback(task._wakeup)
        fut.set_result(None)
        await task

    loopcore_loop.run_until_complete(main())


def test_future_is_awaitable_with_await(loopcore_loop):
    fut = loopcore_loop.create_future()
    loopcore_loop.call_soon(fut.set_result, "value")

    async def main():
        return await fut

    assert loopcore_loop.run_until_complete(main()) == "value"


def test_future_is_awaitable_with_yield_from(loopcore_loop):
    fut = loopcore_loop.create_future()
    loopcore_loop.call_soon(fut.set_result, "value")

    @loopcore.coroutine
    def main():
        return (yield from fut)

    assert loopcore_loop.run_until_complete(main()) == "value"


def test_unretrieved_exception_is_reported_when_future_is_collected(loopcore_loop):
    contexts = []
    loopcore_loop.set_exception_handler(lambda loop, ctx: contexts.append(ctx))
    fut = loopcore_loop.create_future()
    fut.set_exception(ValueError("never looked at"))
    del fut
    gc.collect()
    assert len(contexts) == 1
    assert "never retrieved" in contexts[0]["message"]
    assert isinstance(contexts[0]["exception"], ValueError)


def test_retrieved_exception_is_not_reported(loopcore_loop):
    contexts = []
    loopcore_loop.set_exception_handler(lambda loop, ctx: contexts.append(ctx))
    fut = loopcore_loop.create_future()
    fut.set_exception(ValueError())
    fut.exception()
    del fut
    gc.collect()
    assert contexts == []


def test_invalid_transition_is_refused_by_the_state_table(loopcore_loop):
    fut = loopcore_loop.create_future()
    fut.cancel()
    with pytest.raises(InvalidStateError, match="CANCELLED"):
        fut._set_state(State.FINISHED)


def test_isfuture_recognises_futures_and_tasks_but_not_classes(loopcore_loop):
    fut = loopcore_loop.create_future()
    assert isfuture(fut)
    assert not isfuture(loopcore.Future)
    assert not isfuture(object())


def test_repr_shows_state_and_result(loopcore_loop):
    fut = loopcore_loop.create_future()
    assert "pending" in repr(fut)
    fut.set_result(7)
    assert "finished" in repr(fut) and "result=7" in repr(fut)


def test_wrap_future_delivers_result_from_another_thread(loopcore_loop):
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        cf = pool.submit(lambda: threading.current_thread().name)
        wrapped = loopcore.wrap_future(cf, loop=loopcore_loop)
        assert loopcore_loop.run_until_complete(wrapped) != threading.current_thread().name


def test_wrap_future_returns_loopcore_future_unchanged(loopcore_loop):
    fut = loopcore_loop.create_future()
    assert loopcore.wrap_future(fut) is fut


def test_wrap_future_rejects_other_objects(loopcore_loop):
    with pytest.raises(TypeError):
        loopcore.wrap_future(object(), loop=loopcore_loop)


def test_cancelling_wrapper_cancels_concurrent_future(loopcore_loop):
    cf: concurrent.futures.Future[int] = concurrent.futures.Future()
    wrapped = loopcore.wrap_future(cf, loop=loopcore_loop)
    wrapped.cancel()
    loopcore_loop.run_until_complete(loopcore.sleep(0))
    assert cf.cancelled()


def test_wrap_future_propagates_exception(loopcore_loop):
    cf: concurrent.futures.Future[int] = concurrent.futures.Future()
    wrapped = loopcore.wrap_future(cf, loop=loopcore_loop)
    cf.set_running_or_notify_cancel()
    cf.set_exception(KeyError("k"))
    with pytest.raises(KeyError):
        loopcore_loop.run_until_complete(wrapped)


# -- isfuture: asyncio's duck-typing rule -------------------------------------------------


def test_isfuture_follows_asyncios_rule_class_attribute_and_instance_value_not_none():
    class DeclaresNone:
        # The class has the attribute, the instance keeps it None: not a future.
        _asyncio_future_blocking = None

    class SetsItInInit:
        _asyncio_future_blocking = None

        def __init__(self) -> None:
            self._asyncio_future_blocking = False

    class OnlyOnTheInstance:
        def __init__(self) -> None:
            self._asyncio_future_blocking = False

    assert not isfuture(DeclaresNone())
    assert isfuture(SetsItInInit())
    # asyncio looks at the class first: an instance attribute alone does not count.
    assert not isfuture(OnlyOnTheInstance())
    assert not isfuture(SetsItInInit)


def test_isfuture_counts_a_mock_with_a_future_spec():
    from unittest import mock

    assert isfuture(mock.Mock(spec=loopcore.Future))
    assert not isfuture(mock.Mock())  # its __class__ is Mock, which lacks the name


def test_isfuture_counts_an_asyncio_future_bound_to_our_loop():
    import asyncio

    from loopcore.base_loop import BaseEventLoop

    loop = BaseEventLoop()
    try:
        assert isfuture(asyncio.Future(loop=loop))
    finally:
        loop.close()


# -- Futures fed from other threads (chain_future, wrap_future) ----------------------------


def _recording_asyncio_future(loop, threads):
    """An asyncio.Future of *loop* that records the thread its outcome is set in."""
    import asyncio

    class RecordingFuture(asyncio.Future):
        def set_result(self, result):
            threads.append(threading.get_ident())
            super().set_result(result)

        def set_exception(self, exception):
            threads.append(threading.get_ident())
            super().set_exception(exception)

    return RecordingFuture(loop=loop)


@pytest.mark.timeout(10)
def test_chain_future_resolves_a_foreign_destination_on_the_loop_thread():
    from loopcore.base_loop import BaseEventLoop
    from loopcore.futures import chain_future

    loop = BaseEventLoop()
    threads: list[int] = []
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            for outcome in ("result", "exception"):
                dest = _recording_asyncio_future(loop, threads)
                release = threading.Event()

                def job(outcome=outcome, release=release):
                    release.wait(10)
                    if outcome == "exception":
                        raise KeyError("from the worker")
                    return "from the worker"

                chain_future(pool.submit(job), dest)
                # No timer is pending: only the call_soon_threadsafe wake-up ends the
                # wait (the test timeout bounds it if that is missing).
                loop.call_soon(release.set)
                if outcome == "result":
                    assert loop.run_until_complete(dest) == "from the worker"
                else:
                    with pytest.raises(KeyError, match="from the worker"):
                        loop.run_until_complete(dest)
    finally:
        loop.close()
    assert threads == [threading.get_ident()] * 2


@pytest.mark.timeout(10)
def test_wrap_future_resolves_the_wrapper_of_a_foreign_loop_future_on_the_loop_thread():
    import asyncio

    from loopcore.base_loop import BaseEventLoop

    threads: list[int] = []

    class AsyncioFutureLoop(BaseEventLoop):
        def create_future(self):
            return _recording_asyncio_future(self, threads)

    loop = AsyncioFutureLoop()
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            release = threading.Event()
            wrapped = loopcore.wrap_future(pool.submit(release.wait, 10), loop=loop)
            assert isinstance(wrapped, asyncio.Future)
            loop.call_soon(release.set)
            assert loop.run_until_complete(wrapped) is True
    finally:
        loop.close()
    assert threads == [threading.get_ident()]


def test_wrap_future_returns_any_future_like_object_unchanged():
    import asyncio
    from unittest import mock

    from loopcore.base_loop import BaseEventLoop

    loop = BaseEventLoop()
    try:
        foreign = asyncio.Future(loop=loop)
        assert loopcore.wrap_future(foreign) is foreign
        spec_mock = mock.Mock(spec=loopcore.Future)
        assert loopcore.wrap_future(spec_mock) is spec_mock
    finally:
        loop.close()


def test_chain_future_refuses_what_is_not_a_future(loopcore_loop):
    from loopcore.futures import chain_future

    with pytest.raises(TypeError, match="source must be a Future"):
        chain_future(object(), loopcore_loop.create_future())
    with pytest.raises(TypeError, match="destination must be a Future"):
        chain_future(concurrent.futures.Future(), 42)


# -- concurrent.futures exceptions become loopcore's ----------------------------------------


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (concurrent.futures.CancelledError("cf"), CancelledError),
        (concurrent.futures.InvalidStateError("cf"), InvalidStateError),
        (concurrent.futures.TimeoutError("cf"), loopcore.TimeoutError),
    ],
)
def test_wrap_future_converts_concurrent_futures_exceptions_to_ours(raised, expected):
    from loopcore.base_loop import BaseEventLoop

    loop = BaseEventLoop()
    try:
        source: concurrent.futures.Future[object] = concurrent.futures.Future()
        wrapped = loopcore.wrap_future(source, loop=loop)
        source.set_running_or_notify_cancel()
        source.set_exception(raised)
        loop.run_until_complete(loopcore.wait([wrapped]))
        exc = wrapped.exception() if expected is not CancelledError else None
        if expected is CancelledError:
            # A CancelledError *set* as the exception (not a cancellation): the
            # future holds loopcore's class, with the same args.
            with pytest.raises(CancelledError) as info:
                wrapped.result()
            exc = info.value
        assert type(exc) is expected
        assert exc.args == ("cf",)
    finally:
        loop.close()


# Outside debug mode (where each creation site has its own _source_traceback).
@pytest.mark.loopcore(debug=False)
def test_create_future_makes_the_future_the_constructor_makes(loopcore_loop):
    # Every slot of create_future's future holds what Future.__init__ puts there.
    made = loopcore_loop.create_future()
    expected = loopcore.Future(loop=loopcore_loop)
    assert type(made) is loopcore.Future
    # The slots as the source declares them (compiled classes have no __slots__).
    slots = [name for name in source_object(loopcore.Future).__slots__ if name != "__weakref__"]
    assert {"_state", "_loop", "_result", "_callbacks"} <= set(slots)
    assert {name: getattr(made, name) for name in slots} == {
        name: getattr(expected, name) for name in slots
    }
