"""loopcore.run() and Runner: create, run, clean up, close; Ctrl-C handling."""

from __future__ import annotations

import contextvars
import os
import signal
import threading

import pytest

import loopcore
from loopcore import events, policies
from loopcore.base_loop import BaseEventLoop


@pytest.fixture(autouse=True)
def fresh_policy():
    saved = policies._policy
    policies._policy = None
    yield
    policies._policy = saved


@pytest.fixture(autouse=True)
def sigint_is_default():
    # Each test starts with Python's default SIGINT handler, whatever the process was
    # started with (a shell's background job ignores SIGINT), and must leave it there;
    # the disposition found is put back afterwards.
    found = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, found)


class TrackingLoop(BaseEventLoop):
    instances: list[TrackingLoop] = []

    def __init__(self) -> None:
        super().__init__()
        TrackingLoop.instances.append(self)


@pytest.fixture
def factory():
    TrackingLoop.instances = []
    yield TrackingLoop
    for loop in TrackingLoop.instances:
        assert loop.is_closed()


async def _answer():
    return 42


def test_run_returns_the_result_of_the_coroutine():
    assert loopcore.run(_answer()) == 42


def test_run_raises_the_exception_of_the_coroutine():
    async def fail():
        raise ValueError("from main")

    with pytest.raises(ValueError, match="from main"):
        loopcore.run(fail())


def test_run_accepts_generator_based_coroutines():
    @loopcore.coroutine
    def gen():
        value = yield from _answer()
        return value + 1

    assert loopcore.run(gen()) == 43


def test_run_rejects_what_is_not_a_coroutine():
    with pytest.raises(ValueError, match="coroutine was expected"):
        loopcore.run(_answer)  # the function, not a coroutine


def test_run_from_a_running_loop_raises_runtime_error():
    async def nested():
        coro = _answer()
        try:
            loopcore.run(coro)
        finally:
            coro.close()

    with pytest.raises(RuntimeError, match="cannot be called from a running event loop"):
        loopcore.run(nested())


def test_run_uses_the_loop_factory_and_closes_the_loop(factory):
    async def main():
        return events.get_running_loop()

    loop = loopcore.run(main(), loop_factory=factory)
    assert type(loop) is TrackingLoop
    assert loop.is_closed()


def test_run_without_factory_makes_its_loop_current_then_unsets_it():
    async def main():
        return loopcore.get_event_loop_policy().get_event_loop(), events.get_running_loop()

    current, running = loopcore.run(main())
    assert current is running
    assert running.is_closed()
    with pytest.raises(RuntimeError):
        loopcore.get_event_loop()


@pytest.mark.parametrize("debug", [True, False])
def test_run_debug_sets_the_loop_debug_mode(debug):
    async def main():
        return events.get_running_loop().get_debug()

    assert loopcore.run(main(), debug=debug) is debug


def test_run_cancels_leftover_tasks_and_waits_for_them(factory):
    log = []

    async def leftover():
        try:
            await loopcore.sleep(3600)
        except loopcore.CancelledError:
            log.append("cancelled")
            await loopcore.sleep(0)  # it may still await while unwinding
            log.append("unwound")
            raise

    async def main():
        loopcore.get_running_loop().create_task(leftover())
        await loopcore.sleep(0)
        return "done"

    assert loopcore.run(main(), loop_factory=factory) == "done"
    assert log == ["cancelled", "unwound"]


def test_run_reports_leftover_tasks_that_fail_while_being_cancelled():
    contexts = []

    class Loop(BaseEventLoop):
        def __init__(self):
            super().__init__()
            self.set_exception_handler(lambda lp, ctx: contexts.append(ctx))

    async def stubborn():
        try:
            await loopcore.sleep(3600)
        except loopcore.CancelledError:
            raise ValueError("failed while cancelled")

    async def main():
        loopcore.get_running_loop().create_task(stubborn())
        await loopcore.sleep(0)

    loopcore.run(main(), loop_factory=Loop)
    (ctx,) = contexts
    assert isinstance(ctx["exception"], ValueError)
    assert "shutdown" in ctx["message"]


def test_run_shuts_down_async_generators(factory):
    closed = []

    async def agen():
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    gen = agen()

    async def main():
        await gen.__anext__()

    loopcore.run(main(), loop_factory=factory)
    assert closed == [True]


def test_run_shuts_down_the_default_executor(factory):
    async def main():
        loop = loopcore.get_running_loop()
        await loop.run_in_executor(None, sum, [1, 2])
        return loop._default_executor

    executor = loopcore.run(main(), loop_factory=factory)
    with pytest.raises(RuntimeError):
        executor.submit(print)  # shut down


def test_runner_runs_several_coroutines_on_one_loop(factory):
    async def which_loop():
        return events.get_running_loop()

    with loopcore.Runner(loop_factory=factory) as runner:
        first = runner.run(which_loop())
        second = runner.run(which_loop())
        assert first is second is runner.get_loop()
    assert first.is_closed()


var = contextvars.ContextVar("var")


def test_runner_runs_share_one_context_unless_given_another():
    async def set_var(value):
        var.set(value)

    async def get_var():
        return var.get("unset")

    with loopcore.Runner() as runner:
        runner.run(set_var("shared"))
        assert runner.run(get_var()) == "shared"
        assert runner.run(get_var(), context=contextvars.Context()) == "unset"


def test_runner_get_loop_creates_the_loop_lazily(factory):
    runner = loopcore.Runner(loop_factory=factory)
    assert TrackingLoop.instances == []
    loop = runner.get_loop()
    assert TrackingLoop.instances == [loop]
    runner.close()
    assert loop.is_closed()


def test_closed_runner_refuses_to_run_and_second_close_is_a_noop(factory):
    runner = loopcore.Runner(loop_factory=factory)
    runner.run(_answer())
    runner.close()
    runner.close()
    coro = _answer()
    with pytest.raises(RuntimeError, match="closed"):
        runner.run(coro)
    coro.close()
    with pytest.raises(RuntimeError, match="closed"):
        runner.get_loop()


def test_runner_that_never_made_a_loop_closes_without_error():
    loopcore.Runner().close()


# -- Ctrl-C ------------------------------------------------------------------------------------


def test_first_ctrl_c_cancels_the_main_task_cleanly_and_run_raises_keyboard_interrupt(factory):
    log = []

    async def main():
        loop = loopcore.get_running_loop()
        loop.call_soon(os.kill, os.getpid(), signal.SIGINT)
        try:
            await loop.create_future()
        except loopcore.CancelledError:
            log.append("cancelled")
            raise
        finally:
            log.append("cleanup ran")

    with pytest.raises(KeyboardInterrupt):
        loopcore.run(main(), loop_factory=factory)
    assert log == ["cancelled", "cleanup ran"]


def test_ctrl_c_does_not_raise_inside_the_running_callback(factory):
    log = []

    def busy_callback():
        os.kill(os.getpid(), signal.SIGINT)
        # Python has run its signal handlers by now; the default one would have
        # raised KeyboardInterrupt above.
        for i in range(1000):
            log.append(i)
        log.append("callback finished")

    async def main():
        loop = loopcore.get_running_loop()
        loop.call_soon(busy_callback)
        await loop.create_future()

    with pytest.raises(KeyboardInterrupt):
        loopcore.run(main(), loop_factory=factory)
    assert log[-1] == "callback finished"


def test_ctrl_c_while_the_loop_sleeps_in_the_selector_wakes_it(factory):
    entered = threading.Event()

    class Loop(TrackingLoop):
        def _poll(self, timeout):
            if timeout is None:
                entered.set()
            return super()._poll(timeout)

    def killer():
        entered.wait(30)
        os.kill(os.getpid(), signal.SIGINT)

    async def main():
        threading.Thread(target=killer).start()
        await loopcore.get_running_loop().create_future()

    with pytest.raises(KeyboardInterrupt):
        loopcore.run(main(), loop_factory=Loop)


def test_main_task_that_handles_the_cancellation_returns_normally(factory):
    async def main():
        loop = loopcore.get_running_loop()
        loop.call_soon(os.kill, os.getpid(), signal.SIGINT)
        try:
            await loop.create_future()
        except loopcore.CancelledError:
            loopcore.current_task().uncancel()
            return "handled"

    assert loopcore.run(main(), loop_factory=factory) == "handled"


def test_second_ctrl_c_raises_keyboard_interrupt_at_once(factory):
    log = []

    async def main():
        loop = loopcore.get_running_loop()
        loop.call_soon(os.kill, os.getpid(), signal.SIGINT)
        try:
            await loop.create_future()
        except loopcore.CancelledError:
            log.append("first: cancelled")
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            log.append("second: KeyboardInterrupt raised at once")
            raise

    with pytest.raises(KeyboardInterrupt):
        loopcore.run(main(), loop_factory=factory)
    assert log == ["first: cancelled", "second: KeyboardInterrupt raised at once"]


def test_run_keeps_a_custom_sigint_handler(factory):
    received = []

    def custom(signum, frame):
        received.append(signum)

    signal.signal(signal.SIGINT, custom)
    try:

        async def main():
            assert signal.getsignal(signal.SIGINT) is custom
            os.kill(os.getpid(), signal.SIGINT)
            return "ok"

        assert loopcore.run(main(), loop_factory=factory) == "ok"
        assert received == [signal.SIGINT]
        assert signal.getsignal(signal.SIGINT) is custom
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_run_leaves_an_ignored_sigint_ignored(factory):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:

        async def main():
            return signal.getsignal(signal.SIGINT)

        assert loopcore.run(main(), loop_factory=factory) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def test_sigint_handler_is_default_again_after_run(factory):
    async def main():
        return signal.getsignal(signal.SIGINT)

    during = loopcore.run(main(), loop_factory=factory)
    assert during is not signal.default_int_handler
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_run_in_a_thread_other_than_main_leaves_sigint_alone():
    async def main():
        return signal.getsignal(signal.SIGINT)

    result = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("h", loopcore.run(main(), loop_factory=BaseEventLoop))
    )
    thread.start()
    thread.join()
    assert result["h"] is signal.default_int_handler


def _current_wakeup_fd():
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    return fd


def test_run_points_the_wakeup_fd_at_its_loop_while_it_runs_and_gives_it_back(factory):
    before = _current_wakeup_fd()

    async def main():
        return _current_wakeup_fd(), events.get_running_loop()._io.wakeup_fd

    during, own = loopcore.run(main(), loop_factory=factory)
    if before == -1:
        assert during == own
    assert _current_wakeup_fd() == before


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs pthread_kill")
def test_ctrl_c_delivered_to_another_thread_still_wakes_the_sleeping_loop(factory):
    entered = threading.Event()

    class Loop(TrackingLoop):
        def _poll(self, timeout):
            if timeout is None:
                entered.set()
            return super()._poll(timeout)

    def deliver_to_this_thread():
        entered.wait(30)
        # The C-level handler runs in this thread; only the wake-up fd can tell
        # the main thread, asleep in the selector, that a signal arrived.
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    async def main():
        threading.Thread(target=deliver_to_this_thread).start()
        await loopcore.get_running_loop().create_future()

    with pytest.raises(KeyboardInterrupt):
        loopcore.run(main(), loop_factory=Loop)


def test_keyboard_interrupt_from_main_is_not_logged_as_never_retrieved(factory, caplog):
    import gc

    async def main():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        loopcore.run(main(), loop_factory=factory)
    gc.collect()
    assert "never retrieved" not in caplog.text


def test_signal_handlers_added_inside_run_leave_no_wakeup_fd_behind(factory):
    before = _current_wakeup_fd()

    async def main():
        loop = loopcore.get_running_loop()
        got = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, got.set_result, "usr1")
        os.kill(os.getpid(), signal.SIGUSR1)
        result = await got
        loop.remove_signal_handler(signal.SIGUSR1)
        loop.add_signal_handler(signal.SIGUSR2, print)  # removed by close()
        return result

    assert loopcore.run(main(), loop_factory=factory) == "usr1"
    assert _current_wakeup_fd() == before
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL
