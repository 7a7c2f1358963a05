"""The distribution installs, imports and declares exactly its lower layers."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import re
import subprocess
import sys


def _requirement_names(dist: str) -> set[str]:
    requires = importlib.metadata.requires(dist) or []
    return {re.split(r"[\s;<>=!~\[]", req, maxsplit=1)[0].lower() for req in requires}


def test_declares_exactly_loopcore_and_looptransports_as_dependencies() -> None:
    assert _requirement_names("loopstreams") == {"loopcore", "looptransports"}


def test_lower_layers_are_pinned_to_a_compatible_version() -> None:
    for req in importlib.metadata.requires("loopstreams") or []:
        assert "<" in req and ">=" in req, req


def test_importing_leaves_stdlib_asyncio_unimported() -> None:
    code = "import sys, loopstreams; sys.exit('asyncio' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_ships_py_typed_marker() -> None:
    listed = [str(f) for f in importlib.metadata.files("loopstreams") or []]
    if any(f.endswith("loopstreams/__init__.py") for f in listed):
        assert any(f.endswith("loopstreams/py.typed") for f in listed)
    else:  # an editable install records no package files; look beside the package
        assert (importlib.resources.files("loopstreams") / "py.typed").is_file()


def test_connecting_and_serving_live_in_their_own_modules() -> None:
    import loopstreams
    from loopstreams import client, server

    assert loopstreams.open_connection is client.open_connection
    assert loopstreams.open_unix_connection is client.open_unix_connection
    assert loopstreams.start_server is server.start_server
    assert loopstreams.start_unix_server is server.start_unix_server
    # The old home of open_connection keeps working for code that imported it there.
    assert server.open_connection is client.open_connection
