"""EventLoop: asyncio programs see it as their own loop; it runs on loopcore.

Each test drives a real asyncio program through ``loopasyncio.run`` or
``asyncio.Runner(loop_factory=loopasyncio.new_event_loop)``.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

import loopasyncio
import loopcore
from looptransports import SelectorEventLoop


def test_loop_is_an_asyncio_abstract_event_loop():
    loop = loopasyncio.new_event_loop()
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert isinstance(loop, loopcore.AbstractEventLoop)
        assert isinstance(loop, SelectorEventLoop)
    finally:
        loop.close()


def test_asyncio_runner_accepts_the_loop_factory():
    with asyncio.Runner(loop_factory=loopasyncio.new_event_loop) as runner:
        assert runner.run(asyncio.sleep(0, "ok")) == "ok"
        assert type(runner.get_loop()) is loopasyncio.EventLoop


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.run(loop_factory=) is 3.12+")
def test_asyncio_run_accepts_the_loop_factory():
    async def main():
        return type(asyncio.get_running_loop())

    assert asyncio.run(main(), loop_factory=loopasyncio.new_event_loop) is loopasyncio.EventLoop


def test_running_loop_is_published_to_both_libraries():
    async def main():
        loop = asyncio.get_running_loop()
        return (
            type(loop),
            asyncio.get_event_loop() is loop,
            loopcore.get_running_loop() is loop,
            asyncio.events._get_running_loop() is loop,
        )

    assert loopasyncio.run(main()) == (loopasyncio.EventLoop, True, True, True)
    # And neither library thinks a loop runs once it stopped.
    assert asyncio.events._get_running_loop() is None
    assert loopcore.events._get_running_loop() is None


def test_create_future_and_create_task_make_asyncio_classes():
    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        task = loop.create_task(asyncio.sleep(0))
        await task
        return type(fut), type(task), asyncio.current_task()

    fut_type, task_type, current = loopasyncio.run(main())
    assert fut_type is asyncio.Future
    assert task_type is asyncio.Task
    assert isinstance(current, asyncio.Task)


def test_current_task_and_all_tasks_see_the_tasks():
    async def main():
        me = asyncio.current_task()
        other = asyncio.create_task(asyncio.sleep(10))
        await asyncio.sleep(0)
        seen = asyncio.all_tasks()
        other.cancel()
        with pytest.raises(asyncio.CancelledError):
            await other
        return me in seen and other in seen

    assert loopasyncio.run(main())


def test_timeout_taskgroup_wait_for_and_shield_work():
    async def main():
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await asyncio.sleep(10)
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(asyncio.sleep(0, i)) for i in range(3)]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(10), 0.01)
        shielded = await asyncio.shield(asyncio.sleep(0, "shielded"))
        return [t.result() for t in tasks], shielded

    assert loopasyncio.run(main()) == ([0, 1, 2], "shielded")


def test_taskgroup_failure_cancels_siblings():
    async def fail():
        await asyncio.sleep(0)
        raise ValueError("boom")

    async def main():
        sibling = None
        with pytest.raises(ExceptionGroup) as info:
            async with asyncio.TaskGroup() as tg:
                sibling = tg.create_task(asyncio.sleep(10))
                tg.create_task(fail())
        return sibling.cancelled(), info.value.exceptions

    cancelled, errors = loopasyncio.run(main())
    assert cancelled
    assert [type(e) for e in errors] == [ValueError]


def test_executor_results_are_delivered_on_the_loop_thread():
    async def main():
        loop = asyncio.get_running_loop()
        loop_thread = threading.get_ident()
        fut = loop.run_in_executor(None, threading.get_ident)
        resolved_on = []
        fut.add_done_callback(lambda f: resolved_on.append(threading.get_ident()))
        worker = await fut
        in_thread = await asyncio.to_thread(lambda: "to_thread")
        return worker != loop_thread, resolved_on == [loop_thread], in_thread, type(fut)

    assert loopasyncio.run(main()) == (True, True, "to_thread", asyncio.Future)


def test_run_in_executor_refuses_a_coroutine_function():
    async def coro_func():
        return None

    async def main():
        with pytest.raises(TypeError, match="coroutine function"):
            asyncio.get_running_loop().run_in_executor(None, coro_func)

    loopasyncio.run(main())


def test_run_coroutine_threadsafe_runs_on_the_loop():
    async def main():
        loop = asyncio.get_running_loop()

        def from_thread():
            return asyncio.run_coroutine_threadsafe(asyncio.sleep(0, "from thread"), loop).result(
                timeout=10
            )

        return await asyncio.to_thread(from_thread)

    assert loopasyncio.run(main()) == "from thread"


def test_contextvars_follow_tasks():
    var = contextvars.ContextVar("var", default="unset")

    async def child():
        return var.get()

    async def main():
        var.set("parent")
        inherited = await asyncio.create_task(child())
        var.set("changed")
        isolated = await asyncio.create_task(child(), context=contextvars.Context())
        return inherited, isolated

    assert loopasyncio.run(main()) == ("parent", "unset")


def test_async_generators_are_finalized_at_shutdown():
    closed = []

    async def agen():
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    async def main():
        gen = agen()
        assert await gen.__anext__() == 1
        # Left suspended: the runner's shutdown_asyncgens() closes it.
        return gen

    gen = loopasyncio.run(main())
    assert closed == [True]
    del gen


def test_async_generator_collected_mid_run_is_finalized_on_the_loop():
    closed = []

    async def agen():
        try:
            yield 1
            yield 2
        finally:
            closed.append(asyncio.current_task() is not None)

    async def main():
        gen = agen()
        await gen.__anext__()
        del gen
        gc.collect()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return list(closed)

    assert loopasyncio.run(main()) == [True]


def test_asyncio_streams_echo_over_tcp():
    async def handle(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello\n")
        line = await reader.readline()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return line

    assert loopasyncio.run(main()) == b"hello\n"


def test_create_subprocess_exec_communicates():
    async def main():
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; sys.stdout.write(sys.stdin.read().upper())",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate(b"shout")
        return out, proc.returncode

    assert loopasyncio.run(main()) == (b"SHOUT", 0)


def test_signal_handler_runs_on_the_loop():
    async def main():
        loop = asyncio.get_running_loop()
        got = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, got.set_result, "usr1")
        try:
            os.kill(os.getpid(), signal.SIGUSR1)
            return await asyncio.wait_for(got, 10)
        finally:
            loop.remove_signal_handler(signal.SIGUSR1)

    assert loopasyncio.run(main()) == "usr1"


def test_ctrl_c_cancels_the_main_task_and_raises_keyboard_interrupt():
    # A child process of its own: SIGINT and the runner's handler belong to the main
    # thread of a process, which the test runner's must not share.
    program = textwrap.dedent(
        """
        import asyncio, os, signal, sys
        import loopasyncio

        async def main():
            asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGINT)
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                print("main cancelled", flush=True)
                raise

        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            loopasyncio.run(main())
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.stdout.split("\n")[:2] == ["main cancelled", "KeyboardInterrupt"], result.stderr


def test_run_until_complete_accepts_futures_of_both_libraries():
    loop = loopasyncio.new_event_loop()
    try:
        ours = loopcore.Future(loop=loop)
        loop.call_soon(ours.set_result, "loopcore future")
        theirs = asyncio.Future(loop=loop)
        loop.call_soon(theirs.set_result, "asyncio future")
        assert loop.run_until_complete(ours) == "loopcore future"
        assert loop.run_until_complete(theirs) == "asyncio future"
        assert loop.run_until_complete(asyncio.sleep(0, "coroutine")) == "coroutine"
    finally:
        loop.close()


def test_run_until_complete_refuses_a_future_of_another_loop():
    loop = loopasyncio.new_event_loop()
    other = loopasyncio.new_event_loop()
    try:
        fut = other.create_future()
        with pytest.raises(ValueError):
            loop.run_until_complete(fut)
    finally:
        loop.close()
        other.close()


def test_running_inside_another_running_asyncio_loop_is_refused():
    async def main():
        loop = loopasyncio.new_event_loop()
        coro = asyncio.sleep(0)
        try:
            with pytest.raises(RuntimeError, match="another loop is running"):
                loop.run_until_complete(coro)
        finally:
            coro.close()
            loop.close()

    asyncio.run(main())


def test_generator_coroutines_run_as_asyncio_tasks():
    @loopcore.coroutine
    def old_style():
        yield from loopcore.sleep(0)
        return "generator"

    async def main():
        return await asyncio.get_running_loop().create_task(old_style())

    assert loopasyncio.run(main()) == "generator"
    assert loopasyncio.run(old_style()) == "generator"


def test_task_factory_is_used_by_create_task():
    made = []

    def factory(loop, coro, **kwargs):
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    async def main():
        asyncio.get_running_loop().set_task_factory(factory)
        await asyncio.create_task(asyncio.sleep(0), name="named")
        return [t.get_name() for t in made]

    assert loopasyncio.run(main()) == ["named"]


def test_task_factory_gets_name_and_context_only_when_they_are_given():
    calls = []

    def factory(loop, coro, **kwargs):
        calls.append(sorted(kwargs))
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(factory)
        context = contextvars.copy_context()
        plain = loop.create_task(asyncio.sleep(0))
        named = loop.create_task(asyncio.sleep(0), name="named", context=context)
        await asyncio.gather(plain, named)
        return named.get_name()

    assert loopasyncio.run(main()) == "named"
    # (run() makes tasks of its own at shutdown, after these two.)
    assert calls[:2] == [[], ["context", "name"]]


def test_create_task_on_a_closed_loop_raises_runtime_error():
    loop = loopasyncio.new_event_loop()
    loop.close()
    coro = asyncio.sleep(0)
    try:
        with pytest.raises(RuntimeError, match="Event loop is closed"):
            loop.create_task(coro)
    finally:
        coro.close()


def test_debug_flag_reaches_the_loop():
    async def main():
        return asyncio.get_running_loop().get_debug()

    assert loopasyncio.run(main(), debug=True) is True
    assert loopasyncio.run(main(), debug=False) is False
