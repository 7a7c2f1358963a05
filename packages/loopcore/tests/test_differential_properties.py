"""Differential property test: random task programs interleave exactly as on asyncio.

Hypothesis writes small programs for a few tasks out of steps that need no timers
(``sleep(0)``, awaiting and resolving shared futures, cancelling a task, awaiting
an earlier task (two tasks awaiting each other would recurse in ``cancel()`` on
both), shielding, done callbacks, ``call_soon``, ``gather``, ``wait``,
``as_completed``, ``uncancel``, ``TaskGroup``, and ``timeout(0)``/``wait_for(.., 0)``,
whose deadline is due at once), runs each program on stdlib asyncio and on loopcore, and
compares the logs: which step ran when, what each await gave back, how each task
ended. Any difference in the order callbacks and task steps run, or in how a
cancellation travels, shows up as a different log.

Two things are left out of the comparison. The messages of CancelledError: gather()
keeps them where CPython drops them (differences/tasks.rst); the example-based
tests in test_differential.py compare messages. And Pythons before 3.13, whose
asyncio differs from the 3.13 behaviour loopcore follows (``uncancel()`` there does
not withdraw a cancellation that is not delivered yet).
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

_STRESS = os.environ.get("HYPOTHESIS_PROFILE") == "stress"
examples = settings(max_examples=1000 if _STRESS else 60, deadline=None, derandomize=not _STRESS)

N_TASKS = 3
N_FUTURES = 3

step = st.one_of(
    st.tuples(st.just("yield")),
    st.tuples(st.just("await_future"), st.integers(0, N_FUTURES - 1)),
    st.tuples(st.just("set_result"), st.integers(0, N_FUTURES - 1)),
    st.tuples(st.just("set_exception"), st.integers(0, N_FUTURES - 1)),
    st.tuples(st.just("cancel_future"), st.integers(0, N_FUTURES - 1)),
    st.tuples(st.just("cancel_task"), st.integers(0, N_TASKS - 1)),
    st.tuples(st.just("await_task"), st.integers(0, N_TASKS - 1)),
    st.tuples(st.just("shield_future"), st.integers(0, N_FUTURES - 1)),
    st.tuples(st.just("add_done_callback"), st.integers(0, N_FUTURES - 1)),
    st.tuples(st.just("call_soon")),
    st.tuples(st.just("gather"), st.integers(0, N_FUTURES - 1), st.booleans()),
    st.tuples(st.just("wait_first"), st.integers(0, N_FUTURES - 1)),
    st.tuples(st.just("uncancel")),
    st.tuples(st.just("timeout_0"), st.integers(0, N_FUTURES - 1)),
    st.tuples(st.just("wait_for_0"), st.integers(0, N_FUTURES - 1)),
    st.tuples(st.just("taskgroup"), st.integers(0, N_FUTURES - 1), st.booleans()),
    st.tuples(st.just("as_completed"), st.integers(0, N_FUTURES - 1)),
)
programs = st.lists(st.lists(step, max_size=5), min_size=N_TASKS, max_size=N_TASKS)


def _comparable(value: object) -> object:
    if isinstance(value, BaseException):
        # A CancelledError's message is left out (see the module docstring).
        args = () if type(value).__name__ == "CancelledError" else value.args
        return type(value).__name__, args
    return value


def run_program(aio: types.ModuleType, program: list[list[tuple[Any, ...]]]) -> list[object]:
    log: list[object] = []

    async def main() -> None:
        loop = aio.get_running_loop()
        futs = [loop.create_future() for _ in range(N_FUTURES)]
        tasks: list[Any] = []

        async def worker(me: int, steps: list[tuple[Any, ...]]) -> str:
            for i, (op, *arg) in enumerate(steps):
                try:
                    if op == "yield":
                        await aio.sleep(0)
                        got: object = None
                    elif op == "await_future":
                        got = await futs[arg[0]]
                    elif op == "shield_future":
                        got = await aio.shield(futs[arg[0]])
                    elif op == "set_result":
                        fut = futs[arg[0]]
                        got = fut.done() or fut.set_result(f"r{me}.{i}")
                    elif op == "set_exception":
                        fut = futs[arg[0]]
                        got = fut.done() or fut.set_exception(ValueError(f"e{me}.{i}"))
                    elif op == "cancel_future":
                        got = futs[arg[0]].cancel(f"f{me}.{i}")
                    elif op == "cancel_task":
                        target = tasks[arg[0]]
                        got = ("cancel", target.cancel(f"t{me}.{i}"), target.cancelling())
                    elif op == "add_done_callback":
                        tag = (me, i)
                        futs[arg[0]].add_done_callback(
                            lambda f, tag=tag: log.append(("callback", tag, f.cancelled()))
                        )
                        got = None
                    elif op == "call_soon":
                        got = loop.call_soon(log.append, ("call_soon", me, i)) and None
                    elif op == "gather":
                        both = (futs[arg[0]], futs[(arg[0] + 1) % N_FUTURES])
                        results = await aio.gather(*both, return_exceptions=arg[1])
                        got = [_comparable(r) for r in results]
                    elif op == "wait_first":
                        both = (futs[arg[0]], futs[(arg[0] + 1) % N_FUTURES])
                        done, _ = await aio.wait(both, return_when=aio.FIRST_COMPLETED)
                        got = sorted(futs.index(f) for f in done)
                    elif op == "timeout_0":
                        try:
                            async with aio.timeout(0):
                                got = await futs[arg[0]]
                        except TimeoutError:
                            got = "TimeoutError"
                    elif op == "wait_for_0":
                        try:
                            got = await aio.wait_for(aio.shield(futs[arg[0]]), 0)
                        except TimeoutError:
                            got = "TimeoutError"
                    elif op == "taskgroup":
                        fut = futs[arg[0]]

                        async def child(fut: Any = fut, fail: bool = arg[1]) -> object:
                            await aio.sleep(0)
                            if fail:
                                raise ValueError("child")
                            return await fut

                        try:
                            async with aio.TaskGroup() as tg:
                                a = tg.create_task(child())
                                b = tg.create_task(aio.sleep(0, "b"))
                            got = (a.result(), b.result())
                        except BaseExceptionGroup as eg:
                            got = sorted(_comparable(e) for e in eg.exceptions)  # type: ignore[type-var]
                    elif op == "as_completed":
                        both = (futs[arg[0]], futs[(arg[0] + 1) % N_FUTURES])
                        results = []
                        for next_done in aio.as_completed(both):
                            try:
                                results.append(await next_done)
                            except ValueError as exc:
                                results.append(_comparable(exc))
                        # Futures already done come in set order (by id) in
                        # both, which differs between the two: compare contents.
                        got = sorted(results, key=repr)
                    elif op == "uncancel":
                        got = (tasks[me].cancelling(), tasks[me].uncancel())
                    elif arg[0] < me:  # await_task: only earlier tasks, so no await cycle
                        got = await tasks[arg[0]]
                    else:
                        got = "not an earlier task"
                except aio.CancelledError:
                    log.append((me, i, op, "CancelledError"))
                    raise
                except (ValueError, RuntimeError) as exc:
                    got = (type(exc).__name__, str(exc) if isinstance(exc, ValueError) else "")
                log.append((me, i, op, got))
            return f"done{me}"

        for me, steps in enumerate(program):
            tasks.append(loop.create_task(worker(me, steps)))
        # Let the program run without timers, then end whatever waits forever.
        for _ in range(30):
            await aio.sleep(0)
        for t in tasks:
            t.cancel("end")
        results = await aio.gather(*tasks, return_exceptions=True)
        for me, (t, r) in enumerate(zip(tasks, results, strict=True)):
            kind = "cancelled" if t.cancelled() else type(r).__name__
            log.append(("end", me, kind, _comparable(r)))
        for f in futs:
            if f.done() and not f.cancelled():
                f.exception()  # retrieved: no "never retrieved" report

    loop = aio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    return log


@pytest.mark.skipif(sys.version_info < (3, 13), reason="loopcore follows asyncio 3.13")
@examples
@given(programs)
def test_random_task_programs_interleave_as_on_asyncio(
    program: list[list[tuple[Any, ...]]],
) -> None:
    assert run_program(loopcore, program) == run_program(asyncio, program)
