"""``loopasyncio.run()``: ``asyncio.run()`` on an :class:`EventLoop`."""

from __future__ import annotations

import asyncio
import asyncio.events
from collections.abc import Coroutine, Generator
from typing import TypeVar

import loopcore.events

from .loop import _as_asyncio_coroutine, new_event_loop

__all__ = ["run"]

_T = TypeVar("_T")


def run(
    main: Coroutine[object, object, _T] | Generator[object, None, _T],
    *,
    debug: bool | None = None,
) -> _T:
    """Run the coroutine *main* on a new :class:`EventLoop` and return its result.

    Exactly ``asyncio.run(main, debug=debug)`` (an :class:`asyncio.Runner`) with
    ``loop_factory=loopasyncio.new_event_loop``: the loop is created, *main* runs as
    an :class:`asyncio.Task`, Ctrl-C cancels it (a second one raises
    :exc:`KeyboardInterrupt` at once), then the remaining tasks are cancelled,
    asynchronous generators closed, the default executor shut down and the loop
    closed. *debug* ``None`` keeps the default (``PYTHONASYNCIODEBUG`` / ``-X dev``).
    *main* may be a ``@loopcore.coroutine`` generator too.

    :raises RuntimeError: when called while a loop (of either library) runs in this
        thread.
    :raises TypeError: if *main* is not a coroutine.
    """
    running = asyncio.events._get_running_loop() or loopcore.events._get_running_loop()
    if running is not None:
        raise RuntimeError(
            f"loopasyncio.run() cannot be called while a loop runs in this thread ({running!r}): "
            "await the coroutine instead, or run it in another thread"
        )
    with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
        return runner.run(_as_asyncio_coroutine(main))
