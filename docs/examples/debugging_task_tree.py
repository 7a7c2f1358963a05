# requires: loopcore
"""The live task tree: what every task waits for, and who waits for whom."""

import os

import loopcore
from loopcore import introspect
from loopcore.testing import virtual_clock_loop

HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep


async def fetch(n: int) -> int:
    await loopcore.sleep(n)  # stands for real I/O
    return n


async def pair() -> list[int]:
    return await loopcore.gather(fetch(2), fetch(3))


async def crawler() -> None:
    async with loopcore.TaskGroup() as tg:
        tg.create_task(fetch(5), name="fetch-5")
        tg.create_task(pair(), name="fetch-pair")


async def main() -> None:
    loop = loopcore.get_running_loop()
    job = loop.create_task(crawler(), name="crawler")
    async with loopcore.timeout(60):
        await loopcore.sleep(1)
        # One second in: print the tree (without stacks, to keep the page short).
        text = introspect.format_task_tree(loop, stack=False)
        print(text.replace(HERE, ""))
    await job


# A virtual clock keeps the deadlines in the output the same on every run.
loop = virtual_clock_loop()
try:
    loop.run_until_complete(main())
finally:
    loop.close()


# Expected output ("..." stands for any text):
# * Task-1: main() running at debugging_task_tree.py:34
#     awaiting [running] running now (timeout at 60.000)
# * crawler: crawler() suspended at debugging_task_tree.py:23
#     awaiting [taskgroup] TaskGroup exit: 2 task(s) still running
#     * fetch-5: fetch() suspended at debugging_task_tree.py:14
#         awaiting [sleep] sleep until loop time 5.000 (in 4.000 s)
#     * fetch-pair: pair() suspended at debugging_task_tree.py:19
#         awaiting [gather] gather of 2 (2 pending)
#         * Task-2: fetch() suspended at debugging_task_tree.py:14
#             awaiting [sleep] sleep until loop time 2.000 (in 1.000 s)
#         * Task-3: fetch() suspended at debugging_task_tree.py:14
#             awaiting [sleep] sleep until loop time 3.000 (in 2.000 s)
#
