"""The ``runexample`` directive: show an example file and the output of running it.

``.. runexample:: examples/hello_callback.py`` includes the file as a Python code
block, runs it with the interpreter that builds the docs, and shows what it printed.
A source line wider than ``MAX_WIDTH`` fails the build (it would overflow the code
block); long output lines wrap (``_static/runexample.css``). A failing example
(non-zero exit, a time-out, or output other than the expected
output the example ends with: see ``example_output``) fails the docs build, so every
example in the site is known to work, and to do what it says, with the packages as
installed. The expected-output block itself is not shown: the real output is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from example_output import output_problem, split_example
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

TIMEOUT = 120
#: The widest source line that fits a code block of the theme without a scroll bar.
MAX_WIDTH = 88


class RunExample(SphinxDirective):
    required_arguments = 1
    option_spec = {"no-output": directives.flag}

    def run(self) -> list[nodes.Node]:
        rel, path = self.env.relfn2path(self.arguments[0])
        self.env.note_dependency(rel)
        source, expected = split_example(Path(path).read_text())
        wide = [n for n, line in enumerate(source.splitlines(), 1) if len(line) > MAX_WIDTH]
        if wide:
            raise self.error(
                f"example {rel}: lines {wide} are wider than {MAX_WIDTH} columns and would "
                "overflow the code block; wrap them"
            )
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
        problem = output_problem(rel, expected, proc.stdout)
        if problem is not None:
            raise self.error(problem)
        result: list[nodes.Node] = [code]
        if "no-output" not in self.options:
            para = nodes.paragraph(text="Output:")
            out = nodes.literal_block(proc.stdout, proc.stdout, language="text")
            out["classes"].append("runexample-output")
            result += [para, out]
        return result


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("runexample", RunExample)
    # Output of the executed examples wraps instead of overflowing its block.
    app.add_css_file("runexample.css")
    return {"parallel_read_safe": True, "version": "1"}
