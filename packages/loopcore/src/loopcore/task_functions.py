"""Functions that combine, wait for and time out futures and tasks.

Everything here works with both coroutine styles: an ``async def`` coroutine and a
``@coroutine`` generator are wrapped in a task with :func:`~loopcore.ensure_future`
(so on the running loop, via ``loop.create_task``) wherever a future is needed.

Two rules hold throughout, because losing either silently is the classic bug of
timeout code:

* a result that exists is never dropped (:func:`wait_for` returns the inner result
  if it arrived while the timeout fired), and
* a cancellation of the *caller* is never swallowed (:func:`wait_for`,
  :func:`sleep`, :func:`wait` re-raise :class:`~loopcore.CancelledError` after
  cleaning up what they started).
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextvars
import functools
import types
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterable,
    Iterator,
)
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeAlias, TypeVar, cast, overload

from . import coroutines, events, exceptions, futures, tasks

if TYPE_CHECKING:
    from .events import AbstractEventLoop

__all__ = [
    "ALL_COMPLETED",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "as_completed",
    "create_eager_task_factory",
    "eager_task_factory",
    "gather",
    "run_coroutine_threadsafe",
    "shield",
    "sleep",
    "to_thread",
    "wait",
    "wait_for",
]

_T = TypeVar("_T")
_PENDING = futures.State.PENDING
_FINISHED = futures.State.FINISHED
_CoroutineType = types.CoroutineType
_Task = tasks.Task
_P = ParamSpec("_P")

#: Anything a task can wait for: a future, an ``async def`` coroutine, a
#: ``@coroutine`` generator or another awaitable.
AwaitableLike: TypeAlias = Awaitable[_T] | Generator[object, None, _T]

#: ``wait(return_when=FIRST_COMPLETED)``: return as soon as any future is done.
FIRST_COMPLETED = concurrent.futures.FIRST_COMPLETED
#: ``wait(return_when=FIRST_EXCEPTION)``: return when any future raises, or all are done.
FIRST_EXCEPTION = concurrent.futures.FIRST_EXCEPTION
#: ``wait(return_when=ALL_COMPLETED)``: return when every future is done (the default).
ALL_COMPLETED = concurrent.futures.ALL_COMPLETED

_RETURN_WHEN = (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED)


# -- Helpers ----------------------------------------------------------------------------


def _loop_for(loop: AbstractEventLoop | None) -> AbstractEventLoop:
    """The loop a function given the 3.4 ``loop=`` keyword works on.

    Without *loop*: the running loop. With it: *loop*, unless another loop is
    running in this thread (mixing loops would hang, so it is refused loudly).
    """
    running = events._get_running_loop()
    if loop is None:
        if running is None:
            raise RuntimeError(
                "no running event loop: call this from a coroutine running on a loop "
                "(e.g. under loopcore.run())"
            )
        return running
    if running is not None and running is not loop:
        raise ValueError(f"loop={loop!r} is not the running loop {running!r}")
    return loop


def _loop_or_default(loop: AbstractEventLoop | None) -> AbstractEventLoop:
    """*loop*, else the running loop, else the event loop of this thread."""
    if loop is not None:
        return loop
    running = events._get_running_loop()
    if running is not None:
        return running
    from .policies import get_event_loop

    the_loop: AbstractEventLoop = get_event_loop()
    return the_loop


def _ensure_future(aw: AwaitableLike[_T], loop: AbstractEventLoop | None) -> futures.Future[_T]:
    fut: futures.Future[_T] = tasks._ensure_future(aw, loop)
    return fut


def _release_waiter(waiter: futures.Future[object], *args: object) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _loop_of(fut: object) -> AbstractEventLoop:
    """The loop of a Future-compatible object (see :func:`futures._get_loop`).

    :raises TypeError: if it names no loop.
    """
    loop = futures._get_loop(fut)
    if loop is None:
        raise TypeError(f"the future {fut!r} has no get_loop() and no _loop: it names no loop")
    # A LoopLike: loopcore's loop or another asyncio-compatible one, whose
    # create_future() and create_task() the functions here call as loopcore's. A
    # typing cast only: this module is interpreted in the compiled build (a compiled
    # cast to loopcore's class would refuse another implementation's loop).
    return cast("AbstractEventLoop", loop)


def _cancelled_error_of(fut: futures.Future[object]) -> exceptions.CancelledError:
    """The :class:`CancelledError` a cancelled future raises (message preserved).

    A Future-compatible object of another library raises its own class (asyncio's
    CancelledError): it becomes ours, with the same args.
    """
    try:
        fut.result()
    except exceptions.CancelledError as exc:
        return exc
    except BaseException as exc:
        if not fut.cancelled():
            raise
        return exceptions.new_cancelled_error(*exc.args)
    raise AssertionError(f"{fut!r} was expected to be cancelled")


# -- sleep ------------------------------------------------------------------------------


@types.coroutine
def _yield_once() -> Generator[None, None, None]:
    # A bare yield: the task driving us reschedules itself with call_soon, so
    # sleep(0) lets every other ready callback run once, with no timer and no future.
    yield


def _set_result_unless_cancelled(fut: futures.Future[_T], result: _T) -> None:
    if not fut.done():
        fut.set_result(result)


@overload
async def sleep(delay: float, *, loop: AbstractEventLoop | None = None) -> None: ...
@overload
async def sleep(delay: float, result: _T, *, loop: AbstractEventLoop | None = None) -> _T: ...
async def sleep(
    delay: float, result: _T | None = None, *, loop: AbstractEventLoop | None = None
) -> _T | None:
    """Suspend the calling task for *delay* seconds, then return *result*.

    ``sleep(0)`` (and any *delay* <= 0) yields to the loop exactly once, without a
    timer: every callback ready now runs before the task continues. For a positive
    *delay* a timer is scheduled; if the sleeping task is cancelled the timer is
    cancelled too, and :class:`~loopcore.CancelledError` propagates.

    *loop* is the 3.4 keyword; when given it must be the running loop.

    :raises ValueError: if *loop* is not the running loop.
    """
    if delay <= 0:
        if loop is not None:
            _loop_for(loop)
        await _yield_once()
        return result
    the_loop = _loop_for(loop)
    fut: futures.Future[_T | None] = the_loop.create_future()  # type: ignore[assignment]
    handle = the_loop.call_later(delay, _set_result_unless_cancelled, fut, result)
    try:
        return await fut
    finally:
        handle.cancel()


# -- gather -----------------------------------------------------------------------------


class _GatheringFuture(futures.Future[list[object]]):
    """The outer future of :func:`gather`.

    ``cancel()`` is passed to the children instead of cancelling the outer future
    at once: the outer one fails with :class:`CancelledError` only once children
    have actually ended (see :func:`gather`), as CPython does.
    """

    __slots__ = ("_cancel_requested", "_children", "_requested_message")

    def __init__(self, children: list[futures.Future[object]], *, loop: AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self._children = children
        self._cancel_requested = False
        self._requested_message: object = None

    def cancel(self, msg: object = None) -> bool:
        """Cancel every child that is not done; True if at least one was cancelled."""
        if self.done():
            return False
        cancelled_any = False
        for child in self._children:
            if child.cancel(msg=msg):
                cancelled_any = True
        if cancelled_any:
            # Remembered so that the outer ends with CancelledError even if a child
            # swallowed its cancellation.
            self._cancel_requested = True
            self._requested_message = msg
        return cancelled_any


@overload
def gather(
    *aws: AwaitableLike[_T],
    loop: AbstractEventLoop | None = None,
    return_exceptions: Literal[False] = False,
) -> futures.Future[list[_T]]: ...
@overload
def gather(
    *aws: AwaitableLike[_T],
    loop: AbstractEventLoop | None = None,
    return_exceptions: bool,
) -> futures.Future[list[_T | BaseException]]: ...
def gather(
    *aws: AwaitableLike[object],
    loop: AbstractEventLoop | None = None,
    return_exceptions: bool = False,
) -> futures.Future[Any]:
    """Run the awaitables concurrently; a future of their results, in argument order.

    Coroutines (either style) are wrapped in tasks with
    :func:`~loopcore.ensure_future`. The same awaitable may be passed more than once:
    it is waited for once and its result appears at each of its positions. With no
    arguments the result is a future already done with ``[]``.

    Failures:

    * ``return_exceptions=False`` (default): the first child to raise makes the outer
      future fail with that exception; the other children keep running and are not
      cancelled. A child that is *cancelled* makes the outer future fail with
      :class:`~loopcore.CancelledError`, as its exception: the outer future itself
      is not marked cancelled (``cancelled()`` is False), as in CPython.
    * ``return_exceptions=True``: exceptions (and a :class:`CancelledError` for each
      cancelled child) are placed in the result list like results.

    Cancelling the outer future cancels every child that is not done yet
    (``cancel()`` returns False if none could be). The outer future is not
    cancelled at once: it fails with :class:`CancelledError` when the children
    react, as soon as the first one ends cancelled (``return_exceptions=False``) or
    once all are done (``return_exceptions=True``; then even if a child swallowed
    its cancellation).

    *loop* is the 3.4 keyword: the loop to wrap coroutines on (default: the running
    loop, else the event loop of this thread).

    :raises ValueError: if *loop* is not the running loop, or a future passed
        belongs to another loop than *loop*.
    """
    if loop is not None:
        _loop_for(loop)  # a loop other than the running one is refused
    if not aws:
        the_loop = _loop_or_default(loop)
        empty: futures.Future[list[object]] = the_loop.create_future()  # type: ignore[assignment]
        empty.set_result([])
        return empty

    # Any: a child may be any Future-compatible object (an asyncio.Future passed
    # in), which mypyc would refuse where the type says loopcore's Future.
    children: list[Any] = []
    seen: dict[object, Any] = {}
    for aw in aws:
        try:
            child = seen.get(aw)
            hashable = True
        except TypeError:  # unhashable: cannot be recognised when passed again
            child = None
            hashable = False
        if child is None:
            if loop is not None and type(aw) is _CoroutineType:
                # What ensure_future() does with a coroutine, without its checks.
                child = loop.create_task(aw)
            else:
                # tasks._ensure_future, not the overload of ensure_future that
                # promises a Task for any awaitable: compiled, mypyc checks that
                # promise and refused a Future passed in.
                child = tasks._ensure_future(aw, loop)
                if loop is None:
                    loop = _loop_of(child)
            if hashable:
                seen[aw] = child
        children.append(child)
    assert loop is not None

    outer = _GatheringFuture(children, loop=loop)
    unique = list(dict.fromkeys(children))
    n_unique = len(unique)
    n_finished = 0
    # How many children are loopcore futures that ended with a result (the common
    # case): when all of them did, the results are collected without any checks.
    n_results = 0

    def _child_done(child: futures.Future[object]) -> None:
        nonlocal n_finished, n_results
        n_finished += 1
        if outer._state is not _PENDING:  # outer.done(), read directly
            # Already failed (or the outer was resolved some other way): still mark
            # this child's exception as retrieved, so it is not reported as lost.
            if not child.cancelled():
                child.exception()
            return
        # A loopcore child with a result, the common case, is read directly (a gather
        # of many tasks would otherwise spend several method calls on each).
        if (
            isinstance(child, futures.Future)
            and child._state is _FINISHED
            and child._exception is None
        ):
            n_results += 1
        elif not return_exceptions:
            if child.cancelled():
                outer.set_exception(_cancelled_error_of(child))
                return
            exc = child.exception()
            if exc is not None:
                outer.set_exception(exc)
                return
        if n_finished < n_unique:
            return
        if n_results == n_unique and not outer._cancel_requested:
            outer.set_result([fut._result for fut in children])
            return
        results: list[object] = []
        for fut in children:
            if isinstance(fut, futures.Future) and fut._state is _FINISHED:
                results.append(fut._result if fut._exception is None else fut.exception())
            elif fut.cancelled():
                # The child's own CancelledError, so its message is kept (CPython
                # makes a new one with an empty message when a task was cancelled
                # through the future it awaited).
                results.append(_cancelled_error_of(fut))
            else:
                exc = fut.exception()
                results.append(fut.result() if exc is None else exc)
        if outer._cancel_requested:
            # With the message the outer future was cancelled with (CPython takes
            # the last child's error, a bare one when that child had finished).
            msg = outer._requested_message
            outer.set_exception(
                exceptions.new_cancelled_error()
                if msg is None
                else exceptions.new_cancelled_error(msg)
            )
        else:
            outer.set_result(results)

    # As CPython (3.12+): the children already done are counted at once, so a
    # gather of finished futures is itself finished when returned (awaiting it does
    # not suspend); the others report through their done callbacks.
    already_done: list[futures.Future[object]] = []
    for child in unique:
        # done(), read directly on loopcore's own tasks (the usual children).
        if (child._state is not _PENDING) if type(child) is _Task else child.done():
            already_done.append(child)
        else:
            child.add_done_callback(_child_done)
    for child in already_done:
        _child_done(child)
    return outer


# -- shield -----------------------------------------------------------------------------


def shield(arg: AwaitableLike[_T], *, loop: AbstractEventLoop | None = None) -> futures.Future[_T]:
    """Protect *arg* from cancellation by the caller.

    Returns a future that follows *arg* (wrapped in a task if it is a coroutine).
    Cancelling that outer future, e.g. because the task awaiting it is cancelled,
    does not cancel *arg*: it goes on running. Nobody waits for it through the
    outer future any more, so an exception it ends with is reported to the loop's
    exception handler like any exception never retrieved (keep a reference and
    await it to handle it). If *arg* itself is cancelled, the outer future is
    cancelled too. If *arg* is already done it is returned as it is.

    *loop* is the 3.4 keyword: the loop to wrap a coroutine on.

    :raises ValueError: if *loop* is not the running loop.
    """
    if loop is not None:
        _loop_for(loop)  # a loop other than the running one is refused
    inner = _ensure_future(arg, loop)
    if inner.done():
        return inner
    the_loop = _loop_of(inner)
    outer: futures.Future[_T] = the_loop.create_future()  # type: ignore[assignment]

    def _inner_done(inner: futures.Future[_T]) -> None:
        if outer.cancelled():
            if not inner.cancelled():
                # Both ended in the same iteration: the outer cancellation was
                # delivered first, so this outcome has no taker; not an error.
                inner.exception()
            return
        if inner.cancelled():
            outer.cancel()
            return
        exc = inner.exception()
        if exc is not None:
            outer.set_exception(exc)
        else:
            outer.set_result(inner.result())

    def _outer_done(outer: futures.Future[_T]) -> None:
        if not inner.done():
            inner.remove_done_callback(_inner_done)

    inner.add_done_callback(_inner_done)
    outer.add_done_callback(_outer_done)
    return outer


# -- wait -------------------------------------------------------------------------------


async def wait(
    fs: Iterable[AwaitableLike[_T]],
    *,
    loop: AbstractEventLoop | None = None,
    timeout: float | None = None,
    return_when: str = ALL_COMPLETED,
) -> tuple[set[futures.Future[_T]], set[futures.Future[_T]]]:
    """Wait for the futures in *fs*; return ``(done, pending)``, two sets of futures.

    *return_when* says when to return: :data:`FIRST_COMPLETED` (any future done),
    :data:`FIRST_EXCEPTION` (any future raised, or all done) or
    :data:`ALL_COMPLETED` (default). *timeout* (seconds, ``None`` for no limit)
    returns earlier; nothing is cancelled and no :class:`TimeoutError` is raised:
    the futures not done are in *pending*.

    As the 3.4 docs allowed, *fs* may hold coroutines (either style): each is
    wrapped in a task, and that task (not the coroutine) is what appears in the
    returned sets. CPython 3.11+ refuses coroutines here; pass tasks to be portable.
    Duplicates in *fs* count once.

    If the calling task is cancelled, :class:`CancelledError` propagates and the
    futures are left as they are.

    :raises TypeError: if *fs* is a single future or coroutine instead of an iterable.
    :raises ValueError: if *fs* is empty, *return_when* is not one of the constants,
        or *loop* is not the running loop.
    """
    if futures.isfuture(fs) or coroutines.iscoroutine(fs):
        raise TypeError(f"wait() expects an iterable of futures, not {type(fs).__name__}: {fs!r}")
    if return_when not in _RETURN_WHEN:
        raise ValueError(
            f"Invalid return_when value: {return_when}; use FIRST_COMPLETED, "
            f"FIRST_EXCEPTION or ALL_COMPLETED, not {return_when!r}"
        )
    items = set(fs)
    if not items:
        raise ValueError(
            "Set of Tasks/Futures is empty: wait() needs at least one future; the "
            "iterable given was empty"
        )
    the_loop = _loop_for(loop)
    todo = {_ensure_future(item, the_loop) for item in items}
    return await _wait(todo, timeout, return_when, the_loop)


async def _wait(
    fs: set[futures.Future[_T]],
    timeout: float | None,
    return_when: str,
    loop: AbstractEventLoop,
) -> tuple[set[futures.Future[_T]], set[futures.Future[_T]]]:
    # No shortcut when the condition already holds: as in CPython, wait() always
    # suspends (the done futures' callbacks come through the ready queue), so the
    # order in which tasks run does not depend on what was finished beforehand.
    waiter = loop.create_future()
    remaining = len(fs)

    def _on_completion(f: futures.Future[_T]) -> None:
        nonlocal remaining
        remaining -= 1
        if (
            remaining <= 0
            or return_when == FIRST_COMPLETED
            or (return_when == FIRST_EXCEPTION and not f.cancelled() and f.exception() is not None)
        ) and not waiter.done():
            waiter.set_result(None)

    handle = None if timeout is None else loop.call_later(timeout, _release_waiter, waiter)
    for f in fs:
        f.add_done_callback(_on_completion)
    try:
        await waiter
    finally:
        if handle is not None:
            handle.cancel()
        for f in fs:
            f.remove_done_callback(_on_completion)
    done = {f for f in fs if f.done()}
    return done, fs - done


# -- wait_for ---------------------------------------------------------------------------


async def _cancel_and_wait(fut: futures.Future[_T]) -> None:
    """Cancel *fut* and wait until it is done (it may refuse and finish otherwise)."""
    waiter = _loop_of(fut).create_future()
    release = functools.partial(_release_waiter, waiter)
    fut.add_done_callback(release)
    try:
        fut.cancel()
        await waiter
    finally:
        fut.remove_done_callback(release)


async def wait_for(
    fut: AwaitableLike[_T], timeout: float | None, *, loop: AbstractEventLoop | None = None
) -> _T:
    """Wait for *fut* to finish, at most *timeout* seconds; return its result.

    * ``timeout=None``: a plain ``await fut``.
    * ``timeout <= 0``: *fut* gets no time: if it is already done its result is
      returned, otherwise it is cancelled (and waited for) and :class:`TimeoutError`
      is raised.
    * On timeout *fut* (wrapped in a task if it is a coroutine) is cancelled and
      waited for, then :class:`TimeoutError` (the builtin) is raised, chained to the
      inner :class:`CancelledError`.

    Two guarantees:

    * **No lost result.** If *fut* finished (with a result or an exception) while the
      timeout fired, or it swallowed the cancellation and returned, that outcome is
      returned or raised instead of :class:`TimeoutError`.
    * **No swallowed cancellation.** If the calling task is cancelled while waiting,
      *fut* is cancelled and waited for, and :class:`CancelledError` is re-raised,
      even if *fut* finished in the meantime (an exception it ended with is then
      reported to the loop's exception handler as never retrieved, not dropped).

    Unlike CPython 3.12+, which runs a coroutine inside the calling task, a
    coroutine is run in its own task (as in 3.4 to 3.11).

    *loop* is the 3.4 keyword; when given it must be the running loop.
    """
    if timeout is None:
        if loop is not None:
            _loop_for(loop)
        return await cast(Awaitable[_T], fut)
    the_loop = _loop_for(loop)
    inner = _ensure_future(fut, the_loop)

    if timeout <= 0:
        if inner.done():
            return inner.result()
        await _cancel_and_wait(inner)
        return _result_or_timeout(inner)

    waiter = the_loop.create_future()
    handle = the_loop.call_later(timeout, _release_waiter, waiter)
    release = functools.partial(_release_waiter, waiter)
    inner.add_done_callback(release)
    try:
        # No await inside the except block: compiled with mypyc 2.4.1, an await
        # there and a bare raise after it crash the interpreter (the exception in
        # flight is lost); the cancellation is kept and raised after the await.
        cancelled: BaseException | None = None
        try:
            await waiter
        except exceptions.cancelled_error_types() as exc:
            cancelled = exc
        if cancelled is not None:
            # The caller is being cancelled. Whatever *fut* did, the cancellation
            # wins: stop the inner work, wait until it is stopped, re-raise.
            inner.remove_done_callback(release)
            if not inner.done():
                await _cancel_and_wait(inner)
            raise cancelled
        if inner.done():
            return inner.result()
        inner.remove_done_callback(release)
        # The timeout fired. Cancel the inner work and wait for it: it may still
        # finish with a result (or an error) that must not be lost.
        await _cancel_and_wait(inner)
        return _result_or_timeout(inner)
    finally:
        handle.cancel()


def _result_or_timeout(fut: futures.Future[_T]) -> _T:
    if fut.cancelled():
        error = TimeoutError(f"timed out waiting for {fut!r}")
        # `raise error from ...`, spelled out: compiled with mypyc 2.4.1, the cause
        # set by `raise ... from` was lost on the way out of wait_for.
        error.__cause__ = _cancelled_error_of(cast("futures.Future[object]", fut))
        error.__suppress_context__ = True
        raise error
    return fut.result()


# -- as_completed -----------------------------------------------------------------------


class _AsCompleted(Iterator[Coroutine[object, object, _T]], AsyncIterator[futures.Future[_T]]):
    """What :func:`as_completed` returns: iterable in both ways.

    As a plain iterator it yields one coroutine per future; awaiting the *n*-th one
    gives the result of the *n*-th future to finish. As an async iterator it yields
    the futures themselves, in the order they finish.
    """

    def __init__(
        self,
        fs: Iterable[AwaitableLike[_T]],
        timeout: float | None,
        loop: AbstractEventLoop | None,
    ) -> None:
        if futures.isfuture(fs) or coroutines.iscoroutine(fs):
            raise TypeError(
                f"as_completed() expects an iterable of futures, not {type(fs).__name__}: {fs!r}"
            )
        items = set(fs)
        if loop is not None:
            _loop_for(loop)  # a loop other than the running one is refused
        self._loop = _loop_or_default(loop)
        self._todo = {_ensure_future(item, self._loop) for item in items}
        # Finished futures in finishing order; None stands for "timed out".
        self._done: collections.deque[futures.Future[_T] | None] = collections.deque()
        self._waiters: list[futures.Future[object]] = []
        self._left = len(self._todo)
        self._timeout_handle = None
        for f in self._todo:
            f.add_done_callback(self._on_done)
        if self._todo and timeout is not None:
            self._timeout_handle = self._loop.call_later(timeout, self._on_timeout)

    def __repr__(self) -> str:
        return f"<as_completed pending={len(self._todo)} finished={len(self._done)}>"

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _on_done(self, f: futures.Future[_T]) -> None:
        if f not in self._todo:
            return  # timed out already
        self._todo.remove(f)
        self._done.append(f)
        if not self._todo and self._timeout_handle is not None:
            self._timeout_handle.cancel()
        self._wake()

    def _on_timeout(self) -> None:
        for f in self._todo:
            f.remove_done_callback(self._on_done)
            self._done.append(None)
        self._todo.clear()
        self._wake()

    async def _wait_for_one(self, resolve: bool) -> futures.Future[_T] | _T:
        try:
            while not self._done:
                waiter = self._loop.create_future()
                self._waiters.append(waiter)
                await waiter
        except exceptions.cancelled_error_types():
            # This await took nothing: give its turn back, so that the next
            # finished future can still be had from the iterator.
            self._left += 1
            raise
        f = self._done.popleft()
        if f is None:
            raise TimeoutError("as_completed() timed out before every future finished")
        return f if resolve else f.result()

    async def _next_result(self) -> _T:
        return await self._wait_for_one(False)  # type: ignore[return-value]

    def __iter__(self) -> _AsCompleted[_T]:
        return self

    def __next__(self) -> Coroutine[object, object, _T]:
        if not self._left:
            raise StopIteration
        self._left -= 1
        return self._next_result()

    def __aiter__(self) -> _AsCompleted[_T]:
        return self

    async def __anext__(self) -> futures.Future[_T]:
        if not self._left:
            raise StopAsyncIteration
        self._left -= 1
        return await self._wait_for_one(True)  # type: ignore[return-value]


def as_completed(
    fs: Iterable[AwaitableLike[_T]],
    *,
    loop: AbstractEventLoop | None = None,
    timeout: float | None = None,
) -> _AsCompleted[_T]:
    """Iterate over the awaitables in *fs* in the order they finish.

    Coroutines (either style) are wrapped in tasks; duplicates count once.

    * ``for aw in as_completed(fs): result = await aw`` (the 3.4 form): each item is
      a coroutine whose await returns the result (or raises the exception) of the
      next future to finish.
    * ``async for fut in as_completed(fs):`` (CPython 3.13): each item is the
      finished future (a task for a coroutine given) itself.

    If *timeout* seconds pass before all are done, the next await raises
    :class:`TimeoutError` (the builtin), once per future not finished; those
    futures are not cancelled.

    An await that is cancelled before it got a future takes nothing: the iterator
    then yields one more item, so no finished future becomes unreachable (CPython
    counts the cancelled await as a turn).

    *loop* is the 3.4 keyword: the loop to wrap coroutines on.

    :raises TypeError: if *fs* is a single future or coroutine instead of an iterable.
    :raises ValueError: if *loop* is not the running loop.
    """
    return _AsCompleted(fs, timeout, loop)


# -- Threads ----------------------------------------------------------------------------


def run_coroutine_threadsafe(
    coro: Coroutine[object, object, _T] | Generator[object, None, _T],
    loop: AbstractEventLoop,
) -> concurrent.futures.Future[_T]:
    """Submit *coro* to *loop* from another thread; return a concurrent future.

    The coroutine is wrapped in a task on *loop* (scheduled with
    ``loop.call_soon_threadsafe``). The returned :class:`concurrent.futures.Future`
    takes the task's outcome; cancelling it cancels the task. Call this from a
    thread other than the loop's (blocking on the result inside the loop thread
    would deadlock).

    :raises TypeError: if *coro* is not a coroutine object (either style).
    """
    if not coroutines.iscoroutine(coro):
        raise TypeError(f"a coroutine object is required, got {coro!r}")
    result: concurrent.futures.Future[_T] = concurrent.futures.Future()

    def _start() -> None:
        try:
            futures.chain_future(_ensure_future(coro, loop), result)
        except BaseException as exc:
            if result.set_running_or_notify_cancel():
                result.set_exception(exc)
            raise

    loop.call_soon_threadsafe(_start)
    return result


async def to_thread(func: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run ``func(*args, **kwargs)`` in the running loop's default executor.

    The call runs in a copy of the caller's :mod:`contextvars` context, so context
    variables set by the caller are visible in the thread (changes made there do not
    come back). Returns what *func* returns, or raises what it raises. Cancelling the
    awaiting task stops waiting but cannot interrupt the thread.
    """
    loop = events.get_running_loop()
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, func, *args, **kwargs)
    return await loop.run_in_executor(None, call)


# -- Eager tasks ------------------------------------------------------------------------


def create_eager_task_factory(
    custom_task_constructor: Callable[..., tasks.Task[object]],
) -> Callable[..., tasks.Task[object]]:
    """A task factory (for ``loop.set_task_factory``) that starts tasks eagerly.

    *custom_task_constructor* is called as ``custom_task_constructor(coro,
    loop=loop, eager_start=True, name=..., context=...)``; it must accept those
    keywords, as :class:`~loopcore.Task` does.

    An eager task runs its coroutine synchronously, inside ``create_task``, up to
    its first suspension. If the coroutine finishes without suspending, the task is
    returned already done and is never scheduled. Eager start needs a running loop;
    on a loop that is not running, tasks are scheduled as usual.
    """

    def factory(
        loop: AbstractEventLoop,
        coro: Coroutine[object, object, object] | Generator[object, None, object],
        *,
        eager_start: bool = True,
        **kwargs: object,
    ) -> tasks.Task[object]:
        """Create a task for *coro* on *loop* that runs eagerly to its first suspension
        (see :func:`create_eager_task_factory`); *kwargs* are ``name``/``context``."""
        return custom_task_constructor(coro, loop=loop, eager_start=eager_start, **kwargs)

    return factory


#: The task factory that starts every task eagerly with :class:`~loopcore.Task`:
#: ``loop.set_task_factory(loopcore.eager_task_factory)``.
eager_task_factory = create_eager_task_factory(tasks.Task)
