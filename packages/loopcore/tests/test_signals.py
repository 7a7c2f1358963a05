"""add_signal_handler/remove_signal_handler: real signals through the wake-up fd."""

from __future__ import annotations

import os
import re
import signal
import threading

import pytest

import loopcore
from loopcore.base_loop import BaseEventLoop

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")


@pytest.fixture
def loop():
    loop = BaseEventLoop()
    yield loop
    loop.close()


@pytest.fixture(autouse=True)
def dispositions_restored():
    # Each test starts from the default dispositions, whatever the process was started
    # with (a shell's background job ignores SIGINT); what was found is put back after.
    found = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        signal.SIGUSR1: signal.signal(signal.SIGUSR1, signal.SIG_DFL),
        signal.SIGUSR2: signal.signal(signal.SIGUSR2, signal.SIG_DFL),
    }
    try:
        yield from _checked_dispositions()
    finally:
        for sig, handler in found.items():
            signal.signal(sig, handler)


def _checked_dispositions():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGUSR1, signal.SIGUSR2)}
    wakeup_before = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup_before)
    yield
    for sig, handler in before.items():
        assert signal.getsignal(sig) == handler, f"{sig} not restored"
    current = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(current)
    assert current == wakeup_before


def test_signal_handler_runs_in_the_loop_when_the_signal_arrives(loop):
    got = []

    def on_usr1(tag):
        got.append((tag, threading.current_thread() is threading.main_thread()))
        loop.stop()

    loop.add_signal_handler(signal.SIGUSR1, on_usr1, "usr1")
    loop.call_soon(os.kill, os.getpid(), signal.SIGUSR1)
    loop.run_forever()
    assert got == [("usr1", True)]
    assert loop.remove_signal_handler(signal.SIGUSR1)


def test_signal_callback_runs_between_callbacks_never_inside_one(loop):
    log = []

    def sender():
        os.kill(os.getpid(), signal.SIGUSR1)
        log.append("sender finished")

    loop.add_signal_handler(signal.SIGUSR1, lambda: (log.append("signal"), loop.stop()))
    loop.call_soon(sender)
    loop.run_forever()
    assert log == ["sender finished", "signal"]
    loop.remove_signal_handler(signal.SIGUSR1)


class _PollRecordingLoop(BaseEventLoop):
    """Records each poll timeout; sets *blocked* when it polls with no timeout.
    (A subclass, not a method replaced on the instance: a compiled loop calls its
    own _poll natively.)"""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []
        self.blocked = threading.Event()

    def _poll(self, timeout):
        self.timeouts.append(timeout)
        if timeout is None:
            self.blocked.set()
        return super()._poll(timeout)


def test_signal_wakes_a_loop_blocked_in_the_selector():
    loop = _PollRecordingLoop()
    try:
        _check_signal_wakes_a_blocked_loop(loop)
    finally:
        loop.close()


def _check_signal_wakes_a_blocked_loop(loop: _PollRecordingLoop) -> None:
    blocked = loop.blocked
    timeouts = loop.timeouts

    def sender():
        blocked.wait(30)
        os.kill(os.getpid(), signal.SIGUSR1)

    loop.add_signal_handler(signal.SIGUSR1, loop.stop)
    thread = threading.Thread(target=sender)
    thread.start()
    loop.run_forever()
    thread.join()
    assert None in timeouts
    loop.remove_signal_handler(signal.SIGUSR1)


def test_each_delivery_runs_the_callback(loop):
    count = []

    def on_usr1():
        count.append(None)
        if len(count) < 3:
            os.kill(os.getpid(), signal.SIGUSR1)
        else:
            loop.stop()

    loop.add_signal_handler(signal.SIGUSR1, on_usr1)
    os.kill(os.getpid(), signal.SIGUSR1)
    loop.run_forever()
    assert len(count) == 3
    loop.remove_signal_handler(signal.SIGUSR1)


def test_add_signal_handler_replaces_the_previous_handler(loop):
    got = []
    loop.add_signal_handler(signal.SIGUSR1, got.append, "old")
    loop.add_signal_handler(signal.SIGUSR1, lambda: (got.append("new"), loop.stop()))
    os.kill(os.getpid(), signal.SIGUSR1)
    loop.run_forever()
    assert got == ["new"]
    loop.remove_signal_handler(signal.SIGUSR1)


def test_removing_the_last_handler_restores_the_default_disposition(loop):
    loop.add_signal_handler(signal.SIGUSR1, print)
    loop.add_signal_handler(signal.SIGUSR2, print)
    assert loop.remove_signal_handler(signal.SIGUSR1) is True
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    assert loop.remove_signal_handler(signal.SIGUSR2) is True
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL


def test_removing_the_sigint_handler_restores_default_int_handler(loop):
    loop.add_signal_handler(signal.SIGINT, print)
    assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert loop.remove_signal_handler(signal.SIGINT) is True
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_remove_signal_handler_returns_false_when_there_is_none(loop):
    assert loop.remove_signal_handler(signal.SIGUSR1) is False


def test_wakeup_fd_points_at_the_loop_while_it_has_handlers_and_is_restored_after(loop):
    before = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(before)
    loop.add_signal_handler(signal.SIGUSR1, print)
    current = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(current)
    assert current == loop._io.wakeup_fd
    loop.remove_signal_handler(signal.SIGUSR1)
    after = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(after)
    assert after == before


@pytest.mark.parametrize("name", ["SIGKILL", "SIGSTOP"])
def test_sigkill_and_sigstop_are_refused(loop, name):
    sig = getattr(signal, name)
    # asyncio's words first ("sig 9 cannot be caught"), then why.
    with pytest.raises(RuntimeError, match=rf"^sig {int(sig)} cannot be caught: {name}"):
        loop.add_signal_handler(sig, print)
    assert not loop._signals.handlers


@pytest.mark.parametrize("name", ["SIGKILL", "SIGSTOP", "SIGUSR1"])
def test_remove_signal_handler_of_a_signal_with_no_handler_returns_false(loop, name):
    assert loop.remove_signal_handler(getattr(signal, name)) is False


@pytest.mark.parametrize("bad", [0, -1, 100000, signal.NSIG])
def test_invalid_signal_numbers_raise_value_error_as_asyncio_does(loop, bad):
    with pytest.raises(ValueError, match=f"^invalid signal number {bad}"):
        loop.add_signal_handler(bad, print)
    with pytest.raises(ValueError, match=f"^invalid signal number {bad}"):
        loop.remove_signal_handler(bad)


@pytest.mark.parametrize("bad", ["USR1", 1.0, None])
def test_signal_that_is_not_an_int_raises_type_error_as_asyncio_does(loop, bad):
    if loopcore.COMPILED:
        # mypyc checks the declared int before the first line runs, naming the type
        # it got (docs: "Compiled build", differences/compiled).
        got = "None" if bad is None else type(bad).__name__
        message = f"^int object expected; got {got}$"
    else:
        message = re.escape(f"sig must be an int, not {bad!r}: pass a signal.SIG* number")
        message = f"^{message}$"
    with pytest.raises(TypeError, match=message):
        loop.add_signal_handler(bad, print)
    with pytest.raises(TypeError, match=message):
        loop.remove_signal_handler(bad)


def test_coroutine_as_signal_callback_is_type_error_with_asyncios_message(loop):
    async def handler():
        pass

    coro = handler()
    try:
        with pytest.raises(
            TypeError, match=r"^coroutines cannot be used with add_signal_handler\(\)"
        ):
            loop.add_signal_handler(signal.SIGUSR1, coro)
    finally:
        coro.close()
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


def test_coroutine_function_as_signal_callback_is_type_error(loop):
    async def handler():
        pass

    with pytest.raises(TypeError, match="^coroutines cannot be used with"):
        loop.add_signal_handler(signal.SIGUSR1, handler)
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


def test_signal_handlers_only_work_in_the_main_thread(loop):
    errors = []

    def body():
        try:
            loop.add_signal_handler(signal.SIGUSR1, print)
        except RuntimeError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=body, name="not-main")
    thread.start()
    thread.join()
    assert len(errors) == 1
    assert "main thread" in errors[0] and "not-main" in errors[0]


def test_close_removes_the_signal_handlers():
    loop = BaseEventLoop()
    loop.add_signal_handler(signal.SIGUSR1, print)
    loop.close()
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


def test_add_signal_handler_on_a_closed_loop_raises():
    loop = BaseEventLoop()
    loop.close()
    with pytest.raises(RuntimeError, match="closed"):
        loop.add_signal_handler(signal.SIGUSR1, print)


def test_an_error_in_a_signal_callback_goes_to_the_exception_handler(loop):
    contexts = []
    loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))

    def bad():
        loop.stop()
        raise ValueError("in signal callback")

    loop.add_signal_handler(signal.SIGUSR1, bad)
    os.kill(os.getpid(), signal.SIGUSR1)
    loop.run_forever()
    loop.remove_signal_handler(signal.SIGUSR1)
    (ctx,) = contexts
    assert isinstance(ctx["exception"], ValueError)
