"""Cancellation storms: thousands of tasks cancelled at random (seeded) points.

The tasks hold and wait for a lock, a bounded semaphore and a condition, put to and
get from a bounded queue, drain a stream writer whose peer reads slowly and read
a stream with ``readexactly``. Each task is cancelled after a random number of loop
iterations (some never). Afterwards: the lock is free with no waiter, every
semaphore permit is back, every queue item that a ``put`` delivered was taken by
exactly one ``get`` or is still in the queue (none lost, none duplicated), the
stream bytes consumed plus those left equal the bytes written, in order, and no
fd is leaked.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Coroutine
from socket import SO_RCVBUF, SO_SNDBUF, SOL_SOCKET
from typing import Any

import pytest
from _reliability import fd_count, open_transports, settle
from conftest import STRESS

import loopcore
import loopstreams
from loopcore import AbstractEventLoop, CancelledError, Task
from loopsync import BoundedSemaphore, Condition, Lock, Queue

TASKS = 20_000 if STRESS else 2_000
SEEDS = list(range(10)) if STRESS else [1, 2, 3]
PERMITS = 5


def cancel_after(loop: AbstractEventLoop, task: Task[Any], turns: int) -> None:
    """Cancel *task* after *turns* more loop iterations (0: on the next one)."""
    if task.done():
        return
    if turns == 0:
        task.cancel()
    else:
        loop.call_soon(cancel_after, loop, task, turns - 1)


async def storm(
    rng: random.Random,
    count: int,
    make: Callable[[int], Coroutine[Any, Any, None]],
    max_turns: int = 30,
) -> tuple[int, int]:
    """Run *count* tasks from *make*, cancelling ~2/3 of them at random points.

    Returns (finished, cancelled). Any other exception fails the test.
    """
    loop = loopcore.get_running_loop()
    tasks = []
    for i in range(count):
        task = loop.create_task(make(i))
        if rng.random() < 2 / 3:
            cancel_after(loop, task, rng.randrange(max_turns))
        tasks.append(task)
    async with loopcore.timeout(120):
        results = await loopcore.gather(*tasks, return_exceptions=True)
    unexpected = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, CancelledError)
    ]
    assert not unexpected, unexpected[:3]
    cancelled = sum(isinstance(r, CancelledError) for r in results)
    return count - cancelled, cancelled


async def pause(rng: random.Random) -> None:
    for _ in range(rng.randrange(3)):
        await loopcore.sleep(0)


@pytest.mark.parametrize("seed", SEEDS)
async def test_locks_and_semaphores_survive_a_cancellation_storm(seed: int) -> None:
    rng = random.Random(seed)
    lock = Lock()
    sem = BoundedSemaphore(PERMITS)
    cond = Condition()
    inside_lock = 0
    inside_sem = 0
    max_inside_sem = 0
    entered = 0

    async def worker(i: int) -> None:
        nonlocal inside_lock, inside_sem, max_inside_sem, entered
        kind = i % 3
        if kind == 0:
            async with lock:
                inside_lock += 1
                assert inside_lock == 1, "two tasks hold the lock"
                try:
                    await pause(rng)
                finally:
                    inside_lock -= 1
            entered += 1
        elif kind == 1:
            async with sem:
                inside_sem += 1
                max_inside_sem = max(max_inside_sem, inside_sem)
                try:
                    await pause(rng)
                finally:
                    inside_sem -= 1
            entered += 1
        else:
            async with cond:
                if rng.random() < 0.5:
                    # Waiters are woken by notifiers; a cancelled wait re-acquires.
                    await loopcore.wait_for(cond.wait(), timeout=0.05)
                else:
                    cond.notify(rng.randrange(1, 4))
            entered += 1

    fds = fd_count()

    async def tolerant_worker(i: int) -> None:
        try:
            await worker(i)
        except TimeoutError:
            pass  # a condition wait nobody notified in time: a normal outcome here

    finished, cancelled = await storm(rng, TASKS, tolerant_worker)
    await settle()
    assert finished + cancelled == TASKS and cancelled > TASKS // 3 and finished > 0
    assert not lock.locked() and not cond.locked()
    assert inside_lock == 0 and inside_sem == 0 and max_inside_sem <= PERMITS
    assert not [w for w in lock._waiters if not w.done()]  # type: ignore[attr-defined]
    # Every permit is back: PERMITS acquisitions succeed at once, one more would wait.
    async with loopcore.timeout(1):
        for _ in range(PERMITS):
            await sem.acquire()
    assert sem.locked()
    for _ in range(PERMITS):
        sem.release()
    with pytest.raises(ValueError):
        sem.release()  # bounded: one more than PERMITS would be a lost-permit bug hidden
    async with loopcore.timeout(1):
        await lock.acquire()
    lock.release()
    assert fd_count() == fds


@pytest.mark.parametrize("seed", SEEDS)
async def test_queue_items_are_never_lost_or_duplicated_under_cancellation(seed: int) -> None:
    rng = random.Random(seed)
    loop = loopcore.get_running_loop()
    queue: Queue[int] = Queue(maxsize=10)
    delivered: list[int] = []  # put() returned: the item is in the queue
    taken: list[int] = []  # get() returned it
    left: list[int] = []  # taken by the janitor below

    async def producer(i: int) -> None:
        await pause(rng)
        await queue.put(i)
        delivered.append(i)

    async def consumer() -> None:
        await pause(rng)
        taken.append(await queue.get())

    producers = [loop.create_task(producer(i)) for i in range(TASKS // 2)]
    consumers = [loop.create_task(consumer()) for _ in range(TASKS // 2)]
    everyone = producers + consumers
    for task in everyone:
        if rng.random() < 2 / 3:
            cancel_after(loop, task, rng.randrange(30))
    # Cancelled puts leave consumers waiting for items that never come, and cancelled
    # gets leave producers waiting for room: once one side is all done, the janitor
    # serves the other (sentinels are negative, so they are told apart).
    sentinels: list[int] = []
    async with loopcore.timeout(120):
        while not all(t.done() for t in everyone):
            if all(t.done() for t in producers) and not queue.full():
                sentinels.append(-1 - len(sentinels))
                queue.put_nowait(sentinels[-1])
            elif all(t.done() for t in consumers) and not queue.empty():
                left.append(queue.get_nowait())
            await loopcore.sleep(0)
    await settle()
    while not queue.empty():
        left.append(queue.get_nowait())
    outcomes = [t.exception() for t in everyone if not t.cancelled()]
    assert not [e for e in outcomes if e is not None], outcomes
    cancelled = sum(t.cancelled() for t in everyone)
    assert 0 < cancelled < len(everyone)
    assert len(taken) == len(set(taken)), "an item was taken twice"
    assert len(set(delivered)) == len(delivered)
    assert sorted(taken + left) == sorted(delivered + sentinels), "an item was lost or duplicated"
    # The queue still works in both directions: no waiter is stuck in it.
    for i in range(10):
        queue.put_nowait(i)
    async with loopcore.timeout(1):
        assert [await queue.get() for _ in range(10)] == list(range(10))


def pattern(offset: int, size: int) -> bytes:
    """Bytes *offset*..*offset+size* of the stream 0, 1, ..., 250, 0, 1, ..."""
    return bytes((offset + k) % 251 for k in range(size))


@pytest.mark.parametrize("seed", SEEDS)
async def test_stream_writers_and_readers_survive_a_cancellation_storm(seed: int) -> None:
    rng = random.Random(seed)
    loop = loopcore.get_running_loop()
    fds = fd_count()
    count = TASKS // 4
    server_side: dict[str, Any] = {}
    connected = loop.create_future()

    async def handler(reader: loopstreams.StreamReader, writer: loopstreams.StreamWriter) -> None:
        server_side["reader"], server_side["writer"] = reader, writer
        connected.set_result(None)

    # Small buffers everywhere, so that drain() blocks and the reader pauses often.
    server = await loopstreams.start_server(handler, "127.0.0.1", 0, limit=8192)
    try:
        c_reader, c_writer = await loopstreams.open_connection(*server.sockets[0].getsockname())
        async with loopcore.timeout(10):
            await connected
        s_reader: loopstreams.StreamReader = server_side["reader"]
        s_writer: loopstreams.StreamWriter = server_side["writer"]
        c_writer.transport.set_write_buffer_limits(high=4096)
        # Small kernel buffers too (no autotuning), so that the reader's pausing
        # reaches the writer quickly.
        c_writer.get_extra_info("socket").setsockopt(SOL_SOCKET, SO_SNDBUF, 32768)
        s_writer.get_extra_info("socket").setsockopt(SOL_SOCKET, SO_RCVBUF, 32768)
        written = 0
        consumed = bytearray()
        blocked_drains = [0]
        read_lock = Lock()  # one reader at a time, as StreamReader requires

        async def write_worker() -> None:
            nonlocal written
            await pause(rng)
            size = rng.randrange(1, 8192)
            c_writer.write(pattern(written, size))
            written += size
            if c_writer.transport.get_write_buffer_size() > 4096:
                blocked_drains[0] += 1
            await c_writer.drain()

        async def read_worker() -> None:
            async with read_lock:
                try:
                    consumed.extend(await s_reader.readexactly(rng.randrange(1, 8192)))
                except loopcore.IncompleteReadError as exc:  # after the writers' EOF
                    consumed.extend(exc.partial)

        writers = [loop.create_task(write_worker()) for _ in range(count // 2)]
        readers = [loop.create_task(read_worker()) for _ in range(count // 2)]
        everyone = writers + readers
        rng.shuffle(everyone)
        for task in everyone:
            if rng.random() < 2 / 3:
                cancel_after(loop, task, rng.randrange(40))

        async def finish_writers() -> None:
            await loopcore.gather(*writers, return_exceptions=True)
            c_writer.write_eof()

        async def finish_readers() -> bytes:
            await loopcore.gather(*readers, return_exceptions=True)
            async with read_lock:
                return await s_reader.read()  # whatever no reader took, up to EOF

        async with loopcore.timeout(120):
            _, rest = await loopcore.gather(finish_writers(), finish_readers())
        outcomes = [t.exception() if not t.cancelled() else None for t in everyone]
        assert not [e for e in outcomes if e is not None], "a worker failed"
        cancelled = sum(t.cancelled() for t in everyone)
        assert 0 < cancelled < len(everyone)
        assert blocked_drains[0] > 0, "no drain() ever had to wait"
        assert len(consumed) + len(rest) == written
        assert bytes(consumed) + rest == pattern(0, written), "stream bytes lost or reordered"
        for w in (c_writer, s_writer):
            w.close()
        for w in (c_writer, s_writer):
            await w.wait_closed()
    finally:
        server.close()
        server.abort_clients()  # only after a failure is anything left to abort
        async with loopcore.timeout(10):
            await server.wait_closed()
    await settle()
    assert fd_count() == fds
    assert open_transports() == []
