# requires: loopcore
"""The leak report: in debug mode, closing the loop (here: the end of
``loopcore.run``) lists what was left behind and where it was created."""

import logging
import os
import sys

import loopcore

HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep


class ShortPaths(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace(HERE, "")


handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(ShortPaths("%(levelname)s %(name)s: %(message)s"))
logging.getLogger("loopcore.leaks").addHandler(handler)
logging.getLogger("loopcore.leaks").propagate = False

forgotten = []


async def send_metrics() -> None:
    await loopcore.sleep(1)


async def main() -> None:
    loop = loopcore.get_running_loop()
    forgotten.append(send_metrics())  # called, never awaited
    failed = loop.create_future()
    failed.set_exception(ConnectionResetError("peer went away"))
    forgotten.append(failed)  # its exception is never looked at


loopcore.run(main(), debug=True)
forgotten[0].close()
forgotten[1].exception()


# Expected output ("..." stands for any text):
# WARNING loopcore.leaks: leak report of <...EventLoop ...> at close:
# 1 coroutines never awaited:
#   <coroutine object send_metrics at ...>
#     created at (most recent call last):
#       File "debugging_leak_report.py", line 39, in <module>
#         loopcore.run(main(), debug=True)
#       File "debugging_leak_report.py", line 33, in main
#         forgotten.append(send_metrics())  # called, never awaited
# 1 futures whose exception was never retrieved:
#   <Future finished exception=ConnectionResetError('peer went away') created at ...:34>
#     created at (most recent call last):
#       File "debugging_leak_report.py", line 39, in <module>
#         loopcore.run(main(), debug=True)
#       File "debugging_leak_report.py", line 34, in main
#         failed = loop.create_future()
