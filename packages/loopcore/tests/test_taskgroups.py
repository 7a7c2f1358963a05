"""TaskGroup: CPython 3.13 semantics (structured concurrency)."""

from __future__ import annotations

import contextvars

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


async def test_taskgroup_waits_for_every_child_before_leaving_the_block():
    async with loopcore.TaskGroup() as tg:
        t1 = tg.create_task(_value_after(1, 0.002))
        t2 = tg.create_task(_value_after(2, 0))
    assert t1.done() and t2.done()
    assert (t1.result(), t2.result()) == (1, 2)


async def test_taskgroup_create_task_passes_name_and_context():
    var = contextvars.ContextVar("var", default="default")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "in given context")

    async def read():
        return var.get()

    async with loopcore.TaskGroup() as tg:
        named = tg.create_task(read(), name="reader")
        with_ctx = tg.create_task(read(), context=ctx)
    assert named.get_name() == "reader"
    assert named.result() == "default"
    assert with_ctx.result() == "in given context"


async def test_taskgroup_runs_generator_coroutines_too():
    @loopcore.coroutine
    def generator_style():
        yield from loopcore.sleep(0)
        return "generator"

    async with loopcore.TaskGroup() as tg:
        task = tg.create_task(generator_style())
    assert task.result() == "generator"


async def test_taskgroup_failing_child_cancels_siblings_and_the_body():
    reached = []
    sibling = None
    with pytest.raises(ExceptionGroup) as info:
        async with loopcore.TaskGroup() as tg:
            sibling = tg.create_task(_value_after("sibling", 3600))
            tg.create_task(_fail_after(ValueError("child failed"), 0))
            await loopcore.sleep(3600)
            reached.append("body went on")
    assert reached == []
    assert sibling.cancelled()
    assert [type(e) for e in info.value.exceptions] == [ValueError]


async def test_taskgroup_errors_of_several_children_come_out_together():
    with pytest.raises(ExceptionGroup) as info:
        async with loopcore.TaskGroup() as tg:
            tg.create_task(_fail_after(ValueError("a"), 0))
            tg.create_task(_fail_after(KeyError("b"), 0))
    assert info.value.message == "unhandled errors in a TaskGroup"
    assert sorted(type(e).__name__ for e in info.value.exceptions) == ["KeyError", "ValueError"]


async def test_taskgroup_body_error_is_included_and_cancels_children():
    child = None
    with pytest.raises(ExceptionGroup) as info:
        async with loopcore.TaskGroup() as tg:
            child = tg.create_task(_value_after(1, 3600))
            await loopcore.sleep(0)
            raise ZeroDivisionError("body failed")
    assert child.cancelled()
    assert [type(e) for e in info.value.exceptions] == [ZeroDivisionError]


async def test_taskgroup_non_exception_errors_come_as_baseexceptiongroup():
    class Custom(BaseException):
        pass

    with pytest.raises(BaseExceptionGroup) as info:
        async with loopcore.TaskGroup() as tg:
            tg.create_task(_fail_after(Custom(), 0))
    assert not isinstance(info.value, ExceptionGroup)
    assert [type(e) for e in info.value.exceptions] == [Custom]


async def test_taskgroup_errors_are_caught_with_except_star():
    caught = []
    try:
        async with loopcore.TaskGroup() as tg:
            tg.create_task(_fail_after(ValueError("v"), 0))
    except* ValueError as group:
        caught.extend(group.exceptions)
    assert [str(e) for e in caught] == ["v"]


async def test_taskgroup_takes_back_its_own_cancel_request_on_the_parent():
    parent = loopcore.current_task()
    with pytest.raises(ExceptionGroup):
        async with loopcore.TaskGroup() as tg:
            tg.create_task(_fail_after(ValueError(), 0))
            await loopcore.sleep(3600)
    assert parent.cancelling() == 0
    assert await loopcore.sleep(0.001, "parent goes on") == "parent goes on"


async def test_taskgroup_child_cancelled_on_its_own_is_not_an_error():
    async with loopcore.TaskGroup() as tg:
        victim = tg.create_task(_value_after(1, 3600))
        survivor = tg.create_task(_value_after(2, 0.001))
        await loopcore.sleep(0)
        victim.cancel()
    assert victim.cancelled()
    assert survivor.result() == 2


async def test_taskgroup_cancelling_the_parent_cancels_children(loopcore_loop):
    children = []

    async def body():
        async with loopcore.TaskGroup() as tg:
            children.append(tg.create_task(_value_after(1, 3600)))
            children.append(tg.create_task(_value_after(2, 3600)))
            await loopcore.sleep(3600)

    parent = loopcore_loop.create_task(body())
    await loopcore.sleep(0)
    await loopcore.sleep(0)
    parent.cancel("from outside")
    with pytest.raises(CancelledError):
        await parent
    assert parent.cancelled()
    assert all(child.cancelled() for child in children)


async def test_taskgroup_parent_cancelled_while_waiting_for_children_in_exit(loopcore_loop):
    cleanup = []

    async def slow_child():
        try:
            await loopcore.sleep(3600)
        finally:
            cleanup.append("child cleaned up")

    async def body():
        async with loopcore.TaskGroup() as tg:
            tg.create_task(slow_child())
            # The body ends normally: __aexit__ waits for the child.

    parent = loopcore_loop.create_task(body())
    await loopcore.sleep(0)
    await loopcore.sleep(0)
    parent.cancel()
    with pytest.raises(CancelledError):
        await parent
    assert cleanup == ["child cleaned up"]


async def test_taskgroup_outside_cancellation_with_child_errors_raises_errors_and_stays_cancelled(
    loopcore_loop,
):
    async def failing_on_cancel():
        try:
            await loopcore.sleep(3600)
        except CancelledError:
            raise ValueError("failed while cancelled")

    outcome = []

    async def body():
        try:
            async with loopcore.TaskGroup() as tg:
                tg.create_task(failing_on_cancel())
                await loopcore.sleep(3600)
        except* ValueError:
            outcome.append(("errors first", loopcore.current_task().cancelling()))
        # The outside cancellation is still pending: the next await delivers it.
        await loopcore.sleep(3600)
        outcome.append("not reached")

    parent = loopcore_loop.create_task(body())
    await loopcore.sleep(0)
    await loopcore.sleep(0)
    parent.cancel()
    with pytest.raises(CancelledError):
        await parent
    assert outcome == [("errors first", 1)]


def test_taskgroup_keyboardinterrupt_in_body_propagates_unwrapped(loopcore_loop):
    child = None

    async def body():
        nonlocal child
        async with loopcore.TaskGroup() as tg:
            child = tg.create_task(_value_after(1, 3600))
            await loopcore.sleep(0)
            raise KeyboardInterrupt

    parent = loopcore_loop.create_task(body())
    # Like any KeyboardInterrupt in a task, it goes out through the loop.
    with pytest.raises(KeyboardInterrupt):
        loopcore_loop.run_until_complete(parent)
    assert isinstance(parent.exception(), KeyboardInterrupt)
    assert child.cancelled()


def test_taskgroup_keyboardinterrupt_in_child_propagates_unwrapped(loopcore_loop):
    sibling = None

    async def body():
        nonlocal sibling
        async with loopcore.TaskGroup() as tg:
            sibling = tg.create_task(_value_after(1, 3600))
            tg.create_task(_fail_after(KeyboardInterrupt(), 0))

    parent = loopcore_loop.create_task(body())
    # The child's KeyboardInterrupt goes through the loop first (like any
    # KeyboardInterrupt in a task), then out of the group unwrapped.
    with pytest.raises(KeyboardInterrupt):
        loopcore_loop.run_until_complete(parent)
    with pytest.raises(KeyboardInterrupt):
        loopcore_loop.run_until_complete(parent)
    assert isinstance(parent.exception(), KeyboardInterrupt)
    assert sibling.cancelled()


def test_taskgroup_systemexit_in_child_propagates_unwrapped(loopcore_loop):
    sibling = None

    async def body():
        nonlocal sibling
        async with loopcore.TaskGroup() as tg:
            tg.create_task(_fail_after(SystemExit(3), 0.001))
            sibling = tg.create_task(_value_after(1, 3600))

    parent = loopcore_loop.create_task(body())
    with pytest.raises(SystemExit):
        loopcore_loop.run_until_complete(parent)  # the child's, through the loop
    with pytest.raises(SystemExit) as info:
        loopcore_loop.run_until_complete(parent)  # the group's, unwrapped
    assert info.value.code == 3
    assert parent.exception() is info.value
    assert sibling.cancelled()


async def test_taskgroup_cannot_be_reused():
    tg = loopcore.TaskGroup()
    async with tg:
        pass
    with pytest.raises(RuntimeError, match="already been entered"):
        async with tg:
            pass


async def test_taskgroup_create_task_before_entering_raises_runtimeerror():
    tg = loopcore.TaskGroup()
    coro = _value_after(1, 0)
    with pytest.raises(RuntimeError, match="not been entered"):
        tg.create_task(coro)
    assert coro.cr_frame is None  # closed: no "never awaited" warning


async def test_taskgroup_create_task_after_the_group_finished_raises_runtimeerror():
    async with loopcore.TaskGroup() as tg:
        tg.create_task(_value_after(1, 0))
    coro = _value_after(1, 0)
    with pytest.raises(RuntimeError, match="is finished"):
        tg.create_task(coro)
    assert coro.cr_frame is None


async def test_taskgroup_create_task_while_shutting_down_raises_runtimeerror():
    refused = []

    async def spawner(tg):
        try:
            await loopcore.sleep(3600)
        except CancelledError:
            coro = _value_after(1, 0)
            try:
                tg.create_task(coro)
            except RuntimeError as exc:
                refused.append(str(exc))
            raise

    with pytest.raises(ExceptionGroup):
        async with loopcore.TaskGroup() as tg:
            tg.create_task(spawner(tg))
            tg.create_task(_fail_after(ValueError(), 0.001))
    assert len(refused) == 1 and "shutting down" in refused[0]


async def test_taskgroup_create_task_in_exit_while_children_run_is_allowed():
    async with loopcore.TaskGroup() as tg:

        async def spawn_later():
            await loopcore.sleep(0.001)
            return tg.create_task(_value_after("late child", 0))

        spawner = tg.create_task(spawn_later())
    assert spawner.result().result() == "late child"


def test_taskgroup_used_outside_a_task_raises_runtimeerror(loopcore_loop):
    async def body():
        async with loopcore.TaskGroup():
            pass

    errors = []

    def drive_without_a_task():
        coro = body()
        try:
            coro.send(None)
        except RuntimeError as exc:
            errors.append(exc)
        finally:
            coro.close()

    loopcore_loop.call_soon(drive_without_a_task)
    loopcore_loop.call_soon(loopcore_loop.stop)
    loopcore_loop.run_forever()
    assert len(errors) == 1 and "parent task" in str(errors[0])


async def test_taskgroup_inside_a_timeout_raises_timeouterror():
    with pytest.raises(TimeoutError):
        async with loopcore.timeout(0.002):
            async with loopcore.TaskGroup() as tg:
                tg.create_task(_value_after(1, 3600))
    assert loopcore.current_task().cancelling() == 0


async def test_taskgroup_repr_shows_its_state():
    tg = loopcore.TaskGroup()
    assert repr(tg) == "<TaskGroup>"
    async with tg:
        tg.create_task(_value_after(1, 0))
        assert repr(tg) == "<TaskGroup tasks=1 entered>"
