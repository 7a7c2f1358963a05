# requires: loopcore, looptransports
"""The echo server and client of the asyncio docs, over TCP, in one process.

The server sends back whatever it receives and closes the connection; the client
sends one message, prints the answer, and stops the program when the server hangs
up.
"""

from __future__ import annotations

import loopcore
from looptransports import BaseTransport, Protocol, Transport


class EchoServerProtocol(Protocol):
    def connection_made(self, transport: BaseTransport) -> None:
        assert isinstance(transport, Transport)
        self.transport = transport
        print("server: connection from", transport.get_extra_info("peername")[0])

    def data_received(self, data: bytes) -> None:
        print(f"server: received {data.decode()!r}, sending it back")
        self.transport.write(data)
        self.transport.close()


class EchoClientProtocol(Protocol):
    def __init__(self, message: str, on_con_lost: loopcore.Future[object]) -> None:
        self.message = message
        self.on_con_lost = on_con_lost

    def connection_made(self, transport: BaseTransport) -> None:
        assert isinstance(transport, Transport)
        transport.write(self.message.encode())
        print(f"client: sent {self.message!r}")

    def data_received(self, data: bytes) -> None:
        print(f"client: received {data.decode()!r}")

    def connection_lost(self, exc: Exception | None) -> None:
        print("client: the server closed the connection")
        self.on_con_lost.set_result(True)


async def main() -> None:
    loop = loopcore.get_running_loop()
    server = await loop.create_server(EchoServerProtocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print("server: listening on 127.0.0.1 (an ephemeral port)")
    async with server:
        on_con_lost = loop.create_future()
        transport, _ = await loop.create_connection(  # type: ignore[attr-defined]
            lambda: EchoClientProtocol("Hello World!", on_con_lost), "127.0.0.1", port
        )
        try:
            await on_con_lost
        finally:
            transport.close()
    print("done: the server is closed")


if __name__ == "__main__":
    loopcore.run(main())


# Expected output ("..." stands for any text):
# server: listening on 127.0.0.1 (an ephemeral port)
# server: connection from 127.0.0.1
# client: sent 'Hello World!'
# server: received 'Hello World!', sending it back
# client: received 'Hello World!'
# client: the server closed the connection
# done: the server is closed
