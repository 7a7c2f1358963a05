"""eager_task_factory / create_eager_task_factory: a task runs synchronously up
to its first suspension (CPython 3.12+ semantics)."""

from __future__ import annotations

import contextvars

import pytest

import loopcore
from loopcore import policies

# Timers run on the virtual clock: delays are exact and cost no real time.
pytestmark = pytest.mark.loopcore(clock="virtual")


@pytest.fixture
def eager_loop(loopcore_loop):
    loopcore_loop.set_task_factory(loopcore.eager_task_factory)
    yield loopcore_loop
    loopcore_loop.set_task_factory(None)


async def test_eager_task_runs_synchronously_until_its_first_suspension(eager_loop):
    steps = []

    async def work():
        steps.append("first step")
        await loopcore.sleep(0)
        steps.append("second step")
        return "result"

    task = eager_loop.create_task(work())
    assert steps == ["first step"]  # ran inside create_task
    assert not task.done()
    assert await task == "result"
    assert steps == ["first step", "second step"]


async def test_eager_task_finishing_without_suspending_is_returned_done_and_never_scheduled(
    eager_loop,
):
    scheduled = []
    original = eager_loop.call_soon

    def spy(*args, **kwargs):
        scheduled.append(args)
        return original(*args, **kwargs)

    async def instant():
        return "instant"

    eager_loop.call_soon = spy
    try:
        task = eager_loop.create_task(instant())
    finally:
        del eager_loop.call_soon
    assert task.done()
    assert task.result() == "instant"
    assert scheduled == []
    assert task not in loopcore.all_tasks()


async def test_eager_task_error_without_suspending_is_set_on_the_task(eager_loop):
    async def fail():
        raise ValueError("eager failure")

    task = eager_loop.create_task(fail())
    assert task.done()
    with pytest.raises(ValueError, match="eager failure"):
        task.result()


async def test_eager_task_is_the_current_task_during_its_first_step(eager_loop):
    caller = loopcore.current_task()
    seen = []

    async def work():
        seen.append(loopcore.current_task())
        await loopcore.sleep(0)
        seen.append(loopcore.current_task())

    task = eager_loop.create_task(work())
    assert seen == [task]
    assert loopcore.current_task() is caller  # restored afterwards
    await task
    assert seen == [task, task]


async def test_eager_task_pending_after_first_step_is_in_all_tasks(eager_loop):
    async def work():
        await loopcore.sleep(0.001)

    task = eager_loop.create_task(work())
    assert task in loopcore.all_tasks()
    await task


async def test_eager_task_factory_passes_name_and_context(eager_loop):
    var = contextvars.ContextVar("var", default="default")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "given")

    async def read():
        return var.get()

    task = eager_loop.create_task(read(), name="eager-one", context=ctx)
    assert task.get_name() == "eager-one"
    assert task.result() == "given"


async def test_eager_task_runs_generator_coroutines_eagerly_too(eager_loop):
    steps = []

    @loopcore.coroutine
    def generator_style():
        steps.append("first step")
        yield from loopcore.sleep(0)
        return "generator"

    task = eager_loop.create_task(generator_style())
    assert steps == ["first step"]
    assert await task == "generator"


def test_eager_task_factory_on_a_loop_not_running_schedules_the_task_normally():
    loop = policies.new_event_loop()
    try:
        loop.set_task_factory(loopcore.eager_task_factory)
        steps = []

        async def work():
            steps.append("ran")
            return 1

        task = loop.create_task(work())
        assert steps == [] and not task.done()
        assert loop.run_until_complete(task) == 1
    finally:
        loop.close()


async def test_create_eager_task_factory_uses_the_custom_task_constructor(loopcore_loop):
    class MyTask(loopcore.Task):
        __slots__ = ()

    loopcore_loop.set_task_factory(loopcore.create_eager_task_factory(MyTask))
    try:

        async def instant():
            return "mine"

        task = loopcore_loop.create_task(instant())
    finally:
        loopcore_loop.set_task_factory(None)
    assert type(task) is MyTask
    assert task.done() and task.result() == "mine"


async def test_eager_tasks_in_a_taskgroup(eager_loop):
    async def instant(v):
        return v

    async def suspended(v):
        await loopcore.sleep(0)
        return v

    async with loopcore.TaskGroup() as tg:
        t1 = tg.create_task(instant(1))
        assert t1.done()
        t2 = tg.create_task(suspended(2))
    assert (t1.result(), t2.result()) == (1, 2)


async def test_eager_task_failing_at_once_in_a_taskgroup_does_not_cancel_create_task(
    eager_loop,
):
    async def fail():
        raise ValueError("at once")

    body_steps = []
    with pytest.raises(ExceptionGroup):
        async with loopcore.TaskGroup() as tg:
            task = tg.create_task(fail())
            body_steps.append("create_task returned")
            assert task.done()
    assert body_steps == ["create_task returned"]
