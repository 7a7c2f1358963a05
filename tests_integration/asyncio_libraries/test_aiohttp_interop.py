"""aiohttp server and client, both on loopasyncio's loop, over real loopback TCP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from _interop import run
from aiohttp import web

MIB = 1 << 20


RELEASE = web.AppKey("release", asyncio.Event)


def make_app() -> web.Application:
    app = web.Application()
    app[RELEASE] = asyncio.Event()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=bytes(range(256)) * (MIB // 256))

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(body=body, headers={"X-Length": str(len(body))})

    async def slow(request: web.Request) -> web.Response:
        # Answers only when the test is over (serving() releases it), so that the
        # client's timeout is what ends the request.
        await request.app[RELEASE].wait()
        return web.Response(text="too late")

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(f"echo: {msg.data}")
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    app.router.add_get("/", hello)
    app.router.add_get("/big", big)
    app.router.add_post("/echo", echo)
    app.router.add_get("/slow", slow)
    app.router.add_get("/ws", websocket)
    return app


@asynccontextmanager
async def serving() -> AsyncIterator[str]:
    app = make_app()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app[RELEASE].set()
        await runner.cleanup()


def test_aiohttp_get():
    async def main():
        async with serving() as url, aiohttp.ClientSession() as session:
            async with session.get(url + "/") as resp:
                return resp.status, await resp.text()

    assert run(main()) == (200, "hello")


def test_aiohttp_one_mebibyte_body():
    async def main():
        async with serving() as url, aiohttp.ClientSession() as session:
            async with session.get(url + "/big") as resp:
                return await resp.read()

    assert run(main()) == bytes(range(256)) * (MIB // 256)


def test_aiohttp_post_body_round_trips():
    payload = b"\x00\xffpost body" * 10_000

    async def main():
        async with serving() as url, aiohttp.ClientSession() as session:
            async with session.post(url + "/echo", data=payload) as resp:
                return resp.headers["X-Length"], await resp.read()

    assert run(main()) == (str(len(payload)), payload)


def test_aiohttp_fifty_concurrent_requests():
    async def main():
        async with serving() as url, aiohttp.ClientSession() as session:

            async def one(i: int) -> bytes:
                async with session.post(url + "/echo", data=str(i).encode()) as resp:
                    return await resp.read()

            return await asyncio.gather(*(one(i) for i in range(50)))

    assert run(main()) == [str(i).encode() for i in range(50)]


def test_aiohttp_websocket_echo():
    async def main():
        async with serving() as url, aiohttp.ClientSession() as session:
            async with session.ws_connect(url + "/ws") as ws:
                await ws.send_str("ping")
                text = await ws.receive_str()
                await ws.send_bytes(b"\x01\x02")
                data = await ws.receive_bytes()
                return text, data

    assert run(main()) == ("echo: ping", b"\x01\x02")


def test_aiohttp_client_timeout_fires():
    async def main():
        async with serving() as url, aiohttp.ClientSession() as session:
            started = asyncio.get_running_loop().time()
            with pytest.raises(asyncio.TimeoutError):
                async with session.get(url + "/slow", timeout=aiohttp.ClientTimeout(total=0.2)):
                    pass
            return asyncio.get_running_loop().time() - started

    assert run(main()) < 10
