"""The monitor: the loop's state as JSON over a real Unix socket, never blocking the loop."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

import pytest

import loopcore
from loopcore import monitor
from loopcore.__main__ import main
from loopcore.base_loop import BaseEventLoop


@pytest.fixture
def sock_path():
    # Unix socket paths are limited to ~100 bytes: pytest's tmp_path can be longer.
    directory = tempfile.mkdtemp(prefix="lcmon", dir="/tmp")
    yield os.path.join(directory, "m.sock")
    shutil.rmtree(directory, ignore_errors=True)


async def _napper():
    await loopcore.sleep(3600)


async def test_monitor_serves_tasks_timers_and_counters_as_json(loopcore_loop, sock_path):
    mon = loopcore_loop.enable_monitor(sock_path)
    assert mon.path == sock_path
    task = loopcore_loop.create_task(_napper(), name="napper")
    await loopcore.sleep(0)
    answer = await loopcore_loop.run_in_executor(None, monitor.query, sock_path)
    assert answer["answered"] is True
    assert answer["pid"] == os.getpid()
    names = [node["name"] for node in answer["tasks"]]
    assert "napper" in names
    napper = next(n for n in answer["tasks"] if n["name"] == "napper")
    assert napper["awaiting"]["kind"] == "sleep"
    assert any("_set_result_unless_cancelled" in t["callback"] for t in answer["timers"])
    assert answer["telemetry"]["iterations"] > 0
    assert answer["resources"] == []
    task.cancel()


async def test_each_query_returns_only_what_was_asked(loopcore_loop, sock_path):
    loopcore_loop.enable_monitor(sock_path)
    answer = await loopcore_loop.run_in_executor(None, monitor.query, sock_path, "telemetry")
    assert "telemetry" in answer and "tasks" not in answer and "timers" not in answer
    bad = await loopcore_loop.run_in_executor(None, monitor.query, sock_path, "secrets")
    assert "unknown query 'secrets'" in bad["error"]


async def test_a_stalled_loop_still_gets_an_answer_with_its_stack(
    loopcore_loop, sock_path, monkeypatch
):
    monkeypatch.setattr(monitor, "_LOOP_ANSWER_TIMEOUT", 0.2)
    loopcore_loop.enable_monitor(sock_path)
    answers = []
    answered = threading.Event()

    def ask():
        answers.append(monitor.query(sock_path))
        answered.set()

    thread = threading.Thread(target=ask)
    thread.start()

    def hold_the_loop():
        # The fault: a callback that blocks the loop until the monitor has answered.
        assert answered.wait(20)

    hold_the_loop()
    thread.join()
    [answer] = answers
    assert answer["answered"] is False
    assert "did not answer" in answer["reason"]
    assert any("hold_the_loop" in line for line in answer["loop_thread_stack"])
    assert "iterations" in answer["telemetry"]
    # The request left behind on the loop is dropped harmlessly once it runs.
    await loopcore.sleep(0)


def test_a_loop_that_is_not_running_is_answered_from_outside(sock_path):
    loop = BaseEventLoop()
    try:
        loop.enable_monitor(sock_path)
        answer = monitor.query(sock_path)
        assert answer["answered"] is False
        assert answer["reason"] == "the loop is not running"
        assert answer["telemetry"]["iterations"] == 0
    finally:
        loop.close()


def test_monitor_closes_with_the_loop_and_removes_its_socket(sock_path):
    loop = BaseEventLoop()
    mon = loop.enable_monitor(sock_path)
    assert os.path.exists(sock_path)
    loop.close()
    assert not os.path.exists(sock_path)
    assert "closed" in repr(mon)
    mon.close()  # idempotent
    with pytest.raises(OSError):
        monitor.query(sock_path)


def test_enabling_again_replaces_the_previous_monitor(sock_path):
    loop = BaseEventLoop()
    try:
        first = loop.enable_monitor(sock_path)
        second = loop.enable_monitor(sock_path + "2")
        assert "closed" in repr(first) and not os.path.exists(sock_path)
        assert monitor.query(second.path)["answered"] is False
    finally:
        loop.close()


def test_path_taken_by_a_file_or_a_live_monitor_is_refused(sock_path):
    with open(sock_path, "w") as f:
        f.write("not a socket")
    loop, other = BaseEventLoop(), BaseEventLoop()
    try:
        with pytest.raises(FileExistsError, match="not a socket"):
            loop.enable_monitor(sock_path)
        os.unlink(sock_path)
        loop.enable_monitor(sock_path)
        with pytest.raises(FileExistsError, match="already listening"):
            other.enable_monitor(sock_path)
    finally:
        loop.close()
        other.close()


def test_a_stale_socket_file_is_replaced(sock_path):
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(sock_path)
    stale.close()  # the file stays, nobody listens
    loop = BaseEventLoop()
    try:
        loop.enable_monitor(sock_path)
        assert monitor.query(sock_path)["answered"] is False
    finally:
        loop.close()


def test_a_closed_loop_cannot_be_monitored(sock_path):
    loop = BaseEventLoop()
    loop.close()
    with pytest.raises(RuntimeError, match="closed"):
        loop.enable_monitor(sock_path)


async def test_command_line_prints_a_tree_and_tables(loopcore_loop, sock_path):
    loopcore_loop.enable_monitor(sock_path)
    loopcore_loop.set_telemetry(detail=True)
    task = loopcore_loop.create_task(_napper(), name="napper")
    await loopcore.sleep(0)
    out = io.StringIO()
    status = await loopcore_loop.run_in_executor(None, main, ["monitor", sock_path], out)
    assert status == 0
    text = out.getvalue()
    assert "counters" in text and "iterations" in text
    assert "callback durations" in text
    assert "* napper:" in text and "awaiting [sleep]" in text
    assert "timers (" in text and "open resources (0)" in text
    task.cancel()


async def test_command_line_json_and_unreachable_path(loopcore_loop, sock_path):
    loopcore_loop.enable_monitor(sock_path)
    out = io.StringIO()
    assert (
        await loopcore_loop.run_in_executor(None, main, ["monitor", sock_path, "--json"], out) == 0
    )
    assert '"answered": true' in out.getvalue()
    assert main(["monitor", sock_path + ".missing"], io.StringIO()) == 1


async def test_python_dash_m_loopcore_monitor_runs_as_a_program(loopcore_loop, sock_path):
    loopcore_loop.enable_monitor(sock_path)
    task = loopcore_loop.create_task(_napper(), name="seen-from-outside")
    await loopcore.sleep(0)

    def run_cli():
        return subprocess.run(
            [sys.executable, "-m", "loopcore", "monitor", sock_path, "--what", "tasks"],
            capture_output=True,
            text=True,
            timeout=50,
            check=False,
        )

    proc = await loopcore_loop.run_in_executor(None, run_cli)
    assert proc.returncode == 0, proc.stderr
    assert "* seen-from-outside:" in proc.stdout
    task.cancel()


def test_watch_needs_a_positive_interval(sock_path, capsys):
    with pytest.raises(SystemExit):
        main(["monitor", sock_path, "--watch", "0"])
    assert "--watch needs a positive number" in capsys.readouterr().err


async def test_watch_refreshes_until_interrupted(loopcore_loop, sock_path):
    loopcore_loop.enable_monitor(sock_path)

    def watch_twice():
        proc = subprocess.Popen(
            [sys.executable, "-m", "loopcore", "monitor", sock_path, "--watch", "0.05", "--json"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            seen = 0
            for line in proc.stdout:
                if line.startswith('  "answered": true'):
                    seen += 1
                    if seen == 2:
                        return seen
            return seen
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            proc.stdout.close()

    assert await loopcore_loop.run_in_executor(None, watch_twice) == 2
