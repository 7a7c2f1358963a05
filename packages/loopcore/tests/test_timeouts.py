"""timeout() / timeout_at() / Timeout: CPython 3.13 semantics."""

from __future__ import annotations

import math

import pytest

import loopcore
from loopcore import CancelledError
from loopcore.testing import get_clock

# Timers run on the virtual clock: delays are exact and cost no real time.
pytestmark = pytest.mark.loopcore(clock="virtual")


async def test_timeout_converts_its_own_cancellation_into_builtin_timeouterror():
    reached = []
    with pytest.raises(TimeoutError) as info:
        async with loopcore.timeout(0.002) as cm:
            await loopcore.sleep(3600)
            reached.append("after sleep")
    assert info.type is TimeoutError
    assert isinstance(info.value.__cause__, CancelledError)
    assert reached == []
    assert cm.expired()


async def test_timeout_restores_the_tasks_cancelling_count_after_expiring():
    task = loopcore.current_task()
    with pytest.raises(TimeoutError):
        async with loopcore.timeout(0.001):
            await loopcore.sleep(3600)
    assert task.cancelling() == 0
    # The task goes on normally: no cancellation is left pending.
    assert await loopcore.sleep(0.001, "still alive") == "still alive"


async def test_timeout_block_finishing_in_time_is_untouched(loopcore_loop):
    async with loopcore.timeout(3600) as cm:
        value = await loopcore.sleep(0, "in time")
    assert value == "in time"
    assert not cm.expired()
    assert repr(cm) == "<Timeout [finished]>"


async def test_timeout_none_never_expires():
    async with loopcore.timeout(None) as cm:
        await loopcore.sleep(0.002)
    assert cm.when() is None
    assert not cm.expired()


async def test_timeout_when_is_the_deadline_in_loop_time(loopcore_loop):
    before = loopcore_loop.time()
    cm = loopcore.timeout(10)
    after = loopcore_loop.time()
    assert before + 10 <= cm.when() <= after + 10


async def test_timeout_at_uses_an_absolute_loop_time(loopcore_loop):
    deadline = loopcore_loop.time() + 0.002
    with pytest.raises(TimeoutError):
        async with loopcore.timeout_at(deadline) as cm:
            await loopcore.sleep(3600)
    assert cm.when() == deadline
    assert loopcore_loop.time() >= deadline


async def test_timeout_at_in_the_past_expires_at_the_first_suspension(loopcore_loop):
    steps = []
    with pytest.raises(TimeoutError):
        async with loopcore.timeout_at(loopcore_loop.time() - 1):
            steps.append("entered")
            await loopcore.sleep(0)
            steps.append("not reached")
    assert steps == ["entered"]


async def test_timeout_reschedule_later_lets_the_block_finish(loopcore_loop):
    async with loopcore.timeout(0.001) as cm:
        cm.reschedule(loopcore_loop.time() + 3600)
        await loopcore.sleep(0.003)
    assert not cm.expired()


async def test_timeout_reschedule_earlier_expires_sooner(loopcore_loop):
    with pytest.raises(TimeoutError):
        async with loopcore.timeout(3600) as cm:
            cm.reschedule(loopcore_loop.time() + 0.001)
            await loopcore.sleep(3600)
    assert cm.expired()


async def test_timeout_reschedule_to_none_removes_the_deadline():
    async with loopcore.timeout(0.001) as cm:
        cm.reschedule(None)
        await loopcore.sleep(0.003)
    assert cm.when() is None and not cm.expired()


async def test_timeout_reschedule_before_entering_raises_runtimeerror():
    cm = loopcore.timeout(1)
    with pytest.raises(RuntimeError, match="has not been entered"):
        cm.reschedule(2)


async def test_timeout_reschedule_after_exit_or_expiry_raises_runtimeerror():
    async with loopcore.timeout(1) as cm:
        pass
    with pytest.raises(RuntimeError, match="finished"):
        cm.reschedule(2)
    with pytest.raises(TimeoutError):
        async with loopcore.timeout(0) as expired_cm:
            await loopcore.sleep(1)
    with pytest.raises(RuntimeError, match="expired"):
        expired_cm.reschedule(2)


async def test_timeout_cannot_be_entered_twice():
    cm = loopcore.timeout(1)
    async with cm:
        pass
    with pytest.raises(RuntimeError, match="already been entered"):
        async with cm:
            pass


async def test_timeout_never_swallows_an_outside_cancellation(loopcore_loop):
    async def body():
        async with loopcore.timeout(3600):
            await loopcore.sleep(3600)

    task = loopcore_loop.create_task(body())
    await loopcore.sleep(0)
    task.cancel("from outside")
    with pytest.raises(CancelledError, match="from outside"):
        await task
    assert task.cancelled()


@pytest.mark.loopcore(clock="virtual", autojump_threshold=math.inf)
async def test_timeout_outside_cancellation_arriving_as_it_fires_is_not_swallowed(loopcore_loop):
    async def body():
        async with loopcore.timeout(10):
            await loopcore.sleep(3600)

    task = loopcore_loop.create_task(body())
    await loopcore.sleep(0)  # entered: the deadline is now + 10
    loopcore_loop.call_at(loopcore_loop.time() + 10.5, task.cancel)
    get_clock(loopcore_loop).advance(11)  # the timeout and the cancel in one iteration
    with pytest.raises(CancelledError):
        await task
    assert task.cancelled()


async def test_timeout_block_that_swallows_the_cancellation_ends_normally():
    async with loopcore.timeout(0.001) as cm:
        try:
            await loopcore.sleep(3600)
        except CancelledError:
            pass
    assert cm.expired()
    assert loopcore.current_task().cancelling() == 0


async def test_nested_timeouts_inner_expiry_is_handled_by_the_inner_one(loopcore_loop):
    async with loopcore.timeout(3600) as outer:
        with pytest.raises(TimeoutError):
            async with loopcore.timeout(0.001) as inner:
                await loopcore.sleep(3600)
        value = await loopcore.sleep(0, "outer body continues")
    assert value == "outer body continues"
    assert inner.expired() and not outer.expired()


async def test_nested_timeouts_outer_expiry_passes_through_the_inner_one():
    with pytest.raises(TimeoutError):
        async with loopcore.timeout(0.001) as outer:
            async with loopcore.timeout(3600) as inner:
                await loopcore.sleep(3600)
    assert outer.expired() and not inner.expired()
    assert loopcore.current_task().cancelling() == 0


async def test_timeout_error_raised_while_handling_its_cancellation_shows_the_timeout():
    with pytest.raises(ValueError) as info:
        async with loopcore.timeout(0.001):
            try:
                await loopcore.sleep(3600)
            except CancelledError:
                raise ValueError("cleanup failed")
    context = info.value.__context__
    assert isinstance(context, TimeoutError)
    assert isinstance(context.__context__, CancelledError)


def test_timeout_used_outside_a_task_raises_runtimeerror(loopcore_loop):
    async def body():
        async with loopcore.timeout(1):
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
    assert len(errors) == 1
    assert "inside a task" in str(errors[0])


def test_timeout_needs_a_running_loop_but_timeout_at_does_not():
    with pytest.raises(RuntimeError, match="no running event loop"):
        loopcore.timeout(1)
    cm = loopcore.timeout_at(5.0)
    assert cm.when() == 5.0
    assert repr(cm) == "<Timeout [created]>"


async def test_timeout_repr_shows_state_and_deadline(loopcore_loop):
    async with loopcore.timeout_at(loopcore_loop.time() + 3600) as cm:
        assert repr(cm).startswith("<Timeout [active when=")


async def test_timeout_class_can_be_used_directly(loopcore_loop):
    with pytest.raises(TimeoutError):
        async with loopcore.Timeout(loopcore_loop.time() + 0.001):
            await loopcore.sleep(3600)
