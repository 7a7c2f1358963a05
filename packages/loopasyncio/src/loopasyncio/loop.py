"""The loop asyncio code runs on: looptransports' selector loop, seen by asyncio as its own.

:class:`EventLoop` is :class:`looptransports.SelectorEventLoop` (loopcore's ready
queue, timers, selector, signals and executor, looptransports' sockets, TLS, pipes and
subprocesses) that is also an :class:`asyncio.AbstractEventLoop`. Three things make an
unmodified asyncio program run on it, and nothing else changes:

* While it runs it is the running loop of **both** libraries: asyncio's
  (``asyncio.get_running_loop()``, ``get_event_loop()``, ``current_task()``, every
  library that asks asyncio for its loop) and loopcore's.
* :meth:`EventLoop.create_future` and :meth:`EventLoop.create_task` make asyncio's own
  :class:`asyncio.Future` and :class:`asyncio.Task` (as uvloop does): asyncio code
  (``asyncio.timeout``, ``TaskGroup``, anyio's cancel scopes) reads and writes private
  state of its tasks that only asyncio's classes have. loopcore code on this loop
  gets them too, since loopcore makes every future and task through these methods.
* :meth:`EventLoop.run_until_complete` accepts any future asyncio accepts, of either
  library.

``run_in_executor`` (and so ``asyncio.to_thread``) is loopcore's: its future, an
asyncio one here, is resolved on the loop thread through ``call_soon_threadsafe``, as
loopcore does for any future that is not its own.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import concurrent.futures
import contextvars
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import TYPE_CHECKING, TypeVar, TypeVarTuple, Unpack, cast

import loopcore
from looptransports import SelectorEventLoop

if TYPE_CHECKING:
    import selectors

__all__ = ["EventLoop", "new_event_loop"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

# Read once: create_future and create_task run once per request in a server (aiohttp
# makes a future and a task for each), and a module global costs less than the
# attribute of another module.
_AsyncioFuture = asyncio.Future
_AsyncioTask = asyncio.Task
_CoroutineType = types.CoroutineType


def _stop_loop(fut: asyncio.Future[object]) -> None:
    fut.get_loop().stop()


@types.coroutine
def _from_generator(gen: Generator[object, None, _T]) -> Generator[object, None, _T]:
    return (yield from gen)


async def _generator_coroutine(gen: Generator[object, None, _T]) -> _T:
    # Drives a ``@loopcore.coroutine`` generator as a native coroutine: asyncio's Task
    # accepts only native coroutines since Python 3.12.
    return await _from_generator(gen)


def _as_asyncio_coroutine(
    coro: Coroutine[object, object, _T] | Generator[object, None, _T],
) -> Coroutine[object, object, _T]:
    """*coro* as a coroutine asyncio's Task accepts (generator coroutines wrapped
    where asyncio refuses them, from Python 3.12 on)."""
    if isinstance(coro, Coroutine) or asyncio.iscoroutine(coro):
        return coro
    if not loopcore.iscoroutine(coro):
        raise TypeError(f"a coroutine was expected, got {coro!r}")
    return _generator_coroutine(coro)


# mypy sees the two bases declare some methods with different types (loopcore's
# Future/Task against asyncio's); the overrides below say which one this loop returns.
class EventLoop(SelectorEventLoop, asyncio.AbstractEventLoop):  # type: ignore[misc]
    """A loopcore selector loop that runs asyncio programs and libraries unchanged.

    ``isinstance(loop, asyncio.AbstractEventLoop)`` is true, and
    ``asyncio.Runner(loop_factory=loopasyncio.new_event_loop)``,
    ``asyncio.run(main(), loop_factory=...)`` (3.12+) and
    :class:`loopasyncio.EventLoopPolicy` accept it. Everything loopcore's loop offers
    (debug mode, telemetry, the monitor, the virtual clock of loopcore's pytest
    plugin, the task tree and leak report) works for the asyncio tasks it runs.

    Like every loop, it is not thread-safe: from other threads use
    :meth:`call_soon_threadsafe` (or ``asyncio.run_coroutine_threadsafe``).
    """

    def __init__(self, selector: selectors.BaseSelector | None = None) -> None:
        super().__init__(selector)

    # -- Running: the running loop of asyncio too ----------------------------------------
    def run_forever(self) -> None:
        """Run until :meth:`stop` is called, as asyncio's and loopcore's running loop.

        :raises RuntimeError: if the loop is closed or already running, or another
            loop (of either library) runs in this thread.
        """
        self._check_closed()
        self._check_running()
        asyncio.events._set_running_loop(self)
        try:
            super().run_forever()
        finally:
            asyncio.events._set_running_loop(None)

    def _check_running(self) -> None:
        super()._check_running()
        running = asyncio.events._get_running_loop()
        # run_forever() publishes this loop to asyncio before loopcore's run_forever()
        # checks again: only another loop counts.
        if running is not None and running is not self:
            raise RuntimeError(
                "Cannot run the event loop while another loop is running in this thread "
                f"(asyncio's running loop is {running!r}): await the coroutine there instead"
            )

    def run_until_complete(self, future: Awaitable[_T] | Generator[object, None, _T]) -> _T:
        """Run until *future* is done; return its result or raise its exception.

        *future* may be an asyncio future or task, a loopcore one, any object
        :func:`asyncio.isfuture` accepts, a coroutine of either style, or another
        awaitable (wrapped in an :class:`asyncio.Task`).

        :raises ValueError: if *future* belongs to another loop.
        :raises RuntimeError: if the loop stopped before *future* was done, or for the
            reasons of :meth:`run_forever`.
        """
        self._check_closed()
        self._check_running()
        new_task = not asyncio.isfuture(future)
        if new_task and loopcore.iscoroutine(future):
            fut: asyncio.Future[_T] = self.create_task(future)  # type: ignore[arg-type]
        else:
            # A loopcore future passes asyncio.isfuture() and is returned as it is.
            fut = asyncio.ensure_future(cast("Awaitable[_T]", future), loop=self)
        fut.add_done_callback(_stop_loop)  # type: ignore[arg-type]
        try:
            self.run_forever()
        except BaseException:
            if new_task and fut.done() and not fut.cancelled():
                # The task's exception goes with the one raised here: retrieved.
                fut.exception()
            raise
        finally:
            fut.remove_done_callback(_stop_loop)  # type: ignore[arg-type]
        if not fut.done():
            raise RuntimeError(f"Event loop stopped before the future completed: {fut!r}")
        return fut.result()

    # -- Futures and tasks: asyncio's own classes --------------------------------------
    # The three methods below return asyncio's classes where loopcore's loop declares
    # its own: that is the point of this loop (asyncio code reads private state of its
    # tasks and futures), and both classes offer the same public Future API.
    def create_future(self) -> asyncio.Future[object]:  # type: ignore[override]
        """A new :class:`asyncio.Future` attached to this loop."""
        return _AsyncioFuture(loop=self)

    def run_in_executor(  # type: ignore[override]
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[[Unpack[_Ts]], _T],
        *args: *_Ts,
    ) -> asyncio.Future[_T]:
        """Run ``func(*args)`` in *executor* (``None``: the loop's default one) and
        return an :class:`asyncio.Future` of this loop for its result, as
        :meth:`loopcore.BaseEventLoop.run_in_executor` does with loopcore's Future
        (whose checks and default executor it shares)."""
        return asyncio.wrap_future(self._submit_to_executor(executor, func, *args), loop=self)

    def create_task(  # type: ignore[override]
        self,
        coro: Coroutine[object, object, _T] | Generator[object, None, _T],
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[_T]:
        """Wrap *coro* in an :class:`asyncio.Task` on this loop and schedule it.

        Either coroutine style is accepted (a ``@loopcore.coroutine`` generator is
        driven through a native coroutine on Python 3.12+, where asyncio's Task takes
        no generators). With a task factory set (:meth:`set_task_factory`), the task is
        ``factory(loop, coro, **kwargs)``, *kwargs* holding ``name`` and ``context``
        only when given.

        :raises RuntimeError: if the loop is closed.
        :raises TypeError: if *coro* is not a coroutine.
        """
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
        factory = self._task_factory
        if factory is None:
            # A native coroutine (the common case) goes to asyncio's Task as it is:
            # _as_asyncio_coroutine's isinstance() against an ABC would add a
            # Python-level __instancecheck__ call to every task.
            native: Coroutine[object, object, _T] = (
                coro if type(coro) is _CoroutineType else _as_asyncio_coroutine(coro)
            )
            task = _AsyncioTask(native, loop=self, name=name, context=context)
            if task._source_traceback:  # type: ignore[attr-defined]
                del task._source_traceback[-1]  # type: ignore[attr-defined]
            return task
        kwargs: dict[str, object] = {}
        if name is not None:
            kwargs["name"] = name
        if context is not None:
            kwargs["context"] = context
        return cast("asyncio.Task[_T]", factory(self, coro, **kwargs))


def new_event_loop() -> EventLoop:
    """A new :class:`EventLoop`: the ``loop_factory`` for ``asyncio.Runner``,
    ``asyncio.run`` (3.12+) and ``loopcore.run``.

    Thread-safe: each call makes a fresh loop, owned by the thread that runs it.
    """
    return EventLoop()
