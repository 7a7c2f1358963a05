"""Coroutine helpers for both styles: ``async def`` and ``@coroutine`` generators.

The 3.4 docs define a coroutine as either a generator function decorated with
:func:`coroutine` (suspending with ``yield from``) or, since 3.5, a native
``async def`` function. Tasks drive both; :func:`coroutine` also makes a generator
coroutine awaitable from ``async def`` code, so the two styles mix freely.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import logging
import os
import sys
import traceback
import types
from collections.abc import Callable, Generator
from typing import TypeVar

from ._build import mypyc_attr

__all__ = ["coroutine", "iscoroutine", "iscoroutinefunction"]

_F = TypeVar("_F", bound=Callable[..., object])

logger = logging.getLogger("loopcore")

# Marker set on functions decorated with @coroutine.
_is_coroutine = object()


def _debug_from_environment() -> bool:
    value = os.environ.get("LOOPCORE_DEBUG", "")
    return bool(sys.flags.dev_mode or (value and value != "0"))


@mypyc_attr(allow_interpreted_subclasses=True)
class CoroWrapper:
    """Debug-mode wrapper of a ``@coroutine`` generator that reports it if it is
    never iterated (the generator equivalent of Python's "coroutine was never
    awaited" warning), with the place it was created."""

    __slots__ = ("__name__", "__qualname__", "_func", "_gen", "_source_traceback", "_started")

    def __init__(
        self, gen: types.GeneratorType[object, object, object], func: Callable[..., object]
    ) -> None:
        self._gen = gen
        self._func = func
        self._started = False
        self._source_traceback = traceback.extract_stack(sys._getframe(2))
        self.__name__ = getattr(func, "__name__", repr(func))
        self.__qualname__ = getattr(func, "__qualname__", self.__name__)

    def __repr__(self) -> str:
        return f"<CoroWrapper {self.__qualname__}() of {self._gen!r}>"

    def __iter__(self) -> CoroWrapper:
        return self

    def __await__(self) -> CoroWrapper:
        return self

    def __next__(self) -> object:
        self._started = True
        return self._gen.send(None)

    def send(self, value: object) -> object:
        self._started = True
        return self._gen.send(value)

    def throw(self, exc: BaseException) -> object:
        self._started = True
        return self._gen.throw(exc)

    def close(self) -> None:
        self._started = True
        self._gen.close()

    @property
    def gi_frame(self) -> types.FrameType | None:
        return self._gen.gi_frame

    @property
    def gi_running(self) -> bool:
        return self._gen.gi_running

    @property
    def gi_code(self) -> types.CodeType:
        return self._gen.gi_code

    @property
    def gi_yieldfrom(self) -> object:
        return self._gen.gi_yieldfrom

    def __del__(self) -> None:
        gen = getattr(self, "_gen", None)
        if gen is not None and not self._started and gen.gi_frame is not None:
            where = "".join(traceback.format_list(self._source_traceback)).rstrip()
            logger.error(
                "coroutine %s was never yielded from\nCoroutine object created at "
                "(most recent call last):\n%s",
                self.__qualname__,
                where,
            )


def coroutine(func: _F) -> _F:
    """Mark *func* as a coroutine function (the 3.4 decorator).

    A generator function becomes a generator-based coroutine that can be used with
    ``yield from`` and with ``await``. A plain function is wrapped so that calling it
    gives a coroutine that yields from (or awaits) what the function returned, when
    that is a future, generator or awaitable. An ``async def`` function is returned
    as it is. In debug mode (``LOOPCORE_DEBUG=1`` or ``python -X dev`` at decoration
    time), generator coroutines that are never iterated are logged with the place
    they were created.
    """
    if inspect.iscoroutinefunction(func):
        return func  # type: ignore[return-value]

    if inspect.isgeneratorfunction(func):
        coro: Callable[..., object] = func
    else:

        @functools.wraps(func)
        def coro(*args: object, **kwargs: object) -> Generator[object, object, object]:
            res = func(*args, **kwargs)
            if isinstance(res, (types.GeneratorType, collections.abc.Awaitable)):
                res = yield from _await_any(res)
            return res

    generator_coro = types.coroutine(coro)

    if _debug_from_environment():

        @functools.wraps(func)
        def wrapper(*args: object, **kwargs: object) -> object:
            gen = generator_coro(*args, **kwargs)
            assert isinstance(gen, types.GeneratorType)
            return CoroWrapper(gen, func)

    else:
        wrapper = generator_coro  # type: ignore[assignment]

    wrapper._is_coroutine = _is_coroutine  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


@types.coroutine
def _await_any(aw: object) -> Generator[object, object, object]:
    if isinstance(aw, types.GeneratorType):
        return (yield from aw)
    return (yield from aw.__await__())  # type: ignore[attr-defined]


def iscoroutinefunction(func: object) -> bool:
    """True for an ``async def`` function or one decorated with :func:`coroutine`."""
    return (
        inspect.iscoroutinefunction(func) or getattr(func, "_is_coroutine", None) is _is_coroutine
    )


_COROUTINE_TYPES = (
    types.CoroutineType,
    types.GeneratorType,
    collections.abc.Coroutine,
    CoroWrapper,
)
_iscoroutine_typecache: set[type] = set()


def iscoroutine(obj: object) -> bool:
    """True for a coroutine object of either style.

    As in the 3.4 docs, generator objects count: a ``@coroutine`` function returns
    one.
    """
    t = type(obj)
    if t in _iscoroutine_typecache:
        return True
    if isinstance(obj, _COROUTINE_TYPES):
        # A bounded cache: only types, never instances, and few of them exist.
        if len(_iscoroutine_typecache) < 100:
            _iscoroutine_typecache.add(t)
        return True
    return False
