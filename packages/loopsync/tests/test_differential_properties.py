"""Differential property test: random programs over the primitives behave as on asyncio.

Hypothesis writes small programs for a few tasks that share a Lock, a Semaphore, an
Event, a Condition and a bounded Queue (acquire/release, wait/set, notify, put/get,
cancelling another task, ``sleep(0)``), runs each program on stdlib asyncio and on
loopcore + loopsync, and compares the logs: who got the lock, permit, wake-up or
item, in which order, and how every task ended.

Left out, because loopsync documents them as deliberate differences
(differences/loopsync.rst): ``locked()`` right after a release (the lock is handed
over), and a new ``get()`` or ``put()`` racing a woken waiter (queue waiters keep
their place in line, CPython lets the newcomer through): the queue is unbounded and
only task 0 gets from it. And a Condition waiter cancelled before it was notified:
CPython then wakes the next waiter anyway (a spurious wake-up, which the docs
allow), loopsync wakes nobody; so a task that waits on the condition is never
cancelled before the end. Pythons before 3.13 are skipped: loopsync follows 3.13's
asyncio.
"""

from __future__ import annotations

import asyncio
import os
import sys
import types
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopcore
import loopsync

OURS = types.SimpleNamespace(**{**vars(loopcore), **vars(loopsync)})

_STRESS = os.environ.get("HYPOTHESIS_PROFILE") == "stress"
examples = settings(max_examples=1000 if _STRESS else 60, deadline=None, derandomize=not _STRESS)

N_TASKS = 3

step = st.one_of(
    st.tuples(st.just("yield")),
    st.tuples(st.just("lock_acquire")),
    st.tuples(st.just("lock_release")),
    st.tuples(st.just("with_lock")),
    st.tuples(st.just("sem_acquire")),
    st.tuples(st.just("sem_release")),
    st.tuples(st.just("event_wait")),
    st.tuples(st.just("event_set")),
    st.tuples(st.just("event_clear")),
    st.tuples(st.just("cond_wait")),
    st.tuples(st.just("cond_notify"), st.integers(1, 2)),
    st.tuples(st.just("cond_notify_all")),
    st.tuples(st.just("put"), st.integers(0, 9)),
    st.tuples(st.just("get")),
    st.tuples(st.just("cancel_task"), st.integers(0, N_TASKS - 1)),
)
programs = st.lists(st.lists(step, max_size=5), min_size=N_TASKS, max_size=N_TASKS)


def run_program(aio: Any, program: list[list[Any]]) -> list[object]:
    log: list[object] = []

    async def main() -> None:
        loop = aio.get_running_loop()
        lock = aio.Lock()
        sem = aio.Semaphore(1)
        event = aio.Event()
        cond = aio.Condition()
        queue = aio.Queue()
        tasks: list[Any] = []
        holds: dict[int, set[str]] = {me: set() for me in range(N_TASKS)}

        async def worker(me: int, steps: list[Any]) -> str:
            mine = holds[me]
            try:
                for i, (op, *arg) in enumerate(steps):
                    got: object = None
                    if op == "yield":
                        await aio.sleep(0)
                    elif op == "lock_acquire":
                        if "lock" in mine:
                            got = "already held"
                        else:
                            got = await lock.acquire()
                            mine.add("lock")
                    elif op == "lock_release":
                        if "lock" in mine:
                            mine.discard("lock")
                            lock.release()
                        else:
                            got = "not held"
                    elif op == "with_lock":
                        if "lock" in mine:
                            got = "already held"
                        else:
                            async with lock:
                                await aio.sleep(0)
                    elif op == "sem_acquire":
                        if "sem" in mine:
                            got = "already held"
                        else:
                            got = await sem.acquire()
                            mine.add("sem")
                    elif op == "sem_release":
                        if "sem" in mine:
                            mine.discard("sem")
                            sem.release()
                        else:
                            got = "not held"
                    elif op == "event_wait":
                        got = await event.wait()
                    elif op == "event_set":
                        event.set()
                    elif op == "event_clear":
                        event.clear()
                    elif op == "cond_wait":
                        async with cond:
                            got = await cond.wait()
                    elif op == "cond_notify":
                        async with cond:
                            cond.notify(arg[0])
                    elif op == "cond_notify_all":
                        async with cond:
                            cond.notify_all()
                    elif op == "put":
                        await queue.put(f"{arg[0]}@{me}")
                    elif op == "get":
                        got = await queue.get() if me == 0 else "only task 0 gets"
                    elif ("cond_wait",) in program[arg[0]]:  # cancel_task
                        got = "not a condition waiter"
                    else:
                        got = ("cancel", tasks[arg[0]].cancel())
                    log.append((me, i, op, got))
            except aio.CancelledError:
                log.append((me, "cancelled"))
                raise
            finally:
                # Give back what this task holds, so the others can go on.
                if "lock" in mine:
                    lock.release()
                if "sem" in mine:
                    sem.release()
                mine.clear()
            return f"done{me}"

        for me, steps in enumerate(program):
            tasks.append(loop.create_task(worker(me, steps)))
        for _ in range(30):
            await aio.sleep(0)
        for t in tasks:
            t.cancel()
        results = await aio.gather(*tasks, return_exceptions=True)
        log.append(
            ["cancelled" if t.cancelled() else r for t, r in zip(tasks, results, strict=True)]
        )
        log.append(("queue left", [queue.get_nowait() for _ in range(queue.qsize())]))
        log.append(("free", lock.locked(), sem.locked()))

    loop = aio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    return log


@pytest.mark.skipif(sys.version_info < (3, 13), reason="loopsync follows asyncio 3.13")
@examples
@given(programs)
def test_random_programs_over_the_primitives_behave_as_on_asyncio(program: list[list[Any]]) -> None:
    assert run_program(OURS, program) == run_program(asyncio, program)
