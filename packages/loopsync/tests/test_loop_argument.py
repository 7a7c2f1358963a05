"""The 3.4 ``loop=`` keyword, and the rule that a primitive belongs to one loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest

import loopcore
import loopsync

Factory = Callable[..., object]

#: Each public class, made with the keyword arguments given.
FACTORIES: dict[str, Factory] = {
    "Lock": lambda **kw: loopsync.Lock(**kw),
    "Event": lambda **kw: loopsync.Event(**kw),
    "Condition": lambda **kw: loopsync.Condition(**kw),
    "Semaphore": lambda **kw: loopsync.Semaphore(1, **kw),
    "BoundedSemaphore": lambda **kw: loopsync.BoundedSemaphore(1, **kw),
    "Barrier": lambda **kw: loopsync.Barrier(1, **kw),
    "Queue": lambda **kw: loopsync.Queue(1, **kw),
    "PriorityQueue": lambda **kw: loopsync.PriorityQueue(1, **kw),
    "LifoQueue": lambda **kw: loopsync.LifoQueue(1, **kw),
    "JoinableQueue": lambda **kw: loopsync.JoinableQueue(1, **kw),
}


async def use(primitive: object) -> None:
    """Run the primitive's coroutine methods once (which binds it to the running loop)."""
    if isinstance(primitive, (loopsync.Lock, loopsync.Semaphore, loopsync.Condition)):
        async with primitive:
            pass
    elif isinstance(primitive, loopsync.Event):
        primitive.set()
        await primitive.wait()
    elif isinstance(primitive, loopsync.Barrier):
        assert await primitive.wait() == 0
    elif isinstance(primitive, loopsync.Queue):
        await primitive.put(1)
        assert await primitive.get() == 1
        primitive.task_done()
        await primitive.join()
    else:  # pragma: no cover - every class is listed above
        raise AssertionError(primitive)


@pytest.fixture
def two_loops() -> Iterator[tuple[loopcore.AbstractEventLoop, loopcore.AbstractEventLoop]]:
    first = loopcore.new_event_loop()
    second = loopcore.new_event_loop()
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def run(loop: loopcore.AbstractEventLoop, aw: Awaitable[object]) -> object:
    return loop.run_until_complete(aw)


@pytest.mark.parametrize("name", FACTORIES)
async def test_every_class_works_without_the_loop_keyword(name: str) -> None:
    await use(FACTORIES[name]())


@pytest.mark.parametrize("name", FACTORIES)
async def test_loop_keyword_naming_the_running_loop_is_accepted(name: str) -> None:
    await use(FACTORIES[name](loop=loopcore.get_running_loop()))


@pytest.mark.parametrize("name", FACTORIES)
async def test_loop_keyword_naming_another_loop_while_one_runs_is_a_value_error(
    name: str,
) -> None:
    other = loopcore.new_event_loop()
    try:
        with pytest.raises(ValueError, match="running loop") as info:
            FACTORIES[name](loop=other)
        assert repr(other) in str(info.value)
        assert repr(loopcore.get_running_loop()) in str(info.value)
    finally:
        other.close()


@pytest.mark.parametrize("name", FACTORIES)
def test_loop_keyword_must_be_an_event_loop(name: str) -> None:
    with pytest.raises(TypeError, match="'not a loop'"):
        FACTORIES[name](loop="not a loop")


@pytest.mark.parametrize("name", FACTORIES)
def test_34_style_loop_keyword_before_the_loop_runs_binds_to_that_loop(
    name: str, two_loops: tuple[loopcore.AbstractEventLoop, loopcore.AbstractEventLoop]
) -> None:
    first, second = two_loops
    primitive = FACTORIES[name](loop=first)
    run(first, use(primitive))
    with pytest.raises(RuntimeError, match="is bound to event loop") as info:
        run(second, use(primitive))
    assert repr(first) in str(info.value) and repr(second) in str(info.value)


@pytest.mark.parametrize("name", FACTORIES)
def test_primitive_used_from_two_loops_raises_runtime_error_naming_both(
    name: str, two_loops: tuple[loopcore.AbstractEventLoop, loopcore.AbstractEventLoop]
) -> None:
    first, second = two_loops
    primitive = FACTORIES[name]()
    run(first, use(primitive))  # binds it to `first`
    run(first, use(primitive))  # still fine there
    with pytest.raises(RuntimeError) as info:
        run(second, use(primitive))
    message = str(info.value)
    assert repr(first) in message and repr(second) in message
    assert "create one for each loop" in message


def test_synchronous_methods_refuse_another_running_loop_once_bound(
    two_loops: tuple[loopcore.AbstractEventLoop, loopcore.AbstractEventLoop],
) -> None:
    first, second = two_loops
    lock = loopsync.Lock()
    event = loopsync.Event()
    queue: loopsync.Queue[int] = loopsync.Queue()
    sem = loopsync.Semaphore()

    async def bind() -> None:
        await lock.acquire()
        event.set()
        await event.wait()
        await queue.put(1)
        await sem.acquire()

    run(first, bind())

    async def misuse() -> list[str]:
        failures = []
        for call in (lock.release, event.set, queue.get_nowait, sem.release):
            event.clear()
            try:
                call()
            except RuntimeError as exc:
                failures.append(str(exc))
        return failures

    failures = run(second, misuse())
    assert isinstance(failures, list) and len(failures) == 4
    assert all(repr(second) in message for message in failures)
    assert lock.locked() and queue.qsize() == 1 and sem.locked()


def test_synchronous_methods_work_before_any_loop_runs(
    two_loops: tuple[loopcore.AbstractEventLoop, loopcore.AbstractEventLoop],
) -> None:
    first, _ = two_loops
    queue: loopsync.Queue[str] = loopsync.Queue()
    queue.put_nowait("prepared")  # no loop runs yet
    event = loopsync.Event()
    event.set()
    assert run(first, queue.get()) == "prepared"
    assert run(first, event.wait()) is True


def test_condition_with_a_lock_of_another_loop_is_a_value_error(
    two_loops: tuple[loopcore.AbstractEventLoop, loopcore.AbstractEventLoop],
) -> None:
    first, second = two_loops
    lock = loopsync.Lock(loop=first)
    with pytest.raises(ValueError, match="belongs to event loop"):
        loopsync.Condition(lock, loop=second)


def test_condition_takes_the_loop_of_its_lock(
    two_loops: tuple[loopcore.AbstractEventLoop, loopcore.AbstractEventLoop],
) -> None:
    first, second = two_loops
    cond = loopsync.Condition(loopsync.Lock(loop=first))
    run(first, use(cond))
    with pytest.raises(RuntimeError, match="is bound to event loop"):
        run(second, use(cond))


def test_coroutine_methods_need_a_running_loop() -> None:
    lock = loopsync.Lock()
    coro = lock.acquire()
    with pytest.raises(RuntimeError, match="no running event loop"):
        coro.send(None)


@pytest.mark.parametrize("name", ["Lock", "Event", "Semaphore", "Queue"])
def test_primitive_moves_on_once_its_loop_is_closed(name: str) -> None:
    primitive = getattr(loopsync, name)()

    async def use() -> None:
        if name == "Lock":
            async with primitive:
                pass
        elif name == "Event":
            primitive.set()
            await primitive.wait()
        elif name == "Semaphore":
            async with primitive:
                pass
        else:
            await primitive.put(1)
            await primitive.get()

    # Two successive run() calls: each closes its loop, the module-level object stays usable.
    loopcore.run(use())
    loopcore.run(use())
