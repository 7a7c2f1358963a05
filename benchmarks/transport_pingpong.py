"""A 1 KiB ping-pong between two socket transports on one loop, for instruction counts.

    valgrind --tool=callgrind python benchmarks/transport_pingpong.py N [--impl ours|asyncio|uvloop]

Two ``Protocol``\\s over a socket pair: the client writes 1 KiB, the server echoes it
back, the client writes again when the whole echo arrived, N times, then the loop
stops. Run it for N = 2000 and N = 4000 and divide the difference of the
instruction counts by 2000: start-up and imports cancel out, and what is left is
one round trip (two readiness events, two reads, two writes, two ``data_received``)
whatever the machine's load (docs: "Compiled build"). It checks that every round
trip completed, so a broken loop cannot post a count.
"""

from __future__ import annotations

import argparse
import socket
from typing import Any

MESSAGE = b"x" * 1024


def make_loop(impl: str) -> tuple[Any, type[Any]]:
    if impl == "ours":
        import looptransports

        return looptransports.SelectorEventLoop(), looptransports.Protocol
    import asyncio

    if impl == "uvloop":
        import uvloop

        return uvloop.new_event_loop(), asyncio.Protocol
    return asyncio.new_event_loop(), asyncio.Protocol


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="round trips")
    parser.add_argument("--impl", choices=("ours", "asyncio", "uvloop"), default="ours")
    args = parser.parse_args()
    loop, base = make_loop(args.impl)
    count = args.n

    class Echo(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    class Client(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            self.round_trips = 0
            self.received = 0

        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            transport.write(MESSAGE)

        def data_received(self, data: bytes) -> None:
            self.received += len(data)
            if self.received < len(MESSAGE):
                return
            self.received -= len(MESSAGE)
            self.round_trips += 1
            if self.round_trips >= count:
                loop.stop()
                return
            self.transport.write(MESSAGE)

    server_sock, client_sock = socket.socketpair()

    async def connect() -> Any:
        await loop.connect_accepted_socket(Echo, server_sock)
        return await loop.create_connection(Client, sock=client_sock)

    transport, client = loop.run_until_complete(connect())
    loop.run_forever()
    transport.close()
    loop.close()
    if client.round_trips != count:
        raise SystemExit(f"only {client.round_trips} of {count} round trips completed")


if __name__ == "__main__":
    main()
