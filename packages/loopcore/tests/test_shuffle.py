"""The shuffler: a seed perturbs only the orders no documented rule fixes, and
replaying the seed replays the order."""

from __future__ import annotations

import socket
import threading

import pytest

import loopcore
from loopcore.base_loop import BaseEventLoop
from loopcore.testing import Shuffler, VirtualClock, get_shuffler


def _loop(seed, *, virtual=True):
    loop = BaseEventLoop()
    if virtual:
        VirtualClock().install(loop)
    Shuffler(seed).install(loop)
    return loop


def _tie_order(seed, n=12):
    loop = _loop(seed)
    try:
        order = []
        for i in range(n):
            loop.call_later(5, order.append, i)
        loop.call_later(6, loop.stop)
        loop.run_forever()
        return order
    finally:
        loop.close()


def test_replayed_seed_reproduces_the_order_of_timers_due_at_the_same_instant():
    first = _tie_order(1234)
    assert sorted(first) == list(range(12))
    assert _tie_order(1234) == first


def test_different_seeds_give_different_tie_orders():
    orders = {tuple(_tie_order(seed)) for seed in range(6)}
    assert len(orders) > 1


def test_timers_due_at_different_instants_keep_deadline_order():
    loop = _loop(99)
    try:
        order = []
        for delay in (9, 3, 7, 1, 5):
            loop.call_later(delay, order.append, delay)
        loop.call_later(10, loop.stop)
        loop.run_forever()
        assert order == [1, 3, 5, 7, 9]
    finally:
        loop.close()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_call_soon_fifo_is_never_shuffled(seed):
    loop = _loop(seed)
    try:
        order = []
        for i in range(50):
            loop.call_soon(order.append, i)
        loop.call_soon(loop.stop)
        loop.run_forever()
        assert order == list(range(50))
    finally:
        loop.close()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_done_callbacks_keep_their_registration_order(seed):
    loop = _loop(seed)
    try:
        order = []
        fut = loop.create_future()
        for i in range(20):
            fut.add_done_callback(lambda _f, i=i: order.append(i))
        loop.call_later(1, fut.set_result, None)
        loop.run_until_complete(fut)
        loop.call_soon(loop.stop)
        loop.run_forever()
        assert order == list(range(20))
    finally:
        loop.close()


def _io_order(seed, n=8):
    loop = _loop(seed, virtual=False)
    pairs = [socket.socketpair() for _ in range(n)]
    try:
        order = []
        for i, (a, b) in enumerate(pairs):
            b.send(b"x")
            loop.add_reader(a, order.append, i)
        # Every socket is readable before the loop runs: one poll returns them all.
        loop.call_soon(loop.stop)
        loop.run_forever()
        for a, _ in pairs:
            loop.remove_reader(a)
        return order
    finally:
        for a, b in pairs:
            a.close()
            b.close()
        loop.close()


def test_replayed_seed_reproduces_the_order_of_io_events_of_one_poll():
    first = _io_order(77)
    assert sorted(first) == list(range(8))
    assert _io_order(77) == first
    assert len({tuple(_io_order(seed)) for seed in range(6)}) > 1


def _threadsafe_order(seed, threads=4, per_thread=5):
    loop = _loop(seed, virtual=False)
    try:
        order = []
        produced = threading.Barrier(threads + 1)

        def producer(t):
            for i in range(per_thread):
                loop.call_soon_threadsafe(order.append, (t, i))
            produced.wait(10)

        async def main():
            workers = [threading.Thread(target=producer, args=(t,)) for t in range(threads)]
            for w in workers:
                w.start()
            # Hold the loop (on purpose) until every wake-up has arrived, so that
            # they all land in the same iteration.
            produced.wait(10)
            for w in workers:
                w.join()
            while len(order) < threads * per_thread:
                await loopcore.sleep(0)

        loop.run_until_complete(main())
        return order
    finally:
        loop.close()


def test_replayed_seed_reproduces_the_interleaving_of_wakeups_from_threads():
    first = _threadsafe_order(5)
    assert sorted(first) == [(t, i) for t in range(4) for i in range(5)]
    assert _threadsafe_order(5) == first
    assert len({tuple(_threadsafe_order(seed)) for seed in range(6)}) > 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wakeups_from_one_thread_keep_their_order(seed):
    order = _threadsafe_order(seed)
    for t in range(4):
        assert [i for (tt, i) in order if tt == t] == list(range(5))


def test_call_soon_threadsafe_from_the_loop_thread_stays_fifo_with_call_soon():
    loop = _loop(3, virtual=False)
    try:
        order = []

        def schedule():
            for i in range(10):
                if i % 2:
                    loop.call_soon_threadsafe(order.append, i)
                else:
                    loop.call_soon(order.append, i)
            loop.call_soon(loop.stop)

        loop.call_soon(schedule)
        loop.run_forever()
        assert order == list(range(10))
    finally:
        loop.close()


def test_seed_is_read_back_and_random_when_not_given():
    assert Shuffler(42).seed == 42
    assert isinstance(Shuffler().seed, int)
    with pytest.raises(TypeError, match="'x'"):
        Shuffler("x")  # type: ignore[arg-type]
    loop = BaseEventLoop()
    try:
        shuffler = Shuffler(1)
        shuffler.install(loop)
        assert get_shuffler(loop) is shuffler
        with pytest.raises(RuntimeError, match="already has a shuffler"):
            Shuffler(2).install(loop)
    finally:
        loop.close()


def test_seed_fixture_and_marker_agree(pytester):
    pytester.makeini("[pytest]\nloopcore_mode = auto\n")
    pytester.makepyfile(
        """
        import pytest
        from loopcore.testing import get_shuffler

        @pytest.mark.loopcore(seed=31337)
        async def test_marker_seed(loopcore_loop, loopcore_seed):
            assert loopcore_seed == 31337
            assert get_shuffler(loopcore_loop).seed == 31337
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


pytest_plugins = ["pytester"]


def test_shuffled_timers_still_count_in_the_loop_telemetry():
    loop = _loop(11)
    try:
        clock = loop._instrumentation.clock
        for _ in range(3):
            loop.call_later(2, int)
        clock.advance(5)  # every timer fires 3 s late
        loop.call_soon(loop.stop)
        loop.run_forever()
        stats = loop.get_telemetry()
        assert stats["timers_fired"] == 3
        assert stats["lag_max"] == 3.0 and stats["lag_mean"] == 3.0
    finally:
        loop.close()
