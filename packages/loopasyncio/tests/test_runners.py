"""loopasyncio.run(): asyncio.run() on our loop."""

from __future__ import annotations

import asyncio

import pytest

import loopasyncio
import loopcore


def test_run_returns_the_result_and_closes_the_loop():
    loops = []

    async def main():
        loops.append(asyncio.get_running_loop())
        return 42

    assert loopasyncio.run(main()) == 42
    assert loops[0].is_closed()


def test_run_raises_the_exception_of_main():
    async def main():
        raise ValueError("from main")

    with pytest.raises(ValueError, match="from main"):
        loopasyncio.run(main())


def test_run_cancels_tasks_left_pending():
    cancelled = []

    async def forever():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main():
        asyncio.create_task(forever())
        await asyncio.sleep(0)

    loopasyncio.run(main())
    assert cancelled == [True]


def test_run_refuses_a_non_coroutine():
    with pytest.raises(TypeError):
        loopasyncio.run(42)  # type: ignore[arg-type]


def test_run_refuses_to_start_inside_a_running_loop():
    async def inner():
        return None

    async def main():
        coro = inner()
        try:
            with pytest.raises(RuntimeError):
                loopasyncio.run(coro)
        finally:
            coro.close()

    loopasyncio.run(main())


def test_loopcore_run_with_our_loop_factory_runs_asyncio_code():
    async def main():
        await asyncio.sleep(0)
        return asyncio.current_task() is not None, type(asyncio.get_running_loop())

    assert loopcore.run(main(), loop_factory=loopasyncio.new_event_loop) == (
        True,
        loopasyncio.EventLoop,
    )
