# requires: loopcore
"""The monitor: a program serves its loop's state on a Unix socket, and
``python -m loopcore monitor PATH`` prints it. Here both run in one process: the
program asks its own monitor from a thread, exactly as the command does."""

import io
import math
import os
import re
import tempfile

import loopcore
from loopcore.__main__ import main as loopcore_cli
from loopcore.testing import virtual_clock_loop

HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep


async def heartbeat() -> None:
    while True:
        await loopcore.sleep(30)


async def worker(n: int) -> None:
    await loopcore.sleep(10 * n)


async def program(path: str) -> str:
    loop = loopcore.get_running_loop()
    loop.enable_monitor(path)
    loop.set_telemetry(detail=True)
    beat = loop.create_task(heartbeat(), name="heartbeat")
    workers = [loop.create_task(worker(n), name=f"worker-{n}") for n in (1, 2)]
    await loopcore.sleep(0)
    # What `python -m loopcore monitor PATH` prints, asked from another thread.
    out = io.StringIO()
    await loop.run_in_executor(None, loopcore_cli, ["monitor", path], out)
    beat.cancel()
    for task in workers:
        task.cancel()
    await loopcore.gather(beat, *workers, return_exceptions=True)
    return out.getvalue()


with tempfile.TemporaryDirectory() as tmp:
    # No autojump: the loop waits for the monitor's real request, and the loop times
    # in the output stay the same from run to run.
    loop = virtual_clock_loop(autojump_threshold=math.inf)
    try:
        text = loop.run_until_complete(program(os.path.join(tmp, "app.sock")))
    finally:
        loop.close()

# Keep the sample readable: relative file names, no pid.
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(loopcore.__file__))) + os.sep
text = re.sub(r"pid \d+", "pid <pid>", text.replace(HERE, "").replace(PACKAGE, ""))
print(text.rstrip())


# Expected output ("..." stands for any text):
# <...EventLoop running=True closed=False debug=False>  pid <pid>  loop time ...
#
# counters
# counter          value
# ...
# callback durations
# bucket          count
# ...
# slowest callbacks (by total time)
# callback        count  total...
# ...
# tasks
# * Task-1: program() suspended at debugging_monitor.py:37
#     awaiting [thread] a result from another thread ...
# * heartbeat: heartbeat() suspended at debugging_monitor.py:21
#     awaiting [sleep] sleep until loop time 30.000 (in 30.000 s)
# ...
# * worker-1: worker() suspended at debugging_monitor.py:25
#     awaiting [sleep] sleep until loop time 10.000 (in 10.000 s)
# ...
# * worker-2: worker() suspended at debugging_monitor.py:25
#     awaiting [sleep] sleep until loop time 20.000 (in 20.000 s)
# ...
# timers (3)
# when    in         callback
# ------  ---------  ...
# 10.000  +10.000 s  _set_result_unless_cancelled(...)
# 20.000  +20.000 s  _set_result_unless_cancelled(...)
# 30.000  +30.000 s  _set_result_unless_cancelled(...)
#
# open resources (0)
# (none)
