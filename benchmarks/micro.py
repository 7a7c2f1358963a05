"""Micro-benchmarks of the event loop core, one per run, on one implementation.

    python benchmarks/micro.py --impl ours|asyncio|uvloop|rloop --bench NAME [--quick]
    python benchmarks/micro.py --list

Each run prints one JSON object: the figure (``value`` in ``unit``; ``better`` says
whether higher or lower is better), the count of operations and the time they took
(``seconds``: CPU time of the process, which the rates are computed from;
``wall_seconds``: wall time of the whole pass).
Each benchmark checks its own result (every callback ran exactly once, every future
was resolved with its value, the sums match...) and exits with status 1 if not, so
a broken loop cannot post a good figure. Each one runs a short warm-up pass on the
same loop first (a tenth of the count), then the timed pass.

An implementation that lacks a needed piece prints ``{"unavailable": reason}`` and
exits with status 3 (reported as "n/a" by run.py).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import _impls

# The figures are computed from the CPU time of this process, not the wall clock:
# the machine these run on is shared, and time spent descheduled while another
# process runs says nothing about the loop. Every benchmark is single-threaded, so
# the process's CPU time is the loop's. (The wall time is reported beside it.)
cpu_clock = time.process_time


class BenchmarkError(Exception):
    """A benchmark's own check failed: the loop under test misbehaved."""


def check(ok: bool, what: str) -> None:
    if not ok:
        raise BenchmarkError(what)


@dataclass
class Result:
    value: float
    n: int
    seconds: float
    extra: dict[str, Any] | None = None


# --- throughput ---------------------------------------------------------------------


def bench_call_soon(impl: _impls.Impl, loop: Any, n: int) -> Result:
    """Schedule *n* callbacks with ``call_soon`` and run them: callbacks per second."""
    counter = itertools.count()
    callback = counter.__next__  # a C callable, so the figure is the loop's own cost
    call_soon = loop.call_soon
    start = cpu_clock()
    for _ in range(n):
        call_soon(callback)
    call_soon(loop.stop)
    loop.run_forever()
    seconds = cpu_clock() - start
    ran = next(counter)
    check(ran == n, f"{ran} of {n} callbacks ran")
    return Result(n / seconds, n, seconds)


def bench_timers(impl: _impls.Impl, loop: Any, n: int) -> Result:
    """Schedule *n* ``call_later`` timers with random delays in [0, 10 ms), cancel
    every other one, run until all due: timers scheduled per second (the time covers
    scheduling, cancelling and firing)."""
    rng = random.Random(20240601)
    delays = [rng.random() * 0.01 for _ in range(n)]
    fired = itertools.count()
    callback = fired.__next__
    call_later = loop.call_later
    start = cpu_clock()
    handles = [call_later(delay, callback) for delay in delays]
    for handle in handles[::2]:
        handle.cancel()
    # Later than every timer above, since they were all scheduled before it.
    loop.call_later(0.01, loop.stop)
    loop.run_forever()
    seconds = cpu_clock() - start
    ran = next(fired)
    check(
        ran == n - len(handles[::2]),
        f"{ran} timers fired, expected {n - len(handles[::2])} (half were cancelled)",
    )
    return Result(n / seconds, n, seconds)


def bench_sleep0(impl: _impls.Impl, loop: Any, n: int) -> Result:
    """Ten tasks each ``await sleep(0)`` *n*/10 times: task switches per second."""
    sleep = impl.need("sleep")
    workers = 10
    per_worker = n // workers
    done = [0] * workers

    async def worker(k: int) -> None:
        for _ in range(per_worker):
            await sleep(0)
        done[k] = per_worker

    async def main() -> float:
        start = cpu_clock()
        tasks = [loop.create_task(worker(k)) for k in range(workers)]
        for task in tasks:
            await task
        return cpu_clock() - start

    seconds = loop.run_until_complete(main())
    check(
        sum(done) == workers * per_worker,
        f"{sum(done)} of {workers * per_worker} switches completed",
    )
    return Result(workers * per_worker / seconds, workers * per_worker, seconds)


def bench_future(impl: _impls.Impl, loop: Any, n: int) -> Result:
    """Create a future, resolve it from a ``call_soon`` callback, await it: round
    trips per second."""

    async def main() -> float:
        create_future = loop.create_future
        call_soon = loop.call_soon
        start = cpu_clock()
        for i in range(n):
            fut = create_future()
            call_soon(fut.set_result, i)
            got = await fut
            if got != i:
                raise BenchmarkError(f"future {i} resolved to {got!r}")
        return cpu_clock() - start

    seconds = loop.run_until_complete(main())
    return Result(n / seconds, n, seconds)


def bench_gather(impl: _impls.Impl, loop: Any, n: int) -> Result:
    """``gather`` *n* coroutines that each ``await sleep(0)`` and return their index:
    tasks per second (creation, one switch each, collection)."""
    sleep = impl.need("sleep")
    gather = impl.need("gather")

    async def child(i: int) -> int:
        await sleep(0)
        return i

    async def main() -> tuple[float, list[int]]:
        start = cpu_clock()
        results = await gather(*[child(i) for i in range(n)])
        return cpu_clock() - start, results

    seconds, results = loop.run_until_complete(main())
    check(results == list(range(n)), "gather returned the results out of order or incomplete")
    return Result(n / seconds, n, seconds)


def bench_queue(impl: _impls.Impl, loop: Any, n: int) -> Result:
    """A producer puts *n* integers into ``Queue(maxsize=100)``, a consumer gets them:
    items per second."""
    queue_class = impl.need("Queue")

    async def main() -> tuple[float, int]:
        queue = queue_class(maxsize=100)

        async def producer() -> None:
            for i in range(n):
                await queue.put(i)
            await queue.put(None)

        async def consumer() -> int:
            total = 0
            while (item := await queue.get()) is not None:
                total += item
            return total

        start = cpu_clock()
        prod = loop.create_task(producer())
        total = await loop.create_task(consumer())
        await prod
        return cpu_clock() - start, total

    seconds, total = loop.run_until_complete(main())
    check(total == n * (n - 1) // 2, f"consumer summed {total}, expected {n * (n - 1) // 2}")
    return Result(n / seconds, n, seconds)


def bench_lock(impl: _impls.Impl, loop: Any, n: int) -> Result:
    """Ten tasks contend for one ``Lock``; each holds it across one ``sleep(0)``, so
    every release hands the lock to a waiter: acquisitions per second."""
    lock_class = impl.need("Lock")
    sleep = impl.need("sleep")
    workers = 10
    per_worker = n // workers

    async def main() -> tuple[float, int]:
        lock = lock_class()
        state = {"count": 0, "inside": 0}

        async def worker() -> None:
            for _ in range(per_worker):
                async with lock:
                    state["inside"] += 1
                    if state["inside"] != 1:
                        raise BenchmarkError("two tasks held the lock at once")
                    await sleep(0)
                    state["count"] += 1
                    state["inside"] -= 1

        start = cpu_clock()
        tasks = [loop.create_task(worker()) for _ in range(workers)]
        for task in tasks:
            await task
        return cpu_clock() - start, state["count"]

    seconds, count = loop.run_until_complete(main())
    check(
        count == workers * per_worker, f"{count} of {workers * per_worker} acquisitions completed"
    )
    return Result(count / seconds, count, seconds)


def bench_event(impl: _impls.Impl, loop: Any, n: int) -> Result:
    """Two tasks ping-pong through two ``Event`` objects (set, wait, clear): round
    trips per second."""
    event_class = impl.need("Event")

    async def main() -> tuple[float, int, int]:
        ping_event, pong_event = event_class(), event_class()
        counts = [0, 0]

        async def ping() -> None:
            for _ in range(n):
                ping_event.set()
                await pong_event.wait()
                pong_event.clear()
                counts[0] += 1

        async def pong() -> None:
            for _ in range(n):
                await ping_event.wait()
                ping_event.clear()
                counts[1] += 1
                pong_event.set()

        start = cpu_clock()
        a = loop.create_task(ping())
        b = loop.create_task(pong())
        await a
        await b
        return cpu_clock() - start, counts[0], counts[1]

    seconds, pings, pongs = loop.run_until_complete(main())
    check(pings == pongs == n, f"{pings} pings and {pongs} pongs, expected {n} each")
    return Result(n / seconds, n, seconds)


def bench_sock(impl: _impls.Impl, loop: Any, n: int) -> Result:
    """10 socket pairs on one loop, each with a client task that sends a 1 KiB
    message with ``sock_sendall`` and reads its echo with ``sock_recv``, and an echo
    task (``sock_recv``, ``sock_sendall``): round trips per second (both ends' work).
    Unlike the echo server rows, nothing depends on the speed of another process:
    every ``sock_recv`` after a send finds nothing to read yet, the regime of a
    server on a quiet machine."""

    import socket

    if not hasattr(loop, "sock_recv"):
        raise _impls.Unavailable(f"{type(loop).__name__} has no sock_* coroutines (looptransports)")
    pairs = 10
    per_pair = max(n // pairs, 1)

    async def echo(sock: socket.socket) -> None:
        while data := await loop.sock_recv(sock, 65536):
            await loop.sock_sendall(sock, data)

    async def client(sock: socket.socket, index: int) -> int:
        ok = 0
        for i in range(per_pair):
            message = (b"%d:%d;" % (index, i)) * 128
            message = message[:1024]
            await loop.sock_sendall(sock, message)
            got = b""
            while len(got) < len(message):
                chunk = await loop.sock_recv(sock, 65536)
                if not chunk:
                    break
                got += chunk
            ok += got == message
        sock.close()
        return ok

    async def main() -> tuple[float, int]:
        socks = []
        try:
            for _ in range(pairs):
                a, b = socket.socketpair()
                a.setblocking(False)
                b.setblocking(False)
                socks += [a, b]
            start = cpu_clock()
            servers = [loop.create_task(echo(socks[2 * i])) for i in range(pairs)]
            clients = [loop.create_task(client(socks[2 * i + 1], i)) for i in range(pairs)]
            ok = 0
            for task in clients:
                ok += await task
            for task in servers:
                await task
            return cpu_clock() - start, ok
        finally:
            for sock in socks:
                sock.close()

    seconds, ok = loop.run_until_complete(main())
    total = per_pair * pairs
    check(ok == total, f"{ok} of {total} echoes came back intact")
    return Result(total / seconds, total, seconds)


# --- memory -------------------------------------------------------------------------


def bench_mem_task(impl: _impls.Impl, loop: Any, n: int) -> Result:
    """Bytes per suspended task (tracemalloc): *n* tasks each ``await`` one shared
    future; the figure is the memory traced between before their creation and when
    all of them are suspended, over *n* (task, coroutine and frame, the future's
    callback entry, the loop's registry entry)."""
    sleep = impl.need("sleep")

    async def main() -> tuple[int, float]:
        gate = loop.create_future()
        started = [0]
        tasks: list[Any] = [None] * n

        async def waiter() -> None:
            started[0] += 1
            await gate

        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            start = cpu_clock()
            for i in range(n):
                tasks[i] = loop.create_task(waiter())
            while started[0] < n:
                await sleep(0)
            used = tracemalloc.get_traced_memory()[0] - base
            seconds = cpu_clock() - start
        finally:
            tracemalloc.stop()
        check(
            not any(task.done() for task in tasks), "a task finished before its future was resolved"
        )
        gate.set_result(None)
        for task in tasks:
            await task
        check(
            all(task.done() and task.exception() is None for task in tasks),
            "a task did not finish cleanly",
        )
        return used, seconds

    used, seconds = loop.run_until_complete(main())
    return Result(used / n, n, seconds)


# The client side of the idle-connection benchmark runs in its own process, so that
# its sockets are not counted. It waits for "go", opens N connections, says
# "connected", and holds them until its standard input closes.
_IDLE_CLIENT = r"""
import resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port, n = int(sys.argv[1]), int(sys.argv[2])
sys.stdin.readline()
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    socks.append(s)
print("connected", flush=True)
sys.stdin.read()
for s in socks:
    s.close()
"""


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _idle_connections(impl: _impls.Impl, loop: Any, n: int, use_tracemalloc: bool) -> Result:
    protocol_base = impl.need("Protocol")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def main() -> tuple[int, float]:
        all_connected = loop.create_future()
        all_lost = loop.create_future()
        counts = {"made": 0, "lost": 0}

        class Idle(protocol_base):  # type: ignore[misc, valid-type]
            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                counts["made"] += 1
                if counts["made"] == n:
                    all_connected.set_result(None)

            def connection_lost(self, exc: BaseException | None) -> None:
                counts["lost"] += 1
                if counts["lost"] == n:
                    all_lost.set_result(None)

        def give_up(fut: Any, what: str) -> None:
            if not fut.done():
                fut.set_exception(BenchmarkError(f"{what}: {counts}"))

        # A backlog that holds every connection, so none waits for a SYN retry.
        server = await loop.create_server(Idle, "127.0.0.1", 0, backlog=n + 16)
        port = server.sockets[0].getsockname()[1]
        child = subprocess.Popen(
            [sys.executable, "-c", _IDLE_CLIENT, str(port), str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert child.stdin is not None
        try:
            timer = loop.call_later(
                30, give_up, all_connected, "not all clients connected within 30 s"
            )
            gc.collect()
            if use_tracemalloc:
                tracemalloc.start()
                base = tracemalloc.get_traced_memory()[0]
            else:
                base = _rss_bytes()
            start = cpu_clock()
            child.stdin.write(b"go\n")
            child.stdin.flush()
            await all_connected
            timer.cancel()
            if use_tracemalloc:
                used = tracemalloc.get_traced_memory()[0] - base
                tracemalloc.stop()
            else:
                used = _rss_bytes() - base
            seconds = cpu_clock() - start
            timer = loop.call_later(
                30, give_up, all_lost, "not all connections were lost within 30 s"
            )
            child.stdin.close()
            await all_lost
            timer.cancel()
        finally:
            if tracemalloc.is_tracing():
                tracemalloc.stop()
            if not child.stdin.closed:
                child.stdin.close()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            server.close()
            await server.wait_closed()
        check(child.returncode == 0, f"the idle client exited with status {child.returncode}")
        return used, seconds

    used, seconds = loop.run_until_complete(main())
    return Result(used / n, n, seconds)


def bench_mem_conn(impl: _impls.Impl, loop: Any, n: int) -> Result:
    """Bytes per idle server-side TCP connection (tracemalloc): a protocol server
    accepts *n* connections from a separate process; traced memory over *n*
    (socket object, transport, protocol, selector registration)."""
    return _idle_connections(impl, loop, n, use_tracemalloc=True)


def bench_mem_conn_rss(impl: _impls.Impl, loop: Any, n: int) -> Result:
    """The same, measured as the growth of the process's resident set (no tracemalloc;
    includes memory allocated outside Python's allocators, e.g. libuv's)."""
    return _idle_connections(impl, loop, n, use_tracemalloc=False)


@dataclass
class Bench:
    func: Callable[[_impls.Impl, Any, int], Result]
    n_quick: int
    n_full: int
    unit: str
    better: str  # "higher" or "lower"
    title: str
    warmup: bool = True


BENCHES: dict[str, Bench] = {
    "call_soon": Bench(bench_call_soon, 200_000, 1_000_000, "callbacks/s", "higher", "call_soon"),
    "timers": Bench(
        bench_timers, 100_000, 100_000, "timers/s", "higher", "timers: random delays, cancel half"
    ),
    "sleep0": Bench(
        bench_sleep0, 100_000, 500_000, "switches/s", "higher", "task switches, sleep(0)"
    ),
    "future": Bench(
        bench_future, 50_000, 300_000, "round trips/s", "higher", "future create/resolve/await"
    ),
    "gather": Bench(bench_gather, 30_000, 100_000, "tasks/s", "higher", "gather of N tasks"),
    "queue": Bench(bench_queue, 100_000, 300_000, "items/s", "higher", "queue producer/consumer"),
    "lock": Bench(
        bench_lock, 30_000, 200_000, "acquisitions/s", "higher", "lock hand-off, 10 tasks"
    ),
    "event": Bench(
        bench_event, 30_000, 200_000, "round trips/s", "higher", "event set/wait ping-pong"
    ),
    "sock": Bench(
        bench_sock, 20_000, 100_000, "round trips/s", "higher", "sock_* ping-pong, 10 pairs"
    ),
    "mem_task": Bench(
        bench_mem_task, 10_000, 100_000, "bytes/task", "lower", "memory per suspended task"
    ),
    "mem_conn": Bench(
        bench_mem_conn, 1000, 1000, "bytes/conn", "lower", "memory per idle connection (traced)"
    ),
    "mem_conn_rss": Bench(
        bench_mem_conn_rss,
        1000,
        1000,
        "bytes/conn",
        "lower",
        "memory per idle connection (RSS)",
        warmup=False,
    ),
}


def run(impl_name: str, bench_name: str, quick: bool, n: int | None) -> dict[str, Any]:
    bench = BENCHES[bench_name]
    count = n if n is not None else (bench.n_quick if quick else bench.n_full)
    impl = _impls.get(impl_name)
    loop = impl.new_loop()
    try:
        if bench.warmup:
            bench.func(impl, loop, max(count // 10, 10))
        gc.collect()
        wall_start = time.perf_counter()
        result = bench.func(impl, loop, count)
        wall = time.perf_counter() - wall_start
    finally:
        loop.close()
    return {
        "bench": bench_name,
        "impl": impl_name,
        "loop": _impls.loop_description(loop),
        "value": result.value,
        "unit": bench.unit,
        "better": bench.better,
        "n": result.n,
        "seconds": round(result.seconds, 6),
        "clock": "process_time",
        "wall_seconds": round(wall, 6),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--impl", choices=_impls.IMPLS, default="asyncio")
    parser.add_argument("--bench", choices=sorted(BENCHES))
    parser.add_argument(
        "--quick", action="store_true", help="the short counts used by run.py --quick"
    )
    parser.add_argument("-n", type=int, help="override the operation count")
    parser.add_argument("--list", action="store_true", help="print the benchmarks as JSON and exit")
    args = parser.parse_args()
    if args.list:
        print(
            json.dumps(
                {
                    name: {
                        "title": b.title,
                        "unit": b.unit,
                        "better": b.better,
                        "doc": (b.func.__doc__ or "").split("\n\n")[0],
                    }
                    for name, b in BENCHES.items()
                }
            )
        )
        return
    if args.bench is None:
        parser.error("--bench is required (or --list)")
    try:
        result = run(args.impl, args.bench, args.quick, args.n)
    except _impls.Unavailable as exc:
        _impls.report_unavailable(str(exc))
    except BenchmarkError as exc:
        print(f"micro.py: {args.bench} on {args.impl} failed its check: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
