"""loopsync registers describers with loopcore.introspect: the task tree says which
lock, event, condition, semaphore, barrier or queue a task waits on."""

from __future__ import annotations

import loopcore
import loopsync
from loopcore import _build, introspect


def _awaiting(loop, name):
    for node in introspect.task_tree(loop):
        if node["name"] == name:
            return node["awaiting"]
    raise AssertionError(f"no task {name!r}")


async def test_tasks_blocked_on_loopsync_primitives_are_described(loopcore_loop):
    lock, event, queue = loopsync.Lock(), loopsync.Event(), loopsync.Queue(maxsize=1)
    sem, barrier, cond = loopsync.Semaphore(0), loopsync.Barrier(2), loopsync.Condition()
    await lock.acquire()
    queue.put_nowait("full")

    async def with_cond():
        async with cond:
            await cond.wait()

    waiters = {
        "lock": loopcore_loop.create_task(lock.acquire(), name="lock"),
        "event": loopcore_loop.create_task(event.wait(), name="event"),
        "queue": loopcore_loop.create_task(queue.put("more"), name="queue"),
        "semaphore": loopcore_loop.create_task(sem.acquire(), name="semaphore"),
        "barrier": loopcore_loop.create_task(barrier.wait(), name="barrier"),
        "condition": loopcore_loop.create_task(with_cond(), name="condition"),
    }
    for _ in range(3):
        await loopcore.sleep(0)
    # The compiled build's coroutines have no frames to read: the tree names the
    # future the task waits on instead of the primitive (docs: "Compiled build").
    compiled = bool(_build.compiled_modules("loopsync"))
    for kind in waiters:
        awaiting = _awaiting(loopcore_loop, kind)
        assert awaiting["kind"] == ("future" if compiled else kind)
        if not compiled:
            assert awaiting["description"].startswith("waiting on <")
    for task in waiters.values():
        task.cancel()
    await loopcore.gather(*waiters.values(), return_exceptions=True)
    lock.release()
