# requires: loopcore, looptransports, loopstreams
"""The echo server and client of the seed, written with streams.

The server answers each line a client sends with the same line, upper-cased, until
the client has nothing more to say; the client sends three lines with ``send()``
(which writes and waits for the write buffer to drain), half-closes, and prints the
answers as they come with ``async for``.
"""

from __future__ import annotations

import loopcore
import loopstreams


async def handle_echo(
    reader: loopstreams.StreamReader, writer: loopstreams.StreamWriter
) -> None:
    peer = writer.get_extra_info("peername")
    print(f"server: connection from {peer[0]}")
    async for line in reader:
        print(f"server: received {line!r}")
        await writer.send(line.upper())
    print("server: the client is done; closing")
    writer.close()
    await writer.wait_closed()


async def client(port: int) -> None:
    reader, writer = await loopstreams.open_connection("127.0.0.1", port)
    for text in ("hello", "streams", "goodbye"):
        await writer.send(f"{text}\n".encode())
    writer.write_eof()  # no more lines: the server's `async for` ends
    async for line in reader:
        print(f"client: got {line.decode().strip()!r}")
    writer.close()
    await writer.wait_closed()


async def main() -> None:
    server = await loopstreams.start_server(handle_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print("server: listening on 127.0.0.1 (an ephemeral port)")
    async with server:
        await client(port)
    print("done: the server is closed")


if __name__ == "__main__":
    loopcore.run(main())


# Expected output ("..." stands for any text):
# server: listening on 127.0.0.1 (an ephemeral port)
# server: connection from 127.0.0.1
# server: received b'hello\n'
# server: received b'streams\n'
# server: received b'goodbye\n'
# server: the client is done; closing
# client: got 'HELLO'
# client: got 'STREAMS'
# client: got 'GOODBYE'
# done: the server is closed
