# requires: loopcore, looptransports, loopstreams
"""Child processes whose pipes are streams: communicate(), line by line, and signals.

Part 1 sorts lines with ``sort`` through ``communicate()``. Part 2 talks to a Python
child one line at a time through ``Process.stdin`` (a StreamWriter) and
``Process.stdout`` (a StreamReader). Part 3 runs a shell command that never ends,
kills it, and reads the return code (minus the signal number). Part 4 uses the
``@loopcore.coroutine`` style with ``yield from``.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Generator

import loopcore
from loopstreams import PIPE, STDOUT, create_subprocess_exec, create_subprocess_shell

UPPER = """
import sys
for line in sys.stdin:
    print(line.strip().upper(), flush=True)
"""


async def sort_lines() -> None:
    proc = await create_subprocess_exec(
        "sort", stdin=PIPE, stdout=PIPE, env={"LC_ALL": "C"}
    )
    out, _ = await proc.communicate(b"pear\napple\nfig\n")
    print("sorted:", out.decode().split(), "return code", proc.returncode)


async def line_by_line() -> None:
    proc = await create_subprocess_exec(
        sys.executable, "-c", UPPER, stdin=PIPE, stdout=PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    for word in ("hello", "subprocess", "streams"):
        await proc.stdin.send(f"{word}\n".encode())  # write() then drain()
        reply = await proc.stdout.readline()
        print(f"sent {word!r}, got {reply.decode().strip()!r}")
    proc.stdin.close()  # the child sees end of file and exits
    print("child exited with", await proc.wait())


async def kill_a_child() -> None:
    proc = await create_subprocess_shell(
        "echo started; exec sleep 60", stdout=PIPE, stderr=STDOUT
    )
    assert proc.stdout is not None
    print("child says:", (await proc.stdout.readline()).decode().strip())
    proc.kill()
    returncode = await proc.wait()
    print(f"killed: return code {returncode} (-SIGKILL is {-signal.SIGKILL})")


@loopcore.coroutine
def generator_style() -> Generator[object, object, None]:
    proc = yield from create_subprocess_exec("echo", "from a generator", stdout=PIPE)
    out, _ = yield from proc.communicate()
    print("yield from:", out)


async def main() -> None:
    await sort_lines()
    await line_by_line()
    await kill_a_child()
    await generator_style()


if __name__ == "__main__":
    loopcore.run(main())


# Expected output ("..." stands for any text):
# sorted: ['apple', 'fig', 'pear'] return code 0
# sent 'hello', got 'HELLO'
# sent 'subprocess', got 'SUBPROCESS'
# sent 'streams', got 'STREAMS'
# child exited with 0
# child says: started
# killed: return code -9 (-SIGKILL is -9)
# yield from: b'from a generator\n'
