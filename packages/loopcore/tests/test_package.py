"""The loopcore distribution: standard library only, typed, never imports asyncio."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import subprocess
import sys


def test_declares_no_dependencies():
    assert not importlib.metadata.requires("loopcore")


def test_importing_leaves_stdlib_asyncio_unimported():
    code = (
        "import sys, loopcore, loopcore.testing, loopcore.futures, loopcore.tasks;"
        "sys.exit('asyncio' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_ships_py_typed_marker() -> None:
    listed = [str(f) for f in importlib.metadata.files("loopcore") or []]
    if any(f.endswith("loopcore/__init__.py") for f in listed):
        assert any(f.endswith("loopcore/py.typed") for f in listed)
    else:  # an editable install records no package files; look beside the package
        assert (importlib.resources.files("loopcore") / "py.typed").is_file()


def test_every_public_name_is_exported_and_documented():
    import loopcore
    from loopcore.testing import source_object

    for name in loopcore.__all__:
        obj = getattr(loopcore, name)
        if callable(obj):
            # The docstring the source declares: compiled classes and functions have
            # none (docs: "Compiled build"); in the pure build, the object's own.
            assert source_object(obj).__doc__, f"{name} has no docstring"


def test_pytest_plugin_is_declared_as_entry_point():
    eps = importlib.metadata.entry_points(group="pytest11")
    assert any(ep.value == "loopcore.testing.pytest_plugin" for ep in eps)
