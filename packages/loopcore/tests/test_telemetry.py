"""Telemetry: always-on counters, opt-in callback timing, and the stall detector."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest

import loopcore
from loopcore import telemetry
from loopcore.base_loop import BaseEventLoop


def test_always_on_counters_count_iterations_and_callbacks():
    loop = BaseEventLoop()
    try:
        before = loop.get_telemetry()
        assert before["iterations"] == 0 and before["callbacks"] == 0
        for _ in range(5):
            loop.call_soon(int)
        loop.call_soon(loop.stop)
        loop.run_forever()
        after = loop.get_telemetry()
        assert after["iterations"] >= 1
        assert after["callbacks"] >= 6
        assert after["detail"] is False and "histogram" not in after
        json.dumps(after)
    finally:
        loop.close()


async def test_loop_lag_is_how_late_timers_fire(loopcore_loop, loopcore_clock):
    fired = loopcore_loop.create_future()
    loopcore_loop.call_later(5, fired.set_result, None)
    # Jumping 8 s ahead makes the 5 s timer fire 3 s late: a lag of exactly 3 s.
    loopcore_clock.advance(8)
    await fired
    stats = loopcore_loop.get_telemetry()
    assert stats["timers_fired"] == 1
    assert stats["lag_max"] == 3.0
    assert stats["lag_mean"] == 3.0


async def test_timers_fired_on_time_have_no_lag(loopcore_loop, loopcore_clock):
    for delay in (1, 2, 3):
        await loopcore.sleep(delay)
    stats = loopcore_loop.get_telemetry()
    assert stats["timers_fired"] == 3
    assert stats["lag_max"] == 0.0


async def test_detail_gives_a_histogram_and_per_callback_figures(loopcore_loop):
    loopcore_loop.set_telemetry(detail=True)

    async def worker():
        for _ in range(3):
            await loopcore.sleep(0)

    await loopcore_loop.create_task(worker())
    stats = loopcore_loop.get_telemetry()
    assert stats["detail"] is True
    counts = [b["count"] for b in stats["histogram"]]
    assert sum(counts) >= 4
    assert [b["le"] for b in stats["histogram"]] == [*telemetry.HISTOGRAM_BOUNDS, None]
    worker_stats = next(v for k, v in stats["per_callback"].items() if k.endswith("worker"))
    assert worker_stats["count"] == 4  # the first step and three wake-ups
    assert worker_stats["max"] <= worker_stats["total"]
    loopcore_loop.set_telemetry(detail=False)
    assert loopcore_loop.get_telemetry()["detail"] is False
    # The figures gathered so far stay readable.
    assert "per_callback" in loopcore_loop.get_telemetry()


def test_without_detail_or_detector_the_fast_run_phase_is_kept():
    loop = BaseEventLoop()
    try:
        loop.set_telemetry(detail=True)
        assert loop._run_observer is not None
        loop.set_telemetry(detail=False)
        assert loop._run_observer is None
    finally:
        loop.close()


def _blocker(seconds):
    time.sleep(seconds)  # the fault: a callback that holds the loop


class _SetOnRecord(logging.Handler):
    """Sets an event when the stall detector logs, so that the blocking callback can
    hold the loop exactly until the stall has been seen (no guessing of durations)."""

    def __init__(self):
        super().__init__()
        self.seen = threading.Event()

    def emit(self, record):
        self.seen.set()


def _hold_until(event, extra=0.0):
    # The fault: a callback that holds the loop until the detector has reported it.
    assert event.wait(30), "the stall detector never reported the stall"
    if extra:
        time.sleep(extra)


def _with_stall_handler(fn):
    # On the root logger, after caplog's handler: the event is set only once caplog
    # has the record too.
    handler = _SetOnRecord()
    handler.addFilter(lambda record: record.name == "loopcore.stall")
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        fn(handler.seen)
    finally:
        root.removeHandler(handler)


def test_stall_detector_logs_the_stack_captured_during_the_stall(caplog):
    loop = BaseEventLoop()
    try:
        loop.set_telemetry(stall_threshold=0.05)

        def run(seen):
            with caplog.at_level(logging.WARNING, logger="loopcore.stall"):
                loop.call_soon(_hold_until, seen)
                loop.call_soon(loop.stop)
                loop.run_forever()

        _with_stall_handler(run)
        [record] = [r for r in caplog.records if r.name == "loopcore.stall"]
        message = record.getMessage()
        assert "stalled" in message and "_hold_until" in message
        # The stack shows the blocking frame: it was taken while the loop was stuck
        # inside it (afterwards that frame no longer exists).
        assert "event.wait(30)" in message
        [stall] = loop.get_telemetry()["stalls"]
        assert stall["stalled_for"] >= 0.05
        assert any("in _hold_until" in line for line in stall["stack"])
    finally:
        loop.close()


def test_a_stall_is_reported_once_and_short_callbacks_not_at_all(caplog):
    loop = BaseEventLoop()
    try:
        loop.set_telemetry(stall_threshold=0.05)

        def run(seen):
            with caplog.at_level(logging.WARNING, logger="loopcore.stall"):
                for _ in range(50):
                    loop.call_soon(int)
                # Keep holding for several more detector rounds after the report.
                loop.call_soon(_hold_until, seen, 0.2)
                loop.call_soon(loop.stop)
                loop.run_forever()

        _with_stall_handler(run)
        assert len([r for r in caplog.records if r.name == "loopcore.stall"]) == 1
    finally:
        loop.close()


def test_stall_detector_thread_stops_with_none_and_with_close():
    loop = BaseEventLoop()
    loop.set_telemetry(stall_threshold=1.0)
    assert loop.get_telemetry()["stall_threshold"] == 1.0
    threads = [t for t in threading.enumerate() if t.name == "loopcore-stall-detector"]
    assert threads
    loop.set_telemetry(stall_threshold=None)
    assert loop.get_telemetry()["stall_threshold"] is None
    assert not any(t.is_alive() for t in threads)
    loop.set_telemetry(stall_threshold=0.5)
    watchdog_thread = loop._telemetry_observer.watchdog.thread
    loop.close()
    assert not watchdog_thread.is_alive()


@pytest.mark.parametrize("bad", [0, -1, True, float("nan")])
def test_stall_threshold_must_be_positive(bad):
    loop = BaseEventLoop()
    try:
        with pytest.raises(ValueError, match="stall_threshold"):
            loop.set_telemetry(stall_threshold=bad)
    finally:
        loop.close()


def test_telemetry_cannot_be_set_on_a_closed_loop():
    loop = BaseEventLoop()
    loop.close()
    with pytest.raises(RuntimeError, match="closed"):
        loop.set_telemetry(detail=True)


def test_debug_mode_still_logs_slow_callbacks_with_an_observer(caplog):
    loop = BaseEventLoop()
    try:
        loop.set_debug(True)
        loop.slow_callback_duration = 0.01
        loop.set_telemetry(detail=True)
        with caplog.at_level(logging.WARNING, logger="loopcore"):
            loop.call_soon(_blocker, 0.05)
            loop.call_soon(loop.stop)
            loop.run_forever()
        assert any("took" in r.getMessage() for r in caplog.records if r.name == "loopcore")
    finally:
        loop.close()


def test_a_loop_idle_in_its_poll_is_not_a_stall(caplog):
    loop = BaseEventLoop()
    try:
        loop.set_telemetry(stall_threshold=0.05)
        idle = threading.Event()
        with caplog.at_level(logging.WARNING, logger="loopcore.stall"):
            # The loop waits (in its poll) for a thread that takes several thresholds.
            loop.run_until_complete(loop.run_in_executor(None, idle.wait, 0.3))
        assert [r for r in caplog.records if r.name == "loopcore.stall"] == []
        assert loop.get_telemetry()["stalls"] == []
    finally:
        loop.close()
