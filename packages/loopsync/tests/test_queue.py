"""Queue, PriorityQueue, LifoQueue, JoinableQueue: sizes, waiting, FIFO service,
cancellation safety, task_done/join, shutdown (CPython 3.13 semantics)."""

from __future__ import annotations

import queue
from collections.abc import Coroutine

import pytest

import loopcore
import loopsync


def spawn(coro: Coroutine[object, object, object]) -> loopcore.Task[object]:
    return loopcore.get_running_loop().create_task(coro)


async def settle(steps: int = 5) -> None:
    for _ in range(steps):
        await loopcore.sleep(0)


# -- Sizes ----------------------------------------------------------------------------


async def test_maxsize_qsize_and_empty_reflect_the_contents() -> None:
    q: loopsync.Queue[int] = loopsync.Queue(maxsize=3)
    assert q.maxsize == 3
    assert q.qsize() == 0 and q.empty() and not q.full()
    q.put_nowait(1)
    q.put_nowait(2)
    assert q.qsize() == 2 and not q.empty() and not q.full()
    q.put_nowait(3)
    assert q.full()


@pytest.mark.parametrize("maxsize", [0, -1])
async def test_full_is_never_true_when_maxsize_is_zero_or_less(maxsize: int) -> None:
    q: loopsync.Queue[int] = loopsync.Queue(maxsize)
    for i in range(100):
        q.put_nowait(i)
        assert not q.full()
    assert q.qsize() == 100
    await q.put(100)  # never waits


async def test_maxsize_must_be_a_number() -> None:
    # The compiled build's message is mypyc's ("... object expected; got str").
    with pytest.raises(TypeError, match="'2'|got str"):
        loopsync.Queue("2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="None"):
        loopsync.Queue(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", [loopsync.Queue, loopsync.LifoQueue, loopsync.PriorityQueue])
async def test_maxsize_may_be_a_float_as_cpython_accepts(cls: type[loopsync.Queue[int]]) -> None:
    q = cls(2.5)
    assert q.maxsize == 2.5
    for i in range(3):  # full once it holds maxsize items or more: 3
        assert not q.full()
        q.put_nowait(i)
    assert q.full()
    with pytest.raises(loopsync.QueueFull):
        q.put_nowait(3)
    waiting = spawn(q.put(3))
    await settle()
    assert not waiting.done()
    q.get_nowait()
    await waiting
    assert q.qsize() == 3 and q.full()


async def test_queue_is_generic_at_runtime() -> None:
    assert loopsync.Queue[int] is not None
    assert loopsync.PriorityQueue[tuple[int, str]] is not None


# -- Non-waiting calls ----------------------------------------------------------------


async def test_get_nowait_on_empty_queue_raises_queue_empty_a_queue_empty_subclass() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    with pytest.raises(loopsync.QueueEmpty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get_nowait()


async def test_put_nowait_on_full_queue_raises_queue_full_a_queue_full_subclass() -> None:
    q: loopsync.Queue[int] = loopsync.Queue(1)
    q.put_nowait(1)
    with pytest.raises(loopsync.QueueFull):
        q.put_nowait(2)
    with pytest.raises(queue.Full):
        q.put_nowait(2)
    assert q.qsize() == 1


async def test_exceptions_are_loopcores_classes() -> None:
    assert loopsync.QueueEmpty is loopcore.QueueEmpty
    assert loopsync.QueueFull is loopcore.QueueFull
    assert loopsync.QueueShutDown is loopcore.QueueShutDown


# -- Order ----------------------------------------------------------------------------


async def test_queue_returns_items_first_in_first_out() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    for i in (3, 1, 2):
        await q.put(i)
    assert [await q.get() for _ in range(3)] == [3, 1, 2]


async def test_priority_queue_returns_the_smallest_item_first() -> None:
    q: loopsync.PriorityQueue[tuple[int, str]] = loopsync.PriorityQueue()
    for item in [(3, "c"), (1, "a"), (2, "b")]:
        q.put_nowait(item)
    assert [q.get_nowait() for _ in range(3)] == [(1, "a"), (2, "b"), (3, "c")]


async def test_lifo_queue_returns_the_newest_item_first() -> None:
    q: loopsync.LifoQueue[int] = loopsync.LifoQueue()
    for i in (1, 2, 3):
        await q.put(i)
    assert [await q.get() for _ in range(3)] == [3, 2, 1]


async def test_bounded_priority_and_lifo_queues_honour_maxsize() -> None:
    for cls in (loopsync.PriorityQueue, loopsync.LifoQueue):
        q = cls(maxsize=1)
        q.put_nowait(1)
        assert q.full()
        with pytest.raises(loopsync.QueueFull):
            q.put_nowait(2)


# -- Waiting --------------------------------------------------------------------------


async def test_get_waits_until_an_item_is_put() -> None:
    q: loopsync.Queue[str] = loopsync.Queue()
    getter = spawn(q.get())
    await settle()
    assert not getter.done()
    q.put_nowait("x")
    assert await getter == "x"


async def test_put_waits_while_the_queue_is_full() -> None:
    q: loopsync.Queue[int] = loopsync.Queue(1)
    await q.put(1)
    putter = spawn(q.put(2))
    await settle()
    assert not putter.done()
    assert q.get_nowait() == 1
    await putter
    assert q.get_nowait() == 2


async def test_waiting_getters_are_served_in_fifo_order() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    getters = [spawn(q.get()) for _ in range(4)]
    await settle()
    for i in range(4):
        q.put_nowait(i)
    assert [await g for g in getters] == [0, 1, 2, 3]


async def test_waiting_putters_are_served_in_fifo_order() -> None:
    q: loopsync.Queue[int] = loopsync.Queue(1)
    q.put_nowait(-1)
    putters = []
    for i in range(4):
        putters.append(spawn(q.put(i)))
        await settle()
    got = []
    for _ in range(5):
        got.append(await q.get())
        await settle()
    assert got == [-1, 0, 1, 2, 3]
    for putter in putters:
        await putter


async def test_a_new_get_queues_behind_a_woken_getter_instead_of_taking_its_item() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    first = spawn(q.get())
    await settle()
    q.put_nowait(1)  # wakes `first`, which has not run yet
    newcomer = spawn(q.get())
    await settle()
    assert first.result() == 1
    assert not newcomer.done()
    q.put_nowait(2)
    assert await newcomer == 2


async def test_a_new_put_queues_behind_a_woken_putter_instead_of_taking_its_slot() -> None:
    q: loopsync.Queue[str] = loopsync.Queue(1)
    q.put_nowait("a")
    first = spawn(q.put("b"))
    await settle()
    q.get_nowait()  # frees the slot for `first`
    newcomer = spawn(q.put("c"))
    await settle()
    assert first.done() and not newcomer.done()
    assert q.get_nowait() == "b"
    await newcomer
    assert q.get_nowait() == "c"


async def test_getter_woken_as_it_queues_lets_the_getters_woken_ahead_take_their_items_first() -> (
    None
):
    q: loopsync.Queue[int] = loopsync.Queue()
    first = spawn(q.get())
    await settle()
    second = spawn(q.get())  # its first step runs before `first` is resumed
    q.put_nowait(1)  # wakes `first`
    q.put_nowait(2)  # one more item: `second` will be woken as it queues
    await settle()
    assert first.result() == 1
    assert second.result() == 2


async def test_woken_getter_robbed_by_get_nowait_waits_again_at_the_front_of_the_line() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    first = spawn(q.get())
    await settle()
    second = spawn(q.get())
    await settle()
    q.put_nowait(1)  # wakes `first`
    assert q.get_nowait() == 1  # a non-waiting call takes the item first
    await settle()
    assert not first.done() and not second.done()
    q.put_nowait(2)
    q.put_nowait(3)
    assert await first == 2  # still ahead of `second`
    assert await second == 3


async def test_woken_putter_robbed_by_put_nowait_waits_again_at_the_front_of_the_line() -> None:
    q: loopsync.Queue[str] = loopsync.Queue(1)
    q.put_nowait("full")
    first = spawn(q.put("first"))
    await settle()
    second = spawn(q.put("second"))
    await settle()
    q.get_nowait()  # wakes `first`
    q.put_nowait("barged")
    await settle()
    assert not first.done() and not second.done()
    assert q.get_nowait() == "barged"
    await settle()
    assert q.get_nowait() == "first"
    await settle()
    assert q.get_nowait() == "second"
    await first
    await second


# -- Cancellation ---------------------------------------------------------------------


async def test_cancelled_get_takes_no_item() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    getter = spawn(q.get())
    await settle()
    getter.cancel()
    await settle()
    q.put_nowait(1)
    assert q.get_nowait() == 1


async def test_get_cancelled_after_being_woken_leaves_the_item_for_the_next_getter() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    first = spawn(q.get())
    second = spawn(q.get())
    await settle()
    q.put_nowait(7)  # wakes `first`...
    first.cancel()  # ...which is cancelled before it takes the item
    await settle()
    assert first.cancelled()
    assert second.result() == 7
    assert q.empty()


async def test_get_cancelled_after_being_woken_leaves_the_item_in_the_queue() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    only = spawn(q.get())
    await settle()
    q.put_nowait(7)
    only.cancel()
    await settle()
    assert only.cancelled()
    assert q.get_nowait() == 7


async def test_cancelled_put_does_not_insert() -> None:
    q: loopsync.Queue[str] = loopsync.Queue(1)
    q.put_nowait("a")
    putter = spawn(q.put("cancelled"))
    await settle()
    putter.cancel()
    await settle()
    assert q.get_nowait() == "a"
    await settle()
    assert q.empty()


async def test_put_cancelled_after_being_woken_does_not_insert_and_passes_the_slot_on() -> None:
    q: loopsync.Queue[str] = loopsync.Queue(1)
    q.put_nowait("a")
    first = spawn(q.put("cancelled"))
    second = spawn(q.put("b"))
    await settle()
    q.get_nowait()  # wakes `first`...
    first.cancel()  # ...which is cancelled before it inserts
    await settle()
    assert first.cancelled()
    assert second.done()
    assert q.get_nowait() == "b"
    assert q.empty()


# -- task_done and join ---------------------------------------------------------------


async def test_task_done_called_more_often_than_items_were_put_raises_value_error() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    with pytest.raises(ValueError, match="more times"):
        q.task_done()
    q.put_nowait(1)
    q.get_nowait()
    q.task_done()
    with pytest.raises(ValueError):
        q.task_done()


async def test_join_returns_at_once_when_nothing_is_unfinished() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    await q.join()


async def test_join_waits_until_every_item_is_marked_done() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    q.put_nowait(1)
    q.put_nowait(2)
    joiner = spawn(q.join())
    await settle()
    q.get_nowait()
    q.get_nowait()
    q.task_done()
    await settle()
    assert not joiner.done()  # taken is not done
    q.task_done()
    await joiner


async def test_joinable_queue_is_the_34_name_of_a_queue_with_task_done_and_join() -> None:
    q: loopsync.JoinableQueue[int] = loopsync.JoinableQueue(2)
    assert isinstance(q, loopsync.Queue)
    await q.put(1)
    joiner = spawn(q.join())
    assert await q.get() == 1
    q.task_done()
    await joiner
    with pytest.raises(ValueError):
        q.task_done()


# -- shutdown -------------------------------------------------------------------------


async def test_put_after_shutdown_raises_queue_shut_down() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    q.shutdown()
    with pytest.raises(loopsync.QueueShutDown):
        q.put_nowait(1)
    with pytest.raises(loopsync.QueueShutDown):
        await q.put(1)


async def test_get_after_shutdown_returns_remaining_items_then_raises_queue_shut_down() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    q.put_nowait(1)
    q.put_nowait(2)
    q.shutdown()
    assert await q.get() == 1
    assert q.get_nowait() == 2
    with pytest.raises(loopsync.QueueShutDown):
        await q.get()
    with pytest.raises(loopsync.QueueShutDown):
        q.get_nowait()


async def test_shutdown_wakes_blocked_getters_with_queue_shut_down() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    getters = [spawn(q.get()) for _ in range(3)]
    await settle()
    q.shutdown()
    for getter in getters:
        with pytest.raises(loopsync.QueueShutDown):
            await getter


async def test_shutdown_wakes_blocked_putters_with_queue_shut_down() -> None:
    q: loopsync.Queue[int] = loopsync.Queue(1)
    q.put_nowait(0)
    putters = [spawn(q.put(i)) for i in range(3)]
    await settle()
    q.shutdown()
    for putter in putters:
        with pytest.raises(loopsync.QueueShutDown):
            await putter
    assert q.get_nowait() == 0


async def test_immediate_shutdown_drops_the_items_and_unblocks_join() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    for i in range(3):
        q.put_nowait(i)
    joiner = spawn(q.join())
    await settle()
    q.shutdown(immediate=True)
    assert q.empty()
    await joiner
    with pytest.raises(loopsync.QueueShutDown):
        q.get_nowait()
    with pytest.raises(ValueError):
        q.task_done()


async def test_immediate_shutdown_keeps_join_waiting_for_items_already_taken() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    q.put_nowait(1)
    q.put_nowait(2)
    q.get_nowait()  # taken, not yet done
    joiner = spawn(q.join())
    q.shutdown(immediate=True)
    await settle()
    assert not joiner.done()
    q.task_done()
    await joiner


async def test_non_immediate_shutdown_leaves_join_waiting_for_task_done() -> None:
    q: loopsync.Queue[int] = loopsync.Queue()
    q.put_nowait(1)
    joiner = spawn(q.join())
    q.shutdown()
    await settle()
    assert not joiner.done()
    q.get_nowait()
    q.task_done()
    await joiner


# -- repr -----------------------------------------------------------------------------


async def test_repr_shows_size_waiters_unfinished_tasks_and_shutdown() -> None:
    q: loopsync.Queue[int] = loopsync.Queue(1)
    assert repr(q) == "<Queue maxsize=1 [size:0]>"
    getter = spawn(q.get())
    await settle()
    assert repr(q) == "<Queue maxsize=1 [size:0, getters:1]>"
    q.put_nowait(1)
    await getter
    q.put_nowait(2)
    putter = spawn(q.put(3))
    await settle()
    assert repr(q) == "<Queue maxsize=1 [size:1, putters:1, unfinished:2]>"
    q.shutdown(immediate=True)
    with pytest.raises(loopsync.QueueShutDown):
        await putter
    assert repr(q) == "<Queue maxsize=1 [size:0, unfinished:1, shut down]>"
    assert repr(loopsync.LifoQueue()) == "<LifoQueue maxsize=0 [size:0]>"
