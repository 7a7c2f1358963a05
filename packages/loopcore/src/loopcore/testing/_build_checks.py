"""Checks that every distribution's ``tests/test_build.py`` shares: which of its
modules a wheel compiled, and which ones an interpreter runs compiled.

Private to the stack's own test suites (docs: "Compiled build"); each distribution
passes its package name and its ``setup.py``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["compiled_in_fresh_interpreter", "installed_extensions", "setup_compiled"]

# Imports every module of a package in a fresh interpreter, then prints, as JSON, the
# ones that run compiled. The package name is the first argument.
_REPORT = """
import importlib, json, pkgutil, sys
from loopcore import _build
package = importlib.import_module(sys.argv[1])
for info in pkgutil.iter_modules(package.__path__, sys.argv[1] + "."):
    importlib.import_module(info.name)
print(json.dumps(_build.compiled_modules(sys.argv[1])))
"""


def setup_compiled(setup_py: Path, package: str) -> set[str]:
    """The dotted names of the modules that *setup_py*'s ``COMPILED`` list names
    (read from its source, so that nothing in it runs)."""
    tree = ast.parse(setup_py.read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "COMPILED":
            if node.value is None:
                break
            names = ast.literal_eval(node.value)
            return {f"{package}.{name}" for name in names}
    raise AssertionError(f"no `COMPILED: ... = [...]` list in {setup_py}")


def installed_extensions(package: str) -> set[str]:
    """The dotted names of *package*'s modules that have an extension module beside
    their source where the package is installed (empty for a pure-Python wheel)."""
    found = set()
    for entry in importlib.import_module(package).__path__:
        for name in os.listdir(entry):
            # Longest suffix first: ".cpython-311-x86_64-linux-gnu.so" before ".so".
            for suffix in sorted(importlib.machinery.EXTENSION_SUFFIXES, key=len, reverse=True):
                if name.endswith(suffix):
                    found.add(f"{package}.{name[: -len(suffix)]}")
                    break
    return found


def compiled_in_fresh_interpreter(package: str, pure: str | None) -> list[str]:
    """The modules of *package* that run compiled in a fresh interpreter that imports
    all of them, with ``LOOPCORE_PURE`` set to *pure* (unset when None)."""
    env = {key: value for key, value in os.environ.items() if key != "LOOPCORE_PURE"}
    if pure is not None:
        env["LOOPCORE_PURE"] = pure
    out = subprocess.run(
        [sys.executable, "-c", _REPORT, package],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    report: list[str] = json.loads(out)
    return report
