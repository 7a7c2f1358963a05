# requires: loopcore, loopsync
"""Producers and consumers sharing a bounded queue.

Two producers put jobs into a queue that holds at most 2, so they wait whenever
the consumers fall behind. Three consumers take jobs, "work" on each, and mark it
done; ``join()`` returns once every job is done, then the consumers are cancelled.
The output shows the producers being held back by the full queue.
"""

from __future__ import annotations

import loopcore
import loopsync


async def producer(name: str, queue: loopsync.Queue[str], jobs: int) -> None:
    for n in range(jobs):
        job = f"{name}-{n}"
        if queue.full():
            size = f"{queue.qsize()}/{queue.maxsize}"
            print(f"{name}: queue full ({size}), waiting to put {job}")
        await queue.put(job)
    print(f"{name}: all {jobs} jobs queued")


async def consumer(name: str, queue: loopsync.Queue[str], done: list[str]) -> None:
    while True:
        job = await queue.get()
        await loopcore.sleep(0.01)  # the work
        done.append(job)
        queue.task_done()


async def main() -> None:
    queue: loopsync.Queue[str] = loopsync.Queue(maxsize=2)
    done: list[str] = []
    consumers = [
        loopcore.get_running_loop().create_task(consumer(f"consumer-{i}", queue, done))
        for i in range(3)
    ]
    await loopcore.gather(producer("A", queue, 4), producer("B", queue, 4))
    await queue.join()  # every job put has been marked done
    for task in consumers:
        task.cancel()
    await loopcore.gather(*consumers, return_exceptions=True)
    print(f"{len(done)} jobs done: {', '.join(sorted(done))}")


loopcore.run(main())


# Expected output ("..." stands for any text):
# A: queue full (2/2), waiting to put A-2
# B: queue full (2/2), waiting to put B-0
# B: queue full (2/2), waiting to put B-1
# A: all 4 jobs queued
# B: queue full (2/2), waiting to put B-3
# B: all 4 jobs queued
# 8 jobs done, B-0, B-1, B-2, B-3
