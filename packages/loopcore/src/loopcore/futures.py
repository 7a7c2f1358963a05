"""Future: the result of an operation that has not finished yet.

States and the only moves between them (:data:`_TRANSITIONS`)::

    PENDING --set_result/set_exception--> FINISHED
    PENDING --cancel---------------------> CANCELLED

Done callbacks are never called from inside ``set_result``/``set_exception``/
``cancel``: each is scheduled with ``loop.call_soon`` in the context it was added in,
in the order they were added.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import enum
import reprlib
import traceback
import types
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeAlias, TypeVar, cast, overload

from . import events, exceptions
from ._build import mypyc_attr
from .handles import Handle, _creation_stack, format_callback

if TYPE_CHECKING:
    from .events import LoopLike
    from .tasks import Task

__all__ = ["Future", "State", "isfuture", "wrap_future"]

_T = TypeVar("_T")


class State(enum.Enum):
    """Where a :class:`Future` is in its life."""

    PENDING = "PENDING"
    CANCELLED = "CANCELLED"
    FINISHED = "FINISHED"


_PENDING: Final = State.PENDING
_CANCELLED: Final = State.CANCELLED
_FINISHED: Final = State.FINISHED

# What a future calls back when it is done, in registration order: the shapes of
# Future._callbacks, in this one place.
#
# An *entry* (_Entry) is one registration:
# * a (callback, context) pair from add_done_callback(); it runs as
#   call_soon(callback, future, context=context);
# * a Task suspended on the future (`await fut`, set by Task._step): the task
#   itself, not a bound method in a pair, so that a suspended task costs the future
#   one pointer. After a result the task is stepped at once (_call_soon_task: the
#   task reads the result itself); after an exception or a cancellation it gets
#   call_soon(task._wakeup, future), which throws the error into the coroutine.
#
# Future._callbacks (_Callbacks) holds them in one of three shapes:
# * no entry: _NO_CALLBACKS, one shared empty tuple (falsy, no allocation);
# * one entry: the entry itself, without a list (the common case: one awaiting
#   task, or one done callback);
# * two or more: a list of entries, in registration order.
# Tell them apart with `not callbacks`, then `type(callbacks) is list`; an entry with
# `type(entry) is tuple` (a pair) or not (a Task). type() rather than isinstance():
# these run on every future resolution, and an isinstance() that fails (a Task is
# not a list) also looks up the object's __class__; but mypy does not narrow the
# negative branch of `type(x) is C`, hence the few `type: ignore[union-attr]` below.
_Entry: TypeAlias = "tuple[Callable[[Any], object], contextvars.Context] | Task[Any]"
_Callbacks: TypeAlias = "tuple[()] | _Entry | list[_Entry]"
_NO_CALLBACKS: Final[tuple[()]] = ()


def _queue_step(task: Task[Any], loop: object) -> None:
    """Run the next step of *task* (sending it ``None``) on a later iteration of
    *loop*, as ``call_soon(task._step, context=task._context)`` does.

    On loopcore's loop the task's step handle (made on first use) is queued again
    for every step, directly while the loop allows it (``_task_queue``), else
    through ``loop._call_soon_task`` (debug mode, an overridden ``call_soon``, a
    closed loop: it raises). A loop of another implementation gets ``call_soon``.
    """
    # An explicit capability check, not an AttributeError probe (an AttributeError
    # raised inside _call_soon_task must not be taken for "this loop has none" and
    # schedule the step twice). PEP 3156 lets futures and tasks live on any
    # conforming loop (asyncio's; Future._loop is a LoopLike): only a loop built on
    # loopcore's AbstractEventLoop has _task_queue and _call_soon_task.
    if isinstance(loop, events.AbstractEventLoop):
        queue = loop._task_queue
        if queue is None:
            loop._call_soon_task(task)
            return
        handle = task._step_handle
        if handle is None or handle._cancelled:
            # (Cancelled: code given the handle, by the exception handler or a
            # monitor, cancelled it; the task still needs its steps.)
            handle = task._step_handle = Handle(task._step, (), loop, task._context)
        queue(handle)
    else:
        # (Any, not AbstractEventLoop: compiled, a cast to loopcore's class would check.)
        cast(Any, loop).call_soon(task._step, context=task._context)


_FunctionType: Final = types.FunctionType
_MethodType: Final = types.MethodType
# Callables implemented in C (a compiled method among them): never coroutine functions.
_BUILTIN_CALLABLE_TYPES: Final = frozenset(
    {
        types.BuiltinFunctionType,
        types.BuiltinMethodType,
        types.MethodWrapperType,
        types.WrapperDescriptorType,
        types.MethodDescriptorType,
    }
)
# Flags of the code object of a coroutine function (CO_COROUTINE | CO_ITERABLE_COROUTINE).
_CO_COROUTINE_FLAGS: Final = 0x0080 | 0x0100


def _is_plain_callback(callback: object) -> bool:
    """True when *callback* is certainly a plain callable that ``call_soon`` accepts
    without a word: a function or method whose code is no coroutine's, or a callable
    implemented in C. Anything else is left to ``call_soon``'s full check."""
    tp = type(callback)
    func: Any = callback
    if tp is _MethodType:
        func = func.__func__
        tp = type(func)
    if tp is _FunctionType:
        return not (func.__code__.co_flags & _CO_COROUTINE_FLAGS or hasattr(func, "_is_coroutine"))
    return tp in _BUILTIN_CALLABLE_TYPES


def _call_soon_callback(
    loop: object,
    callback: Callable[[Any], object],
    fut: object,
    context: contextvars.Context,
) -> None:
    """``loop.call_soon(callback, fut, context=context)``: how a future schedules a
    done callback.

    On loopcore's loop, while it allows it (``_task_queue``: open, not in debug mode,
    ``call_soon`` not overridden), a plain callback's handle is queued directly, as
    ``call_soon`` would queue it: compiled, a call of the loop's ``call_soon`` on an
    instance of a Python subclass (``SelectorEventLoop``) is a Python method lookup
    and a call with its arguments parsed, a tenth of a ``gather`` child's cost.
    """
    if isinstance(loop, events.AbstractEventLoop):
        queue = loop._task_queue
        if queue is not None and _is_plain_callback(callback):
            queue(Handle(callback, (fut,), loop, context))
            return
    # (loop: object, not AbstractEventLoop: a future may live on another
    # implementation's loop, which the compiled build would refuse as declared.)
    cast(Any, loop).call_soon(callback, fut, context=context)


#: Every allowed state change; anything else is an :class:`InvalidStateError`.
_TRANSITIONS: Final[dict[State, frozenset[State]]] = {
    _PENDING: frozenset({_CANCELLED, _FINISHED}),
    _CANCELLED: frozenset(),
    _FINISHED: frozenset(),
}


def isfuture(obj: object) -> bool:
    """True for a :class:`Future`-compatible object, by asyncio's duck-typing rule.

    The rule: ``obj.__class__`` has an ``_asyncio_future_blocking`` attribute, and
    ``obj._asyncio_future_blocking`` is not ``None``. loopcore's own :class:`Future`
    and :class:`Task` qualify, and so do a stdlib :class:`asyncio.Future`, a
    ``Mock(spec=Future)`` (its ``__class__`` is the spec) and a class that declares
    ``_asyncio_future_blocking = None`` and sets it to ``False`` in ``__init__``.
    Classes themselves never do (the attribute is looked up on their metaclass).
    """
    # obj.__class__, not type(obj): a Mock with a spec reports the spec there.
    return (
        hasattr(obj.__class__, "_asyncio_future_blocking")
        and getattr(obj, "_asyncio_future_blocking", None) is not None
    )


def _get_loop(fut: object) -> LoopLike | None:
    """The loop of a Future-compatible object (``get_loop()``, else its ``_loop``
    attribute, as asyncio reads it), or ``None`` for a
    :class:`concurrent.futures.Future` or an object that names no loop."""
    if type(fut) is Future:
        return fut._loop
    if isinstance(fut, concurrent.futures.Future):
        return None
    get_loop = getattr(fut, "get_loop", None)
    if get_loop is not None:
        return get_loop()  # type: ignore[no-any-return]
    return getattr(fut, "_loop", None)


class FutureLike(Protocol):
    """What a task calls on the future it waits for: loopcore's :class:`Future`, or
    any Future-compatible object (:func:`isfuture`), such as an :class:`asyncio.Future`.

    Declared where such objects are accepted, rather than :class:`Future`: the
    compiled build checks declared classes at run time, and a protocol is not
    checked there."""

    def cancel(self, msg: object = None) -> bool:
        """Cancel it; False if it was done already."""
        ...

    def cancelled(self) -> bool:
        """True if it was cancelled."""
        ...

    def result(self) -> object:
        """Its result, or raise its exception."""
        ...


@mypyc_attr(allow_interpreted_subclasses=True)
class Future(Generic[_T]):
    """A placeholder for a result that is set later (PEP 3156).

    Not thread-safe: resolve it from its loop's thread (use
    ``loop.call_soon_threadsafe(fut.set_result, value)`` from others). An exception
    set on a future that nobody retrieves (with :meth:`result` or :meth:`exception`)
    is reported to the loop's exception handler when the future is collected.
    Awaitable both as ``await fut`` and, in a generator coroutine, ``yield from fut``.
    """

    __slots__ = (
        "__weakref__",
        "_asyncio_future_blocking",
        "_callbacks",
        "_cancel_message",
        "_cancelled_exc",
        "_exception",
        "_log_traceback",
        "_loop",
        "_result",
        "_source_traceback",
        "_state",
    )

    def __init__(self, *, loop: LoopLike | None = None) -> None:
        if loop is None:
            from .policies import get_event_loop

            loop = get_event_loop()
        self._loop = loop
        self._state = _PENDING
        self._result: _T | None = None
        self._exception: BaseException | None = None
        self._callbacks: _Callbacks = _NO_CALLBACKS
        self._cancel_message: object = None
        self._cancelled_exc: exceptions.CancelledError | None = None
        # True when an exception is set and nobody has looked at it yet.
        self._log_traceback = False
        # True while a task is suspended on this future (set by __await__).
        self._asyncio_future_blocking = False
        # Only in debug mode; loopcore's loop outside it says so without a call (see
        # Handle.__init__).
        self._source_traceback: list[traceback.FrameSummary] | None = None
        fast = isinstance(loop, events.AbstractEventLoop) and loop._task_queue is not None
        if not fast and loop.get_debug():
            self._source_traceback = _creation_stack(__file__)

    # -- Introspection -----------------------------------------------------------------
    def get_loop(self) -> LoopLike:
        """The loop this future is bound to (loopcore's, or the asyncio-compatible
        loop of another implementation it was made for)."""
        return self._loop

    def _repr_info(self) -> list[str]:
        info = [self._state.value.lower()]
        if self._state is _FINISHED:
            if self._exception is not None:
                info.append(f"exception={self._exception!r}")
            else:
                info.append(f"result={reprlib.repr(self._result)}")
        names = [format_callback(cb) for cb, _ in self._done_callbacks()]
        if names:
            if len(names) > 2:
                names = [names[0], f"<{len(names) - 2} more>", names[-1]]
            info.append(f"cb=[{', '.join(names)}]")
        if self._source_traceback:
            frame = self._source_traceback[-1]
            info.append(f"created at {frame.filename}:{frame.lineno}")
        return info

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {' '.join(self._repr_info())}>"

    def __del__(self) -> None:
        if not self._log_traceback:
            return
        exc = self._exception
        context: dict[str, object] = {
            "message": f"{type(self).__name__} exception was never retrieved",
            "exception": exc,
            "future": self,
        }
        if self._source_traceback:
            context["source_traceback"] = self._source_traceback
        self._loop.call_exception_handler(context)

    # -- State -------------------------------------------------------------------------
    def _set_state(self, new: State) -> None:
        """The one place where the state changes; refuses moves not in the table."""
        if new not in _TRANSITIONS[self._state]:
            raise exceptions.InvalidStateError(
                f"cannot move {type(self).__name__} from {self._state.value} "
                f"to {new.value}: {self!r}"
            )
        self._state = new

    def done(self) -> bool:
        """True once the future has a result, an exception, or was cancelled."""
        return self._state is not _PENDING

    def cancelled(self) -> bool:
        """True if the future was cancelled."""
        return self._state is _CANCELLED

    def _make_cancelled_error(self) -> exceptions.CancelledError:
        """The CancelledError to raise, carrying the message given to ``cancel()``."""
        if self._cancelled_exc is not None:
            exc = self._cancelled_exc
            self._cancelled_exc = None
            return exc
        if self._cancel_message is None:
            return exceptions.new_cancelled_error()
        return exceptions.new_cancelled_error(self._cancel_message)

    def cancel(self, msg: object = None) -> bool:
        """Cancel the future and schedule its callbacks.

        :returns: False if the future was already done or cancelled, else True.
        """
        self._log_traceback = False
        if self._state is not _PENDING:
            return False
        self._set_state(_CANCELLED)
        self._cancel_message = msg
        self._schedule_callbacks()
        return True

    def result(self) -> _T:
        """The result.

        :raises CancelledError: if the future was cancelled.
        :raises InvalidStateError: if it is not done yet.
        :raises: the exception set with :meth:`set_exception`.
        """
        if self._state is _CANCELLED:
            raise self._make_cancelled_error()
        if self._state is not _FINISHED:
            raise exceptions.InvalidStateError(f"result is not ready: {self!r}")
        self._log_traceback = False
        if self._exception is not None:
            raise self._exception.with_traceback(self._exception.__traceback__)
        return self._result  # type: ignore[return-value]

    def exception(self) -> BaseException | None:
        """The exception set on the future, or ``None`` if it has a result.

        :raises CancelledError: if the future was cancelled.
        :raises InvalidStateError: if it is not done yet.
        """
        if self._state is _CANCELLED:
            raise self._make_cancelled_error()
        if self._state is not _FINISHED:
            raise exceptions.InvalidStateError(f"exception is not set: {self!r}")
        self._log_traceback = False
        return self._exception

    def add_done_callback(
        self,
        fn: Callable[[Future[_T]], object],
        *,
        context: contextvars.Context | None = None,
    ) -> None:
        """Call ``fn(future)`` when the future is done (at once, via call_soon, if it is).

        The callback runs in *context*, by default a copy of the current context.
        """
        if context is None:
            context = contextvars.copy_context()
        if self._state is not _PENDING:
            _call_soon_callback(self._loop, fn, self, context)
            return
        # _add_entry(), inline: gather() and wait() add one to each of their futures.
        callbacks = self._callbacks
        if not callbacks:
            self._callbacks = (fn, context)
        elif type(callbacks) is list:
            callbacks.append((fn, context))
        else:
            self._callbacks = [callbacks, (fn, context)]  # type: ignore[list-item]

    def _add_entry(self, entry: _Entry) -> None:
        """Register *entry* (see :data:`_Entry`) after the others."""
        callbacks = self._callbacks
        if not callbacks:
            self._callbacks = entry
        elif type(callbacks) is list:
            callbacks.append(entry)
        else:
            self._callbacks = [callbacks, entry]  # type: ignore[list-item]

    def _entries(self) -> list[_Entry]:
        """The registered entries in order (read only)."""
        callbacks = self._callbacks
        if not callbacks:
            return []
        if isinstance(callbacks, list):
            return callbacks
        return [callbacks]

    def remove_done_callback(self, fn: Callable[[Future[_T]], object]) -> int:
        """Remove every registration of *fn*; return how many were removed."""
        entries = self._entries()
        kept = [
            entry
            for entry in entries
            if (entry[0] if isinstance(entry, tuple) else entry._wakeup) != fn
        ]
        removed = len(entries) - len(kept)
        if removed:
            self._callbacks = _NO_CALLBACKS
            for entry in kept:
                self._add_entry(entry)
        return removed

    def _done_callbacks(self) -> list[tuple[Callable[[Any], object], contextvars.Context]]:
        """Every registration as a (callback, context) pair, in the order they run
        (a suspended task shows as its ``_wakeup`` method): for reprs and
        introspection."""
        return [
            entry if isinstance(entry, tuple) else (entry._wakeup, entry._context)
            for entry in self._entries()
        ]

    def _schedule_callbacks(self) -> None:
        callbacks = self._callbacks
        if not callbacks:
            return
        self._callbacks = _NO_CALLBACKS
        entries: list[_Entry] | tuple[_Entry]
        if type(callbacks) is list:
            entries = callbacks
        elif type(callbacks) is tuple:
            # A sole (callback, context) pair: the usual entry of add_done_callback().
            _call_soon_callback(self._loop, callbacks[0], self, callbacks[1])
            return
        else:
            entries = (callbacks,)  # type: ignore[assignment]
        # A task needs Task._wakeup only to have an exception thrown into it; after a
        # result it reads the result from this future itself, so it is stepped.
        succeeded = self._state is _FINISHED and self._exception is None
        loop = self._loop
        for entry in entries:
            if type(entry) is tuple:
                _call_soon_callback(loop, entry[0], self, entry[1])
            elif succeeded:
                _queue_step(entry, loop)  # type: ignore[arg-type]
            else:
                _call_soon_callback(loop, entry._wakeup, self, entry._context)  # type: ignore[union-attr]

    def set_result(self, result: _T) -> None:
        """Mark the future done with *result* and schedule its callbacks.

        :raises InvalidStateError: if it is already done.
        """
        if self._state is _PENDING:
            # PENDING -> FINISHED is in the table; set directly on this hot path.
            self._state = _FINISHED
        else:
            self._set_state(_FINISHED)  # refused, with the message naming the states
        self._result = result
        callbacks = self._callbacks
        if not callbacks:
            return
        if type(callbacks) is tuple or type(callbacks) is list:
            self._schedule_callbacks()
            return
        # A sole task suspended on this future (`await fut`), the usual case: what
        # _schedule_callbacks() does with it, inline (the task is stepped at once).
        self._callbacks = _NO_CALLBACKS
        # (mypy does not narrow `type(x) is tuple` to exclude tuple subclasses.)
        _queue_step(callbacks, self._loop)  # type: ignore[arg-type]

    def set_exception(self, exception: BaseException | type[BaseException]) -> None:
        """Mark the future done with *exception* and schedule its callbacks.

        An exception class is instantiated first. A :class:`StopIteration` (or a
        subclass) cannot travel through a coroutine (raised out of ``await``, it
        would end the awaiting generator as if it returned), so it is not stored:
        the future gets a :class:`RuntimeError` instead, whose ``__cause__`` is the
        StopIteration, as in CPython 3.13 (up to 3.12 it raised :class:`TypeError`;
        3.4.0 stored it as it was).

        :raises InvalidStateError: if it is already done.
        """
        if self._state is not _PENDING:
            raise exceptions.InvalidStateError(
                f"cannot set an exception on a done future: {self!r}"
            )
        if isinstance(exception, type):
            exception = exception()
        if isinstance(exception, StopIteration):
            new_exc = RuntimeError(
                "StopIteration interacts badly with generators and cannot be raised into a Future"
            )
            new_exc.__cause__ = exception
            new_exc.__context__ = exception
            exception = new_exc
        self._set_state(_FINISHED)
        self._exception = exception
        self._log_traceback = True
        self._schedule_callbacks()

    def __await__(self) -> Generator[Future[_T], None, _T]:
        if self._state is _PENDING:
            self._asyncio_future_blocking = True
            yield self  # Tells the task to wait for completion.
        state = self._state
        if state is _FINISHED and self._exception is None:
            # The common outcome, read directly (as asyncio's C future does); the
            # others (an exception, cancellation, misuse) go through result().
            return self._result  # type: ignore[return-value]
        if state is _PENDING:
            raise RuntimeError("await wasn't used with future")
        return self.result()

    def __iter__(self) -> Generator[Future[_T], None, _T]:
        """``yield from future`` in ``@coroutine`` generators: :meth:`__await__`.

        A method, not the alias ``__iter__ = __await__`` (mypyc cannot compile a
        class attribute bound to a method of the class being defined)."""
        return self.__await__()


# -- Bridging concurrent.futures ---------------------------------------------------------


#: A future either side of a bridge: a loop future (loopcore's, or any
#: Future-compatible object, see :func:`isfuture`) or a concurrent.futures one.
class _LoopFuture(Protocol[_T]):
    """A loop future as chain_future() uses it: loopcore's :class:`Future` or any
    Future-compatible object (an :class:`asyncio.Future`). A protocol, not
    :class:`Future`, so that the compiled build does not refuse the others."""

    def done(self) -> bool: ...
    def cancelled(self) -> bool: ...
    def cancel(self, msg: object = None) -> bool: ...
    def result(self) -> _T: ...
    def exception(self) -> BaseException | None: ...
    def set_result(self, result: _T, /) -> None: ...
    def set_exception(self, exception: BaseException, /) -> None: ...
    def add_done_callback(
        self, fn: Callable[[Future[_T]], object], *, context: contextvars.Context | None = None
    ) -> None: ...
    def __await__(self) -> Generator[Any, None, _T]: ...


_AnyFuture: TypeAlias = "_LoopFuture[_T] | concurrent.futures.Future[_T]"


def _convert_future_exc(exc: BaseException) -> BaseException:
    """concurrent.futures' own CancelledError and InvalidStateError become ours (as
    asyncio converts them), keeping their args and traceback; anything else is kept.

    ``concurrent.futures.TimeoutError`` needs no conversion: since Python 3.11 it is
    the builtin :class:`TimeoutError`, which is also ``loopcore.TimeoutError``.
    """
    exc_class = type(exc)
    if exc_class is concurrent.futures.CancelledError:
        return exceptions.CancelledError(*exc.args).with_traceback(exc.__traceback__)
    if exc_class is concurrent.futures.InvalidStateError:
        return exceptions.InvalidStateError(*exc.args).with_traceback(exc.__traceback__)
    return exc


def _copy_state_to(dest: _AnyFuture[_T], source: _AnyFuture[_T]) -> None:
    """Copy *source*'s outcome (it is done) into *dest*, unless *dest* is done.

    A loop future gets concurrent.futures' exceptions converted to ours
    (:func:`_convert_future_exc`).
    """
    if isinstance(dest, concurrent.futures.Future):
        if source.cancelled():
            dest.cancel()
        if not dest.set_running_or_notify_cancel():
            return
    elif dest.done():
        return
    if source.cancelled():
        dest.cancel()
        return
    exc = source.exception()
    if exc is not None:
        dest.set_exception(_convert_future_exc(exc))
    else:
        dest.set_result(source.result())


def chain_future(source: _AnyFuture[_T], destination: _AnyFuture[_T]) -> None:
    """Make *destination* follow *source*; cancelling *destination* cancels *source*.

    Either may be a loop future (loopcore's or any Future-compatible object, such as
    an :class:`asyncio.Future`) or a :class:`concurrent.futures.Future`. Each side is
    touched only from the thread that owns it: a loop future that is fed from
    another thread (or from another loop) is resolved through its loop's
    ``call_soon_threadsafe``, which also wakes that loop up. Nothing is delivered
    to a loop that is closed by then.

    :raises TypeError: if either is neither kind of future.
    """
    for role, fut in (("source", source), ("destination", destination)):
        if not (isfuture(fut) or isinstance(fut, concurrent.futures.Future)):
            raise TypeError(
                f"chain_future(): the {role} must be a Future or a "
                f"concurrent.futures.Future, got {fut!r}"
            )
    chain = _Chain(source, destination)
    destination.add_done_callback(chain.check_cancel)
    source.add_done_callback(chain.set_state)


class _Chain:
    """The two done callbacks that :func:`chain_future` adds, and what they share.

    Bound methods of a class rather than closures, so that they are recognised in
    both builds (:mod:`loopcore.introspect` shows a task waiting on one "waiting on
    a thread"): a closure compiled by mypyc is an object with no ``__qualname__``.
    """

    __slots__ = ("dest_loop", "destination", "source", "source_loop")

    def __init__(self, source: _AnyFuture[Any], destination: _AnyFuture[Any]) -> None:
        self.source = source
        self.destination = destination
        self.source_loop = _get_loop(source)
        self.dest_loop = _get_loop(destination)

    def check_cancel(self, dest: _AnyFuture[Any]) -> None:
        """Done callback of the destination: its cancellation cancels the source."""
        if dest.cancelled():
            source_loop = self.source_loop
            if source_loop is None or source_loop is self.dest_loop:
                self.source.cancel()
            elif not source_loop.is_closed():
                source_loop.call_soon_threadsafe(self.source.cancel)

    def set_state(self, src: _AnyFuture[Any]) -> None:
        """Done callback of the source: its outcome goes to the destination, on the
        destination loop's thread (nothing is delivered to a closed loop)."""
        destination, dest_loop = self.destination, self.dest_loop
        if destination.cancelled() and dest_loop is not None and dest_loop.is_closed():
            return
        if dest_loop is None or dest_loop is self.source_loop:
            _copy_state_to(destination, self.source)
        elif not dest_loop.is_closed():
            dest_loop.call_soon_threadsafe(_copy_state_to, destination, self.source)


@overload
def wrap_future(future: Future[_T], *, loop: LoopLike | None = None) -> Future[_T]: ...


@overload
def wrap_future(
    future: concurrent.futures.Future[_T], *, loop: LoopLike | None = None
) -> Future[_T]: ...


# The implementation returns `object`, not Future: a Future-compatible object of
# another class (an asyncio.Future) is returned as it is, and the compiled build
# would refuse it as a declared Future.
def wrap_future(future: object, *, loop: LoopLike | None = None) -> object:
    """Wrap a :class:`concurrent.futures.Future` in a future of *loop*.

    A Future-compatible object (:func:`isfuture`: loopcore's, an
    :class:`asyncio.Future`, ...) is returned unchanged. The wrapper is made with
    ``loop.create_future()`` (*loop* defaults to the current event loop); it takes
    the wrapped future's outcome on the loop's thread, through
    ``call_soon_threadsafe`` (so a result set by a worker thread wakes the loop),
    with ``concurrent.futures.CancelledError``/``InvalidStateError`` converted to
    loopcore's. Cancelling the wrapper cancels the wrapped future.

    :raises TypeError: if *future* is neither kind of future.
    """
    if isfuture(future):
        return future
    if not isinstance(future, concurrent.futures.Future):
        raise TypeError(f"concurrent.futures.Future is expected, got {future!r}")
    if loop is None:
        from .policies import get_event_loop

        loop = get_event_loop()
    return _wrap_concurrent_future(future, loop)


def _wrap_concurrent_future(future: concurrent.futures.Future[Any], loop: LoopLike) -> object:
    """:func:`wrap_future` of a concurrent.futures one, without the overloads:
    compiled, a call typed by an overload that promises a Future checks the result,
    and ``loop.create_future()`` may make another class of future (loopasyncio's
    makes asyncio's; ``BaseEventLoop.run_in_executor`` calls this)."""
    # Called through Any: a compiled call of the declared method would check that
    # the result is our Future.
    new_future: Any = getattr(loop, "create_future")()  # noqa: B009 (a dynamic call: see above)
    chain_future(future, new_future)
    return new_future
