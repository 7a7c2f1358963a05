"""loopcore's tools on asyncio programs: the task tree, the monitor, telemetry and the
stall detector, the leak report, and the pytest plugin with the virtual clock."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import tempfile
import time

import loopasyncio
from loopcore import introspect, leaks, telemetry
from loopcore.__main__ import main as loopcore_cli

pytest_plugins = ["pytester"]


async def leaf(seconds):
    await asyncio.sleep(seconds)


async def group_parent():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(leaf(3600), name="leaf-a")
        tg.create_task(leaf(7200), name="leaf-b")


async def waiter(task):
    await task


async def start_tree():
    parent = asyncio.create_task(group_parent(), name="parent")
    top = asyncio.create_task(waiter(parent), name="top")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return parent, top


async def stop(*tasks):
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _names(nodes):
    return {node["name"]: node for node in nodes}


def test_task_tree_shows_asyncio_tasks_with_their_stacks():
    async def main():
        parent, top = await start_tree()
        try:
            return introspect.task_tree(asyncio.get_running_loop())
        finally:
            await stop(parent, top)

    roots = _names(loopasyncio.run(main()))
    top = roots["top"]
    assert top["awaiting"]["kind"] == "task"
    (parent,) = top["children"]
    assert parent["name"] == "parent"
    leaves = _names(parent["children"])
    assert set(leaves) == {"leaf-a", "leaf-b"}
    assert leaves["leaf-a"]["awaiting"]["kind"] == "sleep"
    # The whole chain of awaits, down into asyncio.sleep.
    assert [f["function"] for f in leaves["leaf-a"]["stack"]] == ["leaf", "sleep"]
    assert parent["awaiting"]["kind"] == "taskgroup"
    assert [f["function"] for f in parent["stack"]] == ["group_parent", "__aexit__"]
    # The task that asked runs main(): its stack shows it.
    assert any(any(f["function"] == "main" for f in node["stack"]) for node in roots.values())


def test_monitor_command_shows_asyncio_tasks():
    async def main(path):
        loop = asyncio.get_running_loop()
        loop.enable_monitor(path)
        parent, top = await start_tree()
        try:
            out = io.StringIO()
            # What `python -m loopcore monitor PATH` prints, asked from another thread.
            await loop.run_in_executor(None, loopcore_cli, ["monitor", path], out)
            return out.getvalue()
        finally:
            await stop(parent, top)

    with tempfile.TemporaryDirectory() as tmp:
        text = loopasyncio.run(main(os.path.join(tmp, "monitor.sock")))
    assert "* top: waiter() suspended" in text
    assert "* leaf-a: leaf() suspended" in text
    assert "await asyncio.sleep(seconds)" in text


def test_telemetry_and_stall_detector_see_asyncio_task_steps(caplog):
    async def blocker():
        time.sleep(0.2)  # blocks the loop on purpose

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_telemetry(detail=True, stall_threshold=0.05)
        await asyncio.create_task(blocker(), name="blocker")
        await asyncio.sleep(0)
        return telemetry.snapshot(loop)

    with caplog.at_level(logging.WARNING):
        snap = loopasyncio.run(main())
    assert snap["callbacks"] > 0
    assert any("blocker" in key for key in snap["per_callback"])
    assert snap["stalls"], snap
    assert "blocker" in snap["stalls"][0]["callback"]


def test_leak_report_at_close_covers_asyncio_tasks(caplog):
    loop = loopasyncio.new_event_loop()
    loop.set_debug(True)
    task = loop.create_task(leaf(3600), name="leaked-asyncio-task")
    loop.run_until_complete(asyncio.sleep(0))
    found = leaks.find_leaks(loop)
    assert any("leaked-asyncio-task" in entry["repr"] for entry in found["tasks"])
    with caplog.at_level(logging.DEBUG):
        loop.close()
    assert "leaked-asyncio-task" in caplog.text
    task._log_destroy_pending = False  # reported above; asyncio need not repeat it


_ASYNCIO_SUITE = """
    import asyncio
    import time

    import pytest


    async def test_an_hour_of_asyncio_sleep_is_instant():
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        before = loop.time()
        await asyncio.sleep(3600)
        assert loop.time() - before >= 3600
        assert time.monotonic() - started < 30
        assert type(loop).__name__ == "EventLoop"


    async def test_asyncio_timeout_fires_in_virtual_time():
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(600):
                await asyncio.sleep(3600)


    async def test_wait_for_and_taskgroup():
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(asyncio.sleep(60 * i, i)) for i in range(3)]
        assert [t.result() for t in tasks] == [0, 1, 2]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(3600), 1)
"""


def test_pytest_plugin_runs_an_asyncio_suite_on_loopasyncio_with_the_virtual_clock(pytester):
    pytester.makeini(
        "[pytest]\n"
        "loopcore_mode = auto\n"
        "loopcore_loop_factory = loopasyncio:new_event_loop\n"
        "loopcore_clock = virtual\n"
    )
    pytester.makepyfile(_ASYNCIO_SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:anyio")
    result.assert_outcomes(passed=3)


def test_pytest_plugin_reports_an_asyncio_task_left_pending(pytester):
    pytester.makeini(
        "[pytest]\nloopcore_mode = auto\nloopcore_loop_factory = loopasyncio:new_event_loop\n"
    )
    pytester.makepyfile(
        """
        import asyncio

        async def test_leaks_a_task():
            asyncio.create_task(asyncio.sleep(3600), name="forgotten")
            await asyncio.sleep(0)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:anyio")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*the test left tasks pending*", "*forgotten*"])


def test_closing_the_loop_reports_asyncio_tasks_still_pending():
    loop = loopasyncio.new_event_loop()
    reported = []
    loop.set_exception_handler(lambda loop, context: reported.append(context))
    task = loop.create_task(leaf(3600), name="pending-at-close")
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    assert [(c["message"], c["task"]) for c in reported] == [
        ("Task was still pending when the loop was closed", task)
    ]
    # Reported once: asyncio's own "Task was destroyed but it is pending!" is off.
    assert task._log_destroy_pending is False
