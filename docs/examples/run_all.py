"""Run every example of the docs whose layers are installed, and say what each did.

Each example names the distributions it needs on a line ``# requires: a, b``. This
is what ``nox -s demo`` runs; the docs build runs the same files.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def requirements(path: Path) -> list[str]:
    for line in path.read_text().splitlines():
        if line.startswith("# requires:"):
            return [name.strip() for name in line.split(":", 1)[1].split(",") if name.strip()]
    return ["loopcore"]


def main() -> int:
    failures = 0
    ran = 0
    for path in sorted(HERE.glob("*.py")):
        if path.name == "run_all.py":
            continue
        needed = requirements(path)
        missing = [name for name in needed if importlib.util.find_spec(name) is None]
        if missing:
            print(f"-- {path.name}: skipped, needs {', '.join(missing)}")
            continue
        print(f"== {path.name} (uses {', '.join(needed)})")
        proc = subprocess.run([sys.executable, str(path)], cwd=HERE, timeout=120, check=False)
        ran += 1
        if proc.returncode != 0:
            failures += 1
            print(f"!! {path.name} exited with {proc.returncode}")
    print(f"demo: {ran - failures} passed, {failures} failed")
    return 1 if failures or not ran else 0


if __name__ == "__main__":
    sys.exit(main())
