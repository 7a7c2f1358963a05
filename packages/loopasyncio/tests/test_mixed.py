"""Mixed programs: loopcore inside asyncio tasks, asyncio inside ``loopcore.run``, and
cancellation crossing between the two libraries. (loopsync and loopstreams inside
asyncio tasks: tests_integration/test_asyncio_mixed.py, where every layer is installed.)"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest

import loopasyncio
import loopcore
import loopcore.exceptions


def test_loopcore_sleep_and_timeout_inside_an_asyncio_task():
    async def main():
        slept = await loopcore.sleep(0.001, "slept")
        with pytest.raises(TimeoutError):
            async with loopcore.timeout(0.01):
                await asyncio.sleep(3600)
        return slept, loopcore.current_task() is asyncio.current_task()

    assert loopasyncio.run(main()) == ("slept", True)


def test_loopcore_task_functions_accept_asyncio_awaitables():
    async def main():
        gathered = await loopcore.gather(asyncio.sleep(0, 1), loopcore.sleep(0, 2))
        waited = await loopcore.wait_for(asyncio.sleep(0, 3), 10)
        with pytest.raises(TimeoutError):
            await loopcore.wait_for(asyncio.sleep(3600), 0.01)
        shielded = await loopcore.shield(asyncio.sleep(0, 4))
        threaded = await loopcore.to_thread(lambda: 5)
        async with loopcore.TaskGroup() as tg:
            member = tg.create_task(asyncio.sleep(0, 6))
        return gathered, waited, shielded, threaded, member.result()

    assert loopasyncio.run(main()) == ([1, 2], 3, 4, 5, 6)


def test_asyncio_code_inside_loopcore_run_with_our_loop_factory():
    async def main():
        me = asyncio.current_task()
        async with asyncio.timeout(10):
            await asyncio.sleep(0.001)
        async with asyncio.TaskGroup() as tg:
            child = tg.create_task(asyncio.sleep(0, "child"))
        return me is not None and me is loopcore.current_task(), child.result()

    assert loopcore.run(main(), loop_factory=loopasyncio.new_event_loop) == (True, "child")


def test_asyncio_task_cancelled_while_awaiting_a_loopcore_future_ends_cancelled():
    async def main():
        ours = loopcore.Future(loop=asyncio.get_running_loop())

        async def body():
            await ours

        task = asyncio.create_task(body())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled(), ours.cancelled()

    assert loopasyncio.run(main()) == (True, True)


def test_asyncio_task_whose_loopcore_future_is_cancelled_ends_cancelled():
    async def main():
        ours = loopcore.Future(loop=asyncio.get_running_loop())

        async def body():
            await ours

        task = asyncio.create_task(body())
        await asyncio.sleep(0)
        ours.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled()

    assert loopasyncio.run(main()) is True


def test_loopcore_task_cancelled_while_awaiting_an_asyncio_future_ends_cancelled():
    async def main():
        loop = asyncio.get_running_loop()
        theirs = asyncio.Future(loop=loop)

        async def body():
            await theirs

        task = loopcore.Task(body(), loop=loop)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(loopcore.CancelledError):
            await task
        return task.cancelled(), theirs.cancelled()

    assert loopasyncio.run(main()) == (True, True)


def test_loopcore_task_whose_asyncio_future_is_cancelled_ends_cancelled():
    async def main():
        theirs = asyncio.Future(loop=asyncio.get_running_loop())

        async def body():
            await theirs

        task = loopcore.Task(body(), loop=asyncio.get_running_loop())
        await asyncio.sleep(0)
        theirs.cancel()
        with pytest.raises(loopcore.CancelledError):
            await task
        return task.cancelled()

    assert loopasyncio.run(main()) is True


def test_loopcore_cancellation_is_caught_by_both_except_clauses():
    async def main():
        ours = loopcore.Future(loop=asyncio.get_running_loop())
        ours.cancel()
        try:
            ours.result()
        except asyncio.CancelledError as exc:
            return isinstance(exc, loopcore.CancelledError), type(exc)

    assert loopasyncio.run(main()) == (True, loopasyncio.exceptions.CancelledError)


def test_asyncio_cancellation_is_not_a_loopcore_cancelled_error():
    # The documented asymmetry: asyncio raises its own class, which
    # `except loopcore.CancelledError` does not catch.
    async def main():
        theirs = asyncio.get_running_loop().create_future()
        theirs.cancel()
        try:
            theirs.result()
        except asyncio.CancelledError as exc:
            return (
                isinstance(exc, loopcore.CancelledError),
                isinstance(exc, loopcore.exceptions.cancelled_error_types()),
            )

    assert loopasyncio.run(main()) == (False, True)


def test_ctrl_c_in_loopcore_run_with_our_loop_factory_raises_keyboard_interrupt():
    # loopcore's Runner cancels the main task (an asyncio task on this loop) and turns
    # the asyncio CancelledError that comes out into KeyboardInterrupt.
    program = textwrap.dedent(
        """
        import asyncio, os, signal
        import loopasyncio, loopcore

        async def main():
            asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGINT)
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                print("main cancelled", flush=True)
                raise

        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            loopcore.run(main(), loop_factory=loopasyncio.new_event_loop)
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.stdout.split("\n")[:2] == ["main cancelled", "KeyboardInterrupt"], result.stderr


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.eager_task_factory is 3.12+")
def test_asyncio_eager_task_factory_runs_on_our_loop():
    async def child():
        return asyncio.current_task() is not None

    async def main():
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
        task = asyncio.create_task(child())
        # An eager task that finished without suspending is done at once.
        return task.done(), await task

    assert loopasyncio.run(main()) == (True, True)
