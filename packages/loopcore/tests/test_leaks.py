"""The debug-mode leak report at close(): pending tasks, coroutines never awaited,
resources never closed, exceptions never retrieved, each with where it was created."""

from __future__ import annotations

import logging

import loopcore
from loopcore import introspect, leaks
from loopcore.base_loop import BaseEventLoop


def _debug_loop():
    loop = BaseEventLoop()
    loop.set_debug(True)
    # The pending task is also reported to the exception handler (as always); keep
    # that out of the way of these tests.
    loop.set_exception_handler(lambda loop, context: None)
    return loop


def _leak_records(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "loopcore.leaks"]


async def _forever():
    await loopcore.sleep(3600)


def test_pending_task_is_reported_with_where_it_was_created(caplog):
    loop = _debug_loop()
    loop.create_task(_forever(), name="left-behind")
    loop.call_soon(loop.stop)
    loop.run_forever()
    with caplog.at_level(logging.WARNING, logger="loopcore.leaks"):
        loop.close()
    [message] = _leak_records(caplog)
    assert "1 tasks still pending" in message
    assert "left-behind" in message
    assert __file__ in message


def test_coroutine_never_awaited_is_reported_with_its_origin(caplog):
    loop = _debug_loop()
    kept = []

    async def make():
        kept.append(_forever())  # created inside the running loop, never awaited

    loop.run_until_complete(make())
    with caplog.at_level(logging.WARNING, logger="loopcore.leaks"):
        loop.close()
    [message] = _leak_records(caplog)
    assert "coroutines never awaited" in message
    assert "_forever" in message
    assert __file__ in message
    kept.pop().close()


class _Transport:
    def __init__(self):
        self.closing = False

    def is_closing(self):
        return self.closing


def test_resource_never_closed_is_reported(caplog):
    loop = _debug_loop()
    transport = _Transport()
    introspect.register_resource(loop, transport, "transport")
    with caplog.at_level(logging.WARNING, logger="loopcore.leaks"):
        loop.close()
    [message] = _leak_records(caplog)
    assert "1 resources never closed" in message
    assert "_Transport" in message and __file__ in message


def test_alive_future_with_unretrieved_exception_is_reported(caplog):
    loop = _debug_loop()
    fut = loop.create_future()
    fut.set_exception(ValueError("nobody looked"))
    with caplog.at_level(logging.WARNING, logger="loopcore.leaks"):
        loop.close()
    [message] = _leak_records(caplog)
    assert "futures whose exception was never retrieved" in message
    assert "nobody looked" in message and __file__ in message
    fut.exception()


def test_a_clean_loop_reports_nothing(caplog):
    loop = _debug_loop()
    transport = _Transport()
    introspect.register_resource(loop, transport, "transport")
    transport.closing = True
    loop.run_until_complete(loopcore.sleep(0))
    with caplog.at_level(logging.WARNING, logger="loopcore.leaks"):
        loop.close()
    assert _leak_records(caplog) == []


def test_outside_debug_mode_there_is_no_report(caplog):
    loop = BaseEventLoop()
    loop.set_exception_handler(lambda loop, context: None)
    loop.create_task(_forever())
    loop.call_soon(loop.stop)
    loop.run_forever()
    with caplog.at_level(logging.WARNING, logger="loopcore.leaks"):
        loop.close()
    assert _leak_records(caplog) == []


def test_find_leaks_returns_data_and_format_leaks_text():
    loop = _debug_loop()
    try:
        task = loop.create_task(_forever(), name="data")
        found = leaks.find_leaks(loop)
        assert [entry["repr"] for entry in found["tasks"]] == [repr(task)]
        assert found["tasks"][0]["created_at"][-1]["file"] == __file__
        text = leaks.format_leaks(found)
        assert text.startswith("1 tasks still pending:")
        assert leaks.format_leaks({"tasks": [], "futures": []}) == ""
        task.cancel()
        loop.run_until_complete(loopcore.sleep(0))
    finally:
        loop.close()


def test_loopcore_run_ends_with_the_leak_report_in_debug_mode(caplog):
    kept = []

    async def main():
        kept.append(_forever())

    with caplog.at_level(logging.WARNING, logger="loopcore.leaks"):
        loopcore.run(main(), debug=True)
    assert any("coroutines never awaited" in m for m in _leak_records(caplog))
    kept.pop().close()
