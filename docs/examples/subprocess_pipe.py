# requires: loopcore, looptransports
"""Two kinds of pipe: a child process's stdin, stdout and stderr, and an os.pipe().

Part 1 runs ``python -c ...`` with ``subprocess_exec``: the child upper-cases what it
reads and reports on stderr; the protocol prints every callback in the order it came.
Part 2 wraps both ends of an ``os.pipe()`` in transports and sends a line through.
"""

from __future__ import annotations

import os
import sys

import loopcore
from looptransports import BaseTransport, Protocol, SubprocessProtocol

CHILD = """
import sys
data = sys.stdin.buffer.read()
sys.stdout.buffer.write(data.upper())
sys.stderr.write(f"child: read {len(data)} bytes")
sys.exit(3)
"""


class Shouter(SubprocessProtocol):
    def __init__(self, done: loopcore.Future[object]) -> None:
        self.done = done

    def connection_made(self, transport: BaseTransport) -> None:
        print("connection_made: the child runs")

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        name = {1: "stdout", 2: "stderr"}[fd]
        print(f"pipe_data_received({name}): {data.decode()!r}")

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        # The order of the three pipes (and of process_exited) depends on timing.
        pass

    def process_exited(self) -> None:
        print("process_exited")

    def connection_lost(self, exc: Exception | None) -> None:
        print("connection_lost: the process exited and its pipes are closed")
        self.done.set_result(None)


class LineReader(Protocol):
    def __init__(self, done: loopcore.Future[object]) -> None:
        self.done = done

    def data_received(self, data: bytes) -> None:
        print(f"read pipe: received {data.decode()!r}")

    def eof_received(self) -> None:
        print("read pipe: end of file")

    def connection_lost(self, exc: Exception | None) -> None:
        self.done.set_result(None)


async def main() -> None:
    loop = loopcore.get_running_loop()

    done = loop.create_future()
    transport, _ = await loop.subprocess_exec(  # type: ignore[attr-defined]
        lambda: Shouter(done), sys.executable, "-c", CHILD
    )
    stdin = transport.get_pipe_transport(0)
    stdin.write(b"hello from the parent")
    stdin.write_eof()
    await done
    print("return code:", transport.get_returncode())
    transport.close()

    read_fd, write_fd = os.pipe()
    got_eof = loop.create_future()
    await loop.connect_read_pipe(  # type: ignore[attr-defined]
        lambda: LineReader(got_eof), os.fdopen(read_fd, "rb", 0)
    )
    writer, _ = await loop.connect_write_pipe(  # type: ignore[attr-defined]
        Protocol, os.fdopen(write_fd, "wb", 0)
    )
    writer.write(b"through an os.pipe()\n")
    writer.close()  # the reader sees the data, then end of file
    await got_eof
    print("done")


if __name__ == "__main__":
    loopcore.run(main())


# Expected output ("..." stands for any text):
# connection_made: the child runs
# pipe_data_received(stdout): 'HELLO FROM THE PARENT'
# pipe_data_received(stderr): 'child: read 21 bytes'
# process_exited
# connection_lost: the process exited and its pipes are closed
# return code: 3
# read pipe: received 'through an os.pipe()\n'
# read pipe: end of file
# done
