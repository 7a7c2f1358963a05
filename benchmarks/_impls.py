"""The implementations under test, behind one small interface.

``ours`` is this repository's stack in pure Python (loopcore's default loop, which is
looptransports' ``SelectorEventLoop`` when that is installed; loopcore's task
functions; loopsync's primitives; loopstreams' ``start_server``); ``compiled`` is the
same stack from its compiled wheels (mypyc; "n/a" where they are not installed).
``asyncio`` is the standard library's default loop on this platform. ``uvloop`` is
uvloop's loop with asyncio's task functions and primitives (uvloop provides only a
loop); ``rloop`` likewise with rloop's loop (Rust).

A piece that is not there (a layer not installed yet, a name not exported yet)
raises :class:`Unavailable`; the benchmark scripts turn that into a JSON line
``{"unavailable": reason}`` and exit status 3, which ``run.py`` reports as "n/a".
A benchmark never falls back to another implementation's code.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

IMPLS = ("ours", "compiled", "asyncio", "uvloop", "rloop")

#: Exit status of a benchmark script whose implementation lacks a needed piece.
EXIT_UNAVAILABLE = 3


class Unavailable(Exception):
    """The implementation lacks something this benchmark needs."""


@dataclass
class Impl:
    """What a benchmark needs from one implementation.

    Attributes are looked up lazily by :meth:`need`, so that a benchmark that uses
    only the loop runs even when, say, loopsync is not installed yet.
    """

    name: str
    new_event_loop: Callable[[], Any]
    set_event_loop: Callable[[Any], None]
    _lookup: Callable[[str], Any]

    def need(self, what: str) -> Any:
        """Return the implementation's *what* (``sleep``, ``gather``, ``Queue``,
        ``Lock``, ``Event``, ``start_server``, ``Protocol``), or raise
        :class:`Unavailable` naming what is missing."""
        return self._lookup(what)

    def new_loop(self) -> Any:
        loop = self.new_event_loop()
        self.set_event_loop(loop)
        return loop


def _import(module: str, why: str) -> ModuleType:
    """Import *module*; only its absence is "unavailable" (a module that is there
    but fails to import is an error of the implementation, reported as such)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise Unavailable(f"{module} is not installed; needed for {why}") from None


def _attr(module: ModuleType, name: str, *fallback_modules: str) -> Any:
    """``module.name``, else the same name in one of loopcore's documented
    submodules (for a name that exists but is not exported from the package yet)."""
    value = getattr(module, name, None)
    if value is not None:
        return value
    for sub in fallback_modules:
        try:
            value = getattr(importlib.import_module(sub), name, None)
        except ImportError:
            value = None
        if value is not None:
            return value
    where = " or ".join([module.__name__, *fallback_modules])
    raise Unavailable(f"{where} has no {name!r} yet")


def _ours(compiled: bool = False) -> Impl:
    # "ours" is the pure-Python build, "compiled" the mypyc build of the same source
    # (docs: "Compiled build"). Where the compiled wheels are installed, "ours" runs
    # their .py sources (LOOPCORE_PURE=1, read when loopcore is first imported, so
    # each measurement runs in a fresh process as run.py does).
    if compiled:
        os.environ.pop("LOOPCORE_PURE", None)
    else:
        os.environ["LOOPCORE_PURE"] = "1"
    loopcore = _import("loopcore", "every benchmark of ours")
    if bool(getattr(loopcore, "COMPILED", False)) != compiled:
        if compiled:
            raise Unavailable(
                "loopcore is installed pure-Python here: the compiled rows need its "
                "compiled wheel (nox -s build_compiled, then install dist/*.whl)"
            )
        raise SystemExit("loopcore was imported before LOOPCORE_PURE could be set")
    new_event_loop = _attr(loopcore, "new_event_loop", "loopcore.policies")
    set_event_loop = _attr(loopcore, "set_event_loop", "loopcore.policies")

    def lookup(what: str) -> Any:
        if what in ("sleep", "gather"):
            return _attr(loopcore, what, "loopcore.task_functions")
        if what in ("Queue", "Lock", "Event"):
            return _attr(
                _import("loopsync", f"loopsync.{what}"), what, "loopsync.queues", "loopsync.locks"
            )
        if what == "start_server":
            return _attr(
                _import("loopstreams", "the streams echo server"),
                what,
                "loopstreams.server",
                "loopstreams.streams",
            )
        if what == "Protocol":
            return _attr(
                _import("looptransports", "the protocol echo server"),
                what,
                "looptransports.protocols",
            )
        raise KeyError(what)

    return Impl("compiled" if compiled else "ours", new_event_loop, set_event_loop, lookup)


def _asyncio_lookup(what: str) -> Any:
    import asyncio

    return getattr(asyncio, what)


def _asyncio() -> Impl:
    import asyncio

    return Impl("asyncio", asyncio.new_event_loop, asyncio.set_event_loop, _asyncio_lookup)


def _uvloop() -> Impl:
    import asyncio

    uvloop = _import("uvloop", "the uvloop rows")
    return Impl("uvloop", uvloop.new_event_loop, asyncio.set_event_loop, _asyncio_lookup)


def _rloop() -> Impl:
    import asyncio

    rloop = _import("rloop", "the rloop rows")
    return Impl("rloop", rloop.new_event_loop, asyncio.set_event_loop, _asyncio_lookup)


def get(name: str) -> Impl:
    """The implementation called *name* (one of :data:`IMPLS`)."""
    factories = {
        "ours": _ours,
        "compiled": lambda: _ours(compiled=True),
        "asyncio": _asyncio,
        "uvloop": _uvloop,
        "rloop": _rloop,
    }
    if name not in factories:
        raise SystemExit(f"--impl must be one of {', '.join(IMPLS)}, got {name!r}")
    return factories[name]()


def loop_description(loop: object) -> str:
    """``module.Class`` of a loop, recorded with every figure."""
    cls = type(loop)
    return f"{cls.__module__}.{cls.__qualname__}"


def versions() -> dict[str, str]:
    """Versions of the packages that can be under test, ``"-"`` when absent."""
    found = {"python": sys.version.split()[0]}
    for dist in ("loopcore", "looptransports", "loopsync", "loopstreams", "uvloop", "rloop"):
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = "-"
    return found


def report_unavailable(reason: str) -> None:
    """Print the "n/a" line and exit with :data:`EXIT_UNAVAILABLE`."""
    print(json.dumps({"unavailable": reason}), flush=True)
    raise SystemExit(EXIT_UNAVAILABLE)
