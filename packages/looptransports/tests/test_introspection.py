"""looptransports registers its transports and servers with loopcore.introspect: the
monitor lists the open ones, the debug-mode leak report names those never closed."""

from __future__ import annotations

import socket

import loopcore
from loopcore import introspect, leaks
from looptransports import Protocol


async def test_open_transports_and_servers_are_listed_until_closed(loopcore_loop):
    server = await loopcore_loop.create_server(Protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loopcore_loop.create_connection(Protocol, "127.0.0.1", port)
    kinds = sorted(r["kind"] for r in introspect.open_resources(loopcore_loop))
    assert "server" in kinds and kinds.count("socket transport") >= 1
    transport.close()
    server.close()
    await server.wait_closed()
    for _ in range(3):
        await loopcore.sleep(0)
    assert [r for r in introspect.open_resources(loopcore_loop) if r["kind"] == "server"] == []
    assert all(r["id"] != id(transport) for r in introspect.open_resources(loopcore_loop))


def test_a_transport_never_closed_is_in_the_leak_report():
    loop = loopcore.new_event_loop()
    loop.set_debug(True)
    a, b = socket.socketpair()
    try:
        transport, _ = loop.run_until_complete(loop.connect_accepted_socket(Protocol, a))
        # What loop.close() logs in debug mode.
        text = leaks.format_leaks(leaks.find_leaks(loop))
        assert "1 resources never closed" in text
        assert "SocketTransport" in text and __file__ in text
        transport.abort()
        loop.run_until_complete(loopcore.sleep(0))
        assert "resources never closed" not in leaks.format_leaks(leaks.find_leaks(loop))
    finally:
        loop.close()
        b.close()


async def test_a_task_in_sock_recv_is_shown_waiting_on_its_socket(loopcore_loop):
    a, b = socket.socketpair()
    a.setblocking(False)
    try:
        reader = loopcore_loop.create_task(loopcore_loop.sock_recv(a, 10), name="reader")
        for _ in range(3):
            await loopcore.sleep(0)
        [node] = [n for n in introspect.task_tree(loopcore_loop) if n["name"] == "reader"]
        assert node["awaiting"]["kind"] == "socket"
        assert node["awaiting"]["description"].startswith(f"sock_recv() on socket fd={a.fileno()}")
        b.send(b"hi")
        assert await reader == b"hi"
    finally:
        a.close()
        b.close()
