"""Shared helpers of the reliability suites (load, backpressure, faults, storms, fuzz).

Measurements of this process (fds, RSS), the fd limit, and checks that a loop has
nothing left behind: no task but the caller, no callback or live timer, no selector
key beyond the given ones, no open transport.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import loopcore
from loopcore import AbstractEventLoop

RESULTS = Path(__file__).parent / "results"


def fd_count() -> int:
    """How many file descriptors this process has open now."""
    # listdir opens one fd of its own while it runs: it is counted every time alike.
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    """This process's resident set size now, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def settled_rss_bytes() -> int:
    """RSS after a full collection and after the C allocator gave back its free pages.

    glibc keeps freed memory in its arenas; ``malloc_trim(0)`` returns what is free to
    the OS, so that what remains is memory still in use (plus fragmentation).
    """
    gc.collect()
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: measure as is
    return rss_bytes()


def pymalloc_arenas() -> int | None:
    """How many arenas Python's small-object allocator holds now (None if unknown).

    Read from ``sys._debugmallocstats()``, which writes to the C-level stderr.
    """
    import re
    import sys
    import tempfile

    debug_stats = getattr(sys, "_debugmallocstats", None)
    if debug_stats is None:
        return None
    with tempfile.TemporaryFile() as tmp:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            debug_stats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    found = re.search(r"# arenas allocated current\s*=\s*([\d,]+)", text)
    return int(found.group(1).replace(",", "")) if found else None


def raise_nofile(wanted: int | None = None) -> int:
    """Raise the soft RLIMIT_NOFILE to *wanted* (or the hard limit), never above it.

    Returns the soft limit now in force.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if wanted is None else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@contextmanager
def nofile_limit(soft: int) -> Iterator[None]:
    """Lower the soft RLIMIT_NOFILE to *soft* for the block, for real."""
    old_soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (old_soft, hard))


def open_transports() -> list[object]:
    """Every transport object alive in this process that is not closing or closed."""
    from looptransports import BaseTransport

    gc.collect()
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, BaseTransport):
            try:
                closing = obj.is_closing()
            except Exception:
                closing = True
            if not closing:
                found.append(obj)
    return found


def live_transports() -> int:
    """How many transport objects are alive in this process (closed or not)."""
    from looptransports import BaseTransport

    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, BaseTransport))


async def settle(rounds: int = 5) -> None:
    """Let the loop run a few iterations, so that scheduled closes complete."""
    for _ in range(rounds):
        await loopcore.sleep(0)


def leftovers(loop: AbstractEventLoop, keep_fds: int) -> dict[str, object]:
    """What *loop* still holds, beyond the running task and *keep_fds* selector keys.

    Returns a dict of non-empty findings (empty when the loop is clean): ``tasks``,
    ``callbacks`` (ready handles not cancelled), ``timers`` (live timers),
    ``selector_keys`` (count beyond *keep_fds*).
    """
    found: dict[str, object] = {}
    current = loopcore.current_task()
    tasks = [t for t in loopcore.all_tasks(loop) if t is not current and not t.done()]
    if tasks:
        found["tasks"] = [repr(t) for t in tasks]
    ready = [h for h in loop._ready if not h._cancelled]  # type: ignore[attr-defined]
    if ready:
        found["callbacks"] = [repr(h) for h in ready]
    timers = [t for t in loop._scheduled if not t._cancelled]  # type: ignore[attr-defined]
    if timers:
        found["timers"] = [repr(t) for t in timers]
    keys = len(loop._io)  # type: ignore[attr-defined]
    if keys != keep_fds:
        found["selector_keys"] = keys
    return found


def selector_keys(loop: AbstractEventLoop) -> int:
    """How many fds *loop*'s selector watches now (its self-pipe included)."""
    return len(loop._io)  # type: ignore[attr-defined]


def record(name: str, figures: dict[str, object]) -> Path:
    """Write *figures* to ``tests_integration/results/<name>.json`` and print them."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    figures = {"recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **figures}
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\n{name}: {json.dumps(figures)}")
    return path
