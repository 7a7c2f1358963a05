"""The distribution installs, imports, exports its names and declares exactly loopcore."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import re
import subprocess
import sys

import loopsync
from loopcore.testing import source_object

EXPECTED = {
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "Condition",
    "Event",
    "JoinableQueue",
    "LifoQueue",
    "Lock",
    "PriorityQueue",
    "Queue",
    "QueueEmpty",
    "QueueFull",
    "QueueShutDown",
    "Semaphore",
}


def _requirement_names(dist: str) -> set[str]:
    requires = importlib.metadata.requires(dist) or []
    return {re.split(r"[\s;<>=!~\[]", req, maxsplit=1)[0].lower() for req in requires}


def test_declares_exactly_loopcore_as_dependency() -> None:
    assert _requirement_names("loopsync") == {"loopcore"}


def test_loopcore_is_pinned_to_a_compatible_version() -> None:
    for req in importlib.metadata.requires("loopsync") or []:
        assert "<" in req and ">=" in req, req


def test_installed_version_matches_the_package() -> None:
    assert importlib.metadata.version("loopsync") == loopsync.__version__


def test_all_lists_every_public_name_and_each_is_exported() -> None:
    assert set(loopsync.__all__) == EXPECTED
    for name in loopsync.__all__:
        # The docstring the source declares: mypyc drops those of native classes
        # (docs: "Compiled build"); in the pure build, the class's own.
        assert source_object(getattr(loopsync, name)).__doc__, name


def test_importing_leaves_stdlib_asyncio_unimported() -> None:
    code = "import sys, loopsync; sys.exit('asyncio' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_ships_py_typed_marker() -> None:
    listed = [str(f) for f in importlib.metadata.files("loopsync") or []]
    if any(f.endswith("loopsync/__init__.py") for f in listed):
        assert any(f.endswith("loopsync/py.typed") for f in listed)
    else:  # an editable install records no package files; look beside the package
        assert (importlib.resources.files("loopsync") / "py.typed").is_file()
