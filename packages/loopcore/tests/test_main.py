"""``python -m loopcore``: --version, and a missing command."""

from __future__ import annotations

import io
import platform
import subprocess
import sys

import pytest

import loopcore
from loopcore.__main__ import main, version_line


def test_version_names_loopcore_its_version_and_python():
    line = version_line()
    assert line.startswith(f"loopcore {loopcore.__version__}")
    assert f"(Python {platform.python_version()}, " in line


def test_version_option_prints_the_version_line_and_exits_0():
    out = io.StringIO()
    assert main(["--version"], out=out) == 0
    assert out.getvalue() == version_line() + "\n"


def test_python_dash_m_loopcore_version_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "loopcore", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"loopcore {loopcore.__version__}")


def test_no_command_is_a_usage_error_naming_the_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "name a command (monitor), or --version" in capsys.readouterr().err
