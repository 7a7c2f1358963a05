"""httpx.AsyncClient on loopasyncio's loop, against an aiohttp server on the same loop."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from _interop import run
from test_aiohttp_interop import MIB, serving


def test_httpx_get_and_post():
    async def main():
        async with serving() as url, httpx.AsyncClient() as client:
            got = await client.get(url + "/")
            posted = await client.post(url + "/echo", content=b"httpx body")
            return got.status_code, got.text, posted.content

    assert run(main()) == (200, "hello", b"httpx body")


def test_httpx_streams_a_response_in_chunks():
    async def main():
        async with serving() as url, httpx.AsyncClient() as client:
            chunks = []
            async with client.stream("GET", url + "/big") as resp:
                async for chunk in resp.aiter_bytes():
                    chunks.append(chunk)
            return len(chunks), b"".join(chunks)

    count, body = run(main())
    assert body == bytes(range(256)) * (MIB // 256)
    assert count > 1


def test_httpx_timeout_fires():
    async def main():
        async with serving() as url, httpx.AsyncClient() as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(url + "/slow", timeout=httpx.Timeout(0.2))
            # The client stays usable after the timeout.
            return (await client.get(url + "/")).text

    assert run(main()) == "hello"


def test_httpx_concurrent_requests_share_the_pool():
    async def main():
        async with serving() as url, httpx.AsyncClient() as client:
            responses = await asyncio.gather(
                *(client.post(url + "/echo", content=str(i).encode()) for i in range(20))
            )
            return [r.content for r in responses]

    assert run(main()) == [str(i).encode() for i in range(20)]
