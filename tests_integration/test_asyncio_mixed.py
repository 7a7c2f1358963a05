"""loopsync and loopstreams inside the asyncio tasks of a loopasyncio program (here,
where every distribution is installed; loopasyncio's own suite needs only loopcore
and looptransports)."""

from __future__ import annotations

import asyncio

import pytest

import loopasyncio
import loopstreams
import loopsync


def test_loopsync_primitives_inside_asyncio_tasks():
    async def main():
        lock = loopsync.Lock()
        await lock.acquire()
        blocked = asyncio.create_task(lock.acquire())
        await asyncio.sleep(0)
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        lock.release()
        # The cancelled waiter left nothing behind: the lock is free for the next one.
        await asyncio.wait_for(lock.acquire(), 10)
        lock.release()

        queue = loopsync.Queue()
        event = loopsync.Event()

        async def producer():
            for i in range(3):
                await queue.put(i)
            event.set()

        async with asyncio.TaskGroup() as tg:
            tg.create_task(producer())
            items = [await queue.get() for _ in range(3)]
            await event.wait()
        return items

    assert loopasyncio.run(main()) == [0, 1, 2]


def test_condition_wait_cancelled_by_asyncio_reacquires_then_releases_the_lock():
    async def main():
        condition = loopsync.Condition()
        held_after_cancel = []

        async def waiter():
            async with condition:
                try:
                    await condition.wait()
                except asyncio.CancelledError:
                    held_after_cancel.append(condition.locked())
                    raise

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled(), held_after_cancel, condition.locked()

    assert loopasyncio.run(main()) == (True, [True], False)


def test_loopstreams_inside_asyncio_tasks():
    async def handle(reader, writer):
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main():
        server = await loopstreams.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await loopstreams.open_connection("127.0.0.1", port)
        writer.write(b"mixed\n")
        line = await reader.readline()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return line

    assert loopasyncio.run(main()) == b"MIXED\n"
