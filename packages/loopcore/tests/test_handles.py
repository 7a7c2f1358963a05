"""Handle and TimerHandle, as the loop uses them."""

from __future__ import annotations

import contextvars
import gc
import weakref

import pytest

from loopcore import Handle, TimerHandle
from loopcore.base_loop import BaseEventLoop
from loopcore.testing import source_object


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


def test_timer_handle_orders_only_against_timer_handles(loop):
    timer = loop.call_at(10.0, print)
    try:
        with pytest.raises(TypeError):
            _ = timer < 5.0
        with pytest.raises(TypeError):
            _ = timer >= object()
        assert timer != 10.0
    finally:
        timer.cancel()


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


def _slot_values(obj):
    """Every slot of *obj*'s class and its bases (``__weakref__`` aside), name to
    value, with unset slots left out. The slots as the source declares them:
    compiled classes have no ``__slots__``."""
    values = {}
    for cls in type(obj).__mro__:
        for name in getattr(source_object(cls), "__slots__", ()):
            if name != "__weakref__" and hasattr(obj, name):
                values[name] = getattr(obj, name)
    return values


def test_call_soon_makes_the_handle_the_constructor_makes(loop):
    # Every slot of call_soon's handle holds what Handle.__init__ puts there.
    context = contextvars.copy_context()
    made = loop.call_soon(print, 1, 2, context=context)
    expected = Handle(print, (1, 2), loop, context)
    assert type(made) is Handle
    assert {"_callback", "_args", "_loop", "_context"} <= _slot_values(made).keys()
    assert _slot_values(made) == _slot_values(expected)
    # Without a context, each gets a copy of the current one.
    made, expected = loop.call_soon(print), Handle(print, (), loop)
    made_slots, expected_slots = _slot_values(made), _slot_values(expected)
    assert type(made_slots.pop("_context")) is type(expected_slots.pop("_context"))
    assert made_slots == expected_slots


def test_call_soon_accepts_a_function_with_an_unrelated_is_coroutine_attribute(loop):
    ran = []

    def callback():
        ran.append(True)

    callback._is_coroutine = "something else"  # not @coroutine's marker
    loop.call_soon(callback)
    _run_pending(loop)
    assert ran == [True]


def test_call_later_makes_the_timer_handle_the_constructor_makes(loop):
    # Likewise for call_later's timer and TimerHandle.__init__.
    context = contextvars.copy_context()
    made = loop.call_later(10, print, 1, context=context)
    expected = TimerHandle(made.when(), print, (1,), loop, context)
    expected._scheduled = True  # as call_later leaves it, in the heap
    assert type(made) is TimerHandle
    assert _slot_values(made) == _slot_values(expected)
    made.cancel()
