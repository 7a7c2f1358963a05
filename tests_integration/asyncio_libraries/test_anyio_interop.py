"""anyio on its asyncio backend, on loopasyncio's loop."""

from __future__ import annotations

import asyncio
import sys
import threading

import anyio
import anyio.abc
import pytest

import loopasyncio


def run_anyio(func, *args):
    """``anyio.run`` on the asyncio backend with our loop factory (checked)."""

    async def checked():
        assert type(asyncio.get_running_loop()) is loopasyncio.EventLoop
        return await func(*args)

    return anyio.run(
        checked, backend="asyncio", backend_options={"loop_factory": loopasyncio.new_event_loop}
    )


def test_anyio_task_group_runs_children_and_propagates_errors():
    async def main():
        results = []

        async def child(i):
            await anyio.sleep(0.001 * i)
            results.append(i)

        async with anyio.create_task_group() as tg:
            for i in range(5):
                tg.start_soon(child, i)

        async def fail():
            raise ValueError("child failed")

        with pytest.raises(ExceptionGroup) as info:
            async with anyio.create_task_group() as tg:
                tg.start_soon(anyio.sleep, 30)
                tg.start_soon(fail)
        return sorted(results), [type(e) for e in info.value.exceptions]

    assert run_anyio(main) == ([0, 1, 2, 3, 4], [ValueError])


def test_anyio_move_on_after_and_fail_after():
    async def main():
        with anyio.move_on_after(0.01) as scope:
            await anyio.sleep(30)
        with pytest.raises(TimeoutError):
            with anyio.fail_after(0.01):
                await anyio.sleep(30)
        return scope.cancelled_caught

    assert run_anyio(main) is True


def test_anyio_tcp_listener_and_connect():
    async def main():
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)

        async def handle(stream):
            async with stream:
                data = await stream.receive()
                await stream.send(data.upper())

        async with anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, handle)
            async with await anyio.connect_tcp("127.0.0.1", port) as client:
                await client.send(b"anyio over tcp")
                reply = await client.receive()
            tg.cancel_scope.cancel()
        await listener.aclose()
        return reply

    assert run_anyio(main) == b"ANYIO OVER TCP"


def test_anyio_to_thread_runs_in_a_worker_thread():
    async def main():
        main_thread = threading.get_ident()
        worker = await anyio.to_thread.run_sync(threading.get_ident)
        return worker != main_thread

    assert run_anyio(main) is True


def test_anyio_run_process_captures_output():
    async def main():
        result = await anyio.run_process(
            [sys.executable, "-c", "import sys; print(sys.stdin.read()[::-1])"], input=b"olleh"
        )
        return result.returncode, result.stdout

    assert run_anyio(main) == (0, b"hello\n")


def test_anyio_memory_object_streams():
    async def main():
        send, receive = anyio.create_memory_object_stream[int](2)
        received = []

        async def producer():
            async with send:
                for i in range(10):
                    await send.send(i)

        async with anyio.create_task_group() as tg:
            tg.start_soon(producer)
            async with receive:
                async for item in receive:
                    received.append(item)
        return received

    assert run_anyio(main) == list(range(10))
