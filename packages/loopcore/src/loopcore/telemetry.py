"""Loop telemetry: cheap always-on counters, opt-in detail, and a stall detector.

Always on (a few integer and float operations per iteration and per fired timer,
kept by :class:`~loopcore.base_loop.BaseEventLoop` itself):

* ``iterations``: loop iterations run;
* ``callbacks``: callbacks taken from the ready queue;
* ``timers_fired`` and the *loop lag* sampled from them: how late each timer ran
  compared with its deadline (``lag_mean``, ``lag_max``). A loop whose timers fire
  late is a loop whose callbacks are too slow or too many.

Opt-in (:func:`set_telemetry` with ``detail=True``; each callback is then timed with
two clock reads, which costs about what debug mode's slow-callback check costs):

* ``histogram``: callback durations in logarithmic buckets;
* ``per_callback``: count, total and maximum duration per callback (a task's steps are
  counted under its coroutine's name).

Stall detector (:func:`set_telemetry` with ``stall_threshold=seconds``): a watchdog
thread that, when one callback holds the loop longer than the threshold, captures the
loop thread's stack *while it is stalled* (:func:`sys._current_frames`) and logs it
on the ``loopcore.stall`` logger at WARNING level, once per stall. The last stalls
are kept in the snapshot (``stalls``).

Read everything with :func:`snapshot` (``loop.get_telemetry()``): a JSON-able dict.
"""

from __future__ import annotations

import bisect
import logging
import sys
import threading
import traceback
import types
from collections import deque
from typing import TYPE_CHECKING

from . import _clock
from .handles import Handle, format_callback

if TYPE_CHECKING:
    from .base_loop import BaseEventLoop

__all__ = ["HISTOGRAM_BOUNDS", "set_telemetry", "snapshot"]

logger = logging.getLogger("loopcore.stall")

#: Upper bounds (seconds) of the callback-duration histogram buckets; the last
#: bucket holds everything slower than the last bound.
HISTOGRAM_BOUNDS: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)

# How many stalls the snapshot remembers.
_MAX_STALLS = 20
# The watchdog looks this many times per threshold: a stall is noticed at most a
# quarter of the threshold late.
_CHECKS_PER_THRESHOLD = 4
# How many distinct callbacks get their own per-callback figures.
_MAX_KEYS = 1000


def _callback_key(handle: Handle) -> object:
    """What per-callback figures are grouped by, cheap to compute on every callback:
    the code of a task's coroutine for its steps, else the callback's function
    (bound methods of different objects share it). Names are made only when read."""
    callback = handle._callback
    owner = getattr(callback, "__self__", None)
    coro = getattr(owner, "_coro", None)
    if coro is not None:
        return getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None) or type(coro)
    return getattr(callback, "__func__", callback)


def _key_name(key: object) -> str:
    if isinstance(key, types.CodeType):
        return f"task {key.co_qualname}"
    if isinstance(key, str):
        return key
    return format_callback(key)


def _describe_handle(handle: Handle) -> str:
    """The handle, or the task whose step it runs (which says more)."""
    owner = getattr(handle._callback, "__self__", None)
    if owner is not None and hasattr(owner, "_coro"):
        return repr(owner)
    return repr(handle)


class _Observer:
    """Told by the loop when each callback starts and ends (see
    ``BaseEventLoop._run_ready_debug``); feeds the detail counters and the
    watchdog."""

    def __init__(self, loop: BaseEventLoop) -> None:
        self.loop = loop
        self.detail = False
        self.histogram = [0] * (len(HISTOGRAM_BOUNDS) + 1)
        self.per_callback: dict[object, list[float]] = {}
        self.timed = 0
        # (handle, start) of the running callback, or None: one attribute, so that
        # the watchdog thread reads a consistent pair.
        self.current: tuple[Handle, float] | None = None
        self.watchdog: _Watchdog | None = None
        self.stalls: deque[dict[str, object]] = deque(maxlen=_MAX_STALLS)

    def started(self, handle: Handle, start: float) -> None:
        self.current = (handle, start)

    def finished(self, handle: Handle, duration: float) -> None:
        self.current = None
        if not self.detail:
            return
        self.timed += 1
        self.histogram[bisect.bisect_left(HISTOGRAM_BOUNDS, duration)] += 1
        key = _callback_key(handle)
        per_callback = self.per_callback
        entry = per_callback.get(key)
        if entry is None and len(per_callback) >= _MAX_KEYS:
            # Unbounded kinds of callbacks (a new partial each time): lump them.
            key = "<other callbacks>"
            entry = per_callback.get(key)
        if entry is None:
            per_callback[key] = [1, duration, duration]
        else:
            entry[0] += 1
            entry[1] += duration
            if duration > entry[2]:  # noqa: PLR1730 - no call per callback
                entry[2] = duration

    @property
    def needed(self) -> bool:
        return self.detail or self.watchdog is not None


class _Watchdog:
    """The stall detector's thread: looks at the running callback a few times per
    threshold and reports one that has run for longer than the threshold."""

    def __init__(self, observer: _Observer, threshold: float) -> None:
        self.observer = observer
        self.threshold = threshold
        self._stop = threading.Event()
        self._reported: tuple[int, float] | None = None
        self.thread = threading.Thread(
            target=self._run, name="loopcore-stall-detector", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.thread is not threading.current_thread():
            self.thread.join()

    def _run(self) -> None:
        interval = self.threshold / _CHECKS_PER_THRESHOLD
        while not self._stop.wait(interval):
            current = self.observer.current
            if current is None:
                continue
            handle, start = current
            stalled_for = _clock.wall_clock() - start
            key = (id(handle), start)
            if stalled_for < self.threshold or key == self._reported:
                continue
            thread_id = self.observer.loop._thread_id
            frame = sys._current_frames().get(thread_id) if thread_id is not None else None
            if self.observer.current is not current:
                continue  # it finished while we looked: not worth a report
            self._reported = key
            stack = traceback.format_stack(frame) if frame is not None else []
            record: dict[str, object] = {
                "callback": _describe_handle(handle),
                "stalled_for": stalled_for,
                "threshold": self.threshold,
                "stack": [line.rstrip("\n") for line in stack],
            }
            self.observer.stalls.append(record)
            logger.warning(
                "loop %r stalled: %s has held it for %.3f s (threshold %.3f s); "
                "stack of the loop thread now:\n%s",
                self.observer.loop,
                record["callback"],
                stalled_for,
                self.threshold,
                "".join(stack).rstrip(),
            )


def _observer(loop: BaseEventLoop) -> _Observer:
    observer = loop._run_observer
    if not isinstance(observer, _Observer):
        observer = _Observer(loop)
    return observer


def set_telemetry(
    loop: BaseEventLoop,
    *,
    detail: bool | None = None,
    stall_threshold: float | bool | None = False,
) -> None:
    """Turn the opt-in parts of telemetry on or off (``loop.set_telemetry``).

    :param detail: True to time every callback (histogram, per-callback figures);
        False to stop (the figures gathered so far are kept); None leaves it as is.
    :param stall_threshold: seconds: start (or restart) the stall detector with this
        threshold; ``None``: stop it; ``False`` (the default): leave it as is.
    :raises ValueError: for a threshold that is not a positive number.
    :raises RuntimeError: if the loop is closed.
    """
    if loop.is_closed():
        raise RuntimeError(f"cannot set telemetry on a closed loop: {loop!r}")
    observer = _observer(loop)
    if stall_threshold is not False:
        if stall_threshold is not None and (
            isinstance(stall_threshold, bool) or not float(stall_threshold) > 0.0
        ):
            raise ValueError(
                "stall_threshold must be a positive number of seconds or None, "
                f"got {stall_threshold!r}"
            )
        if observer.watchdog is not None:
            observer.watchdog.stop()
            observer.watchdog = None
        if stall_threshold is not None:
            observer.watchdog = _Watchdog(observer, float(stall_threshold))
    if detail is not None:
        observer.detail = bool(detail)
    loop._run_observer = observer if observer.needed else None
    # Keep the observer (and its figures) reachable even while it is switched off.
    loop._telemetry_observer = observer


def _stop(loop: BaseEventLoop) -> None:
    """Stop the watchdog thread (``loop.close()``)."""
    observer = getattr(loop, "_telemetry_observer", None)
    if isinstance(observer, _Observer) and observer.watchdog is not None:
        observer.watchdog.stop()
        observer.watchdog = None
    loop._run_observer = None


def snapshot(loop: BaseEventLoop) -> dict[str, object]:
    """The loop's telemetry as a JSON-able dict (``loop.get_telemetry()``).

    Keys: ``iterations``, ``callbacks``, ``timers_fired``, ``lag_mean``, ``lag_max``
    (seconds), ``ready`` (callbacks queued now), ``timers`` (timers in the heap),
    ``detail`` (bool), ``stall_threshold`` (seconds or None), and when detail was
    ever on: ``histogram`` (a list of ``{"le": bound, "count": n}``, the last bound
    being ``null`` for "slower"), ``per_callback`` (``{name: {"count", "total",
    "max"}}``, the 50 with the largest total); ``stalls`` (the last stalls seen).

    Safe to call from the loop's thread; from another thread the figures may be a
    few callbacks stale (they are read without a lock).
    """
    fired = loop._timers_fired
    data: dict[str, object] = {
        "iterations": loop._iterations,
        "callbacks": loop._callbacks_run,
        "timers_fired": fired,
        "lag_mean": (loop._timer_lag_total / fired) if fired else 0.0,
        "lag_max": loop._timer_lag_max,
        "ready": len(loop._ready),
        "timers": len(loop._scheduled) - loop._cancelled_timers,
        "detail": False,
        "stall_threshold": None,
    }
    observer = getattr(loop, "_telemetry_observer", None)
    if isinstance(observer, _Observer):
        data["detail"] = observer.detail
        watchdog = observer.watchdog
        data["stall_threshold"] = watchdog.threshold if watchdog is not None else None
        if observer.timed:
            bounds: list[float | None] = [*HISTOGRAM_BOUNDS, None]
            data["histogram"] = [
                {"le": bound, "count": count}
                for bound, count in zip(bounds, list(observer.histogram), strict=True)
            ]
            items = sorted(observer.per_callback.items(), key=lambda kv: kv[1][1], reverse=True)
            data["per_callback"] = {
                _key_name(key): {"count": int(v[0]), "total": v[1], "max": v[2]}
                for key, v in items[:50]
            }
        data["stalls"] = list(observer.stalls)
    return data
