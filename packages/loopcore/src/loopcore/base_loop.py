"""BaseEventLoop: the scheduler at the heart of every loopcore loop.

What one iteration (:meth:`BaseEventLoop._run_once`) does, in order:

1. Drop cancelled timers from the head of the timer heap (they must not decide how
   long we sleep).
2. Choose the poll timeout: 0 when callbacks are ready, else the time left until the
   earliest timer, else ``None`` (sleep until an fd or a signal or another thread
   wakes us up through the self-pipe).
3. Poll for I/O (:meth:`BaseEventLoop._poll`) and queue the reader/writer
   callbacks of the fds that are ready (:meth:`BaseEventLoop._process_events`).
   Both are done by the loop's poller (``loop._io``, :mod:`loopcore._poller`), which
   owns the epoll object (or the selector), the fd table and the self-pipe.
4. Queue every timer that is due, reading the clock once.
5. Run exactly the callbacks that are queued now. Callbacks they schedule wait for
   the next iteration, so a callback that keeps rescheduling itself cannot starve
   I/O or timers.

The 3.4 ``stop()`` rule ("every callback scheduled before ``stop()`` runs, none
scheduled after it") falls out of a sentinel: ``stop()`` appends a marker handle to
the ready queue; the iteration that reaches the marker ends there and
``run_forever`` returns. Whatever was queued before the marker has run by then
(even callbacks beyond the batch in which ``stop()`` was called: the loop keeps
iterating until it reaches the marker), and whatever was queued after it stays
queued for the next ``run_forever``.

Only the platform-neutral part lives here: the network methods of
:class:`~loopcore.AbstractEventLoop` (``create_connection``, ``sock_recv``, ...) are
added by ``looptransports``' ``SelectorEventLoop``, a subclass.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextvars
import functools
import heapq
import logging
import os
import selectors
import sys
import threading
import traceback
import types
import warnings
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import (
    TYPE_CHECKING,
    Any,
    Final,
    Protocol,
    TypeVar,
    TypeVarTuple,
    Unpack,
    cast,
    overload,
)

from . import (
    _clock,
    _poller,
    _signals,
    coroutines,
    events,
    futures,
    handles,
    leaks,
    monitor,
    tasks,
    telemetry,
)
from ._build import mypyc_attr
from .events import AbstractEventLoop, ExceptionHandler, FileDescriptorLike, TaskFactory
from .handles import Handle, TimerHandle

if TYPE_CHECKING:
    from .events import CoroutineLike

__all__ = ["BaseEventLoop"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

logger = logging.getLogger("loopcore")

# Compaction of the timer heap: once more than this many cancelled timers sit in
# the heap *and* they are more than this fraction of it, the heap is rebuilt
# without them. Rebuilding costs O(n) and happens after n/4 cancellations at the
# earliest, so cancellation stays O(1) amortised (about four comparisons per
# cancelled timer) and the heap stays within a third more than the live timers.
# A cancelled timer left in the heap costs more: about log2(n) comparisons when it
# is popped at the head, each a Python-level TimerHandle.__lt__.
_MIN_CANCELLED_TIMERS: Final = 100
_MAX_CANCELLED_TIMERS_FRACTION: Final = 0.25

_MAX_POLL_TIMEOUT: Final = _poller.MAX_POLL_TIMEOUT
_EVENT_READ: Final = _poller.EVENT_READ
_EVENT_WRITE: Final = _poller.EVENT_WRITE

# How many frames of coroutine origin Python records in debug mode.
_DEBUG_ORIGIN_DEPTH = 10

# How long loop.shutdown_default_executor() waits for threads in loopcore.run().
THREAD_JOIN_TIMEOUT = 300.0

# Flags of the code object of a coroutine function: async def, or a generator
# function made awaitable by types.coroutine() (which @coroutine uses).
_CO_COROUTINE_FLAGS: Final = 0x0080 | 0x0100  # CO_COROUTINE | CO_ITERABLE_COROUTINE

_FunctionType: Final = types.FunctionType
_MethodType: Final = types.MethodType
# Callables implemented in C: never coroutine functions (plus the types learned below).
_BUILTIN_CALLABLE_TYPES: Final[set[type]] = {
    types.BuiltinFunctionType,
    types.BuiltinMethodType,
    types.MethodWrapperType,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
}
# More types join _BUILTIN_CALLABLE_TYPES the first time one of their instances passes
# _check_callback, when the answer cannot differ between instances of the type: their
# instances have no __dict__ (so no per-instance _is_coroutine marker, and no
# functools.partial, whose wrapped function varies) and the type has no __code__ (so
# inspect finds no code flags). asyncio's C Task schedules its steps and wake-ups as
# such objects (on loopasyncio's loop): each would otherwise cost a full
# inspect.iscoroutinefunction() call, a third of a task switch.
_MAX_LEARNED_CALLABLE_TYPES = 32
# The two C callables most often scheduled, tested by identity before the set lookup
# (which costs about a hundred instructions compiled): a method of a C or compiled
# object (`fut.set_result`, `deque.append`) and a slot wrapper (`it.__next__`).
_BuiltinMethodType: Final = types.BuiltinMethodType
_MethodWrapperType: Final = types.MethodWrapperType


def _learn_plain_callable_type(tp: type) -> None:
    if (
        tp.__dictoffset__ == 0
        and not hasattr(tp, "__code__")
        and tp is not functools.partial
        and len(_BUILTIN_CALLABLE_TYPES) < _MAX_LEARNED_CALLABLE_TYPES
    ):
        _BUILTIN_CALLABLE_TYPES.add(tp)


# A module global, not a default argument of __del__ (mypyc cannot compile one
# there): it keeps `warnings.warn` reachable at interpreter shutdown.
_warn = warnings.warn
_PENDING: Final = futures.State.PENDING
# Bound once: compiled, a Final module global is a C static, where `heapq.heappush`
# would be an attribute lookup on the module at every call.
_heappush: Final = heapq.heappush
_heappop: Final = heapq.heappop
# Context.run, unbound: the run phase calls it for every handle (compiled,
# `context.run(...)` would look `run` up on the context each time).
_context_run: Final = contextvars.Context.run
# The loop's clock, bound once: what time() returns unless instrumented (the
# iteration and call_later() read it through _loop_time(), which honours a time()
# overridden by a subclass or replaced on the instance).
_monotonic: Final = _clock.monotonic

# loopcore's own methods that are scheduled with call_soon on every task switch and
# future resolution. They are plain methods, so call_soon does not inspect them
# (that inspection is a third of its cost), nor callables implemented in C; anything
# else, including overrides of these in subclasses, goes through _check_callback.
_PLAIN_METHODS: Final = frozenset(
    {
        tasks.Task._step,
        tasks.Task._wakeup,
        futures.Future.set_result,
        futures.Future.set_exception,
        futures.Future.cancel,
    }
)


def _debug_from_environment() -> bool:
    """Debug mode default: ``LOOPCORE_DEBUG`` set to something but ``0``, or ``-X dev``."""
    if sys.flags.dev_mode:
        return True
    if sys.flags.ignore_environment:
        return False
    value = os.environ.get("LOOPCORE_DEBUG", "")
    return value not in ("", "0")


def _is_coroutine_function(func: object) -> bool:
    """The full check, for callables that are not plain functions or methods."""
    code = getattr(func, "__code__", None)
    if code is not None and code.co_flags & _CO_COROUTINE_FLAGS:
        return True
    return coroutines.iscoroutinefunction(func)


def _check_callback(callback: object, method: str) -> None:
    """Refuse what cannot be a loop callback, with a message that says what to do.

    Runs on every ``call_soon``, so the common cases (a function, a bound method, a
    builtin) are settled by their type and the code flags, without calling into
    :mod:`inspect`.
    """
    tp = type(callback)
    func: object = callback
    if tp is _MethodType:
        func = callback.__func__  # type: ignore[attr-defined]
        tp = type(func)
    if tp is _FunctionType:
        if not (
            func.__code__.co_flags & _CO_COROUTINE_FLAGS  # type: ignore[attr-defined]
            or getattr(func, "_is_coroutine", None) is coroutines._is_coroutine
        ):
            return
    elif tp in _BUILTIN_CALLABLE_TYPES:
        return
    elif not callable(callback):
        if coroutines.iscoroutine(callback):
            raise TypeError(
                f"coroutines cannot be used with {method}(): got {callback!r}; "
                "schedule it with loop.create_task() instead"
            )
        raise TypeError(f"a callable object was expected by {method}(), got {callback!r}")
    elif not _is_coroutine_function(callback):
        _learn_plain_callable_type(tp)
        return
    raise TypeError(
        f"coroutines cannot be used with {method}(): got the coroutine function "
        f"{callback!r}; call it and schedule the coroutine with loop.create_task() instead"
    )


def _stop_marker() -> None:
    """The callback of the stop sentinel; never called (the loop recognises the handle)."""


def _set_result_unless_done(fut: futures._LoopFuture[_T], result: _T) -> None:
    if not fut.done():
        fut.set_result(result)


def _set_exception_unless_done(fut: futures._LoopFuture[_T], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


def _wait_all(
    loop: AbstractEventLoop, futs: Iterable[futures._LoopFuture[object]]
) -> Awaitable[None]:
    """A future that is done once every future in *futs* is done (their outcomes are
    left on them, to be read by the caller).

    Used by ``shutdown_asyncgens`` and ``loopcore.run`` so that they do not depend on
    ``gather``. Cancelling the returned future does not cancel *futs*: the caller
    decides what to do with them.
    """
    # Any, not a futures.Future, and create_future() called through Any: a loop may
    # make another kind (loopasyncio's makes asyncio's), which the compiled build
    # would refuse as a declared Future (or await through the wrong protocol).
    waiter: Any = getattr(loop, "create_future")()  # noqa: B009 (a dynamic call: see above)
    pending = [f for f in futs if not f.done()]
    remaining = len(pending)
    if not remaining:
        waiter.set_result(None)
        return cast("Awaitable[None]", waiter)

    def _one_done(_fut: object) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0 and not waiter.done():
            waiter.set_result(None)

    for f in pending:
        f.add_done_callback(_one_done)
    return cast("Awaitable[None]", waiter)


# Frames of these files are the loop's own machinery, not where a handle was made.
_INTERNAL_FILES = frozenset({__file__, handles.__file__})


def _trim_source_traceback(stack: list[traceback.FrameSummary]) -> None:
    """Drop the loop's own frames from the end of a debug-mode creation stack, so
    that it ends at the user's call (``call_soon``, ``call_later``...)."""
    while stack and stack[-1].filename in _INTERNAL_FILES:
        del stack[-1]


def _format_handle(handle: Handle) -> str:
    """The handle, or the task whose step it runs (which says more)."""
    callback = handle._callback
    owner = getattr(callback, "__self__", None)
    if owner is not None and futures.isfuture(owner):
        return repr(owner)
    return repr(handle)


class LoopInstrumentation(Protocol):
    """What :mod:`loopcore.testing` plugs into a loop (``loop._instrumentation``):
    the virtual clock and the shuffler. A protocol, so mypyc treats the attribute as a
    plain object: any object with these methods fits."""

    def time(self) -> float:
        """The loop's clock while instrumented (what :meth:`BaseEventLoop.time`
        returns)."""
        ...

    def poll(self, timeout: float | None) -> _poller.EventList:
        """Called by the loop instead of its :meth:`BaseEventLoop._poll`."""
        ...


@mypyc_attr(allow_interpreted_subclasses=True)
class BaseEventLoop(AbstractEventLoop):
    """The core event loop: callbacks, timers, fd readiness, signals, executor.

    Usable on its own (``loopcore`` installed alone): it runs futures, tasks, timers,
    executors and fd-readiness callbacks. ``looptransports.SelectorEventLoop``
    subclasses it to add sockets, pipes and subprocesses.

    For subclasses, the iteration is split into overridable steps:

    * :meth:`time` is the only clock read (a virtual-clock subclass overrides it);
    * :meth:`_poll` waits for I/O, :meth:`_process_events` queues the callbacks of
      ready fds (both delegate to the poller);
    * :meth:`_add_reader`, :meth:`_remove_reader`, :meth:`_add_writer`,
      :meth:`_remove_writer` register fd callbacks without the public methods'
      checks, for transports; they go through :meth:`_watch_fd` and
      :meth:`_unwatch_fd`;
    * ``_io`` is the poller (:mod:`loopcore._poller`): an ``EpollPoller`` on Linux,
      a ``SelectorPoller`` elsewhere or when a selector is given. Its fd table maps
      each watched fd to an ``FdWatch`` (events, reader handle, writer handle).

    Not thread-safe, except :meth:`call_soon_threadsafe` (and, by way of it,
    :meth:`stop` scheduled with ``call_soon_threadsafe(loop.stop)``).

    :param selector: a :class:`selectors.BaseSelector` to poll with (the 3.4 API);
        by default the loop uses epoll directly where the platform has it, else a
        new :class:`selectors.DefaultSelector`. The loop closes it in :meth:`close`.
    """

    #: In debug mode, callbacks that run longer than this (seconds) are logged.
    slow_callback_duration: float = 0.1

    def __init__(self, selector: selectors.BaseSelector | None = None) -> None:
        self._closed = False
        self._debug = _debug_from_environment()
        # A subclass that overrides call_soon sees task steps go through it, as with
        # asyncio's tasks (see _call_soon_task).
        self._call_soon_overridden = type(self).call_soon is not BaseEventLoop.call_soon
        # The handles due to run (callbacks, and the step handles of tasks), in FIFO
        # order.
        self._ready: collections.deque[Handle] = collections.deque()
        # Its append, bound once: called for every handle queued (compiled, a method
        # call on the deque would look `append` up each time).
        self._ready_append: Callable[[Handle], None] = self._ready.append
        self._update_task_queue()
        self._scheduled: list[TimerHandle] = []
        self._cancelled_timers = 0
        self._clock_resolution = _clock.CLOCK_RESOLUTION
        # Stopping: see the module docstring. One sentinel handle per loop, in the
        # ready queue while a stop is pending.
        self._stop_sentinel = Handle(_stop_marker, (), self, None)
        self._stop_pending = False
        self._io_before_stop = False
        self._stopping = False
        self._thread_id: int | None = None
        #: Iterations run so far (cheap telemetry: one integer increment each).
        self._iterations = 0
        # Always-on telemetry (loopcore.telemetry): callbacks taken from the ready
        # queue, timers fired, and how late they fired (the loop lag).
        self._callbacks_run = 0
        self._timers_fired = 0
        self._timer_lag_total = 0.0
        self._timer_lag_max = 0.0
        # Told when each callback starts and ends (opt-in telemetry detail and the
        # stall detector); None keeps the fast run phase.
        self._run_observer: telemetry._Observer | None = None
        # loopcore.testing's virtual clock and shuffler, or None (set by
        # _set_instrumentation). time() reads its clock and _run_once polls through
        # it, in both builds: a compiled loop calls its own methods natively, without
        # looking at the instance, so replacing them there would not do.
        self._instrumentation: LoopInstrumentation | None = None
        self._telemetry_observer: telemetry._Observer | None = None
        self._monitor: monitor.Monitor | None = None
        self._current_handle: Handle | None = None
        self._exception_handler: ExceptionHandler | None = None
        self._task_factory: TaskFactory | None = None
        self._default_executor: concurrent.futures.Executor | None = None
        self._executor_shutdown_called = False
        self._asyncgens: weakref.WeakSet[AsyncGenerator[object, object]] = weakref.WeakSet()
        self._asyncgens_shutdown_called = False
        self._origin_tracking_saved: int | None = None
        # The I/O backend, held as trio's Runner holds its io_manager: it owns the
        # epoll object (or the selector), the fd table and the self-pipe.
        # (A _PollerBase, not the Poller protocol: compiled, the loop's calls to it are
        # then native calls.)
        self._io: _poller._PollerBase = _poller.make_poller(selector, self._ready)
        self._watch_fd(
            self._io.self_pipe_fd,
            _EVENT_READ,
            Handle(self._read_from_self, (), self, None),
        )
        self._direct_io = False
        self._plain_time = False
        # The instance's __dict__ (None if it has none: not a Python subclass), kept
        # so that _loop_time sees a time() replaced on the instance at any moment
        # with one dict look-up (getattr would cost an AttributeError on a native
        # instance, and a method call through Python a few hundred instructions).
        self._instance_dict: dict[str, object] | None = _instance_dict(self)
        self._update_direct_paths()
        # Signal handlers, dispatched from the self-pipe (see _read_from_self).
        self._signals = _signals.SignalHandlers(self._io.wakeup_fd, self._ready_append)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} running={self.is_running()} "
            f"closed={self._closed} debug={self._debug}>"
        )

    def __del__(self) -> None:
        if getattr(self, "_closed", True):
            return
        _warn(f"unclosed event loop {self!r}", ResourceWarning, source=self)
        if not self.is_running():
            try:
                self.close()
            except Exception:
                pass

    # -- Self-pipe: wake-ups from other threads and from signals -------------------------
    # The poller owns the socketpair; the loop watches its read end, because what a
    # byte means (a wake-up, or a signal number to dispatch) is the loop's business.
    def _read_from_self(self) -> None:
        """Drain the self-pipe; each non-zero byte is a signal number to dispatch."""
        data = self._io.drain_self_pipe()
        if data and self._signals:
            self._signals.dispatch(data)

    def _write_to_self(self) -> None:
        """Wake the loop up if it sleeps in the poller (any thread, signal-safe)."""
        if not self._io.wake() and self._debug and not self._closed:
            logger.debug("Fail to write a null byte into the self-pipe socket")

    # -- Running and stopping -----------------------------------------------------------
    def _check_closed(self) -> None:
        if self._closed:
            raise RuntimeError("Event loop is closed")

    def _check_running(self) -> None:
        if self._thread_id is not None:
            raise RuntimeError("This event loop is already running")
        if events._get_running_loop() is not None:
            raise RuntimeError(
                "Cannot run the event loop while another loop is running in this thread"
            )

    def _check_thread(self) -> None:
        """Debug mode: refuse a non-thread-safe call from another thread."""
        thread_id = self._thread_id
        if thread_id is None:
            return
        if threading.get_ident() != thread_id:
            raise RuntimeError(
                "Non-thread-safe operation invoked on an event loop other than the current one: "
                "use loop.call_soon_threadsafe() from other threads"
            )

    def run_forever(self) -> None:
        """Run iterations until :meth:`stop` is called.

        Every callback scheduled before ``stop()`` runs before this returns; callbacks
        scheduled after it stay queued for the next run. If ``stop()`` was called
        before ``run_forever()``, the loop polls I/O once with a zero timeout, runs
        what is scheduled (with the callbacks of the fds found ready) and returns;
        timers that fall due meanwhile wait for the next run, as in 3.4.

        :raises RuntimeError: if the loop is closed, already running, or another loop
            runs in this thread.
        """
        self._check_closed()
        self._check_running()
        self._set_coroutine_origin_tracking(self._debug)
        old_agen_hooks = sys.get_asyncgen_hooks()
        self._thread_id = threading.get_ident()
        try:
            sys.set_asyncgen_hooks(
                firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook
            )
            events._set_running_loop(self)
            self._update_direct_paths()
            self._io_before_stop = self._stop_pending
            run_once = self._run_once
            # This `while` right here is the event loop.
            while not self._stopping:
                run_once()
        finally:
            self._stopping = False
            self._io_before_stop = False
            self._thread_id = None
            events._set_running_loop(None)
            self._set_coroutine_origin_tracking(False)
            sys.set_asyncgen_hooks(*old_agen_hooks)

    def run_until_complete(self, future: Awaitable[_T]) -> _T:
        """Run until *future* is done and return its result (or raise its exception).

        *future* may be any Future-compatible object bound to this loop
        (:func:`loopcore.isfuture`: loopcore's own, an :class:`asyncio.Future`
        made with ``loop=`` this loop, ...); a coroutine (either style) or other
        awaitable is wrapped in a task with :func:`loopcore.ensure_future`.

        When the run ends with an exception that escapes the loop (a task raising
        :class:`KeyboardInterrupt` or :class:`SystemExit`, or an error in
        ``run_forever``), no stop is left pending: the next ``run_forever()`` runs
        normally.

        :raises ValueError: if *future* is a future of another loop.
        :raises RuntimeError: if the loop stopped before the future completed, or for
            the reasons of :meth:`run_forever`.
        """
        self._check_closed()
        self._check_running()
        if futures.isfuture(future):
            other = futures._get_loop(future)
            if other is not self:
                raise ValueError(
                    f"the future {future!r} belongs to another event loop ({other!r}), "
                    f"not to {self!r}: run it on its own loop"
                )
        new_task = not futures.isfuture(future)
        # Any, not futures.Future: an asyncio future of this loop is accepted, and the
        # compiled build would refuse it as a declared Future.
        fut: Any = tasks._ensure_future(future, self)
        # The stop callback is live only while this call runs the loop. A task that
        # raises KeyboardInterrupt/SystemExit is done (its callbacks queued) as the
        # exception leaves run_forever(); its queued stop must not end the next run.
        # (asyncio skips the stop when the future's exception is one of those two,
        # which leaves run_until_complete() of a plain future failed that way
        # waiting forever; this covers both.)
        active = True

        def _stop_when_done(_fut: object) -> None:
            if active:
                self.stop()

        fut.add_done_callback(_stop_when_done)
        try:
            self.run_forever()
        except BaseException:
            if new_task and fut.done() and not fut.cancelled():
                # The task's exception is about to be lost with the loop's; it was
                # "retrieved" by whoever sees this one.
                fut.exception()
            raise
        finally:
            active = False
            fut.remove_done_callback(_stop_when_done)
        if not fut.done():
            raise RuntimeError(f"Event loop stopped before the future completed: {fut!r}")
        result: _T = fut.result()
        return result

    def stop(self) -> None:
        """Stop the loop once every callback scheduled before this call has run.

        Callbacks scheduled after ``stop()`` do not run until ``run_forever()`` is
        called again. Calling it again before the loop stopped moves the stop point to
        the end of the queue. Not thread-safe: from another thread use
        ``loop.call_soon_threadsafe(loop.stop)``.
        """
        sentinel = self._stop_sentinel
        if self._stop_pending:
            try:
                self._ready.remove(sentinel)
            except ValueError:
                pass
        self._stop_pending = True
        self._ready_append(sentinel)

    def is_running(self) -> bool:
        """True while :meth:`run_forever` (or :meth:`run_until_complete`) runs."""
        return self._thread_id is not None

    def is_closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Close the loop.

        Reports the tasks still pending to the exception handler, drops every queued
        callback and timer, removes the signal handlers, shuts the default executor
        down without waiting for it, and closes the selector and the self-pipe. A
        second call does nothing. Afterwards every scheduling method raises
        ``RuntimeError('Event loop is closed')``.

        :raises RuntimeError: if the loop is running.
        """
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop: stop it first")
        if self._closed:
            return
        if self._debug:
            logger.debug("Close %r", self)
            leaks.report_leaks(self)
        if self._monitor is not None:
            self._monitor.close()
        telemetry._stop(self)
        tasks._report_pending_tasks(self)
        self._closed = True
        self._update_task_queue()
        self._ready.clear()
        self._stop_pending = False
        for timer in self._scheduled:
            timer._scheduled = False
        self._scheduled.clear()
        self._cancelled_timers = 0
        self._executor_shutdown_called = True
        executor = self._default_executor
        if executor is not None:
            self._default_executor = None
            executor.shutdown(wait=False)
        self._signals.remove_all(self)
        self._io.close()

    # -- One iteration --------------------------------------------------------------------
    def _poll(self, timeout: float | None) -> _poller.EventList:
        """Wait up to *timeout* seconds (``None``: no limit) for fd events; return
        ``(FdWatch, ready_events)`` pairs.

        The one place where the loop blocks; a subclass may override it (to count,
        trace, or run on a virtual clock). On a loop instrumented by
        ``loopcore.testing`` the loop polls through the instrumentation, which calls
        this method. The work is the poller's (:meth:`loopcore._poller.Poller.poll`).
        """
        return self._io.poll(timeout)

    def _process_events(self, event_list: _poller.EventList) -> None:
        """Queue the reader/writer callbacks of the fds in *event_list* (the
        poller's :meth:`~loopcore._poller.Poller.process_events`)."""
        self._io.process_events(event_list)

    def _update_direct_paths(self) -> None:
        # Whether the iteration may poll through the poller itself, rather than
        # through _poll and _process_events: yes unless a subclass overrides those,
        # the instance has them replaced (monkeypatching), or loopcore.testing's
        # instrumentation is attached. Called by __init__, _set_instrumentation and
        # each run_forever (so a replacement made before the loop runs is seen).
        # Likewise whether the clock may be read straight from _monotonic: yes
        # unless a subclass overrides time() or instrumentation is attached. (A
        # time() replaced on the instance, as asyncio's users do to fake the clock,
        # may come at any moment, even while the loop runs: _loop_time looks for it
        # each time; call_later and the iteration must agree on the clock.)
        # Compiled, a call of the loop's own method on an instance of a Python
        # subclass (SelectorEventLoop is one) is a Python method lookup and call, a
        # few hundred instructions per iteration; interpreted, a frame less.
        cls = type(self)
        replaced: dict[str, object] = self._instance_dict or {}
        plain = self._instrumentation is None
        self._plain_time = plain and cls.time is BaseEventLoop.time
        self._direct_io = (
            plain
            and cls._poll is BaseEventLoop._poll
            and cls._process_events is BaseEventLoop._process_events
            and "_poll" not in replaced
            and "_process_events" not in replaced
        )

    def _poll_indirect(self, timeout: float | None) -> _poller.EventList:
        """The poll of an instrumented loop, or of a subclass that overrides
        :meth:`_poll` or :meth:`_process_events`."""
        instrumentation = self._instrumentation
        if instrumentation is not None:
            return instrumentation.poll(timeout)
        return self._poll(timeout)

    def _run_once(self) -> None:
        """One iteration: poll, queue due timers, run the callbacks queued now."""
        ready = self._ready
        scheduled = self._scheduled
        heappop = _heappop
        self._iterations += 1
        direct_io = self._direct_io

        # Cancelled timers at the head must not decide the timeout.
        while scheduled and scheduled[0]._cancelled:
            heappop(scheduled)._scheduled = False
            self._cancelled_timers -= 1

        timeout: float | None
        if ready:
            timeout = 0.0
        elif scheduled:
            timeout = scheduled[0]._when - _loop_time(self)
            if timeout < 0.0:
                timeout = 0.0
            elif timeout > _MAX_POLL_TIMEOUT:
                timeout = _MAX_POLL_TIMEOUT
        else:
            timeout = None

        if direct_io:
            event_list = self._io.poll(timeout)
        else:
            event_list = self._poll_indirect(timeout)
        if self._io_before_stop:
            # stop() was called before run_forever() and nothing was queued after it:
            # this one poll is "polling I/O once", and the callbacks of the fds it
            # found ready run before the loop stops.
            self._io_before_stop = False
            if event_list and ready and ready[-1] is self._stop_sentinel:
                sentinel = ready.pop()
                self._process_events(event_list)
                ready.append(sentinel)
                event_list = []
        if event_list:
            if direct_io:
                self._io.process_events(event_list)
            else:
                self._process_events(event_list)

        if scheduled:
            now = _loop_time(self)
            end_time = now + self._clock_resolution
            ready_append = ready.append
            fired = 0
            lag_max = 0.0
            lag_total = 0.0
            while scheduled:
                timer = scheduled[0]
                if timer._when >= end_time:
                    break
                heappop(scheduled)
                timer._scheduled = False
                if timer._cancelled:
                    self._cancelled_timers -= 1
                else:
                    ready_append(timer)
                    # Loop lag, sampled from the timers: how late each one fires.
                    lag = now - timer._when
                    if lag > 0.0:
                        lag_total += lag
                        if lag > lag_max:  # noqa: PLR1730 - no call on the hot path
                            lag_max = lag
                    fired += 1
            if fired:
                self._timers_fired += fired
                self._timer_lag_total += lag_total
                if lag_max > self._timer_lag_max:  # noqa: PLR1730
                    self._timer_lag_max = lag_max

        ntodo = len(ready)
        self._callbacks_run += ntodo
        if self._debug or self._run_observer is not None:
            self._run_ready_debug(ntodo)
            return
        popleft = ready.popleft
        sentinel = self._stop_sentinel
        # `_n`, not `_`: compiled, `_` is an untyped variable, and each turn would box
        # the counter (allocating an int object past 256 callbacks).
        for _n in range(ntodo):
            handle = popleft()
            if handle is sentinel:
                self._stop_pending = False
                self._stopping = True
                return
            if handle._cancelled:
                continue
            # Handle._run, inline: one call less on every callback. With no argument
            # (a task's step) or one (a done callback's future, set_result's value)
            # the call packs none: compiled, `*args` builds a list and a tuple.
            args = handle._args
            try:
                if not args:
                    _context_run(handle._context, handle._callback)  # type: ignore[arg-type]
                elif len(args) == 1:
                    _context_run(handle._context, handle._callback, args[0])  # type: ignore[arg-type]
                else:
                    _context_run(handle._context, handle._callback, *args)  # type: ignore[arg-type]
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                handle._report_exception(exc)

    def _run_ready_debug(self, ntodo: int) -> None:
        """The run phase in debug mode (times each callback and logs slow ones) and
        with a telemetry observer (told when each callback starts and ends)."""
        popleft = self._ready.popleft
        sentinel = self._stop_sentinel
        clock = _clock.wall_clock
        observer = self._run_observer
        debug = self._debug
        for _n in range(ntodo):  # `_n`: see _run_once
            handle = popleft()
            if handle is sentinel:
                self._stop_pending = False
                self._stopping = True
                return
            if handle._cancelled:
                continue
            self._current_handle = handle
            start = clock()
            if observer is not None:
                observer.started(handle, start)
            try:
                handle._run()
            finally:
                self._current_handle = None
                duration = clock() - start
                if observer is not None:
                    observer.finished(handle, duration)
            if debug and duration >= self.slow_callback_duration:
                logger.warning("Executing %s took %.3f seconds", _format_handle(handle), duration)

    # -- Calls -------------------------------------------------------------------------------
    def call_soon(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> Handle:
        """Call ``callback(*args)`` on a later iteration, exactly once.

        Callbacks run in the order they were scheduled (FIFO), never from inside
        ``call_soon``; each runs in *context* (a copy of the current context by
        default). Not thread-safe: use :meth:`call_soon_threadsafe` from other threads.

        :returns: a :class:`~loopcore.Handle` that can cancel the call.
        :raises TypeError: if *callback* is not callable, or is a coroutine (function).
        :raises RuntimeError: if the loop is closed.
        """
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
        tp = type(callback)
        if tp is _MethodType:
            if callback.__func__ not in _PLAIN_METHODS:  # type: ignore[attr-defined]
                _check_callback(callback, "call_soon")
        elif tp is _FunctionType:
            # A plain function (a done callback, a closure) is settled by its code
            # flags, without a call; one carrying an `_is_coroutine` marker (as
            # @coroutine's wrappers do) gets the full check.
            flags = callback.__code__.co_flags
            if flags & _CO_COROUTINE_FLAGS or hasattr(callback, "_is_coroutine"):
                _check_callback(callback, "call_soon")
        elif (
            tp is not _BuiltinMethodType
            and tp is not _MethodWrapperType
            and tp not in _BUILTIN_CALLABLE_TYPES
        ):
            _check_callback(callback, "call_soon")
        handle = Handle(callback, args, self, context)
        if handle._source_traceback:
            _trim_source_traceback(handle._source_traceback)
        self._ready_append(handle)
        return handle

    def _call_soon_task(self, task: tasks.Task[object]) -> None:
        # The task's step handle (Task._step_handle) is made once and queued again on
        # every later step: a task switch allocates nothing and skips call_soon's
        # callback checks (_step is known good). In debug mode the full call_soon
        # runs, for its thread check and the creation stack of each handle; and in a
        # subclass that overrides call_soon, so that its override sees every callback.
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug or self._call_soon_overridden:
            self.call_soon(task._step, context=task._context)
            return
        handle = task._step_handle
        if handle is None or handle._cancelled:
            # (Cancelled: someone given the handle by the exception handler or a
            # monitor cancelled it; the task still needs its steps.)
            handle = task._step_handle = Handle(task._step, (), self, task._context)
        self._ready_append(handle)

    def _update_task_queue(self) -> None:
        # AbstractEventLoop._task_queue: the ready queue while _call_soon_task(task)
        # would only append the task's step handle to it (the loop open, not in debug
        # mode, neither call_soon nor _call_soon_task overridden), else None. Handles
        # and futures also read it as "not in debug mode" (hence get_debug too).
        # Called whenever one of these may change (__init__, set_debug, close).
        cls = type(self)
        if (
            self._closed
            or self._debug
            or self._call_soon_overridden
            or cls._call_soon_task is not BaseEventLoop._call_soon_task
            or cls.get_debug is not BaseEventLoop.get_debug
        ):
            self._task_queue = None
        else:
            self._task_queue = self._ready_append

    def call_soon_threadsafe(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> Handle:
        """Like :meth:`call_soon`, callable from any thread (or a signal handler).

        Wakes the loop if it is blocked in its selector. Thread-safe because the only
        shared mutation is one ``deque.append``, which is atomic, followed by a write
        to the self-pipe.

        :raises RuntimeError: if the loop is closed.
        """
        if self._closed:
            raise RuntimeError("Event loop is closed")
        _check_callback(callback, "call_soon_threadsafe")
        handle = Handle(callback, args, self, context)
        if handle._source_traceback:
            _trim_source_traceback(handle._source_traceback)
        self._ready_append(handle)
        self._write_to_self()
        return handle

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> TimerHandle:
        """Call ``callback(*args)`` *delay* seconds from now (loop time).

        The callback never runs before *delay* has passed; a zero or negative delay
        means the next iteration. Each call gets its own timer, even with equal
        times.

        :raises TypeError: if *delay* is None or *callback* is not a plain callable.
        :raises RuntimeError: if the loop is closed.
        """
        if delay is None:
            raise TypeError("call_later(): delay must be a number of seconds, got None")
        # The body of call_at(), not a call to it: call_later is the common way to
        # make a timer (sleep, timeouts) and the extra call would cost a tenth of it.
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
        tp = type(callback)
        if tp is _MethodType:
            if callback.__func__ not in _PLAIN_METHODS:  # type: ignore[attr-defined]
                _check_callback(callback, "call_later")
        elif tp is _FunctionType:
            # As in call_soon: a plain function is settled by its code flags.
            flags = callback.__code__.co_flags
            if flags & _CO_COROUTINE_FLAGS or hasattr(callback, "_is_coroutine"):
                _check_callback(callback, "call_later")
        elif (
            tp is not _BuiltinMethodType
            and tp is not _MethodWrapperType
            and tp not in _BUILTIN_CALLABLE_TYPES
        ):
            _check_callback(callback, "call_later")
        when = _loop_time(self) + delay
        timer = TimerHandle(when, callback, args, self, context)
        if timer._source_traceback:
            _trim_source_traceback(timer._source_traceback)
        _heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> TimerHandle:
        """Call ``callback(*args)`` at loop time *when* (see :meth:`time`).

        :returns: a :class:`~loopcore.TimerHandle` that can cancel the call.
        :raises TypeError: if *when* is None or *callback* is not a plain callable.
        :raises RuntimeError: if the loop is closed.
        """
        if when is None:
            raise TypeError("call_at(): when must be a loop time in seconds, got None")
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
        _check_callback(callback, "call_at")
        timer = TimerHandle(when, callback, args, self, context)
        if timer._source_traceback:
            _trim_source_traceback(timer._source_traceback)
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer

    def time(self) -> float:
        """The loop's clock: :func:`time.monotonic` seconds (see ``loopcore._clock``).

        The only clock the scheduler reads; subclasses may override it. On a loop
        instrumented by :mod:`loopcore.testing` it is the virtual clock.
        """
        instrumentation = self._instrumentation
        if instrumentation is not None:
            return instrumentation.time()
        return _monotonic()

    def _set_instrumentation(self, instrumentation: LoopInstrumentation) -> None:
        """Make the loop read its time and poll through *instrumentation*
        (``loopcore.testing``'s virtual clock and shuffler).

        In both builds :meth:`time` and the iteration consult ``_instrumentation``
        (the iteration and :meth:`call_later` only once it is set: see
        ``_update_direct_paths``), so an uninstrumented loop does no extra work.
        """
        self._instrumentation = instrumentation
        self._update_direct_paths()

    def _timer_handle_cancelled(self, handle: TimerHandle) -> None:
        """Count a cancelled timer still in the heap; compact the heap when they
        are many (over ``_MIN_CANCELLED_TIMERS``) and more than a quarter of it
        (``_MAX_CANCELLED_TIMERS_FRACTION``).

        Doing it here rather than once per iteration keeps the heap small even when
        one callback schedules and cancels millions of timers.
        """
        if not handle._scheduled:
            return
        self._cancelled_timers += 1
        scheduled = self._scheduled
        if (
            self._cancelled_timers > _MIN_CANCELLED_TIMERS
            and self._cancelled_timers > _MAX_CANCELLED_TIMERS_FRACTION * len(scheduled)
        ):
            live = []
            for timer in scheduled:
                if timer._cancelled or timer is handle:
                    timer._scheduled = False
                else:
                    live.append(timer)
            heapq.heapify(live)
            # In place: _run_once may hold a reference to the list.
            scheduled[:] = live
            self._cancelled_timers = 0

    # -- Futures and tasks -----------------------------------------------------------------------
    def create_future(self) -> futures.Future[object]:
        """A new :class:`~loopcore.Future` attached to this loop."""
        fut: futures.Future[object] = futures.Future(loop=self)
        if fut._source_traceback:
            _trim_source_traceback(fut._source_traceback)
        return fut

    def create_task(
        self,
        coro: CoroutineLike[_T],
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> tasks.Task[_T]:
        """Wrap *coro* (either coroutine style) in a task and schedule its first step.

        With a task factory set (:meth:`set_task_factory`), the task is
        ``factory(loop, coro, **kwargs)``, where *kwargs* holds ``name`` and
        ``context`` only when they were given (so 3.4-style two-argument factories keep
        working).

        :raises RuntimeError: if the loop is closed.
        :raises TypeError: if *coro* is not a coroutine.
        """
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
        factory = self._task_factory
        if factory is None:
            task = tasks.Task(coro, loop=self, name=name, context=context)
            if task._source_traceback:
                _trim_source_traceback(task._source_traceback)
            return task
        kwargs: dict[str, object] = {}
        if name is not None:
            kwargs["name"] = name
        if context is not None:
            kwargs["context"] = context
        return cast("tasks.Task[_T]", factory(self, coro, **kwargs))

    def set_task_factory(self, factory: TaskFactory | None) -> None:
        """Make :meth:`create_task` call ``factory(loop, coro, **kwargs)``.

        ``None`` restores the default (:class:`~loopcore.Task`).

        :raises TypeError: if *factory* is neither callable nor ``None``.
        """
        if factory is not None and not callable(factory):
            raise TypeError(f"the task factory must be a callable or None, got {factory!r}")
        self._task_factory = factory

    def get_task_factory(self) -> TaskFactory | None:
        """The task factory in use, or ``None`` for the default."""
        return self._task_factory

    # -- Executors -------------------------------------------------------------------------
    @overload
    def run_in_executor(
        self, executor: None, func: Callable[[Unpack[_Ts]], _T], *args: *_Ts
    ) -> futures.Future[_T]: ...

    @overload
    def run_in_executor(
        self, executor: concurrent.futures.Executor, func: Callable[[Unpack[_Ts]], _T], *args: *_Ts
    ) -> futures.Future[_T]: ...

    # The implementation returns `object`, not Future (as wrap_future does): the
    # future is made by create_future(), which a subclass may override to make
    # another class of future (asyncio's), and the compiled build would refuse it
    # as a declared Future.
    def run_in_executor(
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[[Unpack[_Ts]], _T],
        *args: *_Ts,
    ) -> object:
        """Run ``func(*args)`` in *executor* and return a loop future for its result.

        With ``executor=None`` the loop's default executor is used: the one set by
        :meth:`set_default_executor`, else a :class:`concurrent.futures.ThreadPoolExecutor`
        created on first use (thread names start with ``loopcore``). Cancelling the
        returned future cancels the call if it has not started.

        :raises RuntimeError: if the loop is closed or its default executor was shut
            down.
        :raises TypeError: if *func* is a coroutine function.
        """
        return futures._wrap_concurrent_future(
            self._submit_to_executor(executor, func, *args), loop=self
        )

    def _submit_to_executor(
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[[Unpack[_Ts]], _T],
        *args: *_Ts,
    ) -> concurrent.futures.Future[_T]:
        """The work of :meth:`run_in_executor` but the wrapping: check, pick the
        executor, submit (loopasyncio's loop wraps the result in asyncio's future
        itself)."""
        self._check_closed()
        if self._debug:
            self._check_thread()
        _check_callback(func, "run_in_executor")
        if executor is None:
            executor = self._default_executor
            if executor is None:
                if self._executor_shutdown_called:
                    raise RuntimeError(
                        "the default executor was shut down (shutdown_default_executor()): "
                        "cannot schedule new work on it"
                    )
                executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="loopcore")
                self._default_executor = executor
        return executor.submit(func, *args)

    def set_default_executor(self, executor: concurrent.futures.Executor) -> None:
        """Use *executor* for ``run_in_executor(None, ...)``.

        The previous default executor is not shut down.

        :raises TypeError: if *executor* is not a :class:`concurrent.futures.Executor`.
        """
        if not isinstance(executor, concurrent.futures.Executor):
            raise TypeError(
                "the default executor must be a concurrent.futures.Executor "
                f"(e.g. a ThreadPoolExecutor), got {executor!r}"
            )
        self._default_executor = executor

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        """Shut the default executor down and wait for its threads.

        The join runs in a separate thread, so the loop keeps running meanwhile. After
        *timeout* seconds (no limit when ``None``) it gives up waiting, warns with a
        :class:`RuntimeWarning` and lets the threads finish on their own. Later
        ``run_in_executor(None, ...)`` calls raise ``RuntimeError``.
        """
        self._executor_shutdown_called = True
        executor = self._default_executor
        if executor is None:
            return
        # Any, not futures.Future: see _wait_all.
        done: Any = getattr(self, "create_future")()  # noqa: B009 (a dynamic call: see above)

        def _join() -> None:
            try:
                executor.shutdown(wait=True)
            except BaseException as exc:
                if not self.is_closed():
                    self.call_soon_threadsafe(_set_exception_unless_done, done, exc)
            else:
                if not self.is_closed():
                    self.call_soon_threadsafe(_set_result_unless_done, done, True)

        thread = threading.Thread(target=_join, name="loopcore-executor-shutdown", daemon=True)
        thread.start()
        timer = None
        if timeout is not None:
            timer = self.call_later(timeout, _set_result_unless_done, done, False)
        try:
            finished = await done
        finally:
            if timer is not None:
                timer.cancel()
        if finished:
            thread.join()
            self._default_executor = None
        else:
            warnings.warn(
                f"the default executor did not finish joining its threads within {timeout} "
                "seconds; they are left to finish on their own",
                RuntimeWarning,
                stacklevel=2,
            )
            executor.shutdown(wait=False)

    # -- Asynchronous generators ---------------------------------------------------------------
    def _asyncgen_firstiter_hook(self, agen: AsyncGenerator[object, object]) -> None:
        if self._asyncgens_shutdown_called:
            warnings.warn(
                f"asynchronous generator {agen!r} was started after "
                "loop.shutdown_asyncgens() was called",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )
        self._asyncgens.add(agen)

    def _asyncgen_finalizer_hook(self, agen: AsyncGenerator[object, object]) -> None:
        # May run in any thread (the garbage collector's), hence the threadsafe call.
        self._asyncgens.discard(agen)
        if not self.is_closed():
            try:
                self.call_soon_threadsafe(self._start_aclose, agen)
            except RuntimeError:
                pass  # closed in the meantime

    def _start_aclose(self, agen: AsyncGenerator[object, object]) -> None:
        self.create_task(_aclose(agen))

    async def shutdown_asyncgens(self) -> None:
        """Close every asynchronous generator still suspended on this loop.

        Generators are tracked while the loop runs (through
        :func:`sys.set_asyncgen_hooks`). Each gets ``aclose()``; they are closed
        concurrently, and an error raised by one is passed to the exception handler
        (the others are still closed). Generators first iterated after this call
        produce a :class:`ResourceWarning`.
        """
        self._asyncgens_shutdown_called = True
        if not len(self._asyncgens):
            return
        closing = list(self._asyncgens)
        self._asyncgens.clear()
        # Through Any: a subclass's create_task may make another library's tasks
        # (loopasyncio's makes asyncio's), which a compiled call to the declared
        # method would refuse as not loopcore's Task.
        create_task: Any = self.create_task
        closers: list[futures._LoopFuture[object]] = [create_task(_aclose(ag)) for ag in closing]
        try:
            await _wait_all(self, closers)
        except BaseException:
            for task in closers:
                task.cancel()
            raise
        for agen, task in zip(closing, closers, strict=True):
            if task.cancelled():
                continue
            exc = task.exception()
            if exc is not None:
                self.call_exception_handler(
                    {
                        "message": (
                            f"an error occurred during closing of asynchronous generator {agen!r}"
                        ),
                        "exception": exc,
                        "asyncgen": agen,
                    }
                )

    # -- File descriptor readiness --------------------------------------------------------------
    def _add_reader(
        self, fd: FileDescriptorLike, callback: Callable[..., object], *args: object
    ) -> Handle:
        """Register ``callback(*args)`` for readability of *fd*, replacing any reader.

        For transports: no thread or ownership checks. Returns the handle, which is
        cancelled as soon as it stops being the reader of *fd* (replaced or removed),
        so a caller that waits on *fd* removes the reader afterwards only
        ``if not handle.cancelled()``: it never removes a newer reader registered by
        someone else meanwhile.
        """
        return self._watch_fd(fd, _EVENT_READ, Handle(callback, args, self, None))

    def _remove_reader(self, fd: FileDescriptorLike) -> bool:
        """Stop watching *fd* for readability; True if a reader was registered."""
        return self._unwatch_fd(fd, _EVENT_READ)

    def _add_writer(
        self, fd: FileDescriptorLike, callback: Callable[..., object], *args: object
    ) -> Handle:
        """Register ``callback(*args)`` for writability of *fd*, replacing any writer.

        For transports: no thread or ownership checks. Returns the handle, which is
        cancelled as soon as it stops being the writer of *fd* (replaced or removed),
        so a caller that waits on *fd* removes the writer afterwards only
        ``if not handle.cancelled()``: it never removes a newer writer registered by
        someone else meanwhile.
        """
        return self._watch_fd(fd, _EVENT_WRITE, Handle(callback, args, self, None))

    def _remove_writer(self, fd: FileDescriptorLike) -> bool:
        """Stop watching *fd* for writability; True if a writer was registered."""
        return self._unwatch_fd(fd, _EVENT_WRITE)

    def _watch_fd(self, fd: FileDescriptorLike, event: int, handle: Handle) -> Handle:
        """Register *handle* for *event* (``EVENT_READ`` or ``EVENT_WRITE``) of *fd*,
        cancelling the handle it replaces; return *handle*.

        :raises RuntimeError: if the loop is closed.
        """
        if self._closed:
            raise RuntimeError("Event loop is closed")
        return self._io.watch(fd, event, handle)

    def _unwatch_fd(self, fd: FileDescriptorLike, event: int) -> bool:
        """Stop watching *fd* for *event*; True if a handle was registered for it
        (always False on a closed loop)."""
        if self._closed:
            return False
        return self._io.unwatch(fd, event)

    def _check_fd(self, fd: FileDescriptorLike) -> int:
        """The integer fd of *fd* (an int or an object with ``fileno()``).

        :raises ValueError: for a negative fd or the loop's own self-pipe.
        :raises TypeError: for anything else.
        """
        if isinstance(fd, int):
            fileno = fd
        else:
            try:
                fileno = int(fd.fileno())
            except (AttributeError, TypeError, ValueError):
                raise TypeError(
                    f"a file descriptor (int or object with fileno()) was expected, got {fd!r}"
                )
        if fileno < 0:
            raise ValueError(f"invalid file descriptor {fileno} (from {fd!r})")
        if fileno == self._io.self_pipe_fd and not self._closed:
            raise ValueError(f"file descriptor {fileno} is the loop's own self-pipe")
        return fileno

    def add_reader(
        self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """Call ``callback(*args)`` on each iteration in which *fd* is readable.

        Replaces any reader already registered for *fd*; lasts until
        :meth:`remove_reader`. *fd* is an int or an object with ``fileno()``.

        :raises RuntimeError: if the loop is closed.
        :raises TypeError: if *callback* is not a plain callable.
        """
        self._check_closed()
        if self._debug:
            self._check_thread()
        _check_callback(callback, "add_reader")
        self._add_reader(self._check_fd(fd), callback, *args)

    def remove_reader(self, fd: FileDescriptorLike) -> bool:
        """Stop watching *fd* for reading.

        :returns: True if a reader was registered, False otherwise (also on a closed
            loop).
        """
        if self._debug:
            self._check_thread()
        return self._remove_reader(self._check_fd(fd))

    def add_writer(
        self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """Call ``callback(*args)`` on each iteration in which *fd* is writable.

        Replaces any writer already registered for *fd*; lasts until
        :meth:`remove_writer`.

        :raises RuntimeError: if the loop is closed.
        :raises TypeError: if *callback* is not a plain callable.
        """
        self._check_closed()
        if self._debug:
            self._check_thread()
        _check_callback(callback, "add_writer")
        self._add_writer(self._check_fd(fd), callback, *args)

    def remove_writer(self, fd: FileDescriptorLike) -> bool:
        """Stop watching *fd* for writing.

        :returns: True if a writer was registered, False otherwise.
        """
        if self._debug:
            self._check_thread()
        return self._remove_writer(self._check_fd(fd))

    # -- Signals (POSIX): the machinery is in loopcore._signals ---------------------------
    def add_signal_handler(
        self, sig: int, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """Call ``callback(*args)`` in the loop whenever signal *sig* arrives (POSIX).

        The callback runs between other callbacks, never inside one. It replaces any
        handler *sig* had (this loop's or a :func:`signal.signal` one). Signals reach
        the loop through :func:`signal.set_wakeup_fd`, which this method points at the
        loop's self-pipe while the loop has handlers (the previous wake-up fd is
        restored when the last one is removed).

        The checks come in asyncio's order and with its exceptions, each message
        starting with asyncio's words: the callback, the signal number, the loop,
        the thread, then whether the signal can be caught.

        :raises TypeError: if *callback* is a coroutine or coroutine function
            ("coroutines cannot be used with add_signal_handler()") or not callable,
            or if *sig* is not an int ("sig must be an int").
        :raises ValueError: for an invalid signal number ("invalid signal number").
        :raises RuntimeError: on a closed loop, outside the main thread, or for a
            signal that cannot be caught ("sig 9 cannot be caught": ``SIGKILL``,
            ``SIGSTOP``).
        :raises NotImplementedError: on platforms without POSIX signals.
        """
        if sys.platform == "win32":  # pragma: no cover - POSIX only
            raise NotImplementedError("add_signal_handler() is only available on POSIX")
        _check_callback(callback, "add_signal_handler")
        _signals.check_signal(sig)
        self._check_closed()
        self._signals.add(sig, Handle(callback, args, self, None))

    def remove_signal_handler(self, sig: int) -> bool:
        """Remove this loop's handler for *sig*.

        The signal gets its default disposition back (``SIGINT``:
        :func:`signal.default_int_handler`, i.e. ``KeyboardInterrupt``).

        :returns: True if a handler was removed, False if *sig* had none here
            (``SIGKILL`` and ``SIGSTOP`` included: they never have one).
        :raises RuntimeError: outside the main thread.
        :raises TypeError: if *sig* is not an int.
        :raises ValueError: for an invalid signal number.
        """
        return self._signals.remove(sig)

    # -- Error handling --------------------------------------------------------------------------
    def set_exception_handler(self, handler: ExceptionHandler | None) -> None:
        """Send errors to ``handler(loop, context)`` instead of the default handler.

        ``None`` restores :meth:`default_exception_handler`.

        :raises TypeError: if *handler* is neither callable nor ``None``.
        """
        if handler is not None and not callable(handler):
            raise TypeError(f"the exception handler must be a callable or None, got {handler!r}")
        self._exception_handler = handler

    def get_exception_handler(self) -> ExceptionHandler | None:
        """The handler set with :meth:`set_exception_handler`, or ``None``."""
        return self._exception_handler

    def default_exception_handler(self, context: dict[str, object]) -> None:
        """Log *context* at ERROR level on the ``loopcore`` logger.

        The log record holds ``context['message']``, the traceback of
        ``context['exception']`` (if any), every other key with its ``repr``, and the
        place where the handle, future or task involved was created (debug mode
        records it). Subclasses may override it; custom handlers may call it.
        """
        message = context.get("message") or "Unhandled exception in event loop"
        exception = context.get("exception")
        exc_info: object
        if isinstance(exception, BaseException):
            exc_info = (type(exception), exception, exception.__traceback__)
        else:
            exc_info = False
        details = dict(context)
        if "source_traceback" not in details:
            for key in ("task", "future", "handle"):
                source = getattr(details.get(key), "_source_traceback", None)
                if source:
                    details["source_traceback"] = source
                    break
        current = self._current_handle
        if current is not None and current._source_traceback and "handle_traceback" not in details:
            details["handle_traceback"] = current._source_traceback
        lines = [str(message)]
        for key in sorted(details):
            if key in ("message", "exception"):
                continue
            value = details[key]
            if key == "source_traceback" and isinstance(value, list):
                text = "".join(traceback.format_list(value)).rstrip()
                lines.append(f"Object created at (most recent call last):\n{text}")
            elif key == "handle_traceback" and isinstance(value, list):
                text = "".join(traceback.format_list(value)).rstrip()
                lines.append(f"Handle created at (most recent call last):\n{text}")
            else:
                lines.append(f"{key}: {value!r}")
        logger.error("\n".join(lines), exc_info=exc_info)

    def call_exception_handler(self, context: dict[str, object]) -> None:
        """Pass *context* to the exception handler in use. Never raises.

        *context* holds ``message`` and optionally ``exception``, ``future``,
        ``task``, ``handle``, ``protocol``, ``transport``, ``socket``, ``asyncgen``.
        An error inside a custom handler is itself passed to
        :meth:`default_exception_handler`, with asyncio's message ("Unhandled error
        in exception handler", followed by the handler's repr), the error as
        ``exception`` and the original context as ``context``; an error in the
        default handler is logged plainly ("Exception in default exception
        handler"). Only :class:`SystemExit` and :class:`KeyboardInterrupt` escape.
        """
        handler = self._exception_handler
        if handler is None:
            try:
                self.default_exception_handler(context)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                logger.error("Exception in default exception handler", exc_info=True)
            return
        try:
            handler(self, context)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            try:
                self.default_exception_handler(
                    {
                        "message": (
                            "Unhandled error in exception handler: the custom handler "
                            f"{handler!r} (set_exception_handler()) raised"
                        ),
                        "exception": exc,
                        "context": context,
                    }
                )
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                logger.error(
                    "Exception in default exception handler while handling an unexpected "
                    "error in custom exception handler",
                    exc_info=True,
                )

    # -- Debug mode ------------------------------------------------------------------------------
    def get_debug(self) -> bool:
        """True in debug mode.

        The default is on when the environment variable ``LOOPCORE_DEBUG`` is set to
        a non-empty value other than ``0``, or Python runs in development mode
        (``-X dev``).
        """
        return self._debug

    def set_debug(self, enabled: bool) -> None:
        """Turn debug mode on or off.

        In debug mode: callbacks slower than :attr:`slow_callback_duration` are
        logged with their source; non-thread-safe methods called from another thread
        while the loop runs raise ``RuntimeError``; handles and futures record where
        they were created; coroutine origins are tracked (to 10 frames) so that a
        coroutine never awaited is reported with where it was created.
        """
        self._debug = bool(enabled)
        self._update_task_queue()
        if self.is_running():
            self.call_soon_threadsafe(self._set_coroutine_origin_tracking, self._debug)

    def _set_coroutine_origin_tracking(self, enabled: bool) -> None:
        if enabled == (self._origin_tracking_saved is not None):
            return
        if enabled:
            self._origin_tracking_saved = sys.get_coroutine_origin_tracking_depth()
            sys.set_coroutine_origin_tracking_depth(
                max(self._origin_tracking_saved, _DEBUG_ORIGIN_DEPTH)
            )
        else:
            saved = self._origin_tracking_saved
            self._origin_tracking_saved = None
            sys.set_coroutine_origin_tracking_depth(saved or 0)

    # -- Telemetry and the monitor (loopcore.telemetry, loopcore.monitor) --------------------
    def get_telemetry(self) -> dict[str, object]:
        """The loop's counters as a JSON-able dict: always-on ones (iterations,
        callbacks, timers fired, loop lag) and the opt-in detail; see
        :func:`loopcore.telemetry.snapshot`."""
        return telemetry.snapshot(self)

    def set_telemetry(
        self, *, detail: bool | None = None, stall_threshold: float | bool | None = False
    ) -> None:
        """Turn the opt-in telemetry on or off: per-callback timing (*detail*) and the
        stall detector (*stall_threshold* seconds, ``None`` to stop it); see
        :func:`loopcore.telemetry.set_telemetry`.

        :raises ValueError: for a threshold that is not a positive number.
        :raises RuntimeError: if the loop is closed.
        """
        telemetry.set_telemetry(self, detail=detail, stall_threshold=stall_threshold)

    def enable_monitor(self, path: str | os.PathLike[str]) -> monitor.Monitor:
        """Serve this loop's task tree, timers, open resources and counters as JSON
        on the Unix socket *path*, from a thread that never blocks the loop (read it
        with ``python -m loopcore monitor PATH``); see :mod:`loopcore.monitor`.

        :returns: the :class:`~loopcore.monitor.Monitor`; it closes with the loop.
        :raises FileExistsError: if *path* is taken.
        :raises RuntimeError: if the loop is closed.
        """
        return monitor.enable_monitor(self, path)


async def _aclose(agen: AsyncGenerator[object, object]) -> None:
    await agen.aclose()


def _instance_dict(obj: object) -> dict[str, object] | None:
    """*obj*'s ``__dict__``, made now if its class gives instances one; else None.

    Compiled, an instance of a Python subclass of a native class has no
    ``__dict__`` attribute until an attribute is first set on it (its dict is made
    then): one attribute set and deleted makes it.
    """
    attrs: dict[str, object] | None = getattr(obj, "__dict__", None)
    if attrs is None and type(obj).__dictoffset__:
        probe = "_loopcore_dict_probe"  # a name nobody else sets
        setattr(obj, probe, None)
        delattr(obj, probe)
        attrs = getattr(obj, "__dict__", None)
    return attrs


def _loop_time(loop: BaseEventLoop) -> float:
    """``loop.time()``, read without calling the method when nothing replaced it.

    The same value as ``loop.time()`` always: a ``time()`` overridden by a subclass,
    replaced on the instance (at any moment) or made virtual by instrumentation is
    called. Otherwise it is the monotonic clock, read directly: compiled, calling a
    method of a loop that is a Python subclass's instance (SelectorEventLoop) costs
    a Python method look-up, a bound method and a call, and the iteration reads the
    clock twice while a timer is scheduled.
    """
    if loop._plain_time:
        attrs = loop._instance_dict
        if attrs is None or "time" not in attrs:
            return _monotonic()
    return loop.time()
