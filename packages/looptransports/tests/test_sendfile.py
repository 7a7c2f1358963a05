"""loop.sendfile and loop.sock_sendfile: zero-copy os.sendfile on plain sockets, the
read-and-write fallback (with flow control), argument checks."""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lt_support import Recorder, accepted_pair, read_until_eof, running_loop

import loopcore
from loopcore import SendfileNotAvailableError

DATA = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def data_file(tmp_path: Path) -> Iterator[Any]:
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    with open(path, "rb") as f:
        yield f


async def _send_and_collect(transport: Any, peer: socket.socket, coro: Any) -> tuple[int, bytes]:
    loop = running_loop()
    reader = loop.create_task(read_until_eof(loop, peer))
    sent = await coro
    transport.close()
    return sent, await reader


async def test_native_sendfile_over_a_socket_transport(data_file: Any) -> None:
    loop = running_loop()
    transport, proto, peer = await accepted_pair()
    transport.write(b"header:")
    sent, received = await _send_and_collect(transport, peer, loop.sendfile(transport, data_file))
    assert sent == len(DATA)
    assert received == b"header:" + DATA
    assert data_file.tell() == len(DATA)
    await proto.lost
    peer.close()


async def test_offset_and_count_and_file_position(data_file: Any) -> None:
    loop = running_loop()
    transport, proto, peer = await accepted_pair()
    sent, received = await _send_and_collect(
        transport, peer, loop.sendfile(transport, data_file, offset=1000, count=5000)
    )
    assert sent == 5000
    assert received == DATA[1000:6000]
    assert data_file.tell() == 6000
    await proto.lost
    peer.close()


async def test_fallback_for_a_file_without_descriptor_respects_flow_control() -> None:
    loop = running_loop()
    transport, proto, peer = await accepted_pair()
    transport.set_write_buffer_limits(high=64 * 1024)
    sizes: list[int] = []
    original_write = transport.write

    def recording_write(data: Any) -> None:
        original_write(data)
        sizes.append(transport.get_write_buffer_size())

    transport.write = recording_write
    big = DATA * 4
    sent, received = await _send_and_collect(
        transport, peer, loop.sendfile(transport, io.BytesIO(big))
    )
    assert sent == len(big)
    assert received == big
    # Never more than one chunk beyond the high-water mark is buffered.
    assert max(sizes) <= 64 * 1024 + 256 * 1024
    await proto.lost
    proto.assert_rules()
    # The protocol saw pause/resume alternate, starting with pause.
    flow = [e for e in proto.events if e in ("pause_writing", "resume_writing")]
    assert all(a != b for a, b in zip(flow, flow[1:], strict=False))
    assert not flow or flow[0] == "pause_writing"
    peer.close()


async def test_no_fallback_raises_when_native_is_impossible() -> None:
    loop = running_loop()
    transport, proto, peer = await accepted_pair()
    with pytest.raises(SendfileNotAvailableError):
        await loop.sendfile(transport, io.BytesIO(b"abc"), fallback=False)
    transport.close()
    await proto.lost
    peer.close()


async def test_argument_errors(data_file: Any, tmp_path: Path) -> None:
    loop = running_loop()
    transport, proto, peer = await accepted_pair()
    with pytest.raises(ValueError, match="count"):
        await loop.sendfile(transport, data_file, count=0)
    with pytest.raises(ValueError, match="offset"):
        await loop.sendfile(transport, data_file, offset=-1)
    text = tmp_path / "text.txt"
    text.write_text("hello")
    with open(text) as f:
        with pytest.raises(ValueError, match="binary mode"):
            await loop.sendfile(transport, f)  # type: ignore[arg-type]
    transport.close()
    with pytest.raises(RuntimeError, match="closing"):
        await loop.sendfile(transport, data_file)
    await proto.lost
    peer.close()


async def test_write_during_native_sendfile_is_refused(data_file: Any) -> None:
    loop = running_loop()
    transport, proto, peer = await accepted_pair()
    task = loop.create_task(loop.sendfile(transport, data_file))
    await loopcore.sleep(0)
    if not task.done():
        with pytest.raises(RuntimeError, match="sendfile"):
            transport.write(b"interleaved")
    reader = loop.create_task(read_until_eof(loop, peer))
    assert await task == len(DATA)
    transport.write(b"after")  # allowed again
    transport.close()
    assert await reader == DATA + b"after"
    await proto.lost
    peer.close()


async def test_peer_gone_during_native_sendfile_fails_the_call(data_file: Any) -> None:
    loop = running_loop()
    transport, proto, peer = await accepted_pair(Recorder)
    task = loop.create_task(loop.sendfile(transport, data_file))
    await loopcore.sleep(0)
    peer.close()
    with pytest.raises(OSError):
        await task
    transport.abort()
    await proto.lost


async def test_sock_sendfile_native_and_fallback(data_file: Any) -> None:
    loop = running_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    reader = loop.create_task(read_until_eof(loop, b))
    assert await loop.sock_sendfile(a, data_file, 10, 100) == 100
    assert await loop.sock_sendfile(a, io.BytesIO(b"fallback")) == 8
    with pytest.raises(SendfileNotAvailableError):
        await loop.sock_sendfile(a, io.BytesIO(b"x"), fallback=False)
    a.shutdown(socket.SHUT_WR)
    assert await reader == DATA[10:110] + b"fallback"
    a.close()
    b.close()


async def test_sock_sendfile_refuses_datagram_sockets(data_file: Any) -> None:
    loop = running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        with pytest.raises(ValueError, match="SOCK_STREAM"):
            await loop.sock_sendfile(sock, data_file)
    finally:
        sock.close()


async def test_sendfile_of_an_empty_file_sends_nothing(tmp_path: Path) -> None:
    loop = running_loop()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    transport, proto, peer = await accepted_pair()
    with open(empty, "rb") as f:
        assert await loop.sendfile(transport, f) == 0
    transport.close()
    await proto.lost
    peer.close()
    assert os.path.getsize(empty) == 0


async def test_close_during_native_sendfile_fails_it_and_keeps_the_loop_sane(
    data_file: Any,
) -> None:
    loop = running_loop()
    transport, proto, peer = await accepted_pair()
    task = loop.create_task(loop.sendfile(transport, data_file))
    await loopcore.sleep(0)
    assert not task.done()  # 1 MiB does not fit in a socketpair buffer
    transport.close()
    with pytest.raises(ConnectionError):
        await task
    assert await proto.lost is None
    peer.close()
    # The selector holds nothing stale for the closed fd: new sockets work.
    transport2, proto2, peer2 = await accepted_pair()
    transport2.write(b"fine")
    transport2.close()
    assert await read_until_eof(loop, peer2) == b"fine"
    await proto2.lost
    peer2.close()


async def test_sendfile_over_tls_uses_the_fallback(data_file: Any) -> None:
    import ssl

    import trustme

    loop = running_loop()
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    received: loopcore.Future[Any] = loop.create_future()

    class Collect(Recorder):
        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            received.set_result(bytes(self.data))

    server = await loop.create_server(Collect, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    transport, proto = await loop.create_connection(
        Recorder, "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
    )
    with pytest.raises(RuntimeError, match="fallback is disabled"):
        await loop.sendfile(transport, data_file, fallback=False)
    assert await loop.sendfile(transport, data_file, offset=5) == len(DATA) - 5
    assert data_file.tell() == len(DATA)
    transport.close()
    assert await received == DATA[5:]
    await proto.lost
    server.close()
    await server.wait_closed()
