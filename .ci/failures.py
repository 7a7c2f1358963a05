"""Repeat, at the end of a CI log, the last lines of every nox session that failed.

CI pages often keep only the tail of a long log; nox's own summary there says which
sessions failed but not why. Usage: ``python3 .ci/failures.py LOG [LINES]``.
"""

from __future__ import annotations

import re
import sys

_START = re.compile(r"^nox > Running session (\S+)")
_FAILED = re.compile(r"^nox > Session (\S+) (?:failed|raised|aborted)")


def main() -> int:
    path = sys.argv[1]
    keep = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    failed: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            line = line.rstrip("\n")
            if m := _START.match(line):
                current = sections.setdefault(m.group(1), [])
            if current is not None:
                current.append(line)
            if m := _FAILED.match(line):
                failed.append(m.group(1))
    if not failed:
        print("== CI failed before or outside any nox session; see the log above.")
        return 0
    for name in failed:
        lines = sections.get(name, [])
        print(f"== why {name} failed: its last {min(keep, len(lines))} lines")
        for line in lines[-keep:]:
            print(f"   {line}")
    print(f"== failed sessions: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
