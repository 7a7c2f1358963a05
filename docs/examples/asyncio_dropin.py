# requires: loopcore, looptransports, loopasyncio
"""An unmodified asyncio program, run on loopcore with the drop-in line.

``main()`` uses only asyncio: a TaskGroup, a timeout, a thread, and a TCP echo
server and client written with asyncio's streams. The last line is the only change.
"""

from __future__ import annotations

import asyncio

import loopasyncio


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def main() -> None:
    loop = asyncio.get_running_loop()
    print(f"running on {type(loop).__module__}.{type(loop).__qualname__}")

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def client(n: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"hello {n}\n".encode())
        line = await reader.readline()
        writer.close()
        await writer.wait_closed()
        return line

    async with asyncio.TaskGroup() as tg:
        replies = [tg.create_task(client(n)) for n in range(3)]
    print("echoed:", [r.result() for r in replies])

    try:
        async with asyncio.timeout(0.05):
            await asyncio.sleep(10)
    except TimeoutError:
        print("asyncio.timeout fired")

    print("from a thread:", await asyncio.to_thread(sum, [1, 2, 3]))
    server.close()
    await server.wait_closed()


loopasyncio.run(main())  # instead of asyncio.run(main())


# Expected output ("..." stands for any text):
# running on loopasyncio.loop.EventLoop
# echoed: [b'hello 0\n', b'hello 1\n', b'hello 2\n']
# asyncio.timeout fired
# from a thread: 6
