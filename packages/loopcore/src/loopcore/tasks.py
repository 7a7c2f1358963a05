"""Task: a coroutine scheduled on a loop, itself a :class:`Future`.

A task advances its coroutine one step at a time (``_step``): each step sends a value
or throws an exception into the coroutine and looks at what it yields. A future
(``await fut`` / ``yield from fut``) suspends the task until the future is done; a
bare ``yield`` (how ``sleep(0)`` is written) reschedules it at once; anything else is
a programming error thrown back into the coroutine.

Unlike asyncio, which keeps only weak references to tasks, the loop's registry here
holds a strong reference to every pending task until it is done: a fire-and-forget
task can never be garbage-collected half-way.
"""

from __future__ import annotations

import contextvars
import inspect
import itertools
import linecache
import reprlib
import sys
import traceback
import types
import weakref
from collections.abc import Awaitable, Coroutine, Generator
from typing import TYPE_CHECKING, Any, Final, TextIO, TypeVar, cast, overload

from . import coroutines, events, exceptions, futures
from ._build import is_compiled, mypyc_attr
from .handles import Handle

if TYPE_CHECKING:
    from .events import AbstractEventLoop, CoroutineLike, LoopLike

__all__ = [
    "Task",
    "TaskSource",
    "all_tasks",
    "create_task",
    "current_task",
    "ensure_future",
    "register_task_source",
]

_T = TypeVar("_T")

_PENDING: Final = futures.State.PENDING
_FINISHED: Final = futures.State.FINISHED

# Strong references to every pending task, per loop, keyed by id(loop): every task
# creation and completion looks its loop up here, and a plain dict does that in C
# (a WeakKeyDictionary costs a Python call and a weak reference each time). The loop
# itself is only weakly referenced (_loop_refs): when it is collected, its entry goes,
# with its (already reported) tasks, before its id can be reused.
_pending_tasks: Final[dict[int, set[Task[object]]]] = {}
_loop_refs: Final[dict[int, weakref.ref[LoopLike]]] = {}
# The task whose step is running, per loop.
_current_tasks: Final[dict[LoopLike, Task[object]]] = {}

_task_name_counter: Final = itertools.count(1)
# Bound once: compiled, a Final module global is a C static, where
# `contextvars.copy_context` would be an attribute lookup on the module per task.
_copy_context: Final = contextvars.copy_context


# How a step learns that the coroutine returned. `coro.send()` says so by raising
# StopIteration, and the compiled build pays dearly for catching it: mypyc records a
# traceback entry (a code object and a frame, about 5,000 instructions) at the call
# that raised before the handler runs. Its own `yield from`, though, gets a returned
# value from PyIter_Send without an exception. So, compiled, a task steps its
# coroutine through a compiled generator, _drive(), whose `yield from` passes every
# yield through and, when the coroutine returns, yields a _Returned carrying the
# value instead of finishing. Interpreted, catching StopIteration is cheap and the
# extra generator would cost every step, so the pure build steps the coroutine
# directly (Task._driver stays None).
_DRIVE: Final = is_compiled(__file__)
# (Final: compiled, C statics, where `types.CoroutineType` is a module lookup.)
_CoroutineType: Final = types.CoroutineType
_GeneratorType: Final = types.GeneratorType


class _Returned:
    """What _drive() yields when the coroutine returned: its return value."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


def _drive(coro: Generator[object, None, object]) -> Generator[object, None, None]:
    """Step *coro* (a generator, or a coroutine's ``__await__()``) through ``next()``:
    yield what it yields, then a :class:`_Returned` with its return value; never
    finishes. Exceptions of the coroutine propagate. Only ``send(None)`` steps come
    through here: ``Task._step`` throws into the coroutine itself (the generator
    stays suspended in its `yield from`, which then simply resumes the coroutine)."""
    value = yield from coro
    yield _Returned(value)


def _forget_loop(key: int) -> None:
    _pending_tasks.pop(key, None)
    _loop_refs.pop(key, None)


def _tasks_of(loop: LoopLike) -> set[Task[object]]:
    key = id(loop)
    tasks = _pending_tasks.get(key)
    if tasks is None:
        tasks = _pending_tasks[key] = set()
        _loop_refs[key] = weakref.ref(loop, lambda _ref: _forget_loop(key))
    return tasks


def _register_task(task: Task[object]) -> None:
    """Hold a strong reference to *task* until it is done."""
    _tasks_of(task._loop).add(task)


def _unregister_task(task: Task[object]) -> None:
    tasks = _pending_tasks.get(id(task._loop))
    if tasks is not None:
        tasks.discard(task)


def _enter_task(loop: LoopLike, task: Task[object]) -> None:
    """Record *task* as the one running on *loop* (for loops that drive tasks)."""
    current = _current_tasks.get(loop)
    if current is not None:
        raise RuntimeError(
            f"cannot enter into task {task!r} while another task {current!r} is being executed"
        )
    _current_tasks[loop] = task


def _leave_task(loop: LoopLike, task: Task[object]) -> None:
    """Undo :func:`_enter_task`."""
    current = _current_tasks.get(loop)
    if current is not task:
        raise RuntimeError(f"leaving task {task!r} does not match the current task {current!r}")
    del _current_tasks[loop]


@mypyc_attr(allow_interpreted_subclasses=True)
class Task(futures.Future[_T]):
    """A coroutine wrapped in a future and driven by the loop.

    Create tasks with ``loop.create_task(coro)`` or :func:`ensure_future`, not by
    calling the class (a loop may supply its own task class). The coroutine's first
    step runs on a later loop iteration, in *context* (a copy of the current context
    by default). ``cancel()`` throws :class:`CancelledError` into the coroutine at its
    next suspension point; the coroutine may catch it, but then it should call
    :meth:`uncancel` (as ``TaskGroup`` and ``timeout()`` do) or re-raise.
    """

    __slots__ = (
        "_context",
        "_coro",
        "_driver",
        "_fut_waiter",
        "_log_destroy_pending",
        "_must_cancel",
        "_name",
        "_num_cancels_requested",
        "_step_handle",
    )

    def __init__(
        self,
        coro: Coroutine[object, object, _T] | Generator[object, None, _T],
        *,
        loop: LoopLike | None = None,
        name: object = None,
        context: contextvars.Context | None = None,
        eager_start: bool = False,
    ) -> None:
        futures.Future.__init__(self, loop=loop)
        # This __init__'s own frame (none when compiled).
        if self._source_traceback and _is_own_file(self._source_traceback[-1].filename):
            del self._source_traceback[-1]
        if not coroutines.iscoroutine(coro):
            self._log_destroy_pending = False
            raise TypeError(f"a coroutine was expected, got {coro!r}")
        self._coro = coro
        # Compiled: the generator that steps the coroutine (see _drive), for the two
        # types whose next() is the same as send(None). Anything else (another
        # library's coroutine type) is stepped directly.
        self._driver: Generator[object, None, None] | None = None
        if _DRIVE:
            tp = type(coro)
            if tp is _CoroutineType:
                self._driver = _drive(
                    cast("types.CoroutineType[object, None, object]", coro).__await__()
                )
            elif tp is _GeneratorType:
                self._driver = _drive(cast("Generator[object, None, object]", coro))
        # An unnamed task keeps only its number; get_name() makes "Task-<n>" when
        # asked (most tasks are never asked, and a string costs twice an int).
        self._name: str | int = next(_task_name_counter) if name is None else str(name)
        self._context = _copy_context() if context is None else context
        self._fut_waiter: futures.FutureLike | None = None
        self._must_cancel = False
        self._num_cancels_requested = 0
        self._log_destroy_pending = True
        # The Handle of `_step` that the loop queues whenever the next step is due
        # (BaseEventLoop._call_soon_task makes it on first use and queues it again on
        # every later step: a task switch allocates nothing). It refers to the task
        # through its bound method; the task lets go of it when it is done.
        self._step_handle: Handle | None = None
        if eager_start and self._loop.is_running():
            self._eager_start()
        else:
            loop = self._loop
            futures._queue_step(self, loop)
            pending = _pending_tasks.get(id(loop))
            if pending is None:
                pending = _tasks_of(loop)
            pending.add(self)  # type: ignore[arg-type]

    # -- Introspection -----------------------------------------------------------------
    def __repr__(self) -> str:
        info = self._repr_info()
        info.insert(1, f"name={self.get_name()!r}")
        info.insert(2, f"coro=<{_format_coroutine(self._coro)}>")
        if self._fut_waiter is not None:
            info.append(f"wait_for={self._fut_waiter!r}")
        return f"<{type(self).__name__} {' '.join(info)}>"

    def __del__(self) -> None:
        if self._state is _PENDING and getattr(self, "_log_destroy_pending", False):
            context: dict[str, object] = {
                "task": self,
                "message": "Task was destroyed but it is pending!",
            }
            if self._source_traceback:
                context["source_traceback"] = self._source_traceback
            self._loop.call_exception_handler(context)
        if self._log_traceback:
            # Only then has Future.__del__ something to say: every task pays for this
            # finalizer, so the common case costs no second call.
            super().__del__()

    def get_coro(self) -> Coroutine[object, object, _T] | Generator[object, None, _T]:
        """The coroutine the task drives."""
        return self._coro

    def get_context(self) -> contextvars.Context:
        """The context every step of the task runs in."""
        return self._context

    def get_name(self) -> str:
        """The task's name (``Task-<n>`` unless one was given)."""
        name = self._name
        if type(name) is int:
            name = self._name = f"Task-{name}"
        return name  # type: ignore[return-value]

    def set_name(self, value: object) -> None:
        """Rename the task (the value is converted with ``str``)."""
        self._name = str(value)

    def set_result(self, result: _T) -> None:
        raise RuntimeError("Task does not support set_result(): its coroutine sets the result")

    def set_exception(self, exception: BaseException | type[BaseException]) -> None:
        raise RuntimeError("Task does not support set_exception(): its coroutine sets the outcome")

    # 3.4 classmethods, beside the module functions.
    @classmethod
    def current_task(cls, loop: AbstractEventLoop | None = None) -> Task[object] | None:
        """The task running on *loop* (default: the event loop of this thread), or None."""
        if loop is None:
            from .policies import get_event_loop

            loop = get_event_loop()
        return current_task(loop)

    @classmethod
    def all_tasks(cls, loop: AbstractEventLoop | None = None) -> set[Task[object]]:
        """The pending tasks of *loop* (default: the event loop of this thread)."""
        if loop is None:
            from .policies import get_event_loop

            loop = get_event_loop()
        return all_tasks(loop)

    def get_stack(self, *, limit: int | None = None) -> list[types.FrameType]:
        """The frames of the task's coroutine, outermost first.

        For a suspended task this walks the chain of awaited coroutines down to the
        innermost one; for a task that failed, the frames of its traceback. *limit*
        keeps the newest frames of a stack and the oldest of a traceback.
        """
        frames: list[types.FrameType] = []
        if self.done() and not self.cancelled():
            tb = self._exception.__traceback__ if self._exception is not None else None
            # The traceback starts in the step that caught the error (this module):
            # that frame is the task's machinery, not the coroutine's. Compiled, the
            # frame mypyc adds to tracebacks names the source path it was built from.
            while tb is not None and _is_own_file(tb.tb_frame.f_code.co_filename):
                tb = tb.tb_next
            while tb is not None and (limit is None or len(frames) < limit):
                frames.append(tb.tb_frame)
                tb = tb.tb_next
            return frames
        obj: object = self._coro
        while obj is not None:
            frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None)
            # Down to the coroutine that awaits a future, not into the future's own
            # __await__ (a Future compiled by mypyc has no frame there): the same
            # stack in both builds, as asyncio's C future shows.
            if frame is None or frame.f_code.co_filename == futures.__file__:
                break
            frames.append(frame)
            obj = getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None)
        if limit is not None and len(frames) > limit:
            frames = frames[-limit:]
        return frames

    def print_stack(self, *, limit: int | None = None, file: TextIO | None = None) -> None:
        """Print :meth:`get_stack` (or the traceback of a failed task) to *file*."""
        out = sys.stderr if file is None else file
        extracted = []
        for frame in self.get_stack(limit=limit):
            code = frame.f_code
            linecache.checkcache(code.co_filename)
            extracted.append((code.co_filename, frame.f_lineno, code.co_name))
        exc = self._exception if self.done() and not self.cancelled() else None
        if not extracted:
            print(f"No stack for {self!r}", file=out)
        elif exc is not None:
            print(f"Traceback for {self!r} (most recent call last):", file=out)
        else:
            print(f"Stack for {self!r} (most recent call last):", file=out)
        for filename, lineno, name in extracted:
            print(f'  File "{filename}", line {lineno}, in {name}', file=out)
            line = linecache.getline(filename, lineno).strip()
            if line:
                print(f"    {line}", file=out)
        if exc is not None:
            for line in traceback.format_exception_only(type(exc), exc):
                print(line, file=out, end="")

    # -- Cancellation ------------------------------------------------------------------
    def cancel(self, msg: object = None) -> bool:
        """Ask the task to cancel itself: :class:`CancelledError` (carrying *msg*) is
        thrown into the coroutine at its next suspension point.

        :returns: False if the task is already done, else True. Each call counts
            towards :meth:`cancelling`.
        """
        self._log_traceback = False
        if self._state is not _PENDING:
            return False
        self._num_cancels_requested += 1
        waiter = self._fut_waiter
        if waiter is not None and waiter.cancel(msg=msg):
            # The waiter's done callback steps the task with the CancelledError.
            return True
        self._must_cancel = True
        self._cancel_message = msg
        return True

    def cancelling(self) -> int:
        """How many cancellation requests are pending (``cancel()`` minus ``uncancel()``)."""
        return self._num_cancels_requested

    def uncancel(self) -> int:
        """Withdraw one cancellation request; return how many remain.

        When none remain, a cancellation not yet delivered is dropped too.
        """
        if self._num_cancels_requested > 0:
            self._num_cancels_requested -= 1
            if self._num_cancels_requested == 0:
                self._must_cancel = False
        return self._num_cancels_requested

    # -- Driving the coroutine ---------------------------------------------------------
    def _eager_start(self) -> None:
        """Run the first step now, inside the creating task's step (eager tasks)."""
        loop = self._loop
        prev = _current_tasks.get(loop)
        try:
            # In the task's own context, like every later step (call_soon(context=)).
            self._context.run(self._step, None)
        finally:
            # _step() made this task the current one and then cleared it: give the
            # creating task its place back.
            if prev is not None:
                _current_tasks[loop] = prev
        if self._state is _PENDING:
            _tasks_of(loop).add(self)  # type: ignore[arg-type]
        else:
            # Done without suspending: nothing needs to be scheduled or held.
            self._coro = None  # type: ignore[assignment]

    def _step(self, exc: BaseException | None = None) -> None:
        """Advance the coroutine by one step: send None, or throw *exc*, into it.

        The hot path of every task switch, so the two common outcomes (a bare
        ``yield``, and a pending future of this loop awaited) are handled inline;
        every other yield goes to :meth:`_handle_yield`.
        """
        loop = self._loop
        _current_tasks[loop] = self  # type: ignore[assignment]
        try:
            if self._state is not _PENDING:
                raise exceptions.InvalidStateError(f"_step(): already done: {self!r}, {exc!r}")
            if self._must_cancel:
                if not isinstance(exc, exceptions.cancelled_error_types()):
                    exc = self._make_cancelled_error()
                self._must_cancel = False
            self._fut_waiter = None
            try:
                if exc is not None:
                    result = self._coro.throw(exc)
                else:
                    driver = self._driver
                    if driver is None:
                        result = self._coro.send(None)
                    else:
                        # next(driver), without the call of the builtin: compiled, a
                        # for loop calls the generator's tp_iternext directly. The
                        # driver never finishes, so the loop always binds `result`.
                        for result in driver:  # noqa: B007 (bound for after the loop)
                            break
            except StopIteration as stop:
                # (Inline, not _returned(): the pure build comes here for every task.)
                if self._must_cancel:
                    # cancel() came while the last step ran: the task ends cancelled.
                    self._must_cancel = False
                    futures.Future.cancel(self, msg=self._cancel_message)
                else:
                    futures.Future.set_result(self, stop.value)
            except exceptions.cancelled_error_types() as cancelled:
                # Another library's cancellation (registered with loopcore.exceptions.
                # register_foreign_cancelled_error) ends the task cancelled too; the task
                # raises loopcore's class, with the original as its context.
                if not isinstance(cancelled, exceptions.CancelledError):
                    ours = exceptions.new_cancelled_error(*cancelled.args)
                    ours.__context__ = cancelled
                    cancelled = ours
                self._cancelled_exc = cancelled
                futures.Future.cancel(self)
            except (KeyboardInterrupt, SystemExit) as fatal:
                self._step_handle = None
                futures.Future.set_exception(self, fatal)
                _unregister_task(self)  # type: ignore[arg-type]
                raise
            except BaseException as error:
                futures.Future.set_exception(self, error)
            else:
                if result is None:
                    # A bare `yield` (sleep(0)): give the other callbacks a turn.
                    futures._queue_step(self, loop)
                    return
                if (
                    isinstance(result, futures.Future)
                    and result._asyncio_future_blocking
                    and result._loop is loop
                    and result is not self
                ):
                    # `await future` on a pending future of this loop.
                    result._asyncio_future_blocking = False
                    if result._callbacks:
                        result._add_entry(self)
                    else:
                        result._callbacks = self  # the usual sole entry (Future._add_entry)
                    self._fut_waiter = result
                    if self._must_cancel and result.cancel(msg=self._cancel_message):
                        self._must_cancel = False
                    return
                if type(result) is not _Returned:
                    self._handle_yield(result)
                    return
                # Compiled: the coroutine returned (see _drive).
                self._returned(result.value)
            # The coroutine finished: the registry lets go of the task, and the task
            # of its step handle and driver (which refer to the task and its
            # coroutine: no cycle is left behind).
            self._step_handle = None
            self._driver = None
            pending = _pending_tasks.get(id(loop))
            if pending is not None:
                pending.discard(self)
        finally:
            # Not .pop(loop, None): compiled, that is a Python method call, where
            # `in` and `del` are native dict operations.
            if loop in _current_tasks:
                del _current_tasks[loop]

    def _returned(self, value: object) -> None:
        """The coroutine returned *value* (told by _drive, compiled): the task ends
        with it as its result, or cancelled if cancel() came while the last step ran
        (as _step's `except StopIteration` does)."""
        if self._must_cancel:
            self._must_cancel = False
            futures.Future.cancel(self, msg=self._cancel_message)
        else:
            futures.Future.set_result(self, cast("_T", value))

    def _handle_yield(self, result: object) -> None:
        """Every yield that :meth:`_step` does not handle inline, i.e. anything but a
        bare ``yield`` and a pending future of this loop.

        A pending Future-like object of another class (same loop) is waited for.
        Anything else is a programming error (a future of another loop, a plain
        ``yield`` of a value, the task itself): the task is stepped again with a
        ``RuntimeError`` saying what was wrong, thrown into the coroutine."""
        blocking = getattr(result, "_asyncio_future_blocking", None)
        if blocking is not None:
            get_loop = getattr(result, "get_loop", None)
            result_loop = get_loop() if get_loop is not None else getattr(result, "_loop", None)
            if result_loop is not self._loop:
                error = RuntimeError(
                    f"Task {self!r} got Future {result!r} attached to a different loop"
                )
            elif not blocking:
                error = RuntimeError(
                    f"yield was used instead of yield from in task {self!r} with {result!r}"
                )
            elif result is self:
                error = RuntimeError(f"Task cannot await on itself: {self!r}")
            else:
                # A pending Future-like object of another class (isfuture() accepts
                # it, as asyncio does): wait for it through its public methods.
                # Any, not futures.Future: the compiled build would refuse it.
                foreign = cast("Any", result)
                foreign._asyncio_future_blocking = False
                foreign.add_done_callback(self._wakeup_foreign, context=self._context)
                self._fut_waiter = foreign
                if self._must_cancel and foreign.cancel(msg=self._cancel_message):
                    self._must_cancel = False
                return
        elif inspect.isgenerator(result):
            error = RuntimeError(
                "yield was used instead of yield from for generator "
                f"in task {self!r} with {result!r}"
            )
        else:
            error = RuntimeError(
                f"Task got bad yield: {result!r}; a task may only await futures, "
                "coroutines and other awaitables of loopcore"
            )
        self._loop.call_soon(self._step, error, context=self._context)

    def _wakeup_foreign(self, future: futures.FutureLike) -> None:
        # A Future-like object of another class: only its public methods count.
        try:
            future.result()
        except BaseException as exc:
            if not isinstance(exc, exceptions.CancelledError) and future.cancelled():
                # Its library's own CancelledError (asyncio's): thrown into the
                # coroutine as ours, with the same args, so that `except
                # CancelledError` catches it and the task ends cancelled, not failed.
                exc = exceptions.new_cancelled_error(*exc.args).with_traceback(exc.__traceback__)
            self._step(exc)
        else:
            self._step()

    def _wakeup(self, future: futures.Future[Any]) -> None:
        # The result is not passed in: the coroutine reads it from the future itself
        # (Future.__await__ returns future.result()). So a future that finished
        # without an exception needs no result() call; a failed or cancelled one
        # has its exception thrown into the coroutine at the point it awaited.
        if future._state is _FINISHED and future._exception is None:
            self._step()
            return
        try:
            future.result()
        except BaseException as exc:
            self._step(exc)
        else:
            self._step()


def _format_coroutine(coro: object) -> str:
    name = (
        getattr(coro, "__qualname__", None)
        or getattr(coro, "__name__", None)
        or type(coro).__name__
    )
    frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
    if frame is not None:
        running = getattr(coro, "cr_running", None) or getattr(coro, "gi_running", False)
        state = "running" if running else "suspended" if frame.f_lasti >= 0 else "created"
        return f"{name}() {state} at {frame.f_code.co_filename}:{frame.f_lineno}"
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    if code is not None:
        return f"{name}() done, defined at {code.co_filename}:{code.co_firstlineno}"
    return f"{name}()"


def create_task(
    coro: CoroutineLike[_T],
    *,
    name: str | None = None,
    context: contextvars.Context | None = None,
) -> Task[_T]:
    """Wrap *coro* in a task on the running loop and schedule its first step.

    ``get_running_loop().create_task(coro, name=name, context=context)``, as
    asyncio's ``create_task`` (3.7+; *context* 3.11+): *coro* is a coroutine of
    either style; *name* names the task (:meth:`Task.get_name`); the task runs in
    *context*, by default a copy of the current context. The loop's task factory,
    if one is set, makes the task (``name``/``context`` are passed to it only when
    given). Keep a reference to the task if you need its outcome.

    Call it from a coroutine or a callback running on a loop. Outside one it raises
    and closes *coro* first, so that the mistake is not followed by a second warning
    that the coroutine was never awaited.

    :raises RuntimeError: when no loop is running in this thread (the message
        starts with asyncio's "no running event loop"), or the running loop is
        closed.
    :raises TypeError: if *coro* is not a coroutine.
    """
    loop = events._get_running_loop()
    if loop is None:
        close = getattr(coro, "close", None)
        if coroutines.iscoroutine(coro) and close is not None:
            close()
        raise RuntimeError(
            f"no running event loop: loopcore.create_task({_describe(coro)}) must be called "
            "from a coroutine or callback running on a loop; start one with "
            "loopcore.run(coro), or use loop.create_task(coro) on a loop you run yourself"
        )
    if context is None:
        if name is None:
            return loop.create_task(coro)
        return loop.create_task(coro, name=name)
    return loop.create_task(coro, name=name, context=context)


def _describe(coro: object) -> str:
    """A short name of *coro* for an error message (its qualified name, else repr)."""
    qualname = getattr(coro, "__qualname__", None)
    if isinstance(qualname, str) and coroutines.iscoroutine(coro):
        return f"{qualname}()"
    return reprlib.repr(coro)


@overload
def ensure_future(
    coro_or_future: futures.Future[_T], *, loop: AbstractEventLoop | None = None
) -> futures.Future[_T]: ...
@overload
def ensure_future(
    coro_or_future: Awaitable[_T], *, loop: AbstractEventLoop | None = None
) -> Task[_T]: ...
def ensure_future(
    coro_or_future: Awaitable[_T] | Generator[object, None, _T],
    *,
    loop: AbstractEventLoop | None = None,
) -> Any:  # Any, not Future[_T]: see _ensure_future (callers see the overloads)
    """Return a future for *coro_or_future*.

    A Future-compatible object (:func:`~loopcore.isfuture`: loopcore's own, an
    :class:`asyncio.Future`, ...) is returned as it is (ValueError if *loop* is
    given and differs from its loop); a coroutine (either style) or other awaitable
    is wrapped in a task created with ``loop.create_task`` on *loop* (default: the
    running loop, else the event loop of this thread).

    :raises TypeError: for anything that is not a future, coroutine or awaitable.
    """
    return _ensure_future(coro_or_future, loop)


def _ensure_future(coro_or_future: object, loop: AbstractEventLoop | None) -> Any:
    """:func:`ensure_future` without its overloads, for loopcore's own callers.

    Typed ``Any``: compiled, mypyc checks a value against its declared class where the
    type says loopcore's Future or Task, which a Future-compatible object of another
    class (an asyncio.Future) returned as it is would fail."""
    # A coroutine is the common case (gather and wait pass each awaitable here).
    if coroutines.iscoroutine(coro_or_future):
        coro = coro_or_future
    elif futures.isfuture(coro_or_future):
        # Any Future-compatible object (an asyncio.Future bound to this loop, a
        # Mock(spec=Future)...) is returned as it is, like loopcore's own.
        if loop is not None and loop is not futures._get_loop(coro_or_future):
            raise ValueError(
                f"the future {coro_or_future!r} belongs to a different loop "
                "than the one given as loop="
            )
        return coro_or_future
    elif inspect.isawaitable(coro_or_future):
        coro = _wrap_awaitable(coro_or_future)
    else:
        raise TypeError(
            f"a Future, a coroutine or an awaitable is required, got {coro_or_future!r}"
        )
    if loop is None:
        loop = events._get_running_loop()
        if loop is None:
            from .policies import get_event_loop

            loop = get_event_loop()
    # Called through Any: the loop's create_task may make another library's task
    # (loopasyncio's makes asyncio's), which a compiled call to the declared method
    # would refuse as not loopcore's Task.
    create_task: Any = loop.create_task
    return create_task(coro)


async def _wrap_awaitable(awaitable: Awaitable[_T]) -> _T:
    return await awaitable


def _is_own_file(filename: str) -> bool:
    """True for this module's frames: its ``__file__`` when interpreted, the
    ``src/loopcore/tasks.py`` path of mypyc's traceback entries when compiled."""
    return filename == __file__ or filename.replace("\\", "/").endswith("/loopcore/tasks.py")


# The lookups that may return another library's tasks (current_task, all_tasks, the
# pending-task report at close, the task sources) live in an interpreted module: a
# compiled function declared to return loopcore's Task would refuse asyncio's tasks
# at run time. Imported last, as the registries above are handed to it.
from . import _task_sources  # noqa: E402

_task_sources._bind_registries(_pending_tasks, _current_tasks, _forget_loop)
from ._task_sources import (  # noqa: E402
    TaskSource,
    all_tasks,
    current_task,
    register_task_source,
)

_report_pending_tasks = _task_sources._report_pending_tasks
