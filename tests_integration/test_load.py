"""Load: a loopstreams echo server holding many connections from other processes.

The server runs on the test's loop; the clients are separate processes
(``_echo_client.py``, stdlib only), each holding part of the connections. Every
byte echoed is verified by the clients. After all clients leave, the server's fd
count is back to where it started, no task, callback, timer, selector key or
transport is left, and after a warm-up round, a second identical round grows RSS
(measured after ``gc.collect()`` and ``malloc_trim(0)``) by less than 5 %; of two
more rounds traced by tracemalloc, the second leaves no more of the project's
objects behind than the first.

Fast suite: 1,000 connections, 10 requests each. ``nox -s stress`` (LOOP_STRESS=1):
10,000 connections and 1,000,000 requests per round.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _reliability import (
    fd_count,
    leftovers,
    live_transports,
    open_transports,
    pymalloc_arenas,
    raise_nofile,
    record,
    selector_keys,
    settle,
    settled_rss_bytes,
)
from conftest import STRESS

import loopcore
import loopstreams
import loopsync
import looptransports
from loopcore import Future
from loopstreams import StreamReader, StreamWriter

CLIENT = str(Path(__file__).with_name("_echo_client.py"))
# Where the four distributions' modules are, whether installed editable or as wheels.
PROJECT_SOURCES = [
    str(Path(module.__file__).parent)  # type: ignore[arg-type]
    for module in (loopcore, looptransports, loopsync, loopstreams)
]

if STRESS:
    CONNECTIONS, REQUESTS, BATCH, PROCESSES = 10_000, 100, 10, 4
else:
    CONNECTIONS, REQUESTS, BATCH, PROCESSES = 1_000, 10, 1, 2
# For experiments: LOOP_LOAD=connections,requests,batch,processes
if os.environ.get("LOOP_LOAD"):
    CONNECTIONS, REQUESTS, BATCH, PROCESSES = (int(x) for x in os.environ["LOOP_LOAD"].split(","))


@dataclass
class EchoState:
    """What the server saw: connections open now and at most, lines echoed."""

    active: int = 0
    peak: int = 0
    served: int = 0
    errors: list[BaseException] = field(default_factory=list)
    idle: Future[None] | None = None


def make_handler(state: EchoState):  # type: ignore[no-untyped-def]
    async def echo(reader: StreamReader, writer: StreamWriter) -> None:
        state.active += 1
        state.peak = max(state.peak, state.active)
        try:
            while line := await reader.readline():
                writer.write(line)
                state.served += 1
                await writer.drain()
        except Exception as exc:  # a client that errs is counted, never swallowed
            state.errors.append(exc)
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except ConnectionError as exc:
                state.errors.append(exc)
            state.active -= 1
            if state.active == 0 and state.idle is not None and not state.idle.done():
                state.idle.set_result(None)

    return echo


async def run_round(port: int, state: EchoState, seed: int) -> dict[str, object]:
    """One round: PROCESSES clients holding CONNECTIONS connections, then requests."""
    loop = loopcore.get_running_loop()
    state.idle = loop.create_future()
    state.served = 0
    shares = [CONNECTIONS // PROCESSES] * PROCESSES
    shares[0] += CONNECTIONS - sum(shares)
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                CLIENT,
                "127.0.0.1",
                str(port),
                str(n),
                str(REQUESTS),
                str(BATCH),
                str(seed * 100 + k),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for k, n in enumerate(shares)
    ]
    try:
        for proc, n in zip(procs, shares, strict=True):
            assert proc.stdout is not None
            line = await loopcore.to_thread(proc.stdout.readline)
            if line.strip() != b"held %d" % n:
                proc.wait(timeout=30)
                raise AssertionError(
                    f"a client did not hold its {n} connections: {line!r}, "
                    f"stderr: {proc.stderr.read()!r}"  # type: ignore[union-attr]
                )
        held = state.active
        assert held == CONNECTIONS, f"the server holds {held} of {CONNECTIONS} connections"
        connected = time.perf_counter()
        for proc in procs:
            proc.stdin.write(b"go\n")  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        reports = []
        for proc in procs:
            out = await loopcore.to_thread(proc.stdout.read)  # type: ignore[union-attr]
            err = await loopcore.to_thread(proc.stderr.read)  # type: ignore[union-attr]
            code = await loopcore.to_thread(proc.wait, 60)
            assert code == 0, f"a client failed ({code}): {err.decode(errors='replace')}"
            reports.append(json.loads(out))
        async with loopcore.timeout(60):
            await state.idle
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
    finished = time.perf_counter()
    requests = sum(int(r["requests"]) for r in reports)
    assert requests == CONNECTIONS * REQUESTS
    # One hello line per connection, then the requests.
    assert state.served == CONNECTIONS + requests
    assert not state.errors, state.errors[:5]
    return {
        "connections_held": held,
        "requests": requests,
        "bytes_verified": sum(int(r["bytes"]) for r in reports),
        "connect_seconds": round(connected - started, 3),
        "request_seconds": round(finished - connected, 3),
        "requests_per_second": round(requests / max(finished - connected, 1e-9)),
    }


def project_snapshot(snapshot: tracemalloc.Snapshot) -> tracemalloc.Snapshot:
    """The allocations made by the project's own source lines and still held."""
    return snapshot.filter_traces([tracemalloc.Filter(True, d + "/*") for d in PROJECT_SOURCES])


@pytest.mark.timeout(1800 if STRESS else 120)
async def test_echo_server_holds_every_connection_and_leaves_nothing_behind() -> None:
    raise_nofile()
    loop = loopcore.get_running_loop()
    state = EchoState()
    fds_before_server = fd_count()
    transports_before = live_transports()
    server = await loopstreams.start_server(make_handler(state), "127.0.0.1", 0, backlog=4096)
    async with server:
        port = server.sockets[0].getsockname()[1]
        keys = selector_keys(loop)
        fds_start = fd_count()

        # Rounds 0 and 1 warm up (caches, freelists, the executor thread, allocator
        # arenas sized for the peak); rounds 2 and 3 are identical and measured.
        warmups = []
        rss_rounds = []
        arenas = []
        for seed in (0, 1):
            warmups.append(await run_round(port, state, seed=seed))
            await settle()
            rss_rounds.append(settled_rss_bytes())
            arenas.append(pymalloc_arenas())
        first = await run_round(port, state, seed=2)
        await settle()
        fds_after_first = fd_count()
        assert fds_after_first == fds_start, (fds_start, fds_after_first)
        assert leftovers(loop, keys) == {}
        assert open_transports() == []
        rss_first = settled_rss_bytes()
        arenas.append(pymalloc_arenas())

        second = await run_round(port, state, seed=2)
        await settle()
        fds_after_second = fd_count()
        assert fds_after_second == fds_start
        assert leftovers(loop, keys) == {}
        rss_second = settled_rss_bytes()
        arenas.append(pymalloc_arenas())
        growth = (rss_second - rss_first) / rss_first

        # Rounds 3 and 4 under tracemalloc: what the project's code allocated during
        # round 4 and still holds afterwards (round 3 lets containers reach their size).
        tracemalloc.start()
        try:
            third = await run_round(port, state, seed=3)
            await settle()
            gc.collect()
            before_all = tracemalloc.take_snapshot()
            fourth = await run_round(port, state, seed=3)
            await settle()
            gc.collect()
            after_all = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        diff = project_snapshot(after_all).compare_to(project_snapshot(before_all), "lineno")
        held_bytes = sum(d.size_diff for d in diff)
        held_blocks = sum(d.count_diff for d in diff)
        top = [str(d) for d in diff[:8]]
        everything = after_all.compare_to(before_all, "lineno")
        all_bytes = sum(d.size_diff for d in everything)
        top_all = [str(d) for d in everything[:5]]
        assert fd_count() == fds_start
        assert leftovers(loop, keys) == {}
    await settle()
    assert open_transports() == []
    assert live_transports() == transports_before
    fds_end = fd_count()

    figures = {
        "stress": STRESS,
        "connections": CONNECTIONS,
        "client_processes": PROCESSES,
        "requests_per_connection": REQUESTS,
        "pipelined_batch": BATCH,
        "rounds": [*warmups, first, second, third, fourth],
        "fds_before_server": fds_before_server,
        "fds_listening": fds_start,
        "fds_after_measured_round_1": fds_after_first,
        "fds_after_measured_round_2": fds_after_second,
        "fds_after_server_closed": fds_end,
        "peak_connections": state.peak,
        "rss_after_warmup_rounds_mib": [round(r / 2**20, 1) for r in rss_rounds],
        "rss_before_round_mib": round(rss_first / 2**20, 1),
        "rss_after_identical_round_mib": round(rss_second / 2**20, 1),
        "rss_growth_percent": round(growth * 100, 2),
        "pymalloc_arenas_after_rounds": arenas,
        "tracemalloc_project_growth_bytes": held_bytes,
        "tracemalloc_project_growth_blocks": held_blocks,
        "tracemalloc_all_growth_bytes": all_bytes,
        "tracemalloc_all_top_growth": top_all,
    }
    record("load_stress" if STRESS else "load", figures)
    assert state.peak == CONNECTIONS
    assert fds_end == fds_before_server
    assert growth < 0.05, figures
    # Count allocated blocks, not bytes: a container that grew its table to the
    # peak (the server's set of clients, a deque's blocks) is one block of any size,
    # while a leak of one object per connection or per request is thousands.
    assert held_blocks < max(50, CONNECTIONS // 50), top
