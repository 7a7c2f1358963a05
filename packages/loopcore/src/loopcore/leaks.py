"""The leak report of debug mode: what a loop leaves behind when it closes.

In debug mode, ``loop.close()`` (and so the end of :func:`loopcore.run`) calls
:func:`report_leaks`, which logs one WARNING record on the ``loopcore.leaks`` logger
listing, each with the place it was created:

* tasks still pending;
* coroutines created but never awaited (Python records their origin while a loop
  runs in debug mode);
* resources never closed (transports, servers: whatever upper layers registered with
  :func:`loopcore.introspect.register_resource`);
* futures whose exception nobody retrieved, still alive (those already collected
  were reported to the exception handler when they were).

:func:`find_leaks` returns the same as data, for tools and tests. Both walk the
garbage collector's objects, which is slow: that is why this runs only in debug
mode.
"""

from __future__ import annotations

import gc
import inspect
import logging
import traceback
from typing import TYPE_CHECKING

from . import futures, introspect, tasks

if TYPE_CHECKING:
    from .events import AbstractEventLoop

__all__ = ["find_leaks", "format_leaks", "report_leaks"]

logger = logging.getLogger("loopcore.leaks")


def _origin_of_summary(summary: object) -> list[dict[str, object]] | None:
    if not summary:
        return None
    return [
        {"file": f.filename, "line": f.lineno, "function": f.name}
        for f in summary  # type: ignore[attr-defined]
    ]


def find_leaks(loop: AbstractEventLoop) -> dict[str, list[dict[str, object]]]:
    """What *loop* leaves behind now, as JSON-able data.

    Keys: ``tasks`` (pending tasks), ``coroutines`` (created, never started, with an
    origin recorded: anywhere in the process, since a coroutine does not know its
    loop), ``resources`` (registered and still open), ``futures`` (alive futures of
    *loop* holding an exception nobody retrieved). Each entry has ``repr`` and
    ``created_at`` (frames ``file``/``line``/``function``, or ``None`` when not
    recorded).
    """
    found: dict[str, list[dict[str, object]]] = {
        "tasks": [],
        "coroutines": [],
        "resources": [],
        "futures": [],
    }
    for task in sorted(tasks.all_tasks(loop), key=lambda t: t.get_name()):
        found["tasks"].append(
            {"repr": repr(task), "created_at": _origin_of_summary(task._source_traceback)}
        )
    for resource in introspect._open_resource_objects(loop):
        found["resources"].append(
            {
                "repr": introspect._short_repr(resource),
                "created_at": _origin_of_summary(introspect._resource_origin(resource)),
            }
        )
    gc.collect()
    for obj in gc.get_objects():
        if inspect.iscoroutine(obj):
            origin = obj.cr_origin
            if origin and inspect.getcoroutinestate(obj) == inspect.CORO_CREATED:
                # cr_origin is innermost first; we list frames outermost first.
                frames = [{"file": f, "line": n, "function": fn} for f, n, fn in reversed(origin)]
                found["coroutines"].append({"repr": repr(obj), "created_at": frames})
        elif isinstance(obj, futures.Future) and obj._loop is loop and obj._log_traceback:
            found["futures"].append(
                {
                    "repr": repr(obj),
                    "exception": repr(obj._exception),
                    "created_at": _origin_of_summary(obj._source_traceback),
                }
            )
    return found


_TITLES = {
    "tasks": "tasks still pending",
    "coroutines": "coroutines never awaited",
    "resources": "resources never closed",
    "futures": "futures whose exception was never retrieved",
}


def _user_frames(created: list[dict[str, object]]) -> list[dict[str, object]]:
    """The last frames outside loopcore's own code (the task machinery says nothing
    about who leaked what), or the last frame if all are loopcore's."""
    outside = [f for f in created if not introspect._is_internal_file(str(f["file"]))]
    return outside[-3:] if outside else created[-1:]


def format_leaks(leaks: dict[str, list[dict[str, object]]]) -> str:
    """The report of :func:`find_leaks` as text (empty when nothing leaked)."""
    lines: list[str] = []
    for key, title in _TITLES.items():
        entries = leaks.get(key) or []
        if not entries:
            continue
        lines.append(f"{len(entries)} {title}:")
        for entry in entries:
            lines.append(f"  {entry['repr']}")
            created = entry.get("created_at")
            if created:
                shown = _user_frames(created)  # type: ignore[arg-type]
                frames = [
                    (str(f["file"]), int(str(f["line"])), str(f["function"]), None) for f in shown
                ]
                text = "".join(traceback.format_list(frames)).rstrip()
                lines.append("    created at (most recent call last):")
                lines.extend("    " + line for line in text.splitlines())
            else:
                lines.append("    (where it was created was not recorded)")
    return "\n".join(lines)


def report_leaks(loop: AbstractEventLoop) -> dict[str, list[dict[str, object]]]:
    """Log :func:`find_leaks` on the ``loopcore.leaks`` logger (WARNING) if anything
    leaked; return the findings. Called by ``loop.close()`` in debug mode."""
    leaks = find_leaks(loop)
    text = format_leaks(leaks)
    if text:
        logger.warning("leak report of %r at close:\n%s", loop, text)
    return leaks
