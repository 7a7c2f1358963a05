"""Run every example of the docs and check that each printed what it expects.

Each example names what it needs on a line ``# requires: a, b`` (our distributions
and any other package it imports) and ends with the output it must print (see
``docs/_ext/example_output.py``). A requirement that is not installed, a non-zero
exit or different output is a failure, reported on a line starting with ``!!``.
This is what ``nox -s demo`` runs; the docs build runs and checks the same files.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "_ext"))

from example_output import output_problem, split_example  # noqa: E402


def requirements(path: Path) -> list[str]:
    for line in path.read_text().splitlines():
        if line.startswith("# requires:"):
            return [
                name.strip()
                for name in line.split(":", 1)[1].split(",")
                if name.strip()
            ]
    return ["loopcore"]


def main() -> int:
    failures = 0
    ran = 0
    for path in sorted(HERE.glob("*.py")):
        if path.name == "run_all.py":
            continue
        ran += 1
        needed = requirements(path)
        missing = [name for name in needed if importlib.util.find_spec(name) is None]
        if missing:
            failures += 1
            print(f"!! {path.name}: needs {', '.join(missing)}, not installed here")
            continue
        print(f"== {path.name} (uses {', '.join(needed)})")
        proc = subprocess.run(
            [sys.executable, str(path)],
            cwd=HERE,
            timeout=120,
            check=False,
            capture_output=True,
            text=True,
        )
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        if proc.returncode != 0:
            failures += 1
            print(f"!! {path.name} exited with {proc.returncode}")
            continue
        _, expected = split_example(path.read_text())
        problem = output_problem(path.name, expected, proc.stdout)
        if problem is not None:
            failures += 1
            print(f"!! {problem}")
    print(f"demo: {ran - failures} passed, {failures} failed")
    return 1 if failures or not ran else 0


if __name__ == "__main__":
    sys.exit(main())
