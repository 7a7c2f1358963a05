# requires: loopcore
"""Run work concurrently with gather() and TaskGroup, and bound it with timeouts."""

import loopcore


async def fetch(name: str, delay: float) -> str:
    await loopcore.sleep(delay)
    return f"{name} after {delay}s"


async def main() -> None:
    # gather(): results in argument order, whatever order they finish in.
    results = await loopcore.gather(fetch("slow", 0.02), fetch("fast", 0.01))
    print("gather:", results)

    # wait_for(): a time limit for one awaitable; it is cancelled when time is up.
    try:
        await loopcore.wait_for(fetch("too slow", 10), timeout=0.01)
    except TimeoutError:
        print("wait_for: timed out, the inner task was cancelled")

    # timeout(): a time limit for a whole block.
    async with loopcore.timeout(1) as cm:
        await fetch("in time", 0.01)
    print("timeout: expired?", cm.expired())

    # TaskGroup: a failing child cancels its siblings; errors come as an ExceptionGroup.
    async def broken() -> None:
        await loopcore.sleep(0.01)
        raise ValueError("broken child")

    try:
        async with loopcore.TaskGroup() as tg:
            sibling = tg.create_task(fetch("sibling", 10))
            tg.create_task(broken())
    except* ValueError as group:
        print(
            "TaskGroup:",
            [str(e) for e in group.exceptions],
            "sibling cancelled:",
            sibling.cancelled(),
        )

    # as_completed(): results in the order they finish.
    for next_done in loopcore.as_completed([fetch("b", 0.02), fetch("a", 0.01)]):
        print("as_completed:", await next_done)


loopcore.run(main())


# Expected output ("..." stands for any text):
# gather: ['slow after 0.02s', 'fast after 0.01s']
# wait_for: timed out, the inner task was cancelled
# timeout: expired? False
# TaskGroup: ['broken child'] sibling cancelled: True
# as_completed: a after 0.01s
# as_completed: b after 0.02s
