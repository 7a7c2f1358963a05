"""The ``runexample`` directive: show an example file and the output of running it.

``.. runexample:: examples/hello_callback.py`` includes the file as a Python code
block, runs it with the interpreter that builds the docs, and shows what it printed.
A failing example (non-zero exit or a time-out) fails the docs build, so every
example in the site is known to work with the packages as installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

TIMEOUT = 120


class RunExample(SphinxDirective):
    required_arguments = 1
    option_spec = {"no-output": directives.flag}

    def run(self) -> list[nodes.Node]:
        rel, path = self.env.relfn2path(self.arguments[0])
        self.env.note_dependency(rel)
        source = Path(path).read_text()
        code = nodes.literal_block(source, source, language="python")
        code["classes"].append("runexample-source")
        try:
            proc = subprocess.run(
                [sys.executable, path],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                cwd=Path(path).parent,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise self.error(f"example {rel} did not finish within {TIMEOUT} s")
        if proc.returncode != 0:
            raise self.error(
                f"example {rel} exited with {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        result: list[nodes.Node] = [code]
        if "no-output" not in self.options:
            para = nodes.paragraph(text="Output:")
            out = nodes.literal_block(proc.stdout, proc.stdout, language="text")
            out["classes"].append("runexample-output")
            result += [para, out]
        return result


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("runexample", RunExample)
    return {"parallel_read_safe": True, "version": "1"}
