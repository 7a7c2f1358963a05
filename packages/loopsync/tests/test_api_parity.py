"""Name and signature parity with the standard library's asyncio.

Every name of the Python 3.4 asyncio docs' sections "Synchronization primitives"
and "Queues" (and Barrier and Queue.shutdown, as CPython 3.13 documents them) must
exist in loopsync with a signature that accepts every call the docs allow: the same
positional parameters in the same order, the same keyword names and the same
defaults. loopsync may add parameters with defaults (the 3.4 ``loop=`` keyword).

The reference is the running interpreter's asyncio (tests may import it to
compare); a name the running version lacks is checked on the versions that have
it. The 3.4 signatures (``loop=``, JoinableQueue) are written out below.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
from collections.abc import Callable

import pytest

import loopsync
from loopcore.testing import signature_problems, source_object, source_signature

_P = inspect.Parameter
_POSITIONAL = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)


def _dunder_positional(qualname: str, sig: inspect.Signature) -> inspect.Signature:
    # Python calls __aenter__/__aexit__ positionally: their parameter names are free.
    attr = qualname.rpartition(".")[2]
    if not attr.startswith("__") or attr == "__init__":
        return sig
    return sig.replace(
        parameters=[
            p.replace(kind=_P.POSITIONAL_ONLY) if p.kind is _P.POSITIONAL_OR_KEYWORD else p
            for p in sig.parameters.values()
        ]
    )


_CM = ["__aenter__", "__aexit__"]
_QUEUE = [
    "__init__",
    "qsize",
    "empty",
    "full",
    "put",
    "put_nowait",
    "get",
    "get_nowait",
    "task_done",
    "join",
    "shutdown",
]

CLASSES: dict[str, list[str]] = {
    "Lock": ["__init__", "acquire", "release", "locked", *_CM],
    "Event": ["__init__", "set", "clear", "is_set", "wait"],
    "Condition": [
        "__init__",
        "acquire",
        "release",
        "locked",
        "wait",
        "wait_for",
        "notify",
        "notify_all",
        *_CM,
    ],
    "Semaphore": ["__init__", "acquire", "release", "locked", *_CM],
    "BoundedSemaphore": ["__init__", "acquire", "release", "locked", *_CM],
    "Barrier": ["__init__", "wait", "reset", "abort", *_CM],
    "Queue": _QUEUE,
    "PriorityQueue": _QUEUE,
    "LifoQueue": _QUEUE,
}

# Signatures that differ on purpose, each with the place that documents it. The
# 3.4 loop= keyword every class accepts is an extra keyword with a default and
# needs no entry (differences/loopsync.rst).
ALLOWED: dict[str, str] = {
    # asyncio spells it __aexit__(self, *args); Python always passes exactly the
    # three values ours names, so no `async with` can tell the difference.
    "Barrier.__aexit__": "takes exactly (exc_type, exc, tb), as every `async with` passes",
}


def _all_qualnames() -> list[str]:
    names: list[str] = []
    for cls, methods in CLASSES.items():
        names.append(cls)
        names.extend(f"{cls}.{m}" for m in methods)
    return names


@pytest.mark.parametrize("qualname", _all_qualnames())
def test_signature_accepts_every_call_asyncio_accepts(qualname: str) -> None:
    head, _, attr = qualname.partition(".")
    ours = getattr(loopsync, head)
    if attr:
        getattr(ours, attr)  # AttributeError here means the name is missing
    ref = getattr(asyncio, head, None)
    if ref is not None and attr:
        ref = getattr(ref, attr, None)
    if ref is None:
        pytest.skip(f"asyncio {qualname} is not in this Python version")
    if qualname in ALLOWED:
        pytest.skip(f"documented difference: {ALLOWED[qualname]}")
    ref_sig = _dunder_positional(qualname, inspect.signature(ref))
    # As the source declares it: inspect.signature reads "()" for a compiled async
    # method (docs: "Compiled build"); in the pure build, inspect.signature.
    our_sig = source_signature(ours, attr) if attr else source_signature(ours)
    assert signature_problems(ref_sig, our_sig) == [], f"{qualname}{our_sig} vs {ref_sig}"


def _lock_34(*, loop=None): ...  # type: ignore[no-untyped-def]
def _condition_34(lock=None, *, loop=None): ...  # type: ignore[no-untyped-def]
def _semaphore_34(value=1, *, loop=None): ...  # type: ignore[no-untyped-def]
def _queue_34(maxsize=0, *, loop=None): ...  # type: ignore[no-untyped-def]


# The 3.4 constructors, with the loop= keyword CPython has since removed.
PY34: dict[str, Callable[..., object]] = {
    "Lock": _lock_34,
    "Event": _lock_34,
    "Condition": _condition_34,
    "Semaphore": _semaphore_34,
    "BoundedSemaphore": _semaphore_34,
    "Queue": _queue_34,
    "PriorityQueue": _queue_34,
    "LifoQueue": _queue_34,
    "JoinableQueue": _queue_34,
}


@pytest.mark.parametrize("name", sorted(PY34))
def test_constructor_accepts_every_call_the_34_docs_allow(name: str) -> None:
    problems = signature_problems(
        inspect.signature(PY34[name]), source_signature(getattr(loopsync, name))
    )
    assert problems == [], f"{name}: {problems}"


def test_joinable_queue_is_a_queue_with_task_done_and_join() -> None:
    assert issubclass(loopsync.JoinableQueue, loopsync.Queue)
    for method in ("task_done", "join"):
        assert callable(getattr(loopsync.JoinableQueue, method))


@pytest.mark.parametrize(
    ("cls", "attr"),
    [
        ("Queue", "maxsize"),
        ("Barrier", "parties"),
        ("Barrier", "n_waiting"),
        ("Barrier", "broken"),
    ],
)
def test_documented_attribute_is_a_read_only_property(cls: str, attr: str) -> None:
    # A read-only property in the source (compiled, mypyc makes it a getset
    # descriptor of the class: docs "Compiled build"), and read-only at run time.
    declared = source_object(getattr(loopsync, cls), attr)
    assert isinstance(declared, property)
    assert declared.fset is None
    instance = getattr(loopsync, cls)(2)
    with pytest.raises(AttributeError):
        setattr(instance, attr, getattr(instance, attr))
    ref_cls = getattr(asyncio, cls, None)
    if ref_cls is not None:
        assert isinstance(getattr(ref_cls, attr), property)


def test_queue_classes_keep_asyncio_class_relations() -> None:
    assert issubclass(loopsync.PriorityQueue, loopsync.Queue)
    assert issubclass(loopsync.LifoQueue, loopsync.Queue)
    assert issubclass(loopsync.BoundedSemaphore, loopsync.Semaphore)


@pytest.mark.parametrize(
    ("name", "documented_base"),
    [
        # The 3.4 docs named the queue module's exceptions (differences/loopsync.rst).
        ("QueueEmpty", queue.Empty),
        ("QueueFull", queue.Full),
        ("QueueShutDown", Exception),
        ("BrokenBarrierError", RuntimeError),
    ],
)
def test_exception_has_asyncio_bases_and_the_34_queue_ones(
    name: str, documented_base: type[BaseException]
) -> None:
    ours = getattr(loopsync, name)
    assert issubclass(ours, documented_base)
    ref = getattr(asyncio, name, None)
    if ref is None:
        return  # not in this Python version: the documented base is all we can check
    for base in ref.__mro__:
        if base.__module__ == "builtins":
            assert issubclass(ours, base), f"{name} is not a {base.__name__}"
