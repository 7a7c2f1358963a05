"""Fail when a public name of a distribution is missing from the built docs site.

Reads the inventory Sphinx wrote (``docs/_build/html/objects.inv``) and checks that
every name in each package's ``__all__`` is documented somewhere, under the package
itself or under the module that defines it. Run by ``nox -s docs`` after the build.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from sphinx.util.inventory import InventoryFile

PACKAGES = [
    "loopcore",
    "looptransports",
    "loopsync",
    "loopstreams",
    "loopasyncio",
    "loopcore.testing",
]


def documented_names(inventory_path: Path) -> set[str]:
    with inventory_path.open("rb") as stream:
        inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
    names: set[str] = set()
    for role, entries in inventory.items():
        if role.startswith("py:"):
            names.update(entries)
    return names


def main() -> int:
    build = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "_build/html"
    names = documented_names(build / "objects.inv")
    missing = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if getattr(obj, "__module__", None) == "builtins":
                continue  # e.g. TimeoutError: documented by Python itself
            candidates = {f"{package}.{name}"}
            defined_in = getattr(obj, "__module__", None)
            if isinstance(defined_in, str):
                candidates.add(f"{defined_in}.{name}")
                candidates.add(f"{defined_in}.{getattr(obj, '__qualname__', name)}")
            # Plain values (constants) carry no __module__: any submodule may hold them.
            top = package.split(".")[0]
            in_submodule = any(n.startswith(top + ".") and n.endswith("." + name) for n in names)
            if not candidates & names and not in_submodule:
                missing.append(f"{package}.{name}")
    if missing:
        print("public names missing from the docs site:\n  " + "\n  ".join(missing))
        return 1
    print(f"docs coverage: every public name of {', '.join(PACKAGES)} is documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
