"""Name and signature parity with the standard library's asyncio.

Every name of the Python 3.4 asyncio docs' sections "Base Event Loop", "Event
loops", "Tasks and coroutines" (and the names added since, as CPython 3.13 documents
them) must exist in loopcore with a signature that accepts every call the docs allow:
the same positional parameters in the same order, the same keyword names (keyword-only
where asyncio has them keyword-only) and the same defaults. loopcore may add
parameters with defaults (the 3.4 ``loop=`` keyword, ``eager_start=``), and may accept
positionally what asyncio takes only by position.

The reference is the running interpreter's asyncio (tests may import it to compare);
a name the running version lacks is checked on the versions that have it. The 3.4
names CPython has since removed are checked against the 3.4 signatures, written out.
Documented differences (docs/differences/*.rst) are in ALLOWED below, each with the
reason.

In the compiled build our signatures are read from the ``.py`` source of the compiled
module (``loopcore.testing.source_signature``): mypyc records none for compiled
``async def`` methods (:func:`inspect.signature` reads ``()`` there), and the compiled
function is built from that source, so the check keeps its meaning.
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import asyncio.futures
import asyncio.tasks
import builtins
import inspect
from collections.abc import Callable

import pytest

import loopcore
from loopcore.testing import signature_problems, source_signature

_P = inspect.Parameter
_POSITIONAL = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)


def _ref_signature(obj: object) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


# asyncio's Future and Task are written in C and some of their methods have no
# signature; the pure-Python twins (documented as the same API) have one.
_PY_TWINS: dict[str, type] = {
    "Future": asyncio.futures._PyFuture,  # type: ignore[attr-defined]
    "Task": asyncio.tasks._PyTask,  # type: ignore[attr-defined]
}

# Signatures that differ on purpose, each with the place that documents it. Extra
# parameters with defaults need no entry (they break no call asyncio accepts): the
# 3.4 loop= keyword of sleep/gather/shield/wait/wait_for/as_completed/Future/Task
# (differences/tasks.rst), BaseEventLoop(selector=None) (its subclasses pass their
# selector), eager_task_factory's eager_start= (as in CPython 3.14).
ALLOWED: dict[str, str] = {}

# The 3.4 docs' names of the loop (Base Event Loop, "Event loops"), as methods.
LOOP_METHODS = [
    "run_forever",
    "run_until_complete",
    "is_running",
    "stop",
    "is_closed",
    "close",
    "shutdown_asyncgens",
    "shutdown_default_executor",
    "call_soon",
    "call_soon_threadsafe",
    "call_later",
    "call_at",
    "time",
    "create_future",
    "create_task",
    "set_task_factory",
    "get_task_factory",
    "run_in_executor",
    "set_default_executor",
    "add_reader",
    "remove_reader",
    "add_writer",
    "remove_writer",
    "add_signal_handler",
    "remove_signal_handler",
    "set_exception_handler",
    "get_exception_handler",
    "default_exception_handler",
    "call_exception_handler",
    "get_debug",
    "set_debug",
]

# The network methods AbstractEventLoop declares; looptransports' loop implements
# them. (create_connection, create_server, create_unix_*, create_datagram_endpoint
# and subprocess_* are declared only by looptransports' loop, whose parity its own
# tests check: typed stubs here would force type-ignores on every override there.)
LOOP_NETWORK_METHODS = [
    "connect_read_pipe",
    "connect_write_pipe",
    "getaddrinfo",
    "getnameinfo",
    "sock_recv",
    "sock_sendall",
    "sock_connect",
    "sock_accept",
]

FUNCTIONS = [
    "EventLoop",
    "all_tasks",
    "as_completed",
    "create_eager_task_factory",
    "create_task",
    "current_task",
    "eager_task_factory",
    "ensure_future",
    "gather",
    "get_event_loop",
    "get_event_loop_policy",
    "get_running_loop",
    "iscoroutine",
    "iscoroutinefunction",
    "isfuture",
    "new_event_loop",
    "run",
    "run_coroutine_threadsafe",
    "set_event_loop",
    "set_event_loop_policy",
    "shield",
    "sleep",
    "timeout",
    "timeout_at",
    "to_thread",
    "wait",
    "wait_for",
    "wrap_future",
]

CLASSES: dict[str, list[str]] = {
    "AbstractEventLoopPolicy": ["get_event_loop", "set_event_loop", "new_event_loop"],
    "DefaultEventLoopPolicy": ["__init__", "get_event_loop", "set_event_loop", "new_event_loop"],
    "Handle": ["__init__", "cancel", "cancelled", "get_context"],
    "TimerHandle": ["__init__", "cancel", "cancelled", "when", "get_context"],
    "Future": [
        "__init__",
        "result",
        "exception",
        "done",
        "cancelled",
        "cancel",
        "add_done_callback",
        "remove_done_callback",
        "set_result",
        "set_exception",
        "get_loop",
    ],
    "Task": [
        "__init__",
        "cancel",
        "cancelled",
        "cancelling",
        "uncancel",
        "get_stack",
        "print_stack",
        "get_name",
        "set_name",
        "get_coro",
        "get_context",
        "done",
        "result",
        "exception",
        "add_done_callback",
        "remove_done_callback",
        "get_loop",
    ],
    "Runner": ["__init__", "run", "close", "get_loop", "__enter__", "__exit__"],
    "TaskGroup": ["__init__", "create_task", "__aenter__", "__aexit__"],
    "Timeout": ["__init__", "when", "reschedule", "expired", "__aenter__", "__aexit__"],
    "AbstractServer": [
        "close",
        "get_loop",
        "is_serving",
        "start_serving",
        "serve_forever",
        "wait_closed",
        "__aenter__",
        "__aexit__",
    ],
}


def _reference(qualname: str) -> object | None:
    head, _, attr = qualname.partition(".")
    if head == "BaseEventLoop":
        ref_owner: object = asyncio.base_events.BaseEventLoop
    elif attr and head in _PY_TWINS:
        ref_owner = _PY_TWINS[head]
    else:
        ref_owner = getattr(asyncio, head, None)
    if ref_owner is None or not attr:
        return ref_owner
    return getattr(ref_owner, attr, None)


def _ours(qualname: str) -> object:
    head, _, attr = qualname.partition(".")
    owner = getattr(loopcore, head)
    return getattr(owner, attr) if attr else owner


def _our_signature(qualname: str) -> inspect.Signature:
    """The signature of our *qualname* as the source declares it (see the module
    docstring)."""
    head, _, attr = qualname.partition(".")
    owner = getattr(loopcore, head)
    return source_signature(owner, attr) if attr else source_signature(owner)


def _all_qualnames() -> list[str]:
    names = list(FUNCTIONS)
    for cls, methods in CLASSES.items():
        names.append(cls)
        names.extend(f"{cls}.{m}" for m in methods)
    for cls in ("AbstractEventLoop", "BaseEventLoop"):
        names.append(cls)
        names.extend(f"{cls}.{m}" for m in LOOP_METHODS)
    names.extend(f"AbstractEventLoop.{m}" for m in LOOP_NETWORK_METHODS)
    return names


def _is_protocol_dunder(qualname: str) -> bool:
    # Python calls __aexit__ & co. positionally: their parameter names are free.
    attr = qualname.rpartition(".")[2]
    return attr.startswith("__") and attr != "__init__"


def _positional_only(sig: inspect.Signature) -> inspect.Signature:
    return sig.replace(
        parameters=[
            p.replace(kind=_P.POSITIONAL_ONLY) if p.kind is _P.POSITIONAL_OR_KEYWORD else p
            for p in sig.parameters.values()
        ]
    )


@pytest.mark.parametrize("qualname", _all_qualnames())
def test_signature_accepts_every_call_asyncio_accepts(qualname: str) -> None:
    _ours(qualname)  # AttributeError here means the name is missing
    ref = _reference(qualname)
    if ref is None:
        pytest.skip(f"asyncio {qualname} is not in this Python version")
    if qualname in ALLOWED:
        pytest.skip(f"documented difference: {ALLOWED[qualname]}")
    ref_sig = _ref_signature(ref)
    if ref_sig is None:
        pytest.skip(f"asyncio's {qualname} has no introspectable signature")
    our_sig = _our_signature(qualname)
    if _is_protocol_dunder(qualname):
        ref_sig = _positional_only(ref_sig)
    assert signature_problems(ref_sig, our_sig) == [], f"{qualname}{our_sig} vs {ref_sig}"


# The 3.4 names CPython has since removed or changed, with their 3.4 signatures.
def _sig(func: Callable[..., object]) -> inspect.Signature:
    return inspect.signature(func)


def _async_34(coro_or_future, *, loop=None): ...  # type: ignore[no-untyped-def]
def _sleep_34(delay, result=None, *, loop=None): ...  # type: ignore[no-untyped-def]
def _wait_34(fs, *, loop=None, timeout=None, return_when="ALL_COMPLETED"): ...  # type: ignore[no-untyped-def]
def _wait_for_34(fut, timeout, *, loop=None): ...  # type: ignore[no-untyped-def]
def _as_completed_34(fs, *, loop=None, timeout=None): ...  # type: ignore[no-untyped-def]
def _gather_34(*coros_or_futures, loop=None, return_exceptions=False): ...  # type: ignore[no-untyped-def]
def _shield_34(arg, *, loop=None): ...  # type: ignore[no-untyped-def]
def _ensure_future_34(coro_or_future, *, loop=None): ...  # type: ignore[no-untyped-def]
def _task_classmethod_34(loop=None): ...  # type: ignore[no-untyped-def]
def _coroutine_34(func): ...  # type: ignore[no-untyped-def]
def _task_34(coro, *, loop=None): ...  # type: ignore[no-untyped-def]
def _future_34(*, loop=None): ...  # type: ignore[no-untyped-def]


PY34: dict[str, Callable[..., object]] = {
    "async": _async_34,
    "sleep": _sleep_34,
    "wait": _wait_34,
    "wait_for": _wait_for_34,
    "as_completed": _as_completed_34,
    "gather": _gather_34,
    "shield": _shield_34,
    "ensure_future": _ensure_future_34,
    "Task.all_tasks": _task_classmethod_34,
    "Task.current_task": _task_classmethod_34,
    "coroutine": _coroutine_34,
    "Task": _task_34,
    "Future": _future_34,
}


@pytest.mark.parametrize("qualname", sorted(PY34))
def test_signature_accepts_every_call_the_34_docs_allow(qualname: str) -> None:
    problems = signature_problems(_sig(PY34[qualname]), _our_signature(qualname))
    assert problems == [], f"{qualname}: {problems}"


def test_the_34_name_async_is_ensure_future() -> None:
    assert getattr(loopcore, "async") is loopcore.ensure_future


def test_wait_constants_have_asyncio_values() -> None:
    for name in ("FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"):
        assert getattr(loopcore, name) == getattr(asyncio, name)


def test_handles_and_futures_keep_the_34_class_relations() -> None:
    assert issubclass(loopcore.TimerHandle, loopcore.Handle)
    assert issubclass(loopcore.Task, loopcore.Future)
    assert issubclass(loopcore.DefaultEventLoopPolicy, loopcore.AbstractEventLoopPolicy)
    assert issubclass(loopcore.BaseEventLoop, loopcore.AbstractEventLoop)


EXCEPTIONS = [
    "CancelledError",
    "InvalidStateError",
    "TimeoutError",
    "IncompleteReadError",
    "LimitOverrunError",
    "QueueEmpty",
    "QueueFull",
    "QueueShutDown",
    "BrokenBarrierError",
    "SendfileNotAvailableError",
]


@pytest.mark.parametrize("name", EXCEPTIONS)
def test_exception_has_asyncio_bases(name: str) -> None:
    ref = getattr(asyncio, name, None)
    if ref is None:
        pytest.skip(f"asyncio.{name} is not in this Python version")
    ours = getattr(loopcore, name)
    # Every builtin base of asyncio's class is a base of ours (CancelledError is a
    # BaseException, TimeoutError the builtin, IncompleteReadError an EOFError...).
    for base in ref.__mro__:
        if base.__module__ == "builtins":
            assert issubclass(ours, base), f"{name} is not a {base.__name__}"
    assert builtins.TimeoutError is loopcore.TimeoutError


def test_exception_constructors_keep_asyncio_attributes() -> None:
    err = loopcore.IncompleteReadError(b"ab", 5)
    ref = asyncio.IncompleteReadError(b"ab", 5)
    assert (err.partial, err.expected, str(err)) == (ref.partial, ref.expected, str(ref))
    err_none = loopcore.IncompleteReadError(b"ab", None)
    ref_none = asyncio.IncompleteReadError(b"ab", None)
    assert str(err_none) == str(ref_none)
    overrun = loopcore.LimitOverrunError("too long", 7)
    assert (overrun.consumed, str(overrun)) == (7, "too long")
    assert overrun.args == asyncio.LimitOverrunError("too long", 7).args


async def test_wait_for_and_shield_take_their_documented_keyword_names() -> None:
    loop = loopcore.get_running_loop()
    fut = loop.create_future()
    fut.set_result(1)
    assert await loopcore.wait_for(fut=fut, timeout=1) == 1
    assert await loopcore.shield(arg=fut) == 1


def test_eager_task_factory_takes_loop_and_coro_by_keyword() -> None:
    loop = loopcore.new_event_loop()
    try:

        async def coro() -> int:
            return 5

        task = loopcore.eager_task_factory(loop=loop, coro=coro())
        assert loop.run_until_complete(task) == 5
    finally:
        loop.close()
