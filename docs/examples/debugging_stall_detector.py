# requires: loopcore
"""The stall detector: a callback that blocks the loop is caught in the act, and
the loop thread's stack is logged while it is still stuck."""

import logging
import os
import sys
import time

import loopcore

HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(loopcore.__file__))) + os.sep


class ShortPaths(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace(HERE, "").replace(PACKAGE, "")


handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(ShortPaths("%(levelname)s %(name)s: %(message)s"))
logging.getLogger("loopcore.stall").addHandler(handler)


def parse_report(data: bytes) -> int:
    time.sleep(0.3)  # stands for CPU-heavy work done on the loop thread by mistake
    return len(data)


async def main() -> None:
    loop = loopcore.get_running_loop()
    loop.set_telemetry(stall_threshold=0.1)
    await loopcore.sleep(0.01)
    parse_report(b"x" * 1000)
    stalls = loop.get_telemetry()["stalls"]
    print(f"stalls recorded: {len(stalls)}")


loopcore.run(main())


# Expected output ("..." stands for any text):
# WARNING loopcore.stall: loop <...> stalled: <Task ...> has held it for ... (threshold 0.100 s)...
#   File "debugging_stall_detector.py", line 40, in <module>
#     loopcore.run(main())
# ...
#   File "debugging_stall_detector.py", line 35, in main
#     parse_report(b"x" * 1000)
#   File "debugging_stall_detector.py", line 27, in parse_report
#     time.sleep(0.3)  # stands for CPU-heavy work done on the loop thread by mistake
# stalls recorded: 1
