"""``run()`` and ``Runner``: the program's entry point into the loop.

A runner owns one loop for its lifetime: it creates it, runs coroutines on it, and
on close cancels the tasks left behind (and waits for them), closes the
asynchronous generators, joins the default executor, and closes the loop. Nothing
the program started outlives ``run()``.

Ctrl-C. Python raises :class:`KeyboardInterrupt` wherever the main thread happens
to be when SIGINT arrives: in the middle of a callback, of a task step, of the
loop's own bookkeeping. Nothing can be cleaned up reliably from there. While a
runner runs a coroutine it installs its own SIGINT handler, which does not raise:
it asks the loop (``call_soon_threadsafe``, safe from a signal handler) to cancel
the main task between two callbacks. The task unwinds normally (its ``finally``
blocks and ``async with`` exits run) and ``run()`` then raises
``KeyboardInterrupt``. A second Ctrl-C, for a program that does not react to the
cancellation, raises ``KeyboardInterrupt`` at once, as Python normally does.
"""

from __future__ import annotations

import contextvars
import enum
import signal
import threading
from collections.abc import Callable, Coroutine, Generator
from types import FrameType, TracebackType
from typing import TypeVar, cast

from . import coroutines, events, exceptions, futures, policies, tasks
from .base_loop import THREAD_JOIN_TIMEOUT, BaseEventLoop, _wait_all
from .events import AbstractEventLoop

__all__ = ["Runner", "run"]

_T = TypeVar("_T")


class _State(enum.Enum):
    CREATED = "created"
    INITIALIZED = "initialized"
    CLOSED = "closed"


class Runner:
    """A context manager that owns an event loop and runs coroutines on it.

    ::

        with loopcore.Runner() as runner:
            runner.run(first())
            runner.run(second())

    The loop is created on first use (:meth:`run`, :meth:`get_loop` or entering the
    ``with`` block): by *loop_factory* when given, else by
    :func:`loopcore.new_event_loop`, in which case it is also made the current loop
    of the thread until the runner closes. *debug* (when not ``None``) sets the
    loop's debug mode. Every :meth:`run` of one runner shares one
    :class:`contextvars.Context` unless given another.
    """

    def __init__(
        self,
        *,
        debug: bool | None = None,
        loop_factory: Callable[[], AbstractEventLoop] | None = None,
    ) -> None:
        self._state = _State.CREATED
        self._debug = debug
        self._loop_factory = loop_factory
        self._loop: AbstractEventLoop | None = None
        self._context: contextvars.Context | None = None
        self._interrupt_count = 0
        self._set_event_loop = False

    def __enter__(self) -> Runner:
        self._lazy_init()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Cancel the tasks left, close the async generators, join the default
        executor (up to 300 s), and close the loop. A no-op unless the loop was
        created and the runner is not closed yet.
        """
        if self._state is not _State.INITIALIZED:
            return
        loop = self._loop
        assert loop is not None
        try:
            _cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor(THREAD_JOIN_TIMEOUT))
        finally:
            if self._set_event_loop:
                policies.set_event_loop(None)
            loop.close()
            self._loop = None
            self._state = _State.CLOSED

    def get_loop(self) -> AbstractEventLoop:
        """The runner's loop (created on first use).

        :raises RuntimeError: if the runner is closed.
        """
        self._lazy_init()
        assert self._loop is not None
        return self._loop

    def run(
        self,
        coro: Coroutine[object, object, _T] | Generator[object, None, _T],
        *,
        context: contextvars.Context | None = None,
    ) -> _T:
        """Run *coro* (either coroutine style) in a task until it completes; return
        its result or raise its exception.

        The task runs in *context* (the runner's shared context by default). Called
        from the main thread while SIGINT has Python's default handler, the first
        Ctrl-C cancels the task and this method raises :class:`KeyboardInterrupt`
        once the task has unwound; a second Ctrl-C raises at once.

        :raises ValueError: if *coro* is not a coroutine.
        :raises RuntimeError: if called while a loop runs in this thread, or if the
            runner is closed.
        """
        if not coroutines.iscoroutine(coro):
            raise ValueError(f"a coroutine was expected, got {coro!r}")
        if events._get_running_loop() is not None:
            raise RuntimeError(
                "Runner.run() cannot be called from a running event loop: "
                "await the coroutine instead"
            )
        self._lazy_init()
        loop = self._loop
        assert loop is not None
        if context is None:
            context = self._context
        task = loop.create_task(coro, context=context)

        sigint_handler: Callable[[int, FrameType | None], None] | None = None
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):

            def sigint_handler(signum: int, frame: FrameType | None) -> None:
                self._on_sigint(loop, task)

            try:
                signal.signal(signal.SIGINT, sigint_handler)
            except ValueError:
                sigint_handler = None
        wakeup_fd = _claim_wakeup_fd(loop) if sigint_handler is not None else None

        self._interrupt_count = 0
        try:
            return loop.run_until_complete(task)
        except exceptions.cancelled_error_types():
            if self._interrupt_count > 0:
                # A task from a custom task factory may lack uncancel(): then the
                # interrupt is the only cancellation we know of.
                uncancel = getattr(task, "uncancel", None)
                if uncancel is None or uncancel() == 0:
                    raise KeyboardInterrupt()
            raise
        except BaseException:
            # KeyboardInterrupt or SystemExit went through the task and out of the
            # loop: the caller gets it now, so the task must not log it again
            # ("exception was never retrieved") when it is collected.
            if task.done() and not task.cancelled():
                task.exception()
            raise
        finally:
            if sigint_handler is not None and signal.getsignal(signal.SIGINT) is sigint_handler:
                signal.signal(signal.SIGINT, signal.default_int_handler)
            if wakeup_fd is not None:
                _release_wakeup_fd(wakeup_fd)

    def _lazy_init(self) -> None:
        if self._state is _State.CLOSED:
            raise RuntimeError("the Runner is closed: create a new one")
        if self._state is _State.INITIALIZED:
            return
        if self._loop_factory is None:
            self._loop = policies.new_event_loop()
            if not self._set_event_loop:
                # Code that calls get_event_loop() inside the run finds this loop.
                policies.set_event_loop(self._loop)
                self._set_event_loop = True
        else:
            self._loop = self._loop_factory()
        if self._debug is not None:
            self._loop.set_debug(self._debug)
        self._context = contextvars.copy_context()
        self._state = _State.INITIALIZED

    def _on_sigint(self, loop: AbstractEventLoop, task: tasks.Task[_T]) -> None:
        # Runs inside Python's signal handling, between two bytecodes of whatever
        # the main thread was doing: only touch the thread-safe entry of the loop.
        self._interrupt_count += 1
        if self._interrupt_count == 1 and not task.done() and not loop.is_closed():
            loop.call_soon_threadsafe(_cancel_interrupted, task)
            return
        raise KeyboardInterrupt()


def _claim_wakeup_fd(loop: AbstractEventLoop) -> int | None:
    """Point the signal wake-up fd at *loop*'s self-pipe, if nobody uses it.

    Python runs signal handlers in the main thread only, but the OS may deliver
    SIGINT to any thread (macOS does). Without a wake-up fd, a main thread asleep in
    the selector with no timer pending would not notice Ctrl-C until something else
    woke it. The byte written to the self-pipe wakes the loop; the loop ignores
    signal numbers it has no handler for, and Python then runs the SIGINT handler.

    :returns: the fd now in use (to give back with :func:`_release_wakeup_fd`), or
        ``None`` when the loop is not a BaseEventLoop or a wake-up fd is already set.
    """
    if not isinstance(loop, BaseEventLoop):
        return None
    if loop.is_closed() or loop._signals.saved_wakeup_fd is not None:
        return None
    fd = loop._io.wakeup_fd
    try:
        previous = signal.set_wakeup_fd(fd, warn_on_full_buffer=False)
    except (ValueError, OSError):
        return None
    if previous != -1:
        # Someone else's wake-up fd: leave it in place.
        signal.set_wakeup_fd(previous)
        return None
    return fd


def _release_wakeup_fd(fd: int) -> None:
    """Undo :func:`_claim_wakeup_fd`, unless the wake-up fd was changed since."""
    current = signal.set_wakeup_fd(-1)
    if current != fd:
        signal.set_wakeup_fd(current)


def _cancel_interrupted(task: tasks.Task[_T]) -> None:
    if not task.done():
        task.cancel("interrupted by SIGINT (Ctrl-C)")


def run(
    main: Coroutine[object, object, _T] | Generator[object, None, _T],
    *,
    debug: bool | None = None,
    loop_factory: Callable[[], AbstractEventLoop] | None = None,
) -> _T:
    """Run the coroutine *main* on a new event loop and return its result.

    Creates a loop (with *loop_factory*, or :func:`loopcore.new_event_loop`), runs
    *main* in a task, then cancels every task left (waiting for them), closes the
    asynchronous generators, shuts the default executor down, and closes the loop:
    a :class:`Runner` used once. *debug* (when not ``None``) sets the loop's debug
    mode. The first Ctrl-C cancels *main* cleanly and ``run()`` then raises
    :class:`KeyboardInterrupt`.

    :raises RuntimeError: when called while a loop runs in this thread.
    :raises ValueError: if *main* is not a coroutine.
    """
    if events._get_running_loop() is not None:
        raise RuntimeError(
            "loopcore.run() cannot be called from a running event loop: await the coroutine instead"
        )
    with Runner(debug=debug, loop_factory=loop_factory) as runner:
        return runner.run(main)


def _cancel_all_tasks(loop: AbstractEventLoop) -> None:
    """Cancel the tasks still pending on *loop*, run it until they are done, and
    report those that failed with something other than a cancellation."""
    to_cancel = tasks.all_tasks(loop)
    if not to_cancel:
        return
    for task in to_cancel:
        task.cancel()
    loop.run_until_complete(_wait_all(loop, cast("set[futures.Future[object]]", to_cancel)))
    for task in to_cancel:
        if task.cancelled():
            continue
        exc = task.exception()
        if exc is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception during loopcore.run() shutdown",
                    "exception": exc,
                    "task": task,
                }
            )
