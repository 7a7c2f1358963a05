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
html_static_path = ["_static"]  # runexample.css, added by the runexample extension
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


def setup(app: object) -> None:
    # Load the theme's own setup() now, before Sphinx compares the saved configuration
    # with this one: it declares the option pygments_dark_style, which a theme loaded
    # later adds after the comparison, so that every rebuild said "The configuration
    # has changed (1 option: 'pygments_dark_style')" and reread every page. (Furo
    # refuses to be listed in `extensions`.)
    app.setup_extension("furo")  # type: ignore[attr-defined]
