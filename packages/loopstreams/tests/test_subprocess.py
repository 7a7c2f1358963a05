"""Subprocess streams on real programs: cat, sort, sh, and sys.executable -c ..."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Generator, Iterator

import pytest
from stream_helpers import bad_argument

import loopcore
import loopstreams
import looptransports.subprocess as lt_subprocess
from loopstreams import DEVNULL, PIPE, STDOUT, Process

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX subprocesses")

PY = sys.executable
#: A Python child that resets SIGTERM/SIGINT to their defaults (the test may have been
#: launched with them ignored, which a child would inherit), says "ready", then waits.
SIGNALLABLE = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
    "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture(params=["pidfd", "thread"])
def watcher(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each way looptransports notices a child's exit: a pidfd, or a thread per child."""
    if request.param == "pidfd" and not hasattr(os, "pidfd_open"):
        pytest.skip("os.pidfd_open is not available")
    saved = lt_subprocess._USE_PIDFD
    lt_subprocess._USE_PIDFD = request.param == "pidfd"
    try:
        yield str(request.param)
    finally:
        lt_subprocess._USE_PIDFD = saved


def children() -> dict[int, str]:
    """This process's children (pid -> state letter), zombies included."""
    me = os.getpid()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may contain spaces, so split after ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == me:
            found[int(entry)] = fields[0]
    return found


def assert_reaped(pid: int) -> None:
    # waitpid on a child of ours that was not reaped returns (0, 0) or its status;
    # ECHILD means it was reaped (and it is no zombie of ours).
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    assert pid not in children()


# -- real programs --------------------------------------------------------------------------


async def test_communicate_passes_50_mb_through_cat_unchanged(watcher: str) -> None:
    data = os.urandom(50 * 2**20)
    proc = await loopstreams.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
    out, err = await proc.communicate(data)
    assert err is None
    assert len(out or b"") == len(data)
    assert hashlib.sha256(out or b"").digest() == hashlib.sha256(data).digest()
    assert proc.returncode == 0
    assert_reaped(proc.pid)


async def test_stdin_writer_and_stdout_reader_stream_50_mb_through_cat() -> None:
    # Written with drain() while another task reads: neither side holds the whole
    # 50 MB, and the bytes come back in order.
    chunk = os.urandom(2**20)
    chunks = 50
    proc = await loopstreams.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    async def feed() -> None:
        for i in range(chunks):
            stdin.write(bytes([i]) + chunk[1:])
            await stdin.drain()
        stdin.close()
        await stdin.wait_closed()

    async def check() -> int:
        received = 0
        for i in range(chunks):
            block = await stdout.readexactly(len(chunk))
            assert block[0] == i and block[1:] == chunk[1:]
            received += len(block)
        assert await stdout.read() == b""
        return received

    feeder = loopcore.ensure_future(feed())
    assert await check() == chunks * len(chunk)
    await feeder
    assert await proc.wait() == 0


async def test_sort_sorts_the_lines_fed_by_communicate() -> None:
    lines = [f"{(i * 7919) % 1000:04d}\n".encode() for i in range(1000)]
    proc = await loopstreams.create_subprocess_exec(
        "sort", stdin=PIPE, stdout=PIPE, env={"LC_ALL": "C", "PATH": os.defpath}
    )
    out, _ = await proc.communicate(b"".join(lines))
    assert out == b"".join(sorted(lines))
    assert proc.returncode == 0


async def test_child_killed_mid_run_reports_minus_sigkill_and_ends_its_streams(
    watcher: str,
) -> None:
    proc = await loopstreams.create_subprocess_exec(PY, "-c", SIGNALLABLE, stdout=PIPE)
    assert proc.stdout is not None
    assert await proc.stdout.readline() == b"ready\n"
    assert proc.returncode is None
    proc.kill()
    assert await proc.wait() == -signal.SIGKILL
    assert proc.returncode == -signal.SIGKILL
    assert await proc.stdout.read() == b""
    assert_reaped(proc.pid)


async def test_terminate_reports_minus_sigterm() -> None:
    proc = await loopstreams.create_subprocess_exec(PY, "-c", SIGNALLABLE, stdout=PIPE)
    assert proc.stdout is not None
    assert await proc.stdout.readline() == b"ready\n"
    proc.terminate()
    assert await proc.wait() == -signal.SIGTERM
    await proc.communicate()


async def test_send_signal_delivers_the_given_signal() -> None:
    proc = await loopstreams.create_subprocess_exec(PY, "-c", SIGNALLABLE, stdout=PIPE)
    assert proc.stdout is not None
    assert await proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGINT)
    assert await proc.wait() == -signal.SIGINT
    await proc.communicate()


async def test_signalling_an_exited_child_raises_process_lookup_error() -> None:
    proc = await loopstreams.create_subprocess_exec("true")
    await proc.wait()
    for send in (proc.kill, proc.terminate, lambda: proc.send_signal(signal.SIGUSR1)):
        with pytest.raises(ProcessLookupError):
            send()


async def test_child_that_closes_stdin_early_does_not_fail_communicate() -> None:
    # The child closes its stdin at once; the 8 MB that cannot be written make
    # write()/drain() fail with BrokenPipeError or ConnectionResetError, which
    # communicate() ignores.
    proc = await loopstreams.create_subprocess_exec(
        "sh", "-c", "exec 0<&-; echo closed", stdin=PIPE, stdout=PIPE
    )
    out, err = await proc.communicate(b"x" * (8 * 2**20))
    assert (out, err, proc.returncode) == (b"closed\n", None, 0)


async def test_drain_raises_connection_reset_once_the_child_closed_stdin() -> None:
    proc = await loopstreams.create_subprocess_exec(
        "sh", "-c", "exec 0<&-; echo closed", stdin=PIPE, stdout=PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    assert await proc.stdout.readline() == b"closed\n"
    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        for _ in range(64):  # bounded: the pipe is broken long before 64 MB
            proc.stdin.write(b"x" * 2**20)
            await proc.stdin.drain()
    await proc.stdin.wait_closed()
    assert await proc.wait() == 0
    await proc.communicate()  # stdout to its end: the pipe is closed before teardown


async def test_a_drain_waiting_when_the_child_closes_stdin_raises_and_so_do_later_drains() -> None:
    # The child blocks reading one line, so our 8 MB are still buffered (writing is
    # paused and drain() waits) when it closes its stdin: the waiting drain() gets the
    # broken pipe, and every drain() after it ConnectionResetError.
    proc = await loopstreams.create_subprocess_exec(
        "sh", "-c", "read line; exec 0<&-; echo closed", stdin=PIPE, stdout=PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"go\n" + b"x" * (8 * 2**20))
    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        await proc.stdin.drain()
    with pytest.raises(ConnectionResetError):
        await proc.stdin.drain()
    assert await proc.stdout.read() == b"closed\n"
    assert await proc.wait() == 0


async def test_a_cancelled_wait_leaves_the_child_running_and_a_later_wait_returns_its_code() -> (
    None
):
    proc = await loopstreams.create_subprocess_exec(PY, "-c", SIGNALLABLE, stdout=PIPE)
    assert proc.stdout is not None
    assert await proc.stdout.readline() == b"ready\n"
    waiting = loopcore.ensure_future(proc.wait())
    await loopcore.sleep(0)
    waiting.cancel()
    with pytest.raises(loopcore.CancelledError):
        await waiting
    assert proc.returncode is None
    proc.kill()
    assert await proc.wait() == -signal.SIGKILL
    await proc.communicate()


async def test_communicate_in_debug_mode_logs_what_it_fed_and_a_broken_pipe(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = loopcore.get_running_loop()
    debug = loop.get_debug()
    loop.set_debug(True)
    try:
        with caplog.at_level(logging.DEBUG, logger="loopstreams"):
            proc = await loopstreams.create_subprocess_exec(
                "sh", "-c", "read line; exec 0<&-; echo closed", stdin=PIPE, stdout=PIPE
            )
            out, _ = await proc.communicate(b"go\n" + b"x" * (8 * 2**20))
    finally:
        loop.set_debug(debug)
    assert out == b"closed\n"
    messages = [record.getMessage() for record in caplog.records]
    assert any(f"fed {8 * 2**20 + 3} bytes to stdin" in m for m in messages), messages
    assert any("communicate: stdin got" in m for m in messages), messages


async def test_a_program_that_does_not_exist_raises_file_not_found_error() -> None:
    before = set(children())
    with pytest.raises(FileNotFoundError):
        await loopstreams.create_subprocess_exec(
            "/nonexistent/program/for/loopstreams", stdin=PIPE, stdout=PIPE, stderr=PIPE
        )
    assert set(children()) <= before


async def test_a_shell_command_that_does_not_exist_exits_127() -> None:
    proc = await loopstreams.create_subprocess_shell(
        "nonexistent-command-for-loopstreams", stderr=PIPE
    )
    _, err = await proc.communicate()
    assert proc.returncode == 127
    assert b"not found" in (err or b"")


async def test_no_zombie_is_left_after_1000_short_children(watcher: str) -> None:
    before = set(children())
    deadline = time.monotonic() + 50
    pids: list[int] = []

    async def one() -> int:
        proc = await loopstreams.create_subprocess_exec("true")
        pids.append(proc.pid)
        return await proc.wait()

    async with loopcore.timeout(50):
        for _ in range(20):  # 20 batches of 50 children at once
            assert time.monotonic() < deadline
            assert await loopcore.gather(*(one() for _ in range(50))) == [0] * 50
    assert len(pids) == 1000
    left = {pid: state for pid, state in children().items() if pid not in before}
    assert left == {}
    for pid in pids[-50:]:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


# -- wait() and returncode ------------------------------------------------------------------


async def test_returncode_is_none_while_running_then_the_exit_status() -> None:
    proc = await loopstreams.create_subprocess_exec(
        PY, "-c", "import sys; sys.stdin.read(); sys.exit(7)", stdin=PIPE
    )
    assert proc.returncode is None
    assert proc.stdin is not None
    proc.stdin.close()
    assert await proc.wait() == 7
    assert proc.returncode == 7


async def test_wait_from_many_tasks_returns_the_same_code_to_each(watcher: str) -> None:
    proc = await loopstreams.create_subprocess_exec(
        PY, "-c", "import sys; sys.stdin.read(); sys.exit(5)", stdin=PIPE
    )
    waiters = [loopcore.ensure_future(proc.wait()) for _ in range(5)]
    cancelled = loopcore.ensure_future(proc.wait())
    await loopcore.sleep(0)
    cancelled.cancel()
    assert proc.stdin is not None
    proc.stdin.close()
    assert await loopcore.gather(*waiters) == [5] * 5
    assert cancelled.cancelled()
    assert await proc.wait() == 5  # and again after the exit


async def test_wait_returns_at_once_after_the_exit() -> None:
    proc = await loopstreams.create_subprocess_exec("false")
    assert await proc.wait() == 1
    assert await proc.wait() == 1


# -- communicate() --------------------------------------------------------------------------


async def test_communicate_reads_stdout_and_stderr_concurrently() -> None:
    # 4 MB on each pipe, interleaved: reading one pipe to the end first would deadlock
    # (the child blocks on the other, full, pipe).
    code = (
        "import sys\n"
        "for i in range(64):\n"
        "    sys.stdout.buffer.write(b'o' * 65536); sys.stdout.flush()\n"
        "    sys.stderr.buffer.write(b'e' * 65536); sys.stderr.flush()\n"
    )
    proc = await loopstreams.create_subprocess_exec(PY, "-c", code, stdout=PIPE, stderr=PIPE)
    out, err = await proc.communicate()
    assert out == b"o" * (64 * 65536)
    assert err == b"e" * (64 * 65536)
    assert proc.returncode == 0


async def test_communicate_accepts_any_bytes_like_input() -> None:
    for data in (bytearray(b"bytearray"), memoryview(b"memoryview")):
        proc = await loopstreams.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
        assert await proc.communicate(data) == (bytes(data), None)


async def test_communicate_closes_stdin_when_there_is_no_input() -> None:
    proc = await loopstreams.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
    assert await proc.communicate() == (b"", None)
    assert proc.stdin is not None and proc.stdin.is_closing()


async def test_communicate_returns_none_for_streams_that_are_not_pipes() -> None:
    proc = await loopstreams.create_subprocess_exec("true")
    assert (proc.stdin, proc.stdout, proc.stderr) == (None, None, None)
    assert await proc.communicate(b"ignored") == (None, None)
    assert proc.returncode == 0


async def test_stderr_stdout_merges_stderr_into_stdout() -> None:
    proc = await loopstreams.create_subprocess_shell(
        "echo out; echo err >&2", stdout=PIPE, stderr=STDOUT
    )
    assert proc.stderr is None
    out, err = await proc.communicate()
    assert sorted((out or b"").splitlines()) == [b"err", b"out"]
    assert err is None


async def test_devnull_gives_the_child_an_empty_stdin_and_discards_output() -> None:
    proc = await loopstreams.create_subprocess_shell(
        "cat; echo discarded >&2; echo kept", stdin=DEVNULL, stdout=PIPE, stderr=DEVNULL
    )
    assert await proc.communicate() == (b"kept\n", None)


async def test_cancelled_communicate_leaves_the_child_running() -> None:
    proc = await loopstreams.create_subprocess_exec(PY, "-c", SIGNALLABLE, stdout=PIPE)
    task = loopcore.ensure_future(proc.communicate())
    await loopcore.sleep(0)
    task.cancel()
    with pytest.raises(loopcore.CancelledError):
        await task
    assert proc.returncode is None
    proc.kill()
    assert await proc.wait() == -signal.SIGKILL
    await proc.communicate()  # stdout to its end: the pipe is closed before teardown


# -- limit= ---------------------------------------------------------------------------------


async def test_limit_bounds_the_line_readline_accepts() -> None:
    proc = await loopstreams.create_subprocess_shell(
        "echo short; printf '%0100d\\n' 0; echo after", stdout=PIPE, limit=16
    )
    assert proc.stdout is not None
    assert await proc.stdout.readline() == b"short\n"
    with pytest.raises(ValueError, match="limit"):
        await proc.stdout.readline()
    assert await proc.stdout.readline() == b"after\n"
    # communicate() reads stdout to its end: wait() alone may return before the
    # pipe's end of file is seen, and the pipe would still be open at teardown.
    assert await proc.communicate() == (b"", None)
    assert proc.returncode == 0


async def test_limit_applies_to_stderr_too() -> None:
    proc = await loopstreams.create_subprocess_shell(
        "printf '%050d\\n' 0 >&2", stderr=PIPE, limit=10
    )
    assert proc.stderr is not None
    with pytest.raises(loopstreams.LimitOverrunError):
        await proc.stderr.readuntil(b"\n")
    await proc.communicate()


@pytest.mark.parametrize("limit", [0, -1, 1.5, "64"])
async def test_a_bad_limit_is_refused_before_any_child_starts(limit: object) -> None:
    before = set(children())
    error, message = bad_argument(
        limit, f"^limit must be a positive int \\(bytes\\), got {limit!r}$"
    )
    with pytest.raises(error, match=message):
        await loopstreams.create_subprocess_exec("true", limit=limit)  # type: ignore[arg-type]
    with pytest.raises(error, match=message):
        await loopstreams.create_subprocess_shell("true", limit=limit)  # type: ignore[arg-type]
    assert set(children()) <= before


# -- Popen keywords, files and fds ----------------------------------------------------------


async def test_cwd_env_and_executable_reach_the_child(tmp_path: os.PathLike[str]) -> None:
    proc = await loopstreams.create_subprocess_exec(
        "any-name-for-argv0",
        "-c",
        "import os, sys; print(os.getcwd(), os.environ['LOOPSTREAMS_X'], sys.argv[0])",
        executable=PY,
        cwd=tmp_path,
        env={"LOOPSTREAMS_X": "42"},
        stdout=PIPE,
    )
    out, _ = await proc.communicate()
    assert (out or b"").split() == [os.fsencode(os.path.realpath(tmp_path)), b"42", b"-c"]


async def test_pass_fds_and_close_fds_decide_which_fds_the_child_has() -> None:
    read_end, write_end = os.pipe()
    try:
        code = f"import os; os.write({write_end}, b'via pass_fds')"
        proc = await loopstreams.create_subprocess_exec(PY, "-c", code, pass_fds=(write_end,))
        assert await proc.wait() == 0
        assert os.read(read_end, 100) == b"via pass_fds"
        # close_fds=True (the default) without pass_fds: the child does not have it.
        proc = await loopstreams.create_subprocess_exec(PY, "-c", code, close_fds=True, stderr=PIPE)
        _, err = await proc.communicate()
        assert proc.returncode == 1 and b"Bad file descriptor" in (err or b"")
    finally:
        os.close(read_end)
        os.close(write_end)


async def test_start_new_session_puts_the_child_in_its_own_session() -> None:
    proc = await loopstreams.create_subprocess_exec(
        PY, "-c", "import os; print(os.getsid(0))", start_new_session=True, stdout=PIPE
    )
    out, _ = await proc.communicate()
    assert int(out or b"0") == proc.pid != os.getsid(0)


async def test_preexec_fn_runs_in_the_child_before_exec() -> None:
    proc = await loopstreams.create_subprocess_exec(
        "sh", "-c", "umask", preexec_fn=lambda: os.umask(0o027), stdout=PIPE
    )
    out, _ = await proc.communicate()
    assert (out or b"").strip() == b"0027"


async def test_file_objects_and_fds_work_as_stdin_stdout_and_stderr() -> None:
    with tempfile.TemporaryFile() as src, tempfile.TemporaryFile() as dst:
        src.write(b"from a file\n")
        src.seek(0)
        err_read, err_write = os.pipe()
        try:
            proc = await loopstreams.create_subprocess_shell(
                "cat; echo to-fd >&2", stdin=src, stdout=dst, stderr=err_write
            )
            assert (proc.stdin, proc.stdout, proc.stderr) == (None, None, None)
            assert await proc.wait() == 0
        finally:
            os.close(err_write)
        with os.fdopen(err_read, "rb") as err:
            assert err.read() == b"to-fd\n"
        dst.seek(0)
        assert dst.read() == b"from a file\n"


@pytest.mark.parametrize(
    "keyword",
    [{"text": True}, {"universal_newlines": True}, {"encoding": "utf-8"}, {"bufsize": 1}],
)
async def test_text_mode_keywords_are_refused_without_starting_a_child(
    keyword: dict[str, object],
) -> None:
    before = set(children())
    with pytest.raises(ValueError):
        await loopstreams.create_subprocess_exec("true", **keyword)
    with pytest.raises(ValueError):
        await loopstreams.create_subprocess_shell("true", **keyword)
    assert set(children()) <= before


async def test_shell_refuses_a_command_that_is_not_a_string() -> None:
    cmd = ["echo", "hi"]
    ours = re.escape(f"cmd must be a string (str or bytes), got {cmd!r}")
    error, message = bad_argument(cmd, f"^{ours}$", (str, bytes), "union[str, bytes]")
    with pytest.raises(error, match=message):
        await loopstreams.create_subprocess_shell(["echo", "hi"])  # type: ignore[arg-type]


# -- cancellation, styles, loop= ------------------------------------------------------------


async def test_cancelling_the_create_call_kills_and_reaps_the_child(watcher: str) -> None:
    before = set(children())
    for create in (
        lambda: loopstreams.create_subprocess_exec(PY, "-c", SIGNALLABLE, stdin=PIPE, stdout=PIPE),
        lambda: loopstreams.create_subprocess_shell("sleep 60", stdout=PIPE, stderr=PIPE),
    ):
        task = loopcore.ensure_future(create())
        await loopcore.sleep(0)  # the child is started; its pipes are being connected
        started = set(children()) - before
        assert len(started) == 1
        task.cancel()
        with pytest.raises(loopcore.CancelledError):
            await task
        (pid,) = started
        assert_reaped(pid)


async def test_a_create_call_cancelled_again_while_reaping_still_reaps_the_child(
    watcher: str,
) -> None:
    before = set(children())
    task = loopcore.ensure_future(
        loopstreams.create_subprocess_exec(PY, "-c", SIGNALLABLE, stdin=PIPE, stdout=PIPE)
    )
    await loopcore.sleep(0)
    (pid,) = set(children()) - before
    task.cancel()
    await loopcore.sleep(0)  # the child is killed; the create call waits for the reap
    task.cancel()
    with pytest.raises(loopcore.CancelledError):
        await task
    assert_reaped(pid)


def test_generator_coroutines_drive_the_api_with_yield_from() -> None:
    @loopcore.coroutine
    def main() -> Generator[object, object, object]:
        proc = yield from loopstreams.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
        assert isinstance(proc, Process)
        result = yield from proc.communicate(b"generator style")
        code = yield from proc.wait()
        return result, code

    assert loopcore.run(main()) == ((b"generator style", None), 0)


async def test_loop_keyword_must_be_the_running_loop() -> None:
    loop = loopcore.get_running_loop()
    proc = await loopstreams.create_subprocess_exec("true", loop=loop)
    assert await proc.wait() == 0
    other = loopcore.new_event_loop()
    try:
        with pytest.raises(ValueError, match="loop="):
            await loopstreams.create_subprocess_exec("true", loop=other)
    finally:
        other.close()


async def test_process_repr_names_the_pid() -> None:
    proc = await loopstreams.create_subprocess_exec("true")
    assert repr(proc) == f"<Process {proc.pid}>"
    await proc.wait()


async def test_start_tls_on_a_childs_stdin_is_refused() -> None:
    import ssl

    proc = await loopstreams.create_subprocess_exec("cat", stdin=PIPE)
    assert proc.stdin is not None
    with pytest.raises(RuntimeError, match="stdin of a child process"):
        await proc.stdin.start_tls(ssl.create_default_context())
    await proc.communicate()


async def test_transport_is_closed_once_the_child_exited_and_output_was_read() -> None:
    proc = await loopstreams.create_subprocess_exec("echo", "x", stdout=PIPE)
    assert proc.stdout is not None
    assert await proc.stdout.read() == b"x\n"
    await proc.wait()
    await loopcore.sleep(0)
    assert proc._transport.is_closing()


async def test_subprocess_stream_protocol_works_with_loop_subprocess_exec() -> None:
    loop = loopcore.get_running_loop()
    transport, protocol = await loop.subprocess_exec(  # type: ignore[attr-defined]
        lambda: loopstreams.SubprocessStreamProtocol(limit=32),
        "sh",
        "-c",
        "read line; echo got $line; echo oops >&2",
    )
    assert isinstance(protocol, loopstreams.SubprocessStreamProtocol)
    assert protocol.stdin is not None and protocol.stdout is not None
    assert protocol.stderr is not None
    await protocol.stdin.send(b"hello\n")
    assert await protocol.stdout.readline() == b"got hello\n"
    assert await protocol.stdout.read() == b""
    assert await protocol.stderr.read() == b"oops\n"
    assert await Process(transport, protocol, loop).wait() == 0
    await loopcore.sleep(0)
    # Exited, and both outputs at end of file: the protocol closed the transport.
    assert transport.is_closing()
    assert "SubprocessStreamProtocol" in repr(protocol)
