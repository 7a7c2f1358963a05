"""Hooks for another library's tasks and cancellations on loopcore's loop.

``loopcore.tasks.register_task_source`` and
``loopcore.exceptions.register_foreign_cancelled_error`` are what loopasyncio uses; here
the "other library" is asyncio itself (tests may import it), driven on a plain
loopcore loop, and every registration is undone after each test.
"""

from __future__ import annotations

import asyncio

import pytest

import loopcore
from loopcore import _task_sources as task_sources
from loopcore import exceptions, introspect, leaks, tasks


class AsyncioTasks:
    def current_task(self, loop):
        return asyncio.current_task(loop)

    def all_tasks(self, loop):
        return asyncio.all_tasks(loop)


class BothCancelledError(loopcore.CancelledError, asyncio.CancelledError):
    pass


@pytest.fixture
def asyncio_tasks_visible(monkeypatch):
    monkeypatch.setattr(task_sources, "_task_sources", [])
    tasks.register_task_source(AsyncioTasks())


@pytest.fixture
def asyncio_cancellation_registered(monkeypatch):
    # From loopcore's defaults (loopasyncio may have registered in this process).
    monkeypatch.setattr(exceptions, "_cancelled_error_types", (loopcore.CancelledError,))
    monkeypatch.setattr(exceptions, "_cancelled_error_class", loopcore.CancelledError)
    exceptions.register_foreign_cancelled_error(asyncio.CancelledError, BothCancelledError)


def foreign_task(loop, coro, name=None):
    """An asyncio task driven by the loopcore loop (it only awaits loopcore futures)."""
    return asyncio.Task(coro, loop=loop, name=name)


async def test_registered_task_source_makes_its_tasks_current_and_listed(
    loopcore_loop, asyncio_tasks_visible
):
    seen = []

    async def body():
        seen.append(loopcore.current_task())
        await loopcore.sleep(0)

    task = foreign_task(loopcore_loop, body(), name="foreign")
    await loopcore.sleep(0)
    assert task in loopcore.all_tasks()
    await task
    assert seen == [task]
    assert task not in loopcore.all_tasks()


async def test_without_a_task_source_foreign_tasks_are_invisible(loopcore_loop, monkeypatch):
    monkeypatch.setattr(task_sources, "_task_sources", [])
    seen = []

    async def body():
        seen.append(loopcore.current_task())

    await foreign_task(loopcore_loop, body())
    assert seen == [None]


def test_registering_the_same_task_source_twice_keeps_one(monkeypatch):
    monkeypatch.setattr(task_sources, "_task_sources", [])
    source = AsyncioTasks()
    tasks.register_task_source(source)
    tasks.register_task_source(source)
    assert task_sources._task_sources == [source]


async def test_task_tree_and_leak_report_show_tasks_of_a_registered_source(
    loopcore_loop, asyncio_tasks_visible, asyncio_cancellation_registered
):
    async def sleeper():
        await loopcore.sleep(3600)

    async def waiter(other):
        await other

    inner = foreign_task(loopcore_loop, sleeper(), name="foreign-sleeper")
    outer = foreign_task(loopcore_loop, waiter(inner), name="foreign-waiter")
    await loopcore.sleep(0)
    try:
        tree = introspect.task_tree(loopcore_loop)
        by_name = {node["name"]: node for node in tree}
        assert "foreign-waiter" in by_name
        (child,) = by_name["foreign-waiter"]["children"]
        assert child["name"] == "foreign-sleeper"
        assert child["awaiting"]["kind"] == "sleep"
        assert any(frame["function"] == "sleeper" for frame in child["stack"])
        reported = [entry["repr"] for entry in leaks.find_leaks(loopcore_loop)["tasks"]]
        assert any("foreign-sleeper" in r for r in reported)
    finally:
        outer.cancel()
        inner.cancel()
        for task in (outer, inner):
            with pytest.raises(asyncio.CancelledError):
                await task


def test_cancelled_error_types_is_loopcore_s_class_alone_by_default(monkeypatch):
    monkeypatch.setattr(exceptions, "_cancelled_error_types", (loopcore.CancelledError,))
    monkeypatch.setattr(exceptions, "_cancelled_error_class", loopcore.CancelledError)
    assert exceptions.cancelled_error_types() == (loopcore.CancelledError,)
    assert type(exceptions.new_cancelled_error("why")) is loopcore.CancelledError


def test_registered_cancellation_is_raised_as_a_class_both_libraries_catch(
    asyncio_cancellation_registered,
):
    assert exceptions.cancelled_error_types() == (loopcore.CancelledError, asyncio.CancelledError)
    loop = loopcore.new_event_loop()
    try:
        fut = loop.create_future()
        fut.cancel("stop")
        with pytest.raises(asyncio.CancelledError) as info:
            fut.result()
        assert type(info.value) is BothCancelledError
        assert isinstance(info.value, loopcore.CancelledError)
        assert info.value.args == ("stop",)
    finally:
        loop.close()


def test_register_foreign_cancelled_error_refuses_a_class_that_is_not_both(
    asyncio_cancellation_registered,
):
    with pytest.raises(TypeError, match="must subclass both"):
        exceptions.register_foreign_cancelled_error(asyncio.CancelledError, loopcore.CancelledError)


def test_register_foreign_cancelled_error_twice_is_a_no_op_but_another_class_is_refused(
    asyncio_cancellation_registered,
):
    exceptions.register_foreign_cancelled_error(asyncio.CancelledError, BothCancelledError)

    class Other(BaseException):
        pass

    class OtherBoth(loopcore.CancelledError, Other):
        pass

    with pytest.raises(TypeError, match="registered already"):
        exceptions.register_foreign_cancelled_error(Other, OtherBoth)


async def test_timeout_converts_a_foreign_cancellation_into_timeout_error(
    loopcore_loop, asyncio_tasks_visible, asyncio_cancellation_registered
):
    async def body():
        with pytest.raises(TimeoutError):
            async with loopcore.timeout(0.01):
                await loopcore.sleep(3600)
        return "timed out"

    assert await foreign_task(loopcore_loop, body()) == "timed out"


async def test_loopcore_task_awaiting_a_cancelled_foreign_future_ends_cancelled(
    loopcore_loop, asyncio_cancellation_registered
):
    foreign = asyncio.Future(loop=loopcore_loop)

    async def body():
        await foreign

    task = loopcore_loop.create_task(body())
    await loopcore.sleep(0)
    task.cancel()
    with pytest.raises(loopcore.CancelledError):
        await task
    assert task.cancelled()
    assert foreign.cancelled()


async def test_foreign_task_awaiting_a_cancelled_loopcore_future_ends_cancelled(
    loopcore_loop, asyncio_cancellation_registered
):
    ours = loopcore_loop.create_future()

    async def body():
        await ours

    task = foreign_task(loopcore_loop, body())
    await loopcore.sleep(0)
    ours.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


# -- call_soon's check of callables implemented in C (asyncio's Task schedules its steps
# -- as such objects): learned per type, only where instances cannot differ.


@pytest.fixture
def fresh_callable_types():
    # The set is a Final module global (compiled, a C static that rebinding the
    # module attribute would not reach): its contents are restored instead.
    from loopcore import base_loop

    learned = base_loop._BUILTIN_CALLABLE_TYPES
    saved = set(learned)
    yield learned
    learned.clear()
    learned.update(saved)


def test_call_soon_learns_a_c_callable_type_after_checking_one_instance(fresh_callable_types):
    import operator

    loop = loopcore.new_event_loop()
    try:
        getter = operator.itemgetter(0)
        assert type(getter) not in fresh_callable_types
        loop.call_soon(getter, [1])
        assert type(getter) in fresh_callable_types
    finally:
        loop.close()


def test_call_soon_never_learns_partial_or_python_callable_types(fresh_callable_types):
    import functools

    class Callable:
        def __call__(self):
            return None

    async def coro_func():
        return None

    loop = loopcore.new_event_loop()
    try:
        loop.call_soon(functools.partial(print, "x"))
        loop.call_soon(Callable())
        assert functools.partial not in fresh_callable_types
        assert Callable not in fresh_callable_types
        # So a partial of a coroutine function is still refused after a good one.
        with pytest.raises(TypeError, match="coroutine"):
            loop.call_soon(functools.partial(coro_func))
    finally:
        loop.close()


async def test_asyncio_task_steps_on_a_loopcore_loop_skip_the_full_check(
    loopcore_loop, fresh_callable_types
):
    async def body():
        await loopcore.sleep(0)
        return "done"

    assert await foreign_task(loopcore_loop, body()) == "done"
    learned = {tp.__name__ for tp in fresh_callable_types}
    assert any("MethWrapper" in name or "Wakeup" in name for name in learned), learned


def test_a_second_copy_of_the_tasks_source_does_not_take_over_the_task_registries() -> None:
    # loopcore.testing.source_signature runs a compiled module's .py source as a
    # module of its own; that copy must not rebind the registries current_task() and
    # all_tasks() read, or they would stop seeing the tasks of every loop.
    import importlib.util
    from pathlib import Path

    path = Path(tasks.__file__).with_name("tasks.py")
    spec = importlib.util.spec_from_file_location("loopcore._copy_of_tasks", path)
    assert spec is not None and spec.loader is not None
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)

    async def body() -> tuple[object, set[object]]:
        return loopcore.current_task(), set(loopcore.all_tasks())

    loop = loopcore.new_event_loop()
    try:
        task = loop.create_task(body())
        current, everything = loop.run_until_complete(task)
    finally:
        loop.close()
    assert current is task
    assert task in everything
