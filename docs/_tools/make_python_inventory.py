"""Write docs/_inv/python3.inv: an intersphinx inventory of the standard library.

The docs build has no internet, so intersphinx cannot download Python's own
``objects.inv``. This script builds an equivalent one by introspecting the modules
our docs refer to, with the anchors docs.python.org uses (``library/<module>.html#
<dotted name>``). Run it again when the list of modules grows; the output is
committed.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import zlib
from pathlib import Path

MODULES = [
    "collections.abc",
    "concurrent.futures",
    "contextvars",
    "enum",
    "functools",
    "io",
    "logging",
    "os",
    "queue",
    "selectors",
    "signal",
    "socket",
    "ssl",
    "subprocess",
    "threading",
    "time",
    "traceback",
    "types",
    "typing",
    "weakref",
    "json",
    "pathlib",
    "contextlib",
    "heapq",
    "collections",
    "inspect",
]
BUILTIN_PAGES = {
    "str": "stdtypes",
    "dict": "stdtypes",
    "list": "stdtypes",
    "tuple": "stdtypes",
    "set": "stdtypes",
    "frozenset": "stdtypes",
    "memoryview": "stdtypes",
    "range": "stdtypes",
}


def entries() -> list[str]:
    lines = []
    for name, obj in vars(builtins).items():
        if name.startswith("_"):
            continue
        if isinstance(obj, type) and issubclass(obj, BaseException):
            lines.append(f"{name} py:exception 1 library/exceptions.html#$ -")
        elif isinstance(obj, type):
            page = BUILTIN_PAGES.get(name, "functions")
            lines.append(f"{name} py:class 1 library/{page}.html#$ -")
        elif callable(obj):
            lines.append(f"{name} py:function 1 library/functions.html#$ -")
    lines.append("None py:data 1 library/constants.html#$ -")
    for modname in MODULES:
        mod = importlib.import_module(modname)
        page = f"library/{modname}.html"
        lines.append(f"{modname} py:module 0 {page}#module-$ -")
        for name in getattr(mod, "__all__", None) or dir(mod):
            if name.startswith("_"):
                continue
            obj = getattr(mod, name, None)
            full = f"{modname}.{name}"
            if isinstance(obj, type):
                role = "exception" if issubclass(obj, BaseException) else "class"
                lines.append(f"{full} py:{role} 1 {page}#$ -")
                for attr, value in vars(obj).items():
                    if not attr.startswith("_") and callable(value):
                        lines.append(f"{full}.{attr} py:method 1 {page}#$ -")
            elif inspect.isroutine(obj):
                lines.append(f"{full} py:function 1 {page}#$ -")
    return sorted(set(lines))


def main() -> None:
    header = (
        b"# Sphinx inventory version 2\n# Project: Python\n# Version: 3.13\n"
        b"# The remainder of this file is compressed using zlib.\n"
    )
    body = ("\n".join(entries()) + "\n").encode()
    out = Path(__file__).resolve().parent.parent / "_inv" / "python3.inv"
    out.write_bytes(header + zlib.compress(body, 9))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
