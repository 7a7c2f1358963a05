"""Which build of loopsync runs (docs: "Compiled build").

These tests hold in both builds. Against the pure-Python wheel (or a source checkout)
no module of loopsync is compiled; against its compiled wheel (``nox -s tests_compiled``)
exactly the modules that ``setup.py`` lists are, unless ``LOOPCORE_PURE`` is set.
"""

from __future__ import annotations

import ast
import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import loopsync
from loopcore import _build

_SETUP = Path(__file__).resolve().parent.parent / "setup.py"

# Prints, as JSON, the modules of loopsync that a fresh interpreter runs compiled.
_REPORT = """
import json, pkgutil, importlib, loopsync
from loopcore import _build
for info in pkgutil.iter_modules(loopsync.__path__, "loopsync."):
    importlib.import_module(info.name)
print(json.dumps(_build.compiled_modules("loopsync")))
"""


def _setup_compiled() -> set[str]:
    """The module names setup.py's COMPILED list names."""
    tree = ast.parse(_SETUP.read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "COMPILED":
            assert node.value is not None
            return {f"loopsync.{name}" for name in ast.literal_eval(node.value)}
    raise AssertionError(f"no COMPILED list in {_SETUP}")


def _installed_extensions() -> set[str]:
    """The modules of loopsync that have an extension module beside their source."""
    found = set()
    for entry in loopsync.__path__:
        for name in os.listdir(entry):
            # Longest suffix first: ".cpython-311-x86_64-linux-gnu.so" before ".so".
            for suffix in sorted(importlib.machinery.EXTENSION_SUFFIXES, key=len, reverse=True):
                if name.endswith(suffix):
                    found.add("loopsync." + name[: -len(suffix)])
                    break
    return found


def _report(pure: str | None) -> list[str]:
    env = {key: value for key, value in os.environ.items() if key != "LOOPCORE_PURE"}
    if pure is not None:
        env["LOOPCORE_PURE"] = pure
    out = subprocess.run(
        [sys.executable, "-c", _REPORT], env=env, capture_output=True, text=True, check=True
    ).stdout
    report: list[str] = json.loads(out)
    return report


def test_compiled_wheel_runs_exactly_the_modules_setup_py_compiles():
    installed = _installed_extensions()
    if installed:  # the compiled wheel
        assert installed == _setup_compiled()
    assert set(_report(None)) == installed


def test_loopcore_pure_runs_every_module_of_loopsync_from_source():
    assert _report("1") == []


def test_modules_in_this_process_run_in_the_build_installed():
    running = set(_build.compiled_modules("loopsync"))
    if _build.PURE_REQUESTED:
        assert running == set()
    else:
        assert running <= _installed_extensions()


async def test_interpreted_subclasses_of_queue_and_lock_have_their_overrides_called():
    # Both builds: the compiled classes allow interpreted subclasses, and their
    # overrides run (``async with`` reaches the overridden release).
    calls: list[str] = []

    class Queue(loopsync.Queue[int]):
        def get_nowait(self) -> int:
            calls.append("get_nowait")
            return super().get_nowait() * 10

    class Lock(loopsync.Lock):
        def release(self) -> None:
            calls.append("release")
            super().release()

    queue = Queue()
    queue.put_nowait(4)
    assert queue.get_nowait() == 40
    lock = Lock()
    async with lock:
        pass
    assert calls == ["get_nowait", "release"]
    assert not lock.locked()
