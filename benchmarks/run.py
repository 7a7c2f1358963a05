"""Run the benchmarks on ours (pure and compiled), asyncio, uvloop and rloop, alternately,
and write the results.

    python benchmarks/run.py [--quick] [--impl ours,compiled,asyncio,uvloop,rloop]
                             [--only echo|micro]
                             [--rounds N] [--duration S] [--warmup S] [--out DIR]
                             [--match TEXT] [--cold] [--syscalls auto|perf|strace|off]

(``nox -s bench -- ARGS`` does the same in a fresh environment with all four
distributions, uvloop, rloop, matplotlib and trustme installed.)

How it measures:

* every measurement runs in a fresh process (an echo server, or one micro-benchmark),
  so imports, loops and allocator state of one implementation never touch another's;
* every echo server is brought into the same allocator state before it is measured:
  *trained* by default (short client runs open and close connections first, as a
  long-running server has seen connections close), *cold* with ``--cold`` (see the
  README: glibc serves large blocks with mmap until the process frees one);
* the implementations take turns: for each round, for each row, ours, asyncio,
  uvloop, rloop (in the order given to ``--impl``); the figure reported is the
  median of the rounds;
* the echo load comes from ``echo_client`` (C, epoll), compiled here into
  ``benchmarks/build/``; it verifies every byte it gets back and fails the
  measurement on any mismatch; each micro-benchmark checks its own result;
* the system calls of each echo server per round trip are counted on a separate short
  run, in both allocator states (``perf stat`` on the syscall tracepoints, else
  ``strace -c -f``);
* an implementation that lacks what a row needs is reported as "n/a" with the
  reason; a measurement that fails is reported as an error, never replaced.

It writes ``results/<date>-<quick|full>.md`` (and ``.json`` with every measurement),
``results/latest.md``, the echo charts ``results/latest-echo.png`` (requests/s) and
``results/latest-echo-cpu.png`` (server CPU per round trip), plus dated copies, and
prints the Markdown.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _impls

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"
CLIENT_SOURCE = HERE / "echo_client.c"
CLIENT = BUILD / "echo_client"

KIB = 1024
SIZES = (1 * KIB, 10 * KIB, 100 * KIB)
CONNECTIONS = (10, 100)
MODES = ("protocol", "streams", "sock")

#: Echo rows of a --quick run: (mode, size, connections, tls).
QUICK_ECHO = (
    ("protocol", 1 * KIB, 10, False),
    ("protocol", 100 * KIB, 10, False),
    ("streams", 1 * KIB, 10, False),
    ("sock", 1 * KIB, 10, False),
    ("protocol", 1 * KIB, 10, True),
)
#: TLS rows of a full run (the plain rows are every mode x size x connections).
FULL_TLS = (
    ("protocol", 1 * KIB, 10, True),
    ("protocol", 100 * KIB, 10, True),
    ("streams", 1 * KIB, 10, True),
    ("streams", 100 * KIB, 10, True),
)

STATUS_OK, STATUS_NA, STATUS_ERROR = "ok", "n/a", "error"


# --- rows and measurements ------------------------------------------------------------


@dataclass(frozen=True)
class EchoRow:
    mode: str
    size: int
    connections: int
    tls: bool

    @property
    def key(self) -> str:
        size = f"{self.size // KIB} KiB" if self.size % KIB == 0 else f"{self.size} B"
        return f"{self.mode}{' +TLS' if self.tls else ''}, {size}, {self.connections} conn"


@dataclass(frozen=True)
class MicroRow:
    bench: str
    title: str
    unit: str
    better: str

    @property
    def key(self) -> str:
        return self.bench


@dataclass
class Measurement:
    status: str
    data: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def build_client() -> bool:
    """Compile echo_client (with TLS when OpenSSL's headers are there) unless a
    binary built by this function from the current source exists. Returns whether
    the binary speaks TLS."""
    BUILD.mkdir(exist_ok=True)
    stamp = BUILD / "echo_client.build"  # "tls" or "plain": how the binary was built
    if (
        CLIENT.exists()
        and stamp.exists()
        and stamp.stat().st_mtime >= CLIENT_SOURCE.stat().st_mtime
    ):
        return stamp.read_text().strip() == "tls"
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit(
            "run.py: the echo benchmark needs a C compiler (cc or gcc, or $CC); none was found"
        )
    common = [cc, "-O2", "-Wall", "-o", str(CLIENT), str(CLIENT_SOURCE)]
    tls = subprocess.run(
        [*common, "-DWITH_TLS", "-lssl", "-lcrypto"], capture_output=True, text=True
    )
    if tls.returncode == 0:
        stamp.write_text("tls\n")
        return True
    plain = subprocess.run(common, capture_output=True, text=True)
    if plain.returncode != 0:
        raise SystemExit(f"run.py: compiling {CLIENT_SOURCE.name} failed:\n{plain.stderr}")
    stamp.write_text("plain\n")
    print(
        "run.py: echo_client built without TLS (OpenSSL headers missing? install libssl-dev);"
        " TLS rows are n/a:\n" + tail(tls.stderr, 3),
        file=sys.stderr,
    )
    return False


def read_line(proc: subprocess.Popen[str], timeout: float) -> str | None:
    """The first line *proc* prints within *timeout* seconds, or None."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        return None
    return proc.stdout.readline()


def stop(proc: subprocess.Popen[str]) -> str:
    """Terminate *proc* (SIGTERM, then SIGKILL after 10 s); return its stderr."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err or ""


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process *pid* so far (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: Training of the server before a measurement (unless --cold): this many short client
#: runs, each opening the row's connections, echoing for TRAIN_SECONDS and closing them.
TRAIN_RUNS = 2
TRAIN_SECONDS = 0.2


def start_server(
    row: EchoRow, impl: str, lifetime: float
) -> tuple[subprocess.Popen[str], dict[str, Any]] | Measurement:
    """Start the echo server of *row* on *impl*; return it and its start-up line
    (port, CA file, loop class), or the Measurement saying why it did not start."""
    server_cmd = [sys.executable, str(HERE / "echo_server.py"), "--impl", impl, "--mode", row.mode]
    server_cmd += ["--max-seconds", str(lifetime)]
    if row.tls:
        server_cmd.append("--tls")
    proc = subprocess.Popen(server_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = read_line(proc, 60)
    if not line:
        err = stop(proc)
        return Measurement(
            STATUS_ERROR, reason=f"server did not start (exit {proc.returncode}): {tail(err)}"
        )
    info = json.loads(line)
    if "unavailable" in info:
        stop(proc)
        return Measurement(STATUS_NA, reason=info["unavailable"])
    return proc, info


def client_command(row: EchoRow, info: dict[str, Any], duration: float, warmup: float) -> list[str]:
    cmd = [str(CLIENT), "--port", str(info["port"]), "--size", str(row.size)]
    cmd += ["--connections", str(row.connections), "--duration", str(duration)]
    cmd += ["--warmup", str(warmup)]
    if row.tls:
        cmd += ["--tls", "--cafile", info["cafile"]]
    return cmd


def train(row: EchoRow, info: dict[str, Any]) -> str | None:
    """Bring the server's allocator into the state of a long-running server: short
    client runs that open connections, echo, and close them. (glibc serves a large
    allocation with mmap until the process has freed one such block; a connection
    closing is the usual first such free. See the README, "Allocator state".)
    Returns an error message, or None."""
    for _ in range(TRAIN_RUNS):
        try:
            run = subprocess.run(
                client_command(row, info, TRAIN_SECONDS, 0),
                capture_output=True,
                text=True,
                timeout=TRAIN_SECONDS + 30,
            )
        except subprocess.TimeoutExpired:
            return "the training client run did not finish in time"
        if run.returncode != 0:
            return f"the training client run failed (exit {run.returncode}): {tail(run.stderr)}"
    return None


def measure_echo(
    row: EchoRow, impl: str, duration: float, warmup: float, client_tls: bool, trained: bool
) -> Measurement:
    if row.tls and not client_tls:
        return Measurement(
            STATUS_NA, reason="echo_client was built without TLS (no OpenSSL headers)"
        )
    started = start_server(row, impl, duration + warmup + 120)
    if isinstance(started, Measurement):
        return started
    proc, info = started
    try:
        if trained:
            problem = train(row, info)
            if problem is not None:
                return Measurement(STATUS_ERROR, reason=problem)
        client_cmd = client_command(row, info, duration, warmup)
        cpu_before = cpu_seconds(proc.pid)
        try:
            client = subprocess.run(
                client_cmd, capture_output=True, text=True, timeout=duration + warmup + 60
            )
        except subprocess.TimeoutExpired:
            return Measurement(STATUS_ERROR, reason="echo_client did not finish in time")
        if client.returncode != 0:
            server_err = stop(proc)
            return Measurement(
                STATUS_ERROR,
                reason=f"echo_client failed (exit {client.returncode}): {tail(client.stderr)}"
                + (f"; server said: {tail(server_err, 5)}" if server_err.strip() else ""),
            )
        cpu_after = cpu_seconds(proc.pid)
        data = json.loads(client.stdout)
        data["loop"] = info["loop"]
        if cpu_before is not None and cpu_after is not None and data["requests_total"]:
            # Server CPU per round trip over the whole client run (warm-up included):
            # unlike requests/s, hardly moved by other load on a shared machine.
            data["server_cpu_us"] = (cpu_after - cpu_before) * 1e6 / data["requests_total"]
        if proc.poll() is not None:
            return Measurement(
                STATUS_ERROR, reason=f"server exited during the run: {tail(stop(proc))}"
            )
        err = stop(proc)
        if proc.returncode not in (0, -signal.SIGTERM):
            return Measurement(
                STATUS_ERROR, reason=f"server exited with status {proc.returncode}: {tail(err)}"
            )
        if err.strip():
            data["server_stderr"] = tail(err, 5)
        data["value"] = data["rps"]
        return Measurement(STATUS_OK, data)
    finally:
        if proc.poll() is None:
            stop(proc)


#: The system calls named in the per-call breakdown of the syscall count (any other
#: is in the total only). perf counts each through its tracepoint.
SYSCALLS = (
    "recvfrom",
    "recvmsg",
    "read",
    "readv",
    "sendto",
    "sendmsg",
    "write",
    "writev",
    "epoll_wait",
    "epoll_pwait",
    "epoll_ctl",
    "mmap",
    "munmap",
    "mremap",
    "brk",
    "madvise",
)


def syscall_counter() -> str | None:
    """How this machine counts a server's system calls: "perf" (``perf stat`` on
    the syscall tracepoints: no slow-down of the server), else "strace" (``strace -c
    -f``, which slows every call down, so that more work is ready per ``epoll_wait``
    and its share per round trip comes out lower), else None."""
    if shutil.which("perf"):
        probe = subprocess.run(
            ["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"],
            capture_output=True,
            text=True,
        )
        first = probe.stderr.strip().split(",", 1)[0]
        if probe.returncode == 0 and first.isdigit():
            return "perf"
    if shutil.which("strace"):
        return "strace"
    return None


def _perf_events() -> list[str]:
    available = Path("/sys/kernel/tracing/events/syscalls")
    if not available.is_dir():
        available = Path("/sys/kernel/debug/tracing/events/syscalls")
    events = ["raw_syscalls:sys_enter"]
    for name in SYSCALLS:
        if not available.is_dir() or (available / f"sys_enter_{name}").is_dir():
            events.append(f"syscalls:sys_enter_{name}")
    return events


def _parse_perf(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) < 3 or not fields[0].isdigit():
            continue  # comments, "<not counted>", "<not supported>"
        event = fields[2]
        name = "total" if event == "raw_syscalls:sys_enter" else event.split("sys_enter_")[-1]
        counts[name] = int(fields[0])
    return counts


def _parse_strace(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split()
        # % time, seconds, usecs/call, calls, [errors,] syscall
        if len(fields) >= 5 and fields[3].isdigit():
            counts[fields[-1]] = int(fields[3])
    if "total" not in counts:
        counts["total"] = sum(counts.values())
    return counts


def count_syscalls(
    row: EchoRow, impl: str, client_tls: bool, trained: bool, seconds: float, counter: str
) -> Measurement:
    """System calls of the server per round trip, on a separate short run (the
    counter disturbs the timing): the server is started (and trained, with
    *trained*), then *counter* watches it while ``echo_client`` runs *seconds*.
    ``data["per_rt"]`` maps "total" and each call of :data:`SYSCALLS` that occurred
    to its count per round trip."""
    if row.tls and not client_tls:
        return Measurement(
            STATUS_NA, reason="echo_client was built without TLS (no OpenSSL headers)"
        )
    started = start_server(row, impl, seconds + 120)
    if isinstance(started, Measurement):
        return started
    proc, info = started
    out = BUILD / f"syscalls-{os.getpid()}.txt"
    try:
        if trained:
            problem = train(row, info)
            if problem is not None:
                return Measurement(STATUS_ERROR, reason=problem)
        client_cmd = client_command(row, info, seconds, 0)
        watcher: subprocess.Popen[str] | None = None
        if counter == "perf":
            cmd = ["perf", "stat", "-x,", "-o", str(out), "-p", str(proc.pid)]
            cmd += ["-e", ",".join(_perf_events()), "--", *client_cmd]
        else:
            watcher = subprocess.Popen(
                ["strace", "-c", "-f", "-p", str(proc.pid), "-o", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            time.sleep(0.5)  # strace attaches to every thread
            cmd = client_cmd
        try:
            client = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            return Measurement(STATUS_ERROR, reason="echo_client did not finish in time")
        finally:
            if watcher is not None:
                watcher.send_signal(signal.SIGINT)
                try:
                    watcher.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    watcher.kill()
                    watcher.communicate()
        if client.returncode != 0:
            return Measurement(
                STATUS_ERROR,
                reason=f"echo_client failed (exit {client.returncode}): {tail(client.stderr)}",
            )
        requests = json.loads(client.stdout)["requests_total"]
        text = out.read_text() if out.exists() else ""
        counts = _parse_perf(text) if counter == "perf" else _parse_strace(text)
        if not requests or "total" not in counts:
            return Measurement(
                STATUS_ERROR, reason=f"{counter} counted nothing: {tail(text, 5) or 'no output'}"
            )
        per_rt = {k: v / requests for k, v in counts.items() if v}
        return Measurement(
            STATUS_OK,
            {"value": per_rt["total"], "per_rt": per_rt, "requests": requests, "counter": counter},
        )
    finally:
        out.unlink(missing_ok=True)
        if proc.poll() is None:
            stop(proc)


def measure_micro(row: MicroRow, impl: str, quick: bool) -> Measurement:
    cmd = [sys.executable, str(HERE / "micro.py"), "--impl", impl, "--bench", row.bench]
    if quick:
        cmd.append("--quick")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return Measurement(STATUS_ERROR, reason="did not finish within 600 s")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == _impls.EXIT_UNAVAILABLE and lines:
        return Measurement(STATUS_NA, reason=json.loads(lines[-1])["unavailable"])
    if proc.returncode != 0 or not lines:
        return Measurement(STATUS_ERROR, reason=f"exit {proc.returncode}: {tail(proc.stderr)}")
    return Measurement(STATUS_OK, json.loads(lines[-1]))


# --- summary ----------------------------------------------------------------------------


@dataclass
class Cell:
    """The measurements of one row on one implementation, over the rounds."""

    runs: list[Measurement] = field(default_factory=list)

    @property
    def ok(self) -> list[dict[str, Any]]:
        return [m.data for m in self.runs if m.status == STATUS_OK]

    @property
    def failures(self) -> list[Measurement]:
        return [m for m in self.runs if m.status == STATUS_ERROR]

    @property
    def unavailable(self) -> Measurement | None:
        return next((m for m in self.runs if m.status == STATUS_NA), None)

    def median(self, key: str = "value") -> float | None:
        values = [d[key] for d in self.ok]
        return statistics.median(values) if values else None


def fmt_number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        text = f"{value:,.0f}"
    elif value >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def fmt_cell(cell: Cell, notes: list[str], label: str) -> str:
    if not cell.runs:
        return "-"
    value = cell.median()
    if value is None:
        if cell.failures:
            notes.append(f"{label}: error: {cell.failures[0].reason}")
            return f"error[^{len(notes)}]"
        na = cell.unavailable
        notes.append(f"{label}: n/a: {na.reason if na else 'not measured'}")
        return f"n/a[^{len(notes)}]"
    text = fmt_number(value)
    if cell.failures:
        notes.append(
            f"{label}: {len(cell.failures)} of {len(cell.runs)} runs failed "
            f"(median of the others shown): {cell.failures[0].reason}"
        )
        text += f" [^{len(notes)}]"
    return text


def fmt_sc(m: Measurement, notes: list[str], label: str) -> str:
    """A syscall count per round trip, or "n/a"/"error" with a note (an "n/a" shares
    the note of the same row's "n/a" in the tables above)."""
    if m.status == STATUS_OK:
        return f"{m.data['value']:.2f}"
    if m.status == STATUS_NA:
        text = f"{label}: n/a: {m.reason}"
    else:
        text = f"{label}, syscall count: {m.status}: {m.reason}"
    if text not in notes:
        notes.append(text)
    return f"{m.status}[^{notes.index(text) + 1}]"


def ratio(a: Cell, b: Cell, key: str = "value") -> str:
    x, y = a.median(key), b.median(key)
    if x is None or y is None or y == 0:
        return "n/a"
    return f"{x / y:.2f}×"


def machine() -> dict[str, Any]:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or model
    commit = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(HERE.parent), "status", "--porcelain", "--", "packages"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        libc = ""
    if not libc:
        name, version = platform.libc_ver()
        libc = f"{name} {version}".strip() or "unknown libc"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "libc": libc,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "versions": _impls.versions(),
        "commit": (commit or "unknown")
        + (" (packages/ with uncommitted changes)" if dirty else ""),
    }


def state_text(meta: dict[str, Any]) -> str:
    if meta["state"] == "trained":
        return (
            f"trained: before each echo measurement, {TRAIN_RUNS} short client runs "
            f"({TRAIN_SECONDS} s each, the row's message size and connections) open "
            "connections, echo and close them, as a long-running server has seen "
            "connections close (`--cold` skips this)"
        )
    return (
        "cold: no connection had closed before the measurement (`--cold`); glibc "
        "then serves large allocations with mmap, see benchmarks/README.md"
    )


def render(
    results: dict[str, dict[str, Cell]],
    rows: list[EchoRow | MicroRow],
    impls: list[str],
    meta: dict[str, Any],
    syscalls: dict[str, dict[str, dict[str, Measurement]]] | None = None,
) -> str:
    notes: list[str] = []
    m = meta["machine"]
    v = m["versions"]
    out = [
        f"# Benchmarks: {meta['kind']} run, {meta['started']}",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['system']}, {m['libc']} "
        f"(shared with other work; load average {meta['load_before']} before, "
        f"{meta['load_after']} after)",
        f"- {m['python']}; loopcore {v['loopcore']}, looptransports {v['looptransports']}, "
        f"loopsync {v['loopsync']}, loopstreams {v['loopstreams']} (tree {m['commit']}); "
        f"uvloop {v['uvloop']}; rloop {v['rloop']}",
        f"- Command: `{meta['command']}` ({meta['elapsed']:.0f} s)",
        f"- Each figure is the median of {meta['rounds']} "
        f"round{'s' if meta['rounds'] != 1 else ''}; in each round the implementations ran "
        f"in turn ({', '.join(impls)}), every measurement in a fresh process.",
        f"- Allocator state of the echo servers: {state_text(meta)}.",
        "- Ratios are ours / the other of the figure shown: above 1.00× means ours is faster "
        "(for memory rows, above 1.00× means ours uses more). `ours` is the pure-Python "
        "build, `compiled` the same source compiled with mypyc (docs: Compiled build).",
        "",
    ]
    order = [i for i in ("asyncio", "uvloop", "rloop", "ours", "compiled") if i in impls]
    # Ratios of ours (pure Python) and of our compiled build to each other
    # implementation, and compiled/ours: what compiling gains.
    mine = [i for i in ("ours", "compiled") if i in impls]
    pairs = [(m, i) for m in mine for i in order if i not in mine]
    if len(mine) == 2:
        pairs.append(("compiled", "ours"))
    ratio_heads = [f"{m}/{i}" for m, i in pairs]

    def ratio_cells(key: str, figure: str = "value") -> list[str]:
        return [ratio(results[key][m], results[key][i], figure) for m, i in pairs]

    echo_rows = [r for r in rows if isinstance(r, EchoRow)]
    micro_rows = [r for r in rows if isinstance(r, MicroRow)]
    if echo_rows:
        out += [
            "## Echo server: requests per second (higher is better)",
            "",
            f"Load: `echo_client` (C, epoll), {meta['duration']} s measured after "
            f"{meta['warmup']} s of warm-up, each connection sending one message and waiting "
            "for its full echo (every byte verified).",
            "",
            "| mode, message, connections | " + " | ".join(order + ratio_heads) + " |",
            "|---|" + "---:|" * (len(order) + len(ratio_heads)),
        ]
        for row in echo_rows:
            cells = [fmt_cell(results[row.key][i], notes, f"{row.key} on {i}") for i in order]
            out.append(f"| {row.key} | " + " | ".join(cells + ratio_cells(row.key)) + " |")
        out += [
            "",
            "Throughput and latency (MiB/s of echoed payload; p50 / p99 round trip in µs):",
            "",
            "| mode, message, connections | " + " | ".join(order) + " |",
            "|---|" + "---:|" * len(order),
        ]
        for row in echo_rows:
            cells = []
            for i in order:
                cell = results[row.key][i]
                if cell.median() is None:
                    cells.append("n/a")
                else:
                    cells.append(
                        f"{fmt_number(cell.median('mib_s'))} MiB/s, "
                        f"{fmt_number(cell.median('p50_us'))} / "
                        f"{fmt_number(cell.median('p99_us'))} µs"
                    )
            out.append(f"| {row.key} | " + " | ".join(cells) + " |")
        out += [
            "",
            "Server CPU time per round trip (µs, lower is better; user + system time of the "
            "server process over the whole client run, divided by the round trips completed; "
            "little affected by other load on the machine, unlike requests/s)"
            + (
                ", and beside it the server's system calls per round trip (sc), counted on "
                f"a separate short run of {meta['syscall_seconds']} s with "
                f"{meta['syscall_counter']}, as {meta['state']} / "
                f"{'cold' if meta['state'] == 'trained' else 'trained'} "
                "(see the allocator state above):"
                if syscalls
                else ":"
            ),
            "",
        ]
        heads = [h for i in order for h in ((f"{i} µs", f"{i} sc") if syscalls else (i,))]
        out += [
            "| mode, message, connections | " + " | ".join(heads + ratio_heads) + " |",
            "|---|" + "---:|" * (len(heads) + len(ratio_heads)),
        ]
        other_state = "cold" if meta["state"] == "trained" else "trained"
        for row in echo_rows:
            cells = []
            for i in order:
                cells.append(fmt_number(results[row.key][i].median("server_cpu_us")))
                if syscalls:
                    counted = syscalls[row.key][i]
                    label = f"{row.key} on {i}"
                    main_sc = fmt_sc(counted[meta["state"]], notes, label)
                    other = counted[other_state]
                    if other.status != STATUS_NA:
                        label += f" ({other_state})"
                    other_sc = fmt_sc(other, notes, label)
                    cells.append(f"{main_sc} / {other_sc}")
            out.append(
                f"| {row.key} | " + " | ".join(cells + ratio_cells(row.key, "server_cpu_us")) + " |"
            )
        out.append("")
        if syscalls:
            out += [
                f"System calls per round trip by call ({meta['state']} state; calls under "
                "0.01 per round trip left out):",
                "",
                "| mode, message, connections | " + " | ".join(order) + " |",
                "|---|" + "---:|" * len(order),
            ]
            for row in echo_rows:
                cells = []
                for i in order:
                    counted = syscalls[row.key][i][meta["state"]]
                    per_rt = counted.data.get("per_rt", {})
                    parts = [
                        f"{name} {per_rt[name]:.2f}"
                        for name in SYSCALLS
                        if per_rt.get(name, 0) >= 0.005
                    ]
                    cells.append(", ".join(parts) if parts else counted.status)
                out.append(f"| {row.key} | " + " | ".join(cells) + " |")
            out.append("")
    if micro_rows:
        out += [
            "## Micro-benchmarks of the core",
            "",
            "Rates are per second of the benchmark process's CPU time (so that other load on a "
            "shared machine does not count); memory rows are bytes per object.",
            "",
            "| benchmark | N | unit | better | " + " | ".join(order + ratio_heads) + " |",
            "|---|---:|---|---|" + "---:|" * (len(order) + len(ratio_heads)),
        ]
        for mrow in micro_rows:
            cells = [fmt_cell(results[mrow.key][i], notes, f"{mrow.bench} on {i}") for i in order]
            counts = {d["n"] for i in order for d in results[mrow.key][i].ok}
            count = f"{counts.pop():,}" if len(counts) == 1 else "-"
            out.append(
                f"| {mrow.title} | {count} | {mrow.unit} | {mrow.better} | "
                + " | ".join(cells + ratio_cells(mrow.key))
                + " |"
            )
        out.append("")
    if notes:
        out += [f"[^{n}]: {text}" for n, text in enumerate(notes, 1)] + [""]
    return "\n".join(out)


def draw_chart(
    results: dict[str, dict[str, Cell]],
    rows: list[EchoRow],
    impls: list[str],
    meta: dict[str, Any],
    path: Path,
    figure: str = "value",
) -> bool:
    """Bar chart in the manner of uvloop's echo chart: for each server style (and
    connection count), *figure* per message size, one bar per implementation.
    *figure* is ``"value"`` (requests/s) or ``"server_cpu_us"`` (server CPU µs per
    round trip)."""
    if figure == "value":
        ylabel, what = "requests/s", "Echo server, requests/s (higher is better)"
    else:
        ylabel = "server CPU µs per round trip"
        what = "Echo server, server CPU time per round trip in µs (lower is better)"
    try:
        import matplotlib
    except ImportError:
        print("run.py: matplotlib is not installed; no chart drawn", file=sys.stderr)
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels: list[tuple[str, bool, int]] = []
    for row in rows:
        panel = (row.mode, row.tls, row.connections)
        if panel not in panels:
            panels.append(panel)
    colors = {
        "asyncio": "#4c72b0",
        "uvloop": "#55a868",
        "rloop": "#8172b3",
        "ours": "#dd8452",
        "compiled": "#c44e52",
    }
    order = [i for i in ("asyncio", "uvloop", "rloop", "ours", "compiled") if i in impls]
    ncols = min(3, len(panels))
    nrows = (len(panels) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.8 * nrows), squeeze=False)
    width = 0.8 / max(1, len(order))
    for index, (mode, tls, conns) in enumerate(panels):
        ax = axes[index // ncols][index % ncols]
        panel_rows = sorted(
            (r for r in rows if (r.mode, r.tls, r.connections) == (mode, tls, conns)),
            key=lambda r: r.size,
        )
        for k, impl in enumerate(order):
            xs, ys = [], []
            for j, row in enumerate(panel_rows):
                value = results[row.key][impl].median(figure)
                xs.append(j + (k - (len(order) - 1) / 2) * width)
                ys.append(value or 0)
            bars = ax.bar(xs, ys, width, label=impl, color=colors[impl])
            for bar, y in zip(bars, ys, strict=True):
                if y == 0:
                    label = "n/a"
                elif y >= 1000:
                    label = f"{y / 1000:.1f}k"
                else:
                    label = f"{y:.0f}" if y >= 10 else f"{y:.1f}"
                ax.annotate(
                    label,
                    (bar.get_x() + bar.get_width() / 2, y),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    xytext=(0, 2),
                    textcoords="offset points",
                )
        top = max((results[r.key][i].median(figure) or 0) for r in panel_rows for i in order)
        ax.set_ylim(0, (top or 1) * 1.15)  # room for the labels above the bars
        ax.set_xticks(range(len(panel_rows)), [f"{r.size // KIB} KiB" for r in panel_rows])
        ax.set_title(f"{mode}{' + TLS' if tls else ''}, {conns} connections", fontsize=10)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    for index in range(len(panels), nrows * ncols):
        axes[index // ncols][index % ncols].axis("off")
    axes[0][0].legend(fontsize=8)
    m = meta["machine"]
    fig.suptitle(
        f"{what}; {meta['kind']} run {meta['started'][:10]}\n"
        f"{m['cpu']}, {m['cores']} cores; {m['python']}; uvloop {m['versions']['uvloop']}; "
        f"rloop {m['versions']['rloop']}; {meta['state']} allocator; "
        f"median of {meta['rounds']} round{'s' if meta['rounds'] != 1 else ''}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# --- main -------------------------------------------------------------------------------


def select_rows(
    quick: bool, only: str | None, micro_benches: dict[str, dict[str, str]]
) -> list[EchoRow | MicroRow]:
    rows: list[EchoRow | MicroRow] = []
    if only in (None, "echo"):
        if quick:
            rows += [EchoRow(*spec) for spec in QUICK_ECHO]
        else:
            rows += [
                EchoRow(mode, size, conns, False)
                for mode in MODES
                for conns in CONNECTIONS
                for size in SIZES
            ]
            rows += [EchoRow(*spec) for spec in FULL_TLS]
    if only in (None, "micro"):
        rows += [
            MicroRow(name, b["title"], b["unit"], b["better"]) for name, b in micro_benches.items()
        ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few rows, short runs (about 11 minutes on a busy 2-core machine)",
    )
    parser.add_argument(
        "--impl",
        default="ours,compiled,asyncio,uvloop,rloop",
        help="comma-separated, in turn order",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="measure echo servers untrained (no connection closed before the measurement); "
        "by default each server is first trained by short client runs",
    )
    parser.add_argument(
        "--syscalls",
        choices=("auto", "perf", "strace", "off"),
        default="auto",
        help="count the echo servers' system calls per round trip on a separate short run "
        "(auto: perf if it works here, else strace, else none)",
    )
    parser.add_argument("--only", choices=("echo", "micro"), help="run only one group")
    parser.add_argument("--rounds", type=int, help="rounds per row (default 3)")
    parser.add_argument(
        "--duration", type=float, help="measured seconds per echo run (default 1 quick, 3 full)"
    )
    parser.add_argument(
        "--warmup", type=float, help="warm-up seconds per echo run (default 0.5 quick, 1 full)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results directory")
    parser.add_argument(
        "--match",
        action="append",
        metavar="TEXT",
        help="keep only the rows whose name contains TEXT (repeatable: any of them)",
    )
    args = parser.parse_args()

    impls = [i.strip() for i in args.impl.split(",") if i.strip()]
    bad = [i for i in impls if i not in _impls.IMPLS]
    if bad or not impls or len(set(impls)) != len(impls):
        parser.error(
            f"--impl takes distinct names among {', '.join(_impls.IMPLS)}, got {args.impl!r}"
        )
    rounds = args.rounds if args.rounds is not None else 3
    if rounds < 1:
        parser.error(f"--rounds must be at least 1, got {rounds}")
    duration = args.duration if args.duration is not None else (1.0 if args.quick else 3.0)
    warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 1.0)
    if not 0 < duration <= 600 or not 0 <= warmup <= 60:
        parser.error(
            f"--duration must be in (0, 600] and --warmup in [0, 60], got {duration} and {warmup}"
        )
    kind = "quick" if args.quick else "full"
    state = "cold" if args.cold else "trained"
    counter: str | None = None
    if args.syscalls == "auto":
        counter = syscall_counter()
    elif args.syscalls != "off":
        counter = args.syscalls
        if shutil.which(counter) is None:
            parser.error(f"--syscalls {counter}: {counter} is not installed")
    syscall_seconds = 0.5 if args.quick else 1.0

    listing = subprocess.run(
        [sys.executable, str(HERE / "micro.py"), "--list"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = select_rows(args.quick, args.only, json.loads(listing.stdout))
    if args.match:
        rows = [r for r in rows if any(text in r.key for text in args.match)]
        if not rows:
            parser.error(f"no row matches {' or '.join(map(repr, args.match))}")
    client_tls = build_client() if any(isinstance(r, EchoRow) for r in rows) else False

    started = datetime.datetime.now(datetime.UTC)
    meta: dict[str, Any] = {
        "kind": kind,
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/run.py " + " ".join(sys.argv[1:]),
        "rounds": rounds,
        "state": state,
        "syscall_counter": counter or "none",
        "syscall_seconds": syscall_seconds,
        "duration": duration,
        "warmup": warmup,
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "machine": machine(),
    }
    results: dict[str, dict[str, Cell]] = {row.key: {i: Cell() for i in impls} for row in rows}
    t0 = time.monotonic()
    for rnd in range(1, rounds + 1):
        for row in rows:
            for impl in impls:
                cell = results[row.key][impl]
                if cell.unavailable is not None:
                    continue  # what is missing stays missing for this run
                if isinstance(row, EchoRow):
                    m = measure_echo(row, impl, duration, warmup, client_tls, state == "trained")
                    shown = (
                        f"{fmt_number(m.data.get('rps'))} req/s"
                        if m.status == STATUS_OK
                        else m.status
                    )
                else:
                    m = measure_micro(row, impl, args.quick)
                    shown = (
                        fmt_number(m.data.get("value"), row.unit)
                        if m.status == STATUS_OK
                        else m.status
                    )
                cell.runs.append(m)
                detail = f" ({m.reason[:160]})" if m.reason else ""
                print(
                    f"[{rnd}/{rounds} {time.monotonic() - t0:6.0f}s] "
                    f"{row.key:<34} {impl:<8} {shown}{detail}",
                    file=sys.stderr,
                )
    # System calls per round trip: a separate short run per row, implementation and
    # allocator state (the counter slows the server down: its timing is not used).
    syscalls: dict[str, dict[str, dict[str, Measurement]]] | None = None
    echo_rows = [r for r in rows if isinstance(r, EchoRow)]
    if counter is not None and echo_rows:
        syscalls = {}
        for row in echo_rows:
            syscalls[row.key] = {}
            for impl in impls:
                syscalls[row.key][impl] = {}
                for st in (state, "cold" if state == "trained" else "trained"):
                    if results[row.key][impl].unavailable is not None:
                        m = results[row.key][impl].unavailable
                    else:
                        m = count_syscalls(
                            row, impl, client_tls, st == "trained", syscall_seconds, counter
                        )
                    syscalls[row.key][impl][st] = m
                    shown = f"{m.data['value']:.2f}" if m.status == STATUS_OK else m.status
                    detail = f" ({m.reason[:160]})" if m.reason else ""
                    print(
                        f"[syscalls {time.monotonic() - t0:6.0f}s] "
                        f"{row.key:<34} {impl:<8} {st:<8} {shown} per round trip{detail}",
                        file=sys.stderr,
                    )
    meta["elapsed"] = time.monotonic() - t0
    meta["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())

    text = render(results, rows, impls, meta, syscalls)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{started:%Y-%m-%d}-{kind}" + ("-cold" if state == "cold" else "")
    (out / f"{stem}.md").write_text(text)
    (out / "latest.md").write_text(text)
    raw = {
        "meta": meta,
        "rows": [{"key": r.key, **r.__dict__} for r in rows],
        "results": {
            key: {
                impl: [{"status": m.status, "reason": m.reason, **m.data} for m in cell.runs]
                for impl, cell in cells.items()
            }
            for key, cells in results.items()
        },
        "syscalls": {
            key: {
                impl: {
                    st: {"status": m.status, "reason": m.reason, **m.data}
                    for st, m in states.items()
                }
                for impl, states in by_impl.items()
            }
            for key, by_impl in (syscalls or {}).items()
        },
    }
    (out / f"{stem}.json").write_text(json.dumps(raw, indent=1) + "\n")
    charts = ""
    if echo_rows and draw_chart(results, echo_rows, impls, meta, out / f"{stem}-echo.png"):
        shutil.copyfile(out / f"{stem}-echo.png", out / "latest-echo.png")
        cpu_chart = out / f"{stem}-echo-cpu.png"
        draw_chart(results, echo_rows, impls, meta, cpu_chart, figure="server_cpu_us")
        shutil.copyfile(cpu_chart, out / "latest-echo-cpu.png")
        charts = ", latest-echo.png, latest-echo-cpu.png"
    print(text)
    print(f"run.py: wrote {out / (stem + '.md')}, latest.md{charts}", file=sys.stderr)
    failed = sum(len(cell.failures) for cells in results.values() for cell in cells.values())
    failed += sum(
        m.status == STATUS_ERROR
        for by_impl in (syscalls or {}).values()
        for states in by_impl.values()
        for m in states.values()
    )
    if failed:
        print(f"run.py: {failed} measurements failed; see the notes in the table", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
