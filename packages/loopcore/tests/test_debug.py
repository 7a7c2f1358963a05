"""Debug mode: how it is turned on, and what it checks and reports."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import threading

import pytest

from loopcore.base_loop import BaseEventLoop


@pytest.fixture
def loop():
    loop = BaseEventLoop()
    loop.set_debug(True)
    yield loop
    loop.close()


def _debug_in_subprocess(env_value: str | None, *flags: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "LOOPCORE_DEBUG"}
    if env_value is not None:
        env["LOOPCORE_DEBUG"] = env_value
    code = "import loopcore.base_loop as b; l = b.BaseEventLoop(); print(l.get_debug()); l.close()"
    out = subprocess.run(
        [sys.executable, *flags, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "False"), ("", "False"), ("0", "False"), ("1", "True"), ("yes", "True")],
)
def test_loopcore_debug_environment_variable_turns_debug_mode_on(value, expected):
    assert _debug_in_subprocess(value) == expected


def test_python_development_mode_turns_debug_mode_on():
    assert _debug_in_subprocess(None, "-X", "dev") == "True"


def test_set_debug_and_get_debug():
    loop = BaseEventLoop()
    try:
        loop.set_debug(True)
        assert loop.get_debug() is True
        loop.set_debug(False)
        assert loop.get_debug() is False
    finally:
        loop.close()


def test_slow_callback_is_logged_with_its_source(loop, caplog):
    loop.slow_callback_duration = 0.0  # every callback is "slow"

    def sluggish():
        pass

    loop.call_soon(sluggish)
    loop.call_soon(loop.stop)
    with caplog.at_level(logging.WARNING, logger="loopcore"):
        loop.run_forever()
    messages = [r.getMessage() for r in caplog.records if "sluggish" in r.getMessage()]
    assert len(messages) == 1
    assert messages[0].startswith("Executing <Handle")
    assert "took" in messages[0]
    assert "created at" in messages[0] and __file__ in messages[0]


def test_fast_callbacks_are_not_logged(loop, caplog):
    loop.slow_callback_duration = 60.0
    loop.call_soon(int)
    loop.call_soon(loop.stop)
    with caplog.at_level(logging.WARNING, logger="loopcore"):
        loop.run_forever()
    assert not [r for r in caplog.records if "Executing" in r.getMessage()]


def test_slow_task_step_is_logged_with_the_task(loop, caplog):
    loop.slow_callback_duration = 0.0

    async def slow_coroutine():
        return 1

    with caplog.at_level(logging.WARNING, logger="loopcore"):
        loop.run_until_complete(slow_coroutine())
    assert any(
        "Executing <Task" in r.getMessage() and "slow_coroutine" in r.getMessage()
        for r in caplog.records
    )


def test_slow_callbacks_are_not_timed_outside_debug_mode(caplog):
    loop = BaseEventLoop()
    try:
        loop.set_debug(False)
        loop.slow_callback_duration = 0.0
        loop.call_soon(int)
        loop.call_soon(loop.stop)
        with caplog.at_level(logging.WARNING, logger="loopcore"):
            loop.run_forever()
    finally:
        loop.close()
    assert not [r for r in caplog.records if "Executing" in r.getMessage()]


async def _coro():
    return None


def _create_task_closing_on_error(lp):
    coro = _coro()
    try:
        lp.create_task(coro)
    except BaseException:
        coro.close()
        raise


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda lp: lp.call_soon(int), id="call_soon"),
        pytest.param(lambda lp: lp.call_later(1, int), id="call_later"),
        pytest.param(lambda lp: lp.call_at(1, int), id="call_at"),
        pytest.param(_create_task_closing_on_error, id="create_task"),
        pytest.param(lambda lp: lp.add_reader(0, int), id="add_reader"),
        pytest.param(lambda lp: lp.add_writer(1, int), id="add_writer"),
        pytest.param(lambda lp: lp.remove_reader(0), id="remove_reader"),
        pytest.param(lambda lp: lp.run_in_executor(None, int), id="run_in_executor"),
    ],
)
def test_non_threadsafe_call_from_another_thread_raises_in_debug_mode(loop, call):
    errors = []

    def other_thread():
        try:
            call(loop)
        except RuntimeError as exc:
            errors.append(str(exc))
        finally:
            loop.call_soon_threadsafe(loop.stop)

    def start():
        threading.Thread(target=other_thread).start()

    loop.call_soon(start)
    loop.run_forever()
    assert len(errors) == 1
    assert (
        "Non-thread-safe operation invoked on an event loop other than the current one"
        in (errors[0])
    )


def test_call_soon_threadsafe_from_another_thread_is_allowed_in_debug_mode(loop):
    thread = threading.Thread(target=lambda: loop.call_soon_threadsafe(loop.stop))
    loop.call_soon(thread.start)
    loop.run_forever()
    thread.join()


def test_handles_and_futures_record_where_they_were_created_in_debug_mode(loop):
    name = "test_handles_and_futures_record_where_they_were_created_in_debug_mode"
    handles = [loop.call_soon(int), loop.call_later(1, int), loop.call_at(1, int)]
    handles.append(loop.call_soon_threadsafe(int))
    fut = loop.create_future()
    for handle in handles:
        assert handle._source_traceback[-1].name == name
        handle.cancel()
    assert fut._source_traceback[-1].name == name
    task = loop.create_task(_coro())
    assert task._source_traceback[-1].name == name
    loop.run_until_complete(task)


def test_coroutine_origin_tracking_is_on_while_a_debug_loop_runs_and_restored_after(loop):
    before = sys.get_coroutine_origin_tracking_depth()
    seen = []
    loop.call_soon(lambda: seen.append(sys.get_coroutine_origin_tracking_depth()))
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen[0] >= 10
    assert sys.get_coroutine_origin_tracking_depth() == before


def test_set_debug_while_running_switches_origin_tracking(loop):
    loop.set_debug(False)
    seen = []

    def turn_on():
        loop.set_debug(True)
        loop.call_soon(lambda: seen.append(sys.get_coroutine_origin_tracking_depth()))
        loop.call_soon(loop.stop)

    before = sys.get_coroutine_origin_tracking_depth()
    loop.call_soon(turn_on)
    loop.run_forever()
    assert seen[0] >= 10
    assert sys.get_coroutine_origin_tracking_depth() == before


def test_coroutine_never_awaited_is_reported_with_where_it_was_created(loop):
    async def forgotten():
        pass

    def make_and_drop():
        forgotten()  # never awaited

    loop.call_soon(make_and_drop)
    loop.call_soon(loop.stop)
    with pytest.warns(RuntimeWarning, match="was never awaited") as record:
        loop.run_forever()
        gc.collect()
    text = "\n".join(str(w.message) for w in record)
    assert "Coroutine created at" in text
    assert "make_and_drop" in text


def test_debug_mode_reports_where_a_future_with_a_lost_exception_was_created(loop, caplog):
    def make_and_drop():
        fut = loop.create_future()
        fut.set_exception(ValueError("never retrieved"))

    loop.call_soon(make_and_drop)
    loop.call_soon(loop.stop)
    with caplog.at_level(logging.ERROR, logger="loopcore"):
        loop.run_forever()
        gc.collect()
    assert "exception was never retrieved" in caplog.text
    assert "Object created at" in caplog.text
    assert "make_and_drop" in caplog.text
