"""Helpers shared by the loopstreams socket tests."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable

from loopcore import Task, _build, current_task, get_running_loop
from loopstreams import StreamReader, StreamWriter, start_server, start_unix_server

Handler = Callable[[StreamReader, StreamWriter], Awaitable[None]]


async def turns(n: int = 3) -> None:
    """Let the loop run its ready callbacks *n* times (no sleeping)."""
    loop = get_running_loop()
    for _ in range(n):
        fut = loop.create_future()
        loop.call_soon(fut.set_result, None)
        await fut


async def until(predicate: Callable[[], bool], what: str, max_turns: int = 200_000) -> None:
    """Let the loop run until *predicate()* holds (bounded in turns, never sleeping)."""
    for _ in range(max_turns):
        if predicate():
            return
        await turns(1)
    raise AssertionError(f"{what} did not happen within {max_turns} loop turns")


async def close_quietly(writer: StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


@contextlib.asynccontextmanager
async def serving(
    handler: Handler, host: str = "127.0.0.1", *, unix_path: str | None = None, **kwds: object
) -> AsyncIterator[tuple[object, ...]]:
    """Serve *handler* (closing each writer after it) and yield the address to connect to.

    On exit the server is closed, then every handler is awaited, so that none is
    left pending.
    """
    tasks: list[Task[object]] = []

    async def wrapped(reader: StreamReader, writer: StreamWriter) -> None:
        task = current_task()
        assert task is not None
        tasks.append(task)
        try:
            await handler(reader, writer)
        finally:
            await close_quietly(writer)

    if unix_path is not None:
        server = await start_unix_server(wrapped, unix_path, **kwds)
        address: tuple[object, ...] = (unix_path,)
    elif "sock" in kwds:
        server = await start_server(wrapped, **kwds)
        address = tuple(server.sockets[0].getsockname()[:2])
    else:
        server = await start_server(wrapped, host, 0, **kwds)
        address = tuple(server.sockets[0].getsockname()[:2])
    try:
        async with server:
            yield address
            server.close()
            for task in tasks:
                with contextlib.suppress(Exception):
                    await task
    finally:
        server.close()


#: True against loopstreams' compiled wheel (docs: "Compiled build").
COMPILED = bool(_build.compiled_modules("loopstreams"))


def bad_argument(
    value: object,
    message: str,
    declared: tuple[type, ...] = (int,),
    declared_name: str = "int",
) -> tuple[type[Exception], str]:
    """The exception and message (a regex) of a call given the bad *value* for a
    parameter whose signature declares the types *declared* (named
    *declared_name* by mypyc: ``"int"``, ``"int or None"``, ``"union[str, bytes]"``).

    ValueError with our *message*, as asyncio raises ValueError. In the compiled
    build a value of none of the declared types (a float, a str where an int is
    declared) is refused by mypyc's check of the declared type before the first
    line runs: TypeError with mypyc's message, naming both types (docs: "Compiled
    build", differences/compiled)."""
    if COMPILED and not isinstance(value, declared):
        got = re.escape(type(value).__name__)
        return TypeError, f"^{re.escape(declared_name)} object expected; got {got}$"
    return ValueError, message
