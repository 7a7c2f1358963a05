"""aiohttp "hello" server on asyncio's loop, uvloop and loopasyncio, loaded by wrk.

Each implementation serves the same aiohttp application (``GET /`` answers
``hello``, access log off) in a child process of its own; ``wrk`` (Debian's package
``wrk``) loads it over HTTP/1.1 keep-alive on 127.0.0.1 for a fixed time. Measured per
run: requests per second (wrk's count over wrk's duration) and the server's CPU time
per request (user + system time of the server process, from ``/proc/PID/stat``, over
the same window, divided by the number of requests). The implementations are
interleaved within each round (asyncio, uvloop, loopasyncio, then the next round), so
that they meet the same machine state; the table gives the median of the rounds.

    python benchmarks/aiohttp_hello.py            # 5 rounds of 10 s each
    python benchmarks/aiohttp_hello.py --quick    # 2 rounds of 3 s: a smoke check

On a shared machine single timed runs vary by more than the differences between loops
(other jobs take the CPU and the caches at random moments). Three things help:

* ``--paired``: in each round every implementation serves at the same time, each
  loaded by a wrk of its own, so that all meet the same machine state; the figure to
  read is then the median of the per-round ratios to asyncio (the absolute rates are
  lower, the servers sharing the CPU with each other);
* system calls of the server per request (``--syscalls``, on by default), a count
  that the machine's load hardly moves: a separate run per implementation, wrk as
  above, with ``perf stat`` on the syscall tracepoints (else ``strace -c -f``)
  watching the server;
* instructions of the server per request (``--instructions``, off by default: about
  two minutes per implementation), a count the load does not move: the server runs
  under ``valgrind --tool=callgrind`` and takes a warm-up load, then its counters are
  zeroed, a fixed number of keep-alive requests is sent (by a small client in this
  script, so that no request is in flight when the count starts or ends) and the
  counters are dumped.

These options are the script's own: pass them when running it directly, not through
``nox -s bench`` (whose ``run.py`` refuses them). ``--loops asyncio,loopasyncio``
measures a subset.

``nox -s bench`` runs it after ``run.py``. Results go to
``benchmarks/results/aiohttp_hello.json`` (and a Markdown table on stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
IMPLS = ("asyncio", "uvloop", "loopasyncio")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- The server (child process) -----------------------------------------------------------


def serve(impl: str) -> None:
    import asyncio

    from aiohttp import web

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/", hello)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        print(f"port {runner.addresses[0][1]} loop {type(loop).__module__}", flush=True)
        await stop.wait()
        await runner.cleanup()

    if impl == "asyncio":
        asyncio.run(main())
    elif impl == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main())
    elif impl == "loopasyncio":
        import loopasyncio

        loopasyncio.run(main())
    else:
        raise SystemExit(f"unknown implementation {impl!r}; one of {', '.join(IMPLS)}")


# -- The driver ---------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process *pid* so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the ")" that ends the command name: state is field 3, utime 14, stime 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def wrk_command(port: int, seconds: float, connections: int) -> list[str]:
    return ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", f"http://127.0.0.1:{port}/"]


def parse_wrk(out: str) -> tuple[int, float]:
    """(requests completed, seconds it ran) from wrk's report; raises on errors."""
    match = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", out)
    if match is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[match.group(3)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    if errors is not None:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    return int(match.group(1)), float(match.group(2)) * unit


def run_wrk(
    port: int, seconds: float, connections: int, prefix: list[str] | None = None
) -> tuple[int, float]:
    """Run wrk against *port* (under the command *prefix*, e.g. ``perf stat``); return
    (requests completed, seconds it ran)."""
    out = subprocess.run(
        [*(prefix or []), *wrk_command(port, seconds, connections)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    return parse_wrk(out)


def start_server(
    impl: str, prefix: list[str] | None = None
) -> tuple[subprocess.Popen[str], int, str]:
    """Start the *impl* server (under the command *prefix*, e.g. valgrind); return the
    process, its port and the module of its loop's class."""
    proc = subprocess.Popen(
        [*(prefix or []), sys.executable, __file__, "--serve", impl],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if prefix else None,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.match(r"port (\d+) loop (\S+)", line)
    if match is None:
        stop_server(proc)
        raise RuntimeError(f"{impl} server did not start: {line!r}")
    return proc, int(match.group(1)), match.group(2)


def stop_server(proc: subprocess.Popen[str], timeout: float = 30) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def fixed_load(port: int, total: int, connections: int, timeout: float = 600.0) -> None:
    """Send exactly *total* keep-alive ``GET /`` requests over *connections*
    connections (one in flight on each) and read every response; return once the last
    one has arrived. Raises if a response is not ``200`` or the server closes."""
    sel = selectors.DefaultSelector()
    pending: dict[socket.socket, bytes] = {}
    sent = done = 0
    deadline = time.monotonic() + timeout
    try:
        for _ in range(min(connections, total)):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(REQUEST)
            sent += 1
            sock.setblocking(False)
            pending[sock] = b""
            sel.register(sock, selectors.EVENT_READ)
        while done < total:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server answered {done} of {total} requests in time")
            for key, _ in sel.select(timeout=1.0):
                sock = key.fileobj  # type: ignore[assignment]
                data = sock.recv(65536)
                if not data:
                    raise RuntimeError("the server closed a keep-alive connection")
                buf = pending[sock] + data
                while (end := buf.find(b"\r\n\r\n")) >= 0:
                    head = buf[:end].lower()
                    if not head.startswith(b"http/1.1 200"):
                        raise RuntimeError(f"unexpected response: {buf[:end]!r}")
                    at = head.find(b"content-length:")
                    length = int(head[at + 15 :].split(b"\r\n", 1)[0])
                    if len(buf) < end + 4 + length:
                        break
                    buf = buf[end + 4 + length :]
                    done += 1
                    if sent < total:
                        sock.sendall(REQUEST)
                        sent += 1
                pending[sock] = buf
    finally:
        for sock in pending:
            sock.close()
        sel.close()


def count_instructions(impl: str, requests: int, connections: int) -> dict[str, float]:
    """Instructions the *impl* server executes per request, counted by callgrind over
    exactly *requests* requests after a warm-up of a fifth as many."""
    with tempfile.TemporaryDirectory(prefix="aiohttp-hello-cg-") as tmp:
        out = Path(tmp) / "callgrind.out"
        prefix = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            "--dump-instr=no",
            "--compress-strings=no",
        ]
        proc, port, _ = start_server(impl, prefix)
        try:
            fixed_load(port, max(200, requests // 5), connections)
            subprocess.run(
                ["callgrind_control", "-z", str(proc.pid)], capture_output=True, check=True
            )
            fixed_load(port, requests, connections)
            subprocess.run(
                ["callgrind_control", "-d", str(proc.pid)], capture_output=True, check=True
            )
        finally:
            stop_server(proc, timeout=300)
        # callgrind_control -d writes <out>.1 (part 1: from the zeroing to the dump).
        text = Path(f"{out}.1").read_text()
    match = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no instruction count in callgrind's dump of {impl}")
    return {"requests": requests, "instructions_per_request": int(match.group(1)) / requests}


def count_syscalls(
    impl: str, seconds: float, warmup: float, connections: int, counter: str
) -> dict[str, object]:
    """System calls of the *impl* server per request, over a wrk run of *seconds*
    (after a warm-up run), counted by *counter* ("perf" or "strace")."""
    # run.py (same directory) knows how to count a server's system calls.
    import run

    proc, port, _ = start_server(impl)
    fd, name = tempfile.mkstemp(prefix="aiohttp-hello-sys-")
    os.close(fd)
    out = Path(name)
    try:
        run_wrk(port, warmup, connections)
        watcher: subprocess.Popen[str] | None = None
        if counter == "perf":
            requests, _ = run_wrk(
                port,
                seconds,
                connections,
                prefix=[
                    "perf",
                    "stat",
                    "-x,",
                    "-o",
                    str(out),
                    "-p",
                    str(proc.pid),
                    "-e",
                    ",".join(run._perf_events()),
                    "--",
                ],
            )
        else:
            watcher = subprocess.Popen(
                ["strace", "-c", "-f", "-p", str(proc.pid), "-o", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)  # strace attaches to every thread
            try:
                requests, _ = run_wrk(port, seconds, connections)
            finally:
                watcher.send_signal(signal.SIGINT)
                watcher.wait(timeout=30)
        text = out.read_text()
    finally:
        stop_server(proc)
        out.unlink(missing_ok=True)
    counts = run._parse_perf(text) if counter == "perf" else run._parse_strace(text)
    if "total" not in counts or not requests:
        raise RuntimeError(f"{counter} counted nothing for {impl}: {text[-300:]!r}")
    per_request = {name: n / requests for name, n in counts.items() if n}
    return {"counter": counter, "requests": requests, "per_request": per_request}


def measure(impl: str, seconds: float, warmup: float, connections: int) -> dict[str, float]:
    proc, port, loop_module = start_server(impl)
    try:
        run_wrk(port, warmup, connections)
        cpu_before = cpu_seconds(proc.pid)
        requests, elapsed = run_wrk(port, seconds, connections)
        cpu = cpu_seconds(proc.pid) - cpu_before
    finally:
        stop_server(proc)
    return {
        "requests": requests,
        "seconds": elapsed,
        "requests_per_s": requests / elapsed,
        "server_cpu_us_per_request": cpu / requests * 1e6,
        "server_cpu_share": cpu / elapsed,
        "loop_module": loop_module,
    }


def measure_together(
    impls: tuple[str, ...], seconds: float, warmup: float, connections: int
) -> dict[str, dict[str, float]]:
    """One round of ``--paired``: every implementation serves at the same time, each
    loaded by a wrk of its own over the same *seconds*, so that all of them meet the
    same machine state (the other jobs of a shared machine, and each other)."""
    servers: dict[str, tuple[subprocess.Popen[str], int, str]] = {}
    try:
        for impl in impls:
            servers[impl] = start_server(impl)

        def load(duration: float) -> dict[str, tuple[int, float]]:
            clients = {
                impl: subprocess.Popen(
                    wrk_command(port, duration, connections), stdout=subprocess.PIPE, text=True
                )
                for impl, (_, port, _) in servers.items()
            }
            return {
                impl: parse_wrk(client.communicate(timeout=duration + 60)[0])
                for impl, client in clients.items()
            }

        load(warmup)
        cpu_before = {impl: cpu_seconds(proc.pid) for impl, (proc, _, _) in servers.items()}
        done = load(seconds)
        cpu = {
            impl: cpu_seconds(proc.pid) - cpu_before[impl] for impl, (proc, _, _) in servers.items()
        }
    finally:
        for proc, _, _ in servers.values():
            stop_server(proc)
    return {
        impl: {
            "requests": requests,
            "seconds": elapsed,
            "requests_per_s": requests / elapsed,
            "server_cpu_us_per_request": cpu[impl] / requests * 1e6,
            "server_cpu_share": cpu[impl] / elapsed,
            "loop_module": servers[impl][2],
        }
        for impl, (requests, elapsed) in done.items()
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", choices=IMPLS, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 s")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="wrk duration per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "aiohttp_hello.json")
    parser.add_argument(
        "--loops",
        default=",".join(IMPLS),
        help=f"comma-separated implementations, asyncio among them (default {','.join(IMPLS)})",
    )
    parser.add_argument(
        "--paired",
        action="store_true",
        help="serve and load all implementations at the same time in each round",
    )
    parser.add_argument(
        "--syscalls",
        choices=("auto", "perf", "strace", "off"),
        default="auto",
        help="count the server's system calls per request (auto: perf, else strace)",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count the server's instructions per request under callgrind (slow)",
    )
    parser.add_argument(
        "--instruction-requests",
        type=int,
        default=2000,
        help="requests counted by --instructions (default 2000)",
    )
    # nox passes the same arguments to run.py: ignore the ones that are run.py's.
    args, unknown = parser.parse_known_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    if unknown:
        print(f"aiohttp_hello: ignoring {' '.join(unknown)} (run.py's options)", file=sys.stderr)
    if shutil.which("wrk") is None:
        print(
            "aiohttp_hello: wrk is not installed; install Debian's package: apt-get install wrk",
            file=sys.stderr,
        )
        return 2
    impls = tuple(name.strip() for name in args.loops.split(",") if name.strip())
    unknown_impls = [name for name in impls if name not in IMPLS]
    if unknown_impls or "asyncio" not in impls:
        print(
            f"aiohttp_hello: --loops takes asyncio and any of {', '.join(IMPLS)}, "
            f"got {args.loops!r}",
            file=sys.stderr,
        )
        return 2
    rounds = args.rounds or (2 if args.quick else 5)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    warmup = 1.0 if args.quick else 3.0
    runs: dict[str, list[dict[str, float]]] = {impl: [] for impl in impls}
    started = time.time()
    for round_no in range(rounds):
        if args.paired:
            together = measure_together(impls, seconds, warmup, args.connections)
        for impl in impls:
            if args.paired:
                result = together[impl]
            else:
                result = measure(impl, seconds, warmup, args.connections)
            runs[impl].append(result)
            print(
                f"round {round_no + 1}/{rounds} {impl:12s} {result['requests_per_s']:9.0f} req/s "
                f"{result['server_cpu_us_per_request']:7.1f} us CPU/req",
                file=sys.stderr,
            )
    summary = {
        impl: {
            "requests_per_s": statistics.median(r["requests_per_s"] for r in results),
            "server_cpu_us_per_request": statistics.median(
                r["server_cpu_us_per_request"] for r in results
            ),
        }
        for impl, results in runs.items()
    }
    syscalls: dict[str, dict[str, object]] = {}
    counter = args.syscalls
    if counter == "auto":
        import run

        counter = run.syscall_counter() or "off"
    if counter != "off":
        for impl in impls:
            syscalls[impl] = count_syscalls(impl, seconds, warmup, args.connections, counter)
    instructions: dict[str, dict[str, float]] = {}
    if args.instructions:
        if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
            print(
                "aiohttp_hello: --instructions needs valgrind (apt-get install valgrind)",
                file=sys.stderr,
            )
            return 2
        for impl in impls:
            instructions[impl] = count_instructions(
                impl, args.instruction_requests, args.connections
            )
            print(
                f"{impl:12s} "
                f"{instructions[impl]['instructions_per_request']:9.0f} instructions/request",
                file=sys.stderr,
            )
    # Per-round ratios to asyncio, then their median: with --paired, each round's
    # implementations met the same machine state, so the ratio of a round is the
    # measurement (the absolute figures move with the machine's other load).
    ratios = {
        impl: {
            "requests_per_s": statistics.median(
                r["requests_per_s"] / a["requests_per_s"]
                for r, a in zip(results, runs["asyncio"], strict=True)
            ),
            "server_cpu_us_per_request": statistics.median(
                r["server_cpu_us_per_request"] / a["server_cpu_us_per_request"]
                for r, a in zip(results, runs["asyncio"], strict=True)
            ),
        }
        for impl, results in runs.items()
    }
    base = summary["asyncio"]
    mode = "all served at once in each round" if args.paired else "one after another"
    print(
        f"\naiohttp hello, wrk -t1 -c{args.connections}, {rounds} rounds x {seconds:g} s "
        f"(median), {mode}, {time.time() - started:.0f} s in all\n"
    )
    print(
        "| loop | requests/s | vs asyncio | server CPU per request | vs asyncio "
        "| median of per-round ratios (req/s, CPU) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for impl, row in summary.items():
        print(
            f"| {impl} | {row['requests_per_s']:.0f} | "
            f"{row['requests_per_s'] / base['requests_per_s']:.2f}x | "
            f"{row['server_cpu_us_per_request']:.1f} us | "
            f"{row['server_cpu_us_per_request'] / base['server_cpu_us_per_request']:.2f}x | "
            f"{ratios[impl]['requests_per_s']:.3f}x, "
            f"{ratios[impl]['server_cpu_us_per_request']:.3f}x |"
        )
    if syscalls:
        print(
            f"\nSystem calls of the server per request ({counter}, "
            f"a separate wrk run of {seconds:g} s each):\n"
        )
        names = sorted(
            {name for row in syscalls.values() for name in row["per_request"]} - {"total"}
        )  # type: ignore[attr-defined]
        print("| loop | total | " + " | ".join(names) + " |")
        print("|---|---:|" + "---:|" * len(names))
        for impl, row in syscalls.items():
            per = row["per_request"]
            cells = " | ".join(f"{per.get(name, 0):.3f}" for name in names)  # type: ignore[attr-defined]
            print(f"| {impl} | {per['total']:.3f} | {cells} |")  # type: ignore[index]
    if instructions:
        base_ir = instructions["asyncio"]["instructions_per_request"]
        print(
            "\nInstructions of the server per request "
            f"(callgrind, {args.instruction_requests} requests after a warm-up):\n"
        )
        print("| loop | instructions per request | vs asyncio |")
        print("|---|---:|---:|")
        for impl, row in instructions.items():
            ir = row["instructions_per_request"]
            print(f"| {impl} | {ir:,.0f} | {ir / base_ir:.3f}x |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "aiohttp_hello",
                "connections": args.connections,
                "rounds": rounds,
                "seconds": seconds,
                "paired": args.paired,
                "python": sys.version.split()[0],
                "summary": summary,
                "ratios_to_asyncio": ratios,
                "runs": runs,
                "syscalls": syscalls,
                "instructions": instructions,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
