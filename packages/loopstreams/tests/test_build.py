"""Which build of loopstreams runs (docs: "Compiled build").

These tests hold in both builds. Against the pure-Python wheel (or a source checkout)
no module of loopstreams is compiled; against its compiled wheel (``nox -s tests_compiled``)
exactly the modules that ``setup.py`` lists are, unless ``LOOPCORE_PURE`` is set.
"""

from __future__ import annotations

from pathlib import Path

import loopstreams
from loopcore import _build
from loopcore.testing._build_checks import (
    compiled_in_fresh_interpreter,
    installed_extensions,
    setup_compiled,
)

_SETUP = Path(__file__).resolve().parent.parent / "setup.py"


def test_compiled_wheel_runs_exactly_the_modules_setup_py_compiles():
    installed = installed_extensions("loopstreams")
    if installed:  # the compiled wheel
        assert installed == setup_compiled(_SETUP, "loopstreams")
    assert set(compiled_in_fresh_interpreter("loopstreams", None)) == installed


def test_loopcore_pure_runs_every_module_of_loopstreams_from_source():
    assert compiled_in_fresh_interpreter("loopstreams", "1") == []


def test_modules_in_this_process_run_in_the_build_installed():
    running = set(_build.compiled_modules("loopstreams"))
    if _build.PURE_REQUESTED:
        assert running == set()
    else:
        assert running <= installed_extensions("loopstreams")


async def test_interpreted_subclasses_of_reader_and_protocol_have_their_overrides_called():
    # Both builds: StreamReader is a native class that allows interpreted subclasses,
    # StreamReaderProtocol a non-native one (its base, looptransports' Protocol, is
    # interpreted); a user's subclass of either works and its overrides run.
    calls: list[str] = []

    class Reader(loopstreams.StreamReader):
        def feed_data(self, data: bytes) -> None:
            calls.append("feed_data")
            super().feed_data(data.upper())

    class ReaderProtocol(loopstreams.StreamReaderProtocol):
        def data_received(self, data: bytes) -> None:
            calls.append("data_received")
            super().data_received(data)

    reader = Reader()
    ReaderProtocol(reader).data_received(b"line\n")
    assert await reader.readline() == b"LINE\n"
    assert calls == ["data_received", "feed_data"]
