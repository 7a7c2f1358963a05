"""The expected output an example carries, and the check of what it printed.

Every runnable example under ``docs/examples/`` ends with a block of comment lines::

    # Expected output ("..." stands for any text):
    # gathered [0, 1, 2]

``run_all.py`` (``nox -s demo``) and the ``runexample`` directive (the docs build) run
the example and compare its standard output with the block, as doctest does with
``ELLIPSIS``: ``...`` matches any text, across lines too. An example whose output
differs, or that has no block, fails. The directive shows the source without it.
"""

from __future__ import annotations

import doctest

MARKER = "# Expected output"


def split_example(source: str) -> tuple[str, str | None]:
    """``(code, expected)``: the source without the block, and the block's text
    (``None`` when the example has no block)."""
    lines = source.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith(MARKER):
            expected = [
                text[2:] if text.startswith("# ") else text.lstrip("#")
                for text in lines[index + 1 :]
            ]
            return "".join(lines[:index]).rstrip() + "\n", "".join(expected)
    return source, None


def output_problem(name: str, expected: str | None, got: str) -> str | None:
    """Why *got* is not what the example *name* expects, or ``None`` when it is."""
    if expected is None:
        return f"{name} has no '{MARKER}' block: say what it must print"
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS
    if checker.check_output(expected, got, flags):
        return None
    return f"{name} printed something else than it expects:\n" + checker.output_difference(
        doctest.Example("", expected), got, flags | doctest.REPORT_UDIFF
    )
