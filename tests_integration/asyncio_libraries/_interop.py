"""Real asyncio libraries on loopasyncio's loop (``nox -s interop``).

The libraries are imported directly: when one is missing the tests fail at
collection, they are never skipped. Every test checks that the code under test ran on
:class:`loopasyncio.EventLoop`, so that a fallback to asyncio's own loop cannot pass
unnoticed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TypeVar

import loopasyncio

T = TypeVar("T")


def run(coro: Coroutine[object, object, T]) -> T:
    """Run *coro* with the drop-in line, after checking the loop it gets."""

    async def checked() -> T:
        loop = asyncio.get_running_loop()
        assert type(loop) is loopasyncio.EventLoop, f"ran on {loop!r}, not on loopasyncio"
        return await coro

    return loopasyncio.run(checked())
