"""Which build of the stack runs: pure Python, or the modules compiled with mypyc.

The compiled wheels (``LOOPCORE_COMPILE=1`` at build time, see the docs page
"Compiled build") hold each compiled module twice: the ``.py`` source and, beside it,
the extension module mypyc built from it. Python's import system prefers the
extension. This module, which always stays interpreted, decides otherwise when the
environment variable ``LOOPCORE_PURE`` is set to anything but ``""`` or ``"0"`` when
:mod:`loopcore` is first imported: it puts a finder first on :data:`sys.meta_path`
that loads the ``.py`` source of every module of the stack's distributions, so the
whole stack runs interpreted, for debugging (tracebacks with source lines, pdb,
coverage, profilers that see every frame).

Every distribution's ``__init__`` imports :mod:`loopcore` before any of its own
modules, so the finder is in place before the first compiled module could load.

It also serves the compiled modules themselves: mypyc's class options
(:func:`mypyc_attr`) and :func:`is_compiled`, with which a module written for both
builds picks, at import time, the code path that is fastest in the build running.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, TypeVar

__all__ = [
    "COMPILED_MODULES",
    "PURE_REQUESTED",
    "InstanceDictBase",
    "compiled_modules",
    "is_compiled",
    "mypyc_attr",
]

_C = TypeVar("_C")

if TYPE_CHECKING:
    # mypyc reads the decorator's arguments when it compiles a class; it never calls
    # it. At run time (and in the pure build) it is the identity below, so that no
    # distribution needs mypy_extensions installed.
    from mypy_extensions import mypyc_attr as mypyc_attr  # noqa: PLC0414 (re-exported)
else:

    def mypyc_attr(*args: object, **kwargs: object) -> Callable[[_C], _C]:
        """mypyc's class options (``allow_interpreted_subclasses``, ``native_class``):
        read by the compiler, nothing at run time."""

        def decorate(cls: _C) -> _C:
            return cls

        return decorate


class InstanceDictBase:
    """An empty Python class at the root of the loop classes (``AbstractEventLoop``
    derives from it), so that a loop instance has a ``__dict__`` and can be weakly
    referenced in both builds.

    mypyc lays out a native class as a C struct with neither; it adds both only to a
    native class that derives from a Python class (mypyc 2.4.1 has no option for weak
    references alone). This module always stays interpreted, so this class is a Python
    class in either build. It must stay empty and without ``__slots__``: the compiled
    subclass puts its own fields right after the object header.

    In the pure build it changes nothing: a Python class has both anyway.
    """


#: The top-level packages of the stack's distributions: the pure-Python finder
#: serves their modules.
_PACKAGES = frozenset({"loopcore", "looptransports", "loopsync", "loopstreams", "loopasyncio"})

#: True when ``LOOPCORE_PURE`` asked for pure Python at run time (read once, when
#: loopcore is first imported).
PURE_REQUESTED: bool = os.environ.get("LOOPCORE_PURE", "") not in ("", "0")

_EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)


def is_compiled(module_file: str | None) -> bool:
    """True if the module whose ``__file__`` is *module_file* was loaded from an
    extension module (the compiled build), False for ``.py`` source or bytecode.

    A compiled module calls it with its own ``__file__`` at import time."""
    return module_file is not None and module_file.endswith(_EXTENSION_SUFFIXES)


#: The compiled modules loaded so far, as ``{module name: True}``; filled in by
#: :func:`compiled_modules`.
COMPILED_MODULES: dict[str, bool] = {}


def compiled_modules(prefix: str) -> list[str]:
    """Names of the modules of package *prefix* (e.g. ``"loopcore"``) that are
    imported and running compiled, sorted."""
    names = []
    for name, module in list(sys.modules.items()):
        if module is None or (name != prefix and not name.startswith(prefix + ".")):
            continue
        if is_compiled(getattr(module, "__file__", None)):
            COMPILED_MODULES[name] = True
            names.append(name)
    return sorted(names)


class _PureSourceFinder:
    """A meta-path finder that loads the ``.py`` source of the stack's modules even
    where a compiled extension module sits beside it (``LOOPCORE_PURE=1``).

    Only plain modules are served (a package, i.e. a directory, is left to the
    normal finders: the compiled build never compiles an ``__init__``), and only
    when the ``.py`` file exists; anything else returns None, so the rest of
    :data:`sys.meta_path` proceeds as usual."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        top, dot, rest = fullname.partition(".")
        if not dot or top not in _PACKAGES or path is None:
            return None
        leaf = rest.rpartition(".")[2]
        for entry in path:
            source = os.path.join(entry, leaf + ".py")
            if os.path.isfile(source):
                loader = importlib.machinery.SourceFileLoader(fullname, source)
                return importlib.util.spec_from_file_location(fullname, source, loader=loader)
        return None


_FINDER = _PureSourceFinder()


def _install_pure_finder() -> None:
    """Put the pure-source finder first on :data:`sys.meta_path` (once)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


if PURE_REQUESTED:
    _install_pure_finder()
