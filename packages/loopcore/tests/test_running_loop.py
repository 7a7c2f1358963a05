"""get_running_loop and its fast accessor this_thread.loop: which loop runs in this thread,
and never a parent's after fork()."""

from __future__ import annotations

import os
import threading

import pytest

import loopcore
from loopcore import events


async def test_get_running_loop_is_the_loop_running_the_coroutine(loopcore_loop):
    assert loopcore.get_running_loop() is loopcore_loop


def test_get_running_loop_outside_a_loop_raises_with_advice():
    with pytest.raises(RuntimeError, match="no running event loop"):
        loopcore.get_running_loop()


async def test_running_loop_is_per_thread(loopcore_loop):
    seen = []
    thread = threading.Thread(
        target=lambda: seen.append((events.this_thread.loop, events._get_running_loop()))
    )
    thread.start()
    thread.join()
    assert seen == [(None, None)]
    assert events.this_thread.loop is loopcore_loop


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
async def test_child_made_by_fork_does_not_see_the_parents_running_loop(loopcore_loop):
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then leave without running any cleanup
        os.close(read_end)
        os.write(write_end, b"none" if events.this_thread.loop is None else b"loop")
        os._exit(0)
    os.close(write_end)
    try:
        answer = os.read(read_end, 16)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    assert answer == b"none"
    assert loopcore.get_running_loop() is loopcore_loop


async def test_this_thread_loop_is_the_running_loop(loopcore_loop):
    assert events.this_thread.loop is loopcore_loop
    assert events.this_thread.loop is loopcore.get_running_loop()


def test_this_thread_loop_is_none_when_no_loop_runs():
    assert events.this_thread.loop is None


def test_this_thread_loop_is_set_only_while_the_loop_runs():
    loop = loopcore.new_event_loop()
    try:
        seen = []
        loop.call_soon(lambda: seen.append(events.this_thread.loop))
        loop.call_soon(loop.stop)
        loop.run_forever()
        assert seen == [loop]
        assert events.this_thread.loop is None
    finally:
        loop.close()
