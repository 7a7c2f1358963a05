"""Which build of loopsync runs (docs: "Compiled build").

These tests hold in both builds. Against the pure-Python wheel (or a source checkout)
no module of loopsync is compiled; against its compiled wheel (``nox -s tests_compiled``)
exactly the modules that ``setup.py`` lists are, unless ``LOOPCORE_PURE`` is set.
"""

from __future__ import annotations

from pathlib import Path

import loopsync
from loopcore import _build
from loopcore.testing._build_checks import (
    compiled_in_fresh_interpreter,
    installed_extensions,
    setup_compiled,
)

_SETUP = Path(__file__).resolve().parent.parent / "setup.py"


def test_compiled_wheel_runs_exactly_the_modules_setup_py_compiles():
    installed = installed_extensions("loopsync")
    if installed:  # the compiled wheel
        assert installed == setup_compiled(_SETUP, "loopsync")
    assert set(compiled_in_fresh_interpreter("loopsync", None)) == installed


def test_loopcore_pure_runs_every_module_of_loopsync_from_source():
    assert compiled_in_fresh_interpreter("loopsync", "1") == []


def test_modules_in_this_process_run_in_the_build_installed():
    running = set(_build.compiled_modules("loopsync"))
    if _build.PURE_REQUESTED:
        assert running == set()
    else:
        assert running <= installed_extensions("loopsync")


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
