"""Sphinx configuration for the loopcore documentation site."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "loopcore"
author = "The loopcore developers"
copyright = "2026, The loopcore developers"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.napoleon",
    "runexample",
]

html_theme = "furo"
html_title = "loopcore"
exclude_patterns = ["_build", "examples/README.md"]

# The build has no internet: Python's inventory is a committed file, made by
# docs/_tools/make_python_inventory.py.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", str(HERE / "_inv" / "python3.inv")),
}
intersphinx_timeout = 1

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
# Our annotations name many generic types; resolving every one is noise.
nitpicky = False
suppress_warnings = ["ref.python"]
