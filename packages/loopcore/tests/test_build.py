"""Which build runs (docs: "Compiled build"): ``loopcore.COMPILED`` and ``LOOPCORE_PURE``.

These tests hold in both builds. Against the pure-Python wheel (or a source checkout)
no module is compiled; against the compiled wheels (``nox -s tests_compiled``) the
modules listed in ``setup.py`` are, unless ``LOOPCORE_PURE`` is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import loopcore
from loopcore import _build

# Prints, as JSON, what a fresh interpreter sees: loopcore.COMPILED and the file each
# imported module of the stack was loaded from.
_REPORT = """
import json, sys
import loopcore, loopcore.base_loop, loopcore.tasks, loopcore.futures, loopcore.handles
print(json.dumps({
    "compiled": loopcore.COMPILED,
    "files": {
        name: getattr(module, "__file__", None)
        for name, module in sys.modules.items()
        if name.split(".")[0] == "loopcore" and module is not None
    },
}))
"""


def _report(pure: str | None) -> dict[str, object]:
    env = {key: value for key, value in os.environ.items() if key != "LOOPCORE_PURE"}
    if pure is not None:
        env["LOOPCORE_PURE"] = pure
    out = subprocess.run(
        [sys.executable, "-c", _REPORT], env=env, capture_output=True, text=True, check=True
    ).stdout
    report: dict[str, object] = json.loads(out)
    return report


def test_compiled_is_true_exactly_when_a_loopcore_module_runs_compiled():
    compiled = [
        name
        for name, module in list(sys.modules.items())
        if name.split(".")[0] == "loopcore"
        and module is not None
        and _build.is_compiled(getattr(module, "__file__", None))
    ]
    assert isinstance(loopcore.COMPILED, bool)
    assert loopcore.COMPILED is bool(compiled)
    if _build.PURE_REQUESTED:
        assert not compiled


def test_loopcore_pure_set_loads_every_module_from_its_py_source():
    report = _report("1")
    assert report["compiled"] is False
    files = report["files"]
    assert isinstance(files, dict)
    for name, file in files.items():
        if file is not None:
            assert file.endswith(".py"), f"{name} was loaded from {file}"


def test_loopcore_pure_zero_or_empty_leaves_the_build_as_installed():
    for value in ("0", ""):
        report = _report(value)
        assert report["compiled"] is _report(None)["compiled"]


def test_compiled_reports_the_build_a_fresh_interpreter_runs():
    report = _report(None)
    files = report["files"]
    assert isinstance(files, dict)
    compiled = [name for name, file in files.items() if _build.is_compiled(file)]
    assert report["compiled"] is bool(compiled)


def test_is_compiled_tells_extension_modules_from_source():
    assert not _build.is_compiled(None)
    assert not _build.is_compiled("/x/loopcore/tasks.py")
    assert not _build.is_compiled("/x/loopcore/__pycache__/tasks.cpython-311.pyc")
    suffix = _build._EXTENSION_SUFFIXES[0]
    assert _build.is_compiled(f"/x/loopcore/tasks{suffix}")


def test_pure_finder_serves_only_plain_modules_of_the_stack():
    finder = _build._PureSourceFinder()
    package_dir = os.path.dirname(loopcore.__file__)
    spec = finder.find_spec("loopcore.tasks", [package_dir])
    assert spec is not None and spec.origin is not None
    assert spec.origin.endswith(os.path.join("loopcore", "tasks.py"))
    # Packages, other distributions' names and top-level imports go to the usual finders.
    assert finder.find_spec("loopcore.testing", [package_dir]) is None
    assert finder.find_spec("json.decoder", [package_dir]) is None
    assert finder.find_spec("loopcore", None) is None
    assert finder.find_spec("loopcore.no_such_module", [package_dir]) is None


def test_build_checks_read_the_compiled_list_from_setup_py_source(tmp_path):
    from loopcore.testing._build_checks import setup_compiled

    setup_py = tmp_path / "setup.py"
    setup_py.write_text('raise SystemExit("never run")\nCOMPILED: list[str] = ["a", "b"]\n')
    assert setup_compiled(setup_py, "pkg") == {"pkg.a", "pkg.b"}
    setup_py.write_text("COMPILED = ['a']\n")  # no annotation: not the declared list
    with pytest.raises(AssertionError, match="no `COMPILED"):
        setup_compiled(setup_py, "pkg")


def test_build_checks_agree_with_the_installed_build_of_loopcore():
    from loopcore.testing._build_checks import (
        compiled_in_fresh_interpreter,
        installed_extensions,
    )

    installed = installed_extensions("loopcore")
    assert compiled_in_fresh_interpreter("loopcore", "1") == []
    fresh = set(compiled_in_fresh_interpreter("loopcore", None))
    # Compiled wheel: what is installed compiled runs compiled; pure: nothing does.
    assert fresh == installed
