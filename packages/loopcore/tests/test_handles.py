"""Handle and TimerHandle, as the loop uses them."""

from __future__ import annotations

import contextvars
import gc
import weakref

import pytest

from loopcore import Handle, TimerHandle
from loopcore.base_loop import BaseEventLoop


@pytest.fixture
def loop():
    loop = BaseEventLoop()
    yield loop
    loop.close()


def _run_pending(loop):
    loop.stop()
    loop.run_forever()


def test_handle_runs_its_callback_once_with_its_positional_args(loop):
    calls = []
    handle = loop.call_soon(lambda *a: calls.append(a), 1, "two")
    assert isinstance(handle, Handle)
    _run_pending(loop)
    _run_pending(loop)
    assert calls == [(1, "two")]


def test_handle_cancel_is_idempotent_and_releases_the_callback(loop):
    class Big:
        pass

    big = Big()
    ref = weakref.ref(big)
    handle = loop.call_soon(print, big)
    del big
    handle.cancel()
    handle.cancel()
    assert handle.cancelled()
    gc.collect()
    assert ref() is None
    _run_pending(loop)


def test_handle_get_context_is_the_context_it_runs_in(loop):
    ctx = contextvars.Context()
    handle = loop.call_soon(print, context=ctx)
    assert handle.get_context() is ctx
    handle.cancel()


def test_handle_repr_names_the_callback_and_the_state(loop):
    def my_callback(x):
        pass

    handle = loop.call_soon(my_callback, 5)
    assert "my_callback(5)" in repr(handle)
    handle.cancel()
    assert "cancelled" in repr(handle)


def test_timer_handle_knows_when_it_is_due_and_sorts_by_it(loop):
    early = loop.call_at(10.0, print)
    late = loop.call_at(20.0, print)
    assert isinstance(early, TimerHandle)
    assert early.when() == 10.0
    assert early < late and late > early and early <= late and late >= early
    assert "when=10.0" in repr(early)
    early.cancel()
    late.cancel()


def test_timer_handle_cancel_tells_the_loop_once(loop):
    timer = loop.call_later(100, print)
    assert loop._cancelled_timers == 0
    timer.cancel()
    timer.cancel()
    assert loop._cancelled_timers == 1


def test_cancelling_a_timer_after_it_ran_does_not_count_as_a_cancelled_timer(loop):
    calls = []
    timer = loop.call_later(0, calls.append, 1)
    loop.call_later(0.001, loop.stop)
    loop.run_forever()
    assert calls == [1]
    timer.cancel()
    assert loop._cancelled_timers == 0


def test_an_exception_in_a_handle_goes_to_the_exception_handler_with_the_handle(loop):
    contexts = []
    loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))

    def bad():
        raise LookupError("bad callback")

    handle = loop.call_soon(bad)
    _run_pending(loop)
    (ctx,) = contexts
    assert ctx["handle"] is handle
    assert isinstance(ctx["exception"], LookupError)
    assert "Exception in callback" in ctx["message"]


def test_handles_have_no_instance_dict(loop):
    handle = loop.call_soon(print)
    timer = loop.call_later(1, print)
    assert not hasattr(handle, "__dict__")
    assert not hasattr(timer, "__dict__")
    handle.cancel()
    timer.cancel()
