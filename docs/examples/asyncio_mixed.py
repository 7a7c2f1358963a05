# requires: loopcore, looptransports, loopsync, loopasyncio
"""A mixed program: asyncio and loopcore code in the same tasks, both ways.

An asyncio task uses loopcore's timeout and a loopsync queue; a loopcore program
started with ``loopcore.run(..., loop_factory=loopasyncio.new_event_loop)`` uses
asyncio's TaskGroup; and a cancellation crosses from one library to the other.
"""

from __future__ import annotations

import asyncio

import loopasyncio
import loopcore
import loopsync


async def asyncio_main() -> None:
    queue: loopsync.Queue[int] = loopsync.Queue()

    async def producer() -> None:
        for i in range(3):
            await queue.put(i)
            await loopcore.sleep(0.001)

    async with asyncio.TaskGroup() as tg:
        tg.create_task(producer())
        print(
            "asyncio task got from a loopsync queue:",
            [await queue.get() for _ in range(3)],
        )

    try:
        async with loopcore.timeout(0.01):
            await asyncio.sleep(10)
    except TimeoutError:
        print("loopcore.timeout() fired inside an asyncio task")

    # An asyncio task awaiting a loopcore future, then cancelled: it ends cancelled.
    ours: loopcore.Future[None] = loopcore.Future(loop=asyncio.get_running_loop())
    waiter = asyncio.create_task(asyncio.wait_for(ours, None))
    await asyncio.sleep(0)
    waiter.cancel()
    try:
        await waiter
    except asyncio.CancelledError:
        print(
            "asyncio task cancelled while awaiting a loopcore future:",
            waiter.cancelled(),
        )


async def loopcore_main() -> str:
    async with asyncio.TaskGroup() as tg:
        child = tg.create_task(asyncio.sleep(0.001, "child"))
    same = asyncio.current_task() is loopcore.current_task()
    return (
        f"asyncio TaskGroup in loopcore.run(): {child.result()}, "
        f"same current task: {same}"
    )


loopasyncio.run(asyncio_main())
print(loopcore.run(loopcore_main(), loop_factory=loopasyncio.new_event_loop))


# Expected output ("..." stands for any text):
# asyncio task got from a loopsync queue: [0, 1, 2]
# loopcore.timeout() fired inside an asyncio task
# asyncio task cancelled while awaiting a loopcore future: True
# asyncio TaskGroup in loopcore.run(): child, same current task: True
