"""Task: driving both coroutine styles, cancellation, registry, introspection."""

from __future__ import annotations

import contextvars
import gc
import io

import pytest

import loopcore
from loopcore import CancelledError
from loopcore.testing import source_object


async def _answer():
    return 42


def test_task_runs_native_coroutine_to_its_result(loopcore_loop):
    task = loopcore_loop.create_task(_answer())
    assert loopcore_loop.run_until_complete(task) == 42
    assert task.done() and task.result() == 42


def test_task_runs_generator_coroutine_with_yield_from(loopcore_loop):
    @loopcore.coroutine
    def inner():
        yield from loopcore.sleep(0)
        return "inner"

    @loopcore.coroutine
    def outer():
        value = yield from inner()
        return value + "+outer"

    assert loopcore_loop.run_until_complete(outer()) == "inner+outer"


def test_native_coroutine_can_await_generator_coroutine(loopcore_loop):
    @loopcore.coroutine
    def gen_style():
        yield from loopcore.sleep(0)
        return 1

    async def native():
        return await gen_style() + 1

    assert loopcore_loop.run_until_complete(native()) == 2


def test_generator_coroutine_can_yield_from_native_coroutine(loopcore_loop):
    @loopcore.coroutine
    def gen_style():
        return (yield from _answer())

    assert loopcore_loop.run_until_complete(gen_style()) == 42


def test_task_first_step_runs_on_a_later_iteration(loopcore_loop):
    started = []

    async def body():
        started.append(True)

    async def main():
        task = loopcore_loop.create_task(body())
        assert started == []
        await task
        assert started == [True]

    loopcore_loop.run_until_complete(main())


def test_create_task_rejects_non_coroutine_with_clear_error(loopcore_loop):
    with pytest.raises(TypeError, match="a coroutine was expected"):
        loopcore_loop.create_task(42)


def test_task_exception_is_propagated_to_awaiter(loopcore_loop):
    async def fails():
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        loopcore_loop.run_until_complete(fails())


def test_cancel_throws_cancelled_error_at_next_suspension_with_message(loopcore_loop):
    seen = []

    async def body():
        try:
            await loopcore_loop.create_future()
        except CancelledError as exc:
            seen.append(exc.args)
            raise

    async def main():
        task = loopcore_loop.create_task(body())
        await loopcore.sleep(0)
        assert task.cancel("stop now")
        with pytest.raises(CancelledError):
            await task
        assert task.cancelled()

    loopcore_loop.run_until_complete(main())
    assert seen == [("stop now",)]


def test_cancel_before_first_step_cancels_without_running_body(loopcore_loop):
    ran = []

    async def body():
        ran.append(True)

    async def main():
        task = loopcore_loop.create_task(body())
        task.cancel()
        with pytest.raises(CancelledError):
            await task

    loopcore_loop.run_until_complete(main())
    assert ran == []


def test_cancel_done_task_returns_false(loopcore_loop):
    task = loopcore_loop.create_task(_answer())
    loopcore_loop.run_until_complete(task)
    assert task.cancel() is False


def test_coroutine_may_catch_cancellation_and_finish_normally(loopcore_loop):
    async def stubborn():
        try:
            await loopcore.sleep(3600)
        except CancelledError:
            loopcore.current_task().uncancel()
            return "survived"

    async def main():
        task = loopcore_loop.create_task(stubborn())
        await loopcore.sleep(0)
        task.cancel()
        return await task

    assert loopcore_loop.run_until_complete(main()) == "survived"


def test_cancelling_counts_requests_and_uncancel_withdraws_them(loopcore_loop):
    async def main():
        task = loopcore_loop.create_task(loopcore.sleep(3600))
        await loopcore.sleep(0)
        task.cancel()
        task.cancel()
        assert task.cancelling() == 2
        assert task.uncancel() == 1
        assert task.cancelling() == 1
        with pytest.raises(CancelledError):
            await task

    loopcore_loop.run_until_complete(main())


def test_uncancel_to_zero_drops_undelivered_cancellation(loopcore_loop):
    async def main():
        task = loopcore_loop.create_task(_answer())
        task.cancel()
        task.uncancel()
        return await task

    assert loopcore_loop.run_until_complete(main()) == 42


def test_yielding_a_non_future_fails_the_task_with_clear_error(loopcore_loop):
    @loopcore.coroutine
    def bad():
        yield 123

    with pytest.raises(RuntimeError, match="bad yield"):
        loopcore_loop.run_until_complete(bad())


def test_yield_instead_of_yield_from_future_is_reported(loopcore_loop):
    fut = loopcore_loop.create_future()

    @loopcore.coroutine
    def bad():
        yield fut

    with pytest.raises(RuntimeError, match="yield was used instead of yield from"):
        loopcore_loop.run_until_complete(bad())


def test_task_awaiting_itself_fails(loopcore_loop):
    async def selfish():
        await loopcore.current_task()

    with pytest.raises(RuntimeError, match="await on itself"):
        loopcore_loop.run_until_complete(selfish())


def test_future_of_another_loop_fails_the_task(loopcore_loop):
    other = loopcore.new_event_loop()
    try:
        foreign = other.create_future()

        async def main():
            await foreign

        with pytest.raises(RuntimeError, match="different loop"):
            loopcore_loop.run_until_complete(main())
    finally:
        other.close()


def test_pending_task_is_not_garbage_collected_without_other_references(loopcore_loop):
    done = []

    async def fire_and_forget():
        await loopcore.sleep(0)
        gc.collect()
        await loopcore.sleep(0)
        done.append(True)

    async def main():
        loopcore_loop.create_task(fire_and_forget())
        gc.collect()
        for _ in range(5):
            await loopcore.sleep(0)

    loopcore_loop.run_until_complete(main())
    assert done == [True]


def test_all_tasks_returns_only_pending_tasks(loopcore_loop):
    async def main():
        finished = loopcore_loop.create_task(_answer())
        await finished
        sleeper = loopcore_loop.create_task(loopcore.sleep(3600))
        tasks = loopcore.all_tasks()
        assert finished not in tasks
        assert sleeper in tasks and loopcore.current_task() in tasks
        sleeper.cancel()
        with pytest.raises(CancelledError):
            await sleeper

    loopcore_loop.run_until_complete(main())


def test_current_task_is_the_running_task_and_none_outside(loopcore_loop):
    async def main():
        return loopcore.current_task()

    task = loopcore_loop.create_task(main())
    assert loopcore_loop.run_until_complete(task) is task
    assert loopcore.current_task(loopcore_loop) is None


def test_34_classmethods_all_tasks_and_current_task(loopcore_loop):
    async def main():
        me = loopcore.Task.current_task()
        assert me is loopcore.current_task()
        assert me in loopcore.Task.all_tasks()

    loopcore_loop.run_until_complete(main())


def test_current_task_without_running_loop_raises():
    with pytest.raises(RuntimeError, match="no running event loop"):
        loopcore.current_task()


def test_task_names_default_and_explicit(loopcore_loop):
    async def main():
        t1 = loopcore_loop.create_task(_answer())
        t2 = loopcore_loop.create_task(_answer(), name="worker")
        assert t1.get_name().startswith("Task-")
        assert t2.get_name() == "worker"
        t2.set_name(5)
        assert t2.get_name() == "5"
        await loopcore.gather(t1, t2)

    loopcore_loop.run_until_complete(main())


def test_task_runs_in_given_context(loopcore_loop):
    var = contextvars.ContextVar("var", default="default")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "in-ctx")

    async def read():
        return var.get()

    task = loopcore_loop.create_task(read(), context=ctx)
    assert loopcore_loop.run_until_complete(task) == "in-ctx"
    assert task.get_context() is ctx


def test_task_context_changes_do_not_leak_to_caller(loopcore_loop):
    var = contextvars.ContextVar("var", default="default")

    async def write():
        var.set("changed")

    loopcore_loop.run_until_complete(loopcore_loop.create_task(write()))
    assert var.get() == "default"


def test_task_refuses_set_result_and_set_exception(loopcore_loop):
    async def main():
        task = loopcore_loop.create_task(_answer())
        with pytest.raises(RuntimeError):
            task.set_result(1)
        with pytest.raises(RuntimeError):
            task.set_exception(ValueError())
        await task

    loopcore_loop.run_until_complete(main())


def test_get_stack_of_suspended_task_walks_awaited_coroutines(loopcore_loop):
    async def innermost():
        await loopcore.sleep(3600)

    async def middle():
        await innermost()

    async def main():
        task = loopcore_loop.create_task(middle())
        await loopcore.sleep(0)
        names = [f.f_code.co_name for f in task.get_stack()]
        assert names[:2] == ["middle", "innermost"]
        assert [f.f_code.co_name for f in task.get_stack(limit=1)] == [names[-1]]
        buf = io.StringIO()
        task.print_stack(file=buf)
        assert "Stack for" in buf.getvalue() and "innermost" in buf.getvalue()
        task.cancel()
        with pytest.raises(CancelledError):
            await task

    loopcore_loop.run_until_complete(main())


def test_get_stack_of_suspended_task_ends_at_the_coroutine_awaiting_a_future(loopcore_loop):
    # Not inside the future's own __await__ (which a compiled Future has no frame
    # for): the same stack in both builds.
    fut = loopcore_loop.create_future()

    async def waits():
        await fut

    async def main():
        task = loopcore_loop.create_task(waits())
        await loopcore.sleep(0)
        assert [f.f_code.co_name for f in task.get_stack()] == ["waits"]
        fut.set_result(None)
        await task

    loopcore_loop.run_until_complete(main())


def test_get_stack_of_failed_task_is_its_traceback(loopcore_loop):
    async def fails():
        raise KeyError("x")

    task = loopcore_loop.create_task(fails())
    with pytest.raises(KeyError):
        loopcore_loop.run_until_complete(task)
    assert any(f.f_code.co_name == "fails" for f in task.get_stack())
    buf = io.StringIO()
    task.print_stack(file=buf)
    assert "Traceback for" in buf.getvalue() and "KeyError" in buf.getvalue()


def test_ensure_future_wraps_coroutine_in_task_and_returns_future_unchanged(loopcore_loop):
    fut = loopcore_loop.create_future()
    assert loopcore.ensure_future(fut) is fut
    task = loopcore.ensure_future(_answer(), loop=loopcore_loop)
    assert isinstance(task, loopcore.Task)
    assert loopcore_loop.run_until_complete(task) == 42


def test_ensure_future_wraps_awaitable_objects(loopcore_loop):
    class Awaitable:
        def __await__(self):
            return _answer().__await__()

    task = loopcore.ensure_future(Awaitable(), loop=loopcore_loop)
    assert loopcore_loop.run_until_complete(task) == 42


def test_ensure_future_rejects_other_objects():
    with pytest.raises(TypeError, match="coroutine or an awaitable is required"):
        loopcore.ensure_future(42)


def test_ensure_future_refuses_future_of_another_loop(loopcore_loop):
    other = loopcore.new_event_loop()
    try:
        with pytest.raises(ValueError, match="different loop"):
            loopcore.ensure_future(other.create_future(), loop=loopcore_loop)
    finally:
        other.close()


def test_async_is_the_34_name_of_ensure_future():
    assert getattr(loopcore, "async") is loopcore.ensure_future


def test_tasks_pending_at_close_are_reported_with_creation_place():
    loop = loopcore.new_event_loop()
    loop.set_debug(True)
    contexts = []
    loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))

    async def forever():
        await loopcore.sleep(3600)

    task = loop.create_task(forever())
    loop.run_until_complete(loopcore.sleep(0))
    loop.close()
    pending_reports = [c for c in contexts if c.get("task") is task]
    assert len(pending_reports) == 1
    assert "pending" in pending_reports[0]["message"]
    assert pending_reports[0].get("source_traceback")


def test_task_repr_names_coroutine_and_state(loopcore_loop):
    async def main():
        task = loopcore_loop.create_task(loopcore.sleep(3600), name="sleepy")
        await loopcore.sleep(0)
        text = repr(task)
        assert "pending" in text and "sleepy" in text and "sleep" in text and "wait_for=" in text
        task.cancel()
        with pytest.raises(CancelledError):
            await task

    loopcore_loop.run_until_complete(main())


def test_task_steps_and_call_soon_callbacks_keep_one_fifo_order(loopcore_loop):
    # A task's steps are queued on the ready queue like any call_soon callback:
    # first steps, sleep(0) resumptions and wake-ups by a result keep FIFO order
    # with the callbacks scheduled around them.
    order = []
    fut = loopcore_loop.create_future()

    async def sleeper():
        order.append("sleeper step 1")
        await loopcore.sleep(0)
        order.append("sleeper step 2")

    async def waiter():
        order.append("waiter step 1")
        order.append(f"waiter got {await fut}")

    def main():
        loopcore_loop.call_soon(order.append, "callback a")
        t1 = loopcore_loop.create_task(sleeper())
        loopcore_loop.call_soon(order.append, "callback b")
        t2 = loopcore_loop.create_task(waiter())
        loopcore_loop.call_soon(fut.set_result, "x")
        loopcore_loop.call_soon(order.append, "callback c")
        return loopcore.gather(t1, t2)

    loopcore_loop.run_until_complete(main())
    assert order == [
        "callback a",
        "sleeper step 1",
        "callback b",
        "waiter step 1",
        "callback c",
        "sleeper step 2",
        "waiter got x",
    ]


def test_debug_mode_turned_on_while_task_steps_are_queued_runs_them(loopcore_loop):
    steps = []

    async def worker(name):
        for i in range(3):
            steps.append((name, i))
            await loopcore.sleep(0)

    async def main():
        tasks = [loopcore_loop.create_task(worker(n)) for n in "ab"]
        await loopcore.sleep(0)
        loopcore_loop.set_debug(True)  # steps already queued run in the debug phase
        await loopcore.gather(*tasks)
        loopcore_loop.set_debug(False)

    loopcore_loop.run_until_complete(main())
    assert steps == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]


def test_scheduling_a_task_on_a_closed_loop_is_refused(loopcore_loop):
    loop = loopcore.new_event_loop()
    loop.close()
    coro = _answer()
    with pytest.raises(RuntimeError, match="closed"):
        loop.create_task(coro)
    coro.close()


def test_a_loop_subclass_overriding_call_soon_sees_every_task_step():
    seen = []
    probe = loopcore.new_event_loop()
    default_loop_class = type(probe)
    probe.close()

    class CountingLoop(default_loop_class):
        def call_soon(self, callback, *args, context=None):
            seen.append(getattr(callback, "__name__", callback))
            return super().call_soon(callback, *args, context=context)

    async def worker():
        await loopcore.sleep(0)
        await loopcore.sleep(0)
        return "done"

    loop = CountingLoop()
    try:
        assert loop.run_until_complete(worker()) == "done"
    finally:
        loop.close()
    assert seen.count("_step") == 3  # first step and two resumptions after sleep(0)


def test_an_attribute_error_inside_call_soon_task_is_not_taken_for_a_foreign_loop():
    # Whether the loop can queue a task itself is an explicit check (is it built on
    # loopcore's AbstractEventLoop?), not a probe: an AttributeError raised inside
    # _call_soon_task propagates instead of scheduling the step a second way.
    from loopcore.base_loop import BaseEventLoop

    class BrokenLoop(BaseEventLoop):
        def _call_soon_task(self, task):
            raise AttributeError("broken inside _call_soon_task")

    loop = BrokenLoop()
    coro = _answer()
    try:
        with pytest.raises(AttributeError, match="broken inside"):
            loop.create_task(coro)
        assert not loop._ready
    finally:
        coro.close()
        loop.close()


def test_a_task_is_queued_in_one_step_handle_reused_for_every_step():
    from loopcore.base_loop import BaseEventLoop
    from loopcore.handles import Handle

    async def work():
        await loopcore.sleep(0)
        await loopcore.sleep(0)
        return 42

    loop = BaseEventLoop()
    loop.set_debug(False)  # debug mode makes a Handle per step, through call_soon
    try:
        handle = loop.call_soon(print)
        task = loop.create_task(work())
        step = loop._ready[-1]
        assert type(step) is Handle
        assert list(loop._ready) == [handle, step]
        assert step is task._step_handle
        assert step._callback == task._step
        assert step._args == ()
        assert step.get_context() is task.get_context()
        handle.cancel()
        loop._run_once()
        assert list(loop._ready) == [step]  # the same handle, queued again
        assert loop.run_until_complete(task) == 42
        # Done, the task lets go of its handle (which refers back to it).
        assert task._step_handle is None
    finally:
        loop.close()


def test_a_cancelled_step_handle_is_replaced_and_the_task_still_steps():
    # Code given the step handle (an exception handler's context, a monitor) may
    # cancel it; that skips the queued step, but later steps get a fresh handle.
    from loopcore.base_loop import BaseEventLoop

    async def work():
        await loopcore.sleep(0)
        return 5

    loop = BaseEventLoop()
    loop.set_debug(False)
    try:
        task = loop.create_task(work())
        first = task._step_handle
        loop._run_once()  # first step: sleep(0) queues the same handle again
        assert list(loop._ready) == [first]
        first.cancel()
        loop._run_once()  # skipped
        assert not task.done()
        loop._call_soon_task(task)
        assert task._step_handle is not first
        assert loop.run_until_complete(task) == 5
    finally:
        loop.close()


def test_a_task_runs_on_an_asyncio_compatible_loop_of_another_implementation():
    # loopcore's Task needs only the loop API of PEP 3156 (here: the standard
    # library's loop, used as a reference implementation, never by the packages).
    import asyncio

    loop = asyncio.new_event_loop()
    loop.set_task_factory(lambda loop, coro, **kw: loopcore.Task(coro, loop=loop, **kw))

    async def main():
        await asyncio.sleep(0)
        fut = loopcore.Future(loop=loop)
        loop.call_soon(fut.set_result, 5)
        first = await fut
        theirs = loop.create_future()
        loop.call_soon(theirs.set_result, 6)
        return first + await theirs

    try:
        task = loop.create_task(main())
        assert isinstance(task, loopcore.Task)
        assert loop.run_until_complete(task) == 11
    finally:
        loop.close()


def test_ensure_future_returns_any_future_like_object_unchanged(loopcore_loop):
    import asyncio
    from unittest import mock

    foreign = asyncio.Future(loop=loopcore_loop)
    assert loopcore.ensure_future(foreign) is foreign
    assert loopcore.ensure_future(foreign, loop=loopcore_loop) is foreign
    spec_mock = mock.Mock(spec=loopcore.Future)
    spec_mock.get_loop.return_value = loopcore_loop
    assert loopcore.ensure_future(spec_mock, loop=loopcore_loop) is spec_mock


def test_ensure_future_refuses_an_asyncio_future_of_another_loop(loopcore_loop):
    import asyncio

    other = loopcore.new_event_loop()
    try:
        with pytest.raises(ValueError, match="different loop"):
            loopcore.ensure_future(asyncio.Future(loop=other), loop=loopcore_loop)
    finally:
        other.close()


# -- loopcore.create_task(): the module-level function --------------------------------------


async def test_create_task_schedules_the_coroutine_on_the_running_loop(loopcore_loop):
    async def work(value):
        return value

    task = loopcore.create_task(work(7))
    assert isinstance(task, loopcore.Task)
    assert task.get_loop() is loopcore_loop
    assert not task.done()  # scheduled, not run inside create_task
    assert await task == 7


async def test_create_task_names_the_task(loopcore_loop):
    async def work():
        return None

    named = loopcore.create_task(work(), name="worker-1")
    unnamed = loopcore.create_task(work())
    assert named.get_name() == "worker-1"
    assert unnamed.get_name().startswith("Task-")
    await loopcore.gather(named, unnamed)


async def test_create_task_runs_the_coroutine_in_the_given_context(loopcore_loop):
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def read():
        return var.get()

    context = contextvars.Context()
    context.run(var.set, "in the given context")
    var.set("in the caller")
    assert await loopcore.create_task(read(), context=context) == "in the given context"
    assert await loopcore.create_task(read()) == "in the caller"


async def test_create_task_accepts_generator_coroutines(loopcore_loop):
    @loopcore.coroutine
    def old_style():
        yield from loopcore.sleep(0)
        return "3.4 style"

    assert await loopcore.create_task(old_style()) == "3.4 style"


async def test_create_task_passes_name_and_context_to_the_task_factory_only_when_given(
    loopcore_loop,
):
    calls = []

    def factory(loop, coro, **kwargs):
        calls.append(sorted(kwargs))
        return loopcore.Task(coro, loop=loop, **kwargs)

    async def work():
        return None

    loopcore_loop.set_task_factory(factory)
    try:
        await loopcore.create_task(work())
        await loopcore.create_task(work(), name="n")
        await loopcore.create_task(work(), name="n", context=contextvars.copy_context())
    finally:
        loopcore_loop.set_task_factory(None)
    assert calls == [[], ["name"], ["context", "name"]]


def test_create_task_outside_a_running_loop_raises_runtime_error_and_closes_the_coroutine():
    import warnings

    async def work():
        return None

    coro = work()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a "never awaited" RuntimeWarning would fail
        with pytest.raises(RuntimeError, match=r"^no running event loop: .*work\(\)") as info:
            loopcore.create_task(coro)
        assert coro.cr_frame is None  # closed
        del coro
        gc.collect()
    assert "loopcore.run(coro)" in str(info.value)


def test_create_task_outside_a_running_loop_closes_a_generator_coroutine():
    @loopcore.coroutine
    def old_style():
        yield from loopcore.sleep(0)

    gen = old_style()
    with pytest.raises(RuntimeError, match="^no running event loop"):
        loopcore.create_task(gen)
    assert getattr(gen, "gi_frame", None) is None


def test_create_task_outside_a_running_loop_ignores_an_existing_current_loop():
    # asyncio's rule: the *running* loop, never get_event_loop()'s current one.
    saved = loopcore.get_event_loop_policy()
    policy = loopcore.DefaultEventLoopPolicy()
    loop = policy.new_event_loop()

    async def work():
        return None

    try:
        loopcore.set_event_loop_policy(policy)
        loopcore.set_event_loop(loop)
        with pytest.raises(RuntimeError, match="^no running event loop"):
            loopcore.create_task(work())
    finally:
        loopcore.set_event_loop_policy(saved)
        loop.close()


async def test_create_task_refuses_what_is_not_a_coroutine(loopcore_loop):
    with pytest.raises(TypeError):
        loopcore.create_task(lambda: None)


def test_a_task_awaiting_a_cancelled_asyncio_future_ends_cancelled_with_our_error():
    import asyncio

    from loopcore.base_loop import BaseEventLoop

    loop = BaseEventLoop()
    caught = []

    async def waiter(fut):
        try:
            await fut
        except CancelledError as exc:
            caught.append(exc.args)
            raise

    try:
        # The asyncio future is cancelled by its owner...
        fut = asyncio.Future(loop=loop)
        task = loop.create_task(waiter(fut))
        loop.call_soon(fut.cancel, "by owner")
        with pytest.raises(CancelledError):
            loop.run_until_complete(task)
        assert task.cancelled()
        # ...or through the task that awaits it.
        fut = asyncio.Future(loop=loop)
        task = loop.create_task(waiter(fut))
        loop.run_until_complete(loopcore.sleep(0))
        task.cancel("by task")
        with pytest.raises(CancelledError):
            loop.run_until_complete(task)
        assert task.cancelled() and fut.cancelled()
    finally:
        loop.close()
    assert caught == [("by owner",), ("by task",)]


# Outside debug mode (where each creation site has its own _source_traceback).
@pytest.mark.loopcore(debug=False)
def test_create_task_makes_the_task_the_constructor_makes(loopcore_loop):
    # Every slot of create_task's task holds what Task.__init__ (and Future.__init__)
    # put there; the step handle is the loop's, made when the first step is queued.
    async def work():
        return 1

    context = contextvars.copy_context()
    made = loopcore_loop.create_task(work(), name="same", context=context)
    expected = loopcore.Task(work(), loop=loopcore_loop, name="same", context=context)
    assert type(made) is loopcore.Task

    def slot_values(task):
        # The slots as the source declares them (compiled classes have no __slots__).
        return {
            name: getattr(task, name)
            for cls in (loopcore.Task, loopcore.Future)
            for name in source_object(cls).__slots__
            if name not in ("__weakref__", "_coro", "_driver", "_step_handle")
        }

    # The compiled build's driver of each coroutine (Task._driver) is its own.
    assert (made._driver is None) == (expected._driver is None)

    assert {"_state", "_loop", "_name", "_context"} <= slot_values(made).keys()
    assert slot_values(made) == slot_values(expected)
    assert made in loopcore.all_tasks(loopcore_loop)
    assert expected in loopcore.all_tasks(loopcore_loop)
    loopcore_loop.run_until_complete(loopcore.gather(made, expected))
    # Unnamed tasks are numbered the same way on both paths.
    first = loopcore_loop.create_task(work())
    second = loopcore.Task(work(), loop=loopcore_loop)
    assert int(second.get_name().removeprefix("Task-")) == (
        int(first.get_name().removeprefix("Task-")) + 1
    )
    loopcore_loop.run_until_complete(loopcore.gather(first, second))


def test_loop_create_task_refuses_what_is_not_a_coroutine(loopcore_loop):
    with pytest.raises(TypeError, match="a coroutine was expected, got 42"):
        loopcore_loop.create_task(42)


def test_a_queued_task_runs_the_step_of_its_own_class():
    # A task's step handle calls the task's `_step`, including one a subclass
    # overrides.
    steps = []

    class CountingTask(loopcore.Task):
        def _step(self, exc=None):
            steps.append(self)
            super()._step(exc)

    async def work():
        return 7

    loop = loopcore.new_event_loop()
    try:
        loop.set_task_factory(lambda lp, coro, **kw: CountingTask(coro, loop=lp, **kw))
        task = loop.create_task(work())
        assert loop._ready[-1]._callback == task._step
        assert loop.run_until_complete(task) == 7
        assert steps == [task]
        loop.set_task_factory(None)
        other = loop.create_task(work())
        assert type(other) is loopcore.Task and loop._ready[-1]._callback == other._step
        loop.run_until_complete(other)
        assert steps == [task]
    finally:
        loop.close()


# How a step learns that the coroutine returned differs between the builds (compiled,
# through tasks._drive; see the docs page "Compiled build"): the outcome does not.
def test_task_result_is_what_the_coroutine_returned_in_both_styles(loopcore_loop):
    @loopcore.coroutine
    def generator_style(value):
        yield from loopcore.sleep(0)
        return value

    async def native_style(value):
        await loopcore.sleep(0)
        return value

    async def main():
        tasks = [
            loopcore_loop.create_task(make(value))
            for make in (generator_style, native_style)
            for value in (None, 0, "value", (1, 2))
        ]
        return [await task for task in tasks]

    assert loopcore_loop.run_until_complete(main()) == [None, 0, "value", (1, 2)] * 2


def test_task_cancelled_during_its_last_step_ends_cancelled(loopcore_loop):
    async def cancel_self_then_return():
        await loopcore.sleep(0)
        loopcore.current_task().cancel("while returning")
        return "ignored"

    task = loopcore_loop.create_task(cancel_self_then_return())
    with pytest.raises(CancelledError) as caught:
        loopcore_loop.run_until_complete(task)
    assert task.cancelled()
    assert caught.value.args == ("while returning",)
