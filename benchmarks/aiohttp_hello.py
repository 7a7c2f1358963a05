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

``nox -s bench`` runs it after ``run.py``. Results go to
``benchmarks/results/aiohttp_hello.json`` (and a Markdown table on stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
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


def run_wrk(port: int, seconds: float, connections: int) -> tuple[int, float]:
    """Run wrk against *port*; return (requests completed, seconds it ran)."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    match = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", out)
    if match is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[match.group(3)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    if errors is not None:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    return int(match.group(1)), float(match.group(2)) * unit


def measure(impl: str, seconds: float, warmup: float, connections: int) -> dict[str, float]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", impl],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(r"port (\d+) loop (\S+)", line)
        if match is None:
            raise RuntimeError(f"{impl} server did not start: {line!r}")
        port = int(match.group(1))
        run_wrk(port, warmup, connections)
        cpu_before = cpu_seconds(proc.pid)
        requests, elapsed = run_wrk(port, seconds, connections)
        cpu = cpu_seconds(proc.pid) - cpu_before
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {
        "requests": requests,
        "seconds": elapsed,
        "requests_per_s": requests / elapsed,
        "server_cpu_us_per_request": cpu / requests * 1e6,
        "server_cpu_share": cpu / elapsed,
        "loop_module": match.group(2),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", choices=IMPLS, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 s")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="wrk duration per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "aiohttp_hello.json")
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
    rounds = args.rounds or (2 if args.quick else 5)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    warmup = 1.0 if args.quick else 3.0
    runs: dict[str, list[dict[str, float]]] = {impl: [] for impl in IMPLS}
    started = time.time()
    for round_no in range(rounds):
        for impl in IMPLS:
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
    base = summary["asyncio"]
    print(
        f"\naiohttp hello, wrk -t1 -c{args.connections}, {rounds} rounds x {seconds:g} s "
        f"(median), {time.time() - started:.0f} s in all\n"
    )
    print("| loop | requests/s | vs asyncio | server CPU per request | vs asyncio |")
    print("|---|---:|---:|---:|---:|")
    for impl, row in summary.items():
        print(
            f"| {impl} | {row['requests_per_s']:.0f} | "
            f"{row['requests_per_s'] / base['requests_per_s']:.2f}x | "
            f"{row['server_cpu_us_per_request']:.1f} us | "
            f"{row['server_cpu_us_per_request'] / base['server_cpu_us_per_request']:.2f}x |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "aiohttp_hello",
                "connections": args.connections,
                "rounds": rounds,
                "seconds": seconds,
                "python": sys.version.split()[0],
                "summary": summary,
                "runs": runs,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
