"""The virtual clock: virtual loop time that autojumps to the next timer when idle."""

from __future__ import annotations

import math
import socket
import threading

import pytest

import loopcore
from loopcore.base_loop import BaseEventLoop
from loopcore.testing import VirtualClock, get_clock, get_shuffler, virtual_clock_loop


async def test_hour_long_sleep_advances_virtual_time_by_exactly_an_hour(
    loopcore_loop, loopcore_clock
):
    start = loopcore_loop.time()
    assert start == 0.0
    await loopcore.sleep(3600)
    assert loopcore_loop.time() - start == 3600.0


async def test_many_long_sleeps_run_in_deadline_order(loopcore_loop, loopcore_clock):
    woke = []

    async def sleeper(delay):
        await loopcore.sleep(delay)
        woke.append((delay, loopcore_loop.time()))

    await loopcore.gather(*(sleeper(d) for d in (86400, 60, 3600, 1)))
    assert woke == [(1, 1.0), (60, 60.0), (3600, 3600.0), (86400, 86400.0)]


async def test_time_does_not_move_while_callbacks_are_ready(loopcore_loop, loopcore_clock):
    loopcore_loop.call_later(10, lambda: None).cancel()
    for _ in range(5):
        await loopcore.sleep(0)
    assert loopcore_loop.time() == 0.0


async def test_wait_for_times_out_at_its_virtual_deadline(loopcore_loop, loopcore_clock):
    never = loopcore_loop.create_future()
    with pytest.raises(TimeoutError):
        await loopcore.wait_for(never, 30)
    assert loopcore_loop.time() == 30.0


@pytest.mark.loopcore(clock="virtual", autojump_threshold=math.inf)
async def test_advance_moves_time_and_only_the_timers_now_due_run(loopcore_loop):
    clock = get_clock(loopcore_loop)
    five, seven = loopcore_loop.create_future(), loopcore_loop.create_future()
    loopcore_loop.call_later(5, five.set_result, "five")
    loopcore_loop.call_later(7, seven.set_result, "seven")
    clock.advance(6)
    assert loopcore_loop.time() == 6.0
    assert not five.done()
    assert await five == "five"
    assert not seven.done()
    clock.advance(1)
    assert await seven == "seven"
    assert loopcore_loop.time() == 7.0


@pytest.mark.loopcore(clock="virtual", autojump_threshold=math.inf)
async def test_infinite_threshold_never_jumps_on_its_own(loopcore_loop):
    clock = get_clock(loopcore_loop)
    sleeper = loopcore_loop.create_task(loopcore.sleep(10))
    # The loop is idle (a timer and a thread only) for as long as the thread takes;
    # with autojump disabled the timer must not fire.
    await loopcore_loop.run_in_executor(None, lambda: None)
    assert loopcore_loop.time() == 0.0
    assert not sleeper.done()
    assert clock.jump_to_next_timer() == 10.0
    await sleeper
    assert loopcore_loop.time() == 10.0


@pytest.mark.loopcore(clock="virtual", autojump_threshold=math.inf)
async def test_advance_from_another_thread_wakes_the_idle_loop(loopcore_loop):
    clock = get_clock(loopcore_loop)
    sleeper = loopcore_loop.create_task(loopcore.sleep(10))
    await loopcore.sleep(0)
    thread = threading.Thread(target=clock.advance, args=(10,))
    thread.start()
    await sleeper
    thread.join()
    assert loopcore_loop.time() == 10.0


def test_advance_refuses_negative_or_nan_seconds():
    clock = VirtualClock()
    with pytest.raises(ValueError, match="-1"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="nan"):
        clock.advance(math.nan)
    assert clock.time() == 0.0


def test_threshold_must_be_non_negative():
    with pytest.raises(ValueError, match="-0.5"):
        VirtualClock(autojump_threshold=-0.5)
    clock = VirtualClock()
    with pytest.raises(ValueError):
        clock.autojump_threshold = -1
    clock.autojump_threshold = 0.25
    assert clock.autojump_threshold == 0.25


def test_jump_to_next_timer_skips_cancelled_timers_and_reports_the_distance():
    loop = virtual_clock_loop(BaseEventLoop)
    try:
        clock = get_clock(loop)
        assert clock.jump_to_next_timer() == 0.0
        loop.call_later(3, lambda: None).cancel()
        loop.call_later(8, lambda: None)
        assert clock.jump_to_next_timer() == 8.0
        assert loop.time() == 8.0
        assert clock.jump_to_next_timer() == 0.0
    finally:
        loop.close()


def test_install_refuses_a_loop_with_timers_already_scheduled():
    loop = BaseEventLoop()
    try:
        loop.call_later(1, lambda: None)
        with pytest.raises(ValueError, match="timers scheduled"):
            VirtualClock().install(loop)
    finally:
        loop.close()


def test_install_refuses_a_second_clock_and_a_reused_clock():
    loop, other = BaseEventLoop(), BaseEventLoop()
    try:
        clock = VirtualClock()
        clock.install(loop)
        assert clock.loop is loop
        with pytest.raises(RuntimeError, match="already runs on a virtual clock"):
            VirtualClock().install(loop)
        with pytest.raises(RuntimeError, match="already installed"):
            clock.install(other)
    finally:
        loop.close()
        other.close()


def test_install_refuses_a_closed_loop_and_a_non_loopcore_loop():
    loop = BaseEventLoop()
    loop.close()
    with pytest.raises(RuntimeError, match="closed"):
        VirtualClock().install(loop)
    with pytest.raises(TypeError, match="BaseEventLoop"):
        VirtualClock().install(object())


def test_virtual_clock_loop_uses_the_given_class_and_seed():
    loop = virtual_clock_loop(BaseEventLoop, autojump_threshold=0.5, seed=7)
    try:
        assert type(loop) is BaseEventLoop
        assert get_clock(loop).autojump_threshold == 0.5
        assert get_shuffler(loop).seed == 7
        assert loop.run_until_complete(loopcore.sleep(100, "ok")) == "ok"
        assert loop.time() == 100.0
    finally:
        loop.close()


def test_virtual_clock_loop_defaults_to_the_default_loop_class():
    loop = virtual_clock_loop()
    reference = loopcore.policies.new_event_loop()
    try:
        assert type(loop) is type(reference)
        assert get_clock(loop) is not None and get_shuffler(loop) is None
    finally:
        loop.close()
        reference.close()


class _Reader:
    """A future resolved with the data of the first read of *sock*."""

    def __init__(self, loop, sock):
        self.loop, self.sock = loop, sock
        self.fut = loop.create_future()
        loop.add_reader(sock, self._on_readable)

    def _on_readable(self):
        self.loop.remove_reader(self.sock)
        if not self.fut.done():
            self.fut.set_result(self.sock.recv(100))

    def close(self):
        self.loop.remove_reader(self.sock)


@pytest.mark.loopcore(clock="virtual", autojump_threshold=30)
async def test_real_io_within_the_threshold_completes_without_moving_time(loopcore_loop):
    a, b = socket.socketpair()
    go = threading.Event()

    def peer():
        go.wait(10)
        b.send(b"pong")

    thread = threading.Thread(target=peer)
    thread.start()
    try:
        reader = _Reader(loopcore_loop, a)
        go.set()
        # The peer answers in real time; the loop waits up to 30 real seconds for real
        # I/O before it would jump the 5 virtual seconds of the timeout.
        assert await loopcore.wait_for(reader.fut, 5) == b"pong"
        assert loopcore_loop.time() == 0.0
    finally:
        thread.join()
        a.close()
        b.close()


@pytest.mark.loopcore(clock="virtual", autojump_threshold=0)
async def test_zero_threshold_times_out_real_io_at_once(loopcore_loop):
    a, b = socket.socketpair()
    try:
        reader = _Reader(loopcore_loop, a)
        # Nothing has been sent yet: with a zero threshold the idle loop jumps straight
        # to the timeout's deadline. This is the trap the docs warn about.
        with pytest.raises(TimeoutError):
            await loopcore.wait_for(reader.fut, 5)
        assert loopcore_loop.time() == 5.0
        reader.close()
    finally:
        a.close()
        b.close()


@pytest.mark.loopcore(clock="virtual")
async def test_without_timers_the_loop_waits_for_real_wakeups(loopcore_loop):
    fut = loopcore_loop.create_future()
    thread = threading.Thread(target=loopcore_loop.call_soon_threadsafe, args=(fut.set_result, 42))
    thread.start()
    assert await fut == 42
    thread.join()
    assert loopcore_loop.time() == 0.0


def test_virtual_clock_works_on_a_plain_base_event_loop():
    # The loop consults its instrumentation rather than methods replaced on the
    # instance, so this holds in the compiled build too, where a plain
    # BaseEventLoop calls its own time() and poll natively.
    loop = virtual_clock_loop(BaseEventLoop)
    try:
        assert type(loop) is BaseEventLoop
        fired: list[float] = []
        loop.call_later(3600, lambda: fired.append(loop.time()))
        loop.run_until_complete(loopcore.sleep(7200))
        assert fired == [3600.0]
        assert loop.time() == 7200.0
    finally:
        loop.close()


def test_virtual_clock_is_installed_through_the_loops_instrumentation():
    # One entry point for both builds (loop._set_instrumentation): the compiled loop
    # consults loop._instrumentation, the interpreted one has its time and _poll
    # replaced on the instance.
    loop = BaseEventLoop()
    try:
        clock = VirtualClock(start=5.0)
        clock.install(loop)
        assert get_clock(loop) is clock
        assert loop._instrumentation is not None
        assert loop._instrumentation.clock is clock
        assert loop.time() == 5.0
        clock.advance(2.5)
        assert loop.time() == 7.5
    finally:
        loop.close()
