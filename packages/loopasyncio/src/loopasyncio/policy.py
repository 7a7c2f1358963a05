"""The event loop policy that makes every new asyncio loop an :class:`EventLoop`.

For code that creates its loops through the policy (``asyncio.new_event_loop()``,
``asyncio.run()`` without ``loop_factory``, libraries and test runners that call
``asyncio.set_event_loop_policy``). Since Python 3.12, passing
``loop_factory=loopasyncio.new_event_loop`` (or calling :func:`loopasyncio.run`)
is the preferred way, as asyncio deprecates policies.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import sys
import warnings
from typing import NoReturn

from .loop import EventLoop

__all__ = ["EventLoopPolicy", "install"]


class EventLoopPolicy(asyncio.events.BaseDefaultEventLoopPolicy):
    """asyncio's default policy, except that its loops are :class:`EventLoop` instances.

    ``asyncio.set_event_loop_policy(loopasyncio.EventLoopPolicy())`` makes
    ``asyncio.new_event_loop()``, ``asyncio.run()`` and ``asyncio.Runner()`` (without a
    ``loop_factory``) run on loopcore. ``get_event_loop()`` in the main thread keeps
    asyncio's rules (a loop is created on first use there only).
    """

    def _loop_factory(self) -> EventLoop:
        return EventLoop()

    # Child watchers (deprecated since 3.12, gone in 3.14) are asyncio's own loop's way
    # of reaping children; EventLoop reaps its subprocesses itself and needs none.
    def get_child_watcher(self) -> NoReturn:
        """Not available: :class:`EventLoop` watches its child processes itself.

        :raises NotImplementedError: always.
        """
        raise NotImplementedError(
            "loopasyncio.EventLoop reaps its child processes itself and uses no child "
            "watcher: drop the get_child_watcher() call"
        )

    def set_child_watcher(self, watcher: object) -> NoReturn:
        """Not available: :class:`EventLoop` watches its child processes itself.

        :raises NotImplementedError: always.
        """
        raise NotImplementedError(
            f"loopasyncio.EventLoop reaps its child processes itself and uses no child "
            f"watcher: drop the set_child_watcher({watcher!r}) call"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__qualname__}>"


def install() -> None:
    """Set :class:`EventLoopPolicy` as asyncio's event loop policy, as ``uvloop.install()``.

    From Python 3.12 on, asyncio deprecates policies: this warns with a
    :class:`DeprecationWarning` there, and :func:`loopasyncio.run` (or
    ``loop_factory=loopasyncio.new_event_loop``) should be used instead.
    """
    if sys.version_info >= (3, 12):
        warnings.warn(
            "loopasyncio.install() is deprecated from Python 3.12 on, as asyncio's policies "
            "are: use loopasyncio.run(main()) or "
            "asyncio.run(main(), loop_factory=loopasyncio.new_event_loop) instead",
            DeprecationWarning,
            stacklevel=2,
        )
    asyncio.set_event_loop_policy(EventLoopPolicy())
