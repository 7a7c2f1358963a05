"""``python -m loopcore``: command-line tools.

``python -m loopcore monitor PATH [--watch SECONDS] [--json] [--what WHAT]`` asks the
monitor a program opened with ``loop.enable_monitor(PATH)`` what its loop is doing
and prints it: the task tree, the timers, the open resources and the counters
(or the raw JSON with ``--json``); ``--watch`` refreshes every SECONDS until Ctrl-C.

``python -m loopcore --version`` prints the version of loopcore, of each other layer
installed beside it, and of Python: the line to paste into a bug report.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from typing import TextIO

from . import introspect, monitor

__all__ = ["format_answer", "main", "version_line"]

#: The distributions of the stack, in layer order.
_LAYERS = ("loopcore", "looptransports", "loopsync", "loopstreams", "loopasyncio")


def version_line() -> str:
    """``loopcore 0.1.0, looptransports 0.1.0 (Python 3.11.7, Linux)``: loopcore's
    version and that of every other layer installed, read from the installed
    distributions' metadata (nothing is imported)."""
    found = []
    for name in _LAYERS:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            if name == "loopcore":  # run from a source tree that is not installed
                from . import __version__

                found.append(f"loopcore {__version__}")
    return f"{', '.join(found)} (Python {platform.python_version()}, {platform.system()})"


def _table(rows: list[list[str]], headers: list[str]) -> list[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line.rstrip(), "  ".join("-" * w for w in widths)]
    out += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return out


def _ms(seconds: object) -> str:
    return f"{float(seconds) * 1000:.3f} ms" if isinstance(seconds, (int, float)) else "-"


def format_answer(answer: dict[str, object]) -> str:
    """A monitor answer (see :mod:`loopcore.monitor`) as text for a person."""
    lines: list[str] = []
    if "error" in answer:
        return f"monitor error: {answer['error']}\n"
    header = f"{answer.get('loop')}  pid {answer.get('pid')}"
    if answer.get("answered"):
        header += f"  loop time {float(answer.get('time', 0.0)):.3f}"  # type: ignore[arg-type]
    lines.append(header)
    if not answer.get("answered", True):
        lines.append(f"!! the loop did not answer: {answer.get('reason')}")
        stack = answer.get("loop_thread_stack")
        if stack:
            lines.append("!! loop thread stack now (most recent call last):")
            lines.extend(str(x) for x in stack)  # type: ignore[attr-defined]
    tel = answer.get("telemetry")
    if isinstance(tel, dict) and "iterations" in tel:
        lines.append("")
        lines.append("counters")
        rows = [
            ["iterations", str(tel.get("iterations"))],
            ["callbacks run", str(tel.get("callbacks"))],
            ["ready now", str(tel.get("ready"))],
            ["timers pending", str(tel.get("timers"))],
            ["timers fired", str(tel.get("timers_fired"))],
            ["loop lag (mean)", _ms(tel.get("lag_mean"))],
            ["loop lag (max)", _ms(tel.get("lag_max"))],
            ["stall threshold", _ms(tel.get("stall_threshold"))],
        ]
        lines += _table(rows, ["counter", "value"])
        histogram = tel.get("histogram")
        if isinstance(histogram, list):
            lines.append("")
            lines.append("callback durations")
            rows = [
                [("<= " + _ms(b["le"])) if b["le"] is not None else "slower", str(b["count"])]
                for b in histogram
            ]
            lines += _table(rows, ["bucket", "count"])
        per_callback = tel.get("per_callback")
        if isinstance(per_callback, dict) and per_callback:
            lines.append("")
            lines.append("slowest callbacks (by total time)")
            rows = [
                [name, str(v["count"]), _ms(v["total"]), _ms(v["max"])]
                for name, v in list(per_callback.items())[:15]
            ]
            lines += _table(rows, ["callback", "count", "total", "max"])
        stalls = tel.get("stalls")
        if isinstance(stalls, list) and stalls:
            lines.append("")
            lines.append(
                f"stalls seen: {len(stalls)} (last: {stalls[-1].get('callback')}, "
                f"{_ms(stalls[-1].get('stalled_for'))})"
            )
    tree = answer.get("tasks")
    if isinstance(tree, list):
        lines.append("")
        lines.append("tasks")
        lines.append(introspect.format_task_tree(tree=tree, stack=True).rstrip())
    timers = answer.get("timers")
    if isinstance(timers, list):
        lines.append("")
        lines.append(f"timers ({len(timers)})")
        rows = [[f"{t['when']:.3f}", f"{t['in']:+.3f} s", str(t["callback"])] for t in timers[:30]]
        lines += _table(rows, ["when", "in", "callback"]) if rows else ["(none)"]
    resources = answer.get("resources")
    if isinstance(resources, list):
        lines.append("")
        lines.append(f"open resources ({len(resources)})")
        rows = [[str(r["kind"]), str(r["repr"])] for r in resources]
        lines += _table(rows, ["kind", "object"]) if rows else ["(none)"]
    return "\n".join(lines) + "\n"


def _show(path: str, what: str, as_json: bool, out: TextIO) -> int:
    try:
        answer = monitor.query(path, what)
    except OSError as exc:
        print(f"cannot reach a loopcore monitor at {path!r}: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"bad answer from {path!r}: {exc}", file=sys.stderr)
        return 1
    if as_json:
        out.write(json.dumps(answer, indent=2) + "\n")
    else:
        out.write(format_answer(answer))
    out.flush()
    return 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    out = sys.stdout if out is None else out
    parser = argparse.ArgumentParser(prog="python -m loopcore", description="loopcore tools")
    parser.add_argument(
        "--version", action="store_true", help="print the versions of the stack and exit"
    )
    sub = parser.add_subparsers(dest="command")
    mon = sub.add_parser("monitor", help="show what a monitored loop is doing")
    mon.add_argument("path", help="the Unix socket given to loop.enable_monitor()")
    mon.add_argument("--watch", type=float, metavar="SECONDS", help="refresh every SECONDS")
    mon.add_argument("--json", action="store_true", help="print the raw JSON answer")
    mon.add_argument("--what", choices=monitor.QUERIES, default="all", help="what to ask for")
    args = parser.parse_args(argv)
    if args.version:
        out.write(version_line() + "\n")
        return 0
    if args.command is None:
        parser.error("name a command (monitor), or --version")
    if args.watch is not None and not args.watch > 0:
        parser.error(f"--watch needs a positive number of seconds, got {args.watch}")
    if args.watch is None:
        return _show(args.path, args.what, args.json, out)
    try:
        while True:
            if not args.json and out.isatty():
                out.write("\x1b[H\x1b[2J")  # clear the screen
            status = _show(args.path, args.what, args.json, out)
            if status:
                return status
            time.sleep(args.watch)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
