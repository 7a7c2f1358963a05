"""Subprocess transports on real child processes (sys.executable -c ... and /bin/sh)."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import loopcore
import looptransports.subprocess as lt_subprocess
from looptransports import SelectorEventLoop, SubprocessProtocol
from looptransports.subprocess import ProcessTransport

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX subprocesses")

PY = sys.executable


def running_loop() -> SelectorEventLoop:
    loop = loopcore.get_running_loop()
    assert isinstance(loop, SelectorEventLoop)
    return loop


def zombie_children() -> list[int]:
    """Pids of this process's children that exited and were never reaped."""
    me = os.getpid()
    zombies = []
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
        if fields[0] == "Z" and int(fields[1]) == me:
            zombies.append(int(entry))
    return zombies


def live_children() -> list[int]:
    """Pids of this process's children that still run (not zombies)."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[1]) == me:
            found.append(int(entry))
    return found


def assert_reaped(pid: int) -> None:
    # waitpid on a live child of ours returns (0, 0); ECHILD means it was reaped.
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    assert pid not in zombie_children()


class Child(SubprocessProtocol):
    """Records the callbacks and checks the order rules as they happen."""

    def __init__(self) -> None:
        self.loop = running_loop()
        self.events: list[Any] = []
        self.violations: list[str] = []
        self.out = {1: bytearray(), 2: bytearray()}
        self.transport: Any = None
        self.made = self.loop.create_future()
        self.exited = self.loop.create_future()
        self.lost = self.loop.create_future()
        self.pipes_lost: dict[int, Exception | None] = {}
        self._waiters: list[tuple[int, bytes, loopcore.Future[object]]] = []
        self.paused = 0
        self.resumed = 0

    def _check_open(self, name: str) -> None:
        if not self.made.done():
            self.violations.append(f"{name} before connection_made")
        if self.lost.done():
            self.violations.append(f"{name} after connection_lost")

    def connection_made(self, transport: Any) -> None:
        if self.events:
            self.violations.append(f"connection_made after {self.events}")
        self.events.append("made")
        self.transport = transport
        self.made.set_result(None)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._check_open("pipe_data_received")
        if fd in self.pipes_lost:
            self.violations.append(f"data on fd {fd} after its pipe_connection_lost")
        self.events.append(("data", fd))
        self.out[fd] += data
        for want_fd, marker, fut in self._waiters:
            if want_fd == fd and marker in self.out[fd] and not fut.done():
                fut.set_result(None)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._check_open("pipe_connection_lost")
        if fd in self.pipes_lost:
            self.violations.append(f"pipe_connection_lost({fd}) twice")
        self.events.append(("pipe_lost", fd))
        self.pipes_lost[fd] = exc

    def process_exited(self) -> None:
        self._check_open("process_exited")
        if self.exited.done():
            self.violations.append("process_exited twice")
            return
        self.events.append("exited")
        self.exited.set_result(self.transport.get_returncode())

    def pause_writing(self) -> None:
        self.paused += 1

    def resume_writing(self) -> None:
        self.resumed += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._check_open("connection_lost")
        if not self.exited.done():
            self.violations.append("connection_lost before process_exited")
        self.events.append("lost")
        self.lost.set_result(exc)

    async def wait_output(self, fd: int, marker: bytes) -> None:
        if marker in self.out[fd]:
            return
        fut = self.loop.create_future()
        self._waiters.append((fd, marker, fut))
        await fut

    def assert_rules(self, pipes: tuple[int, ...] = (0, 1, 2)) -> None:
        assert not self.violations, self.violations
        assert self.events[0] == "made"
        assert self.events[-1] == "lost"
        assert self.events.count("exited") == 1
        assert sorted(self.pipes_lost) == sorted(pipes)


@pytest.fixture(params=["pidfd", "thread"])
def watcher(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with each way of watching children (pidfd where available)."""
    if request.param == "pidfd" and not hasattr(os, "pidfd_open"):
        pytest.skip("os.pidfd_open is not available")
    saved = lt_subprocess._USE_PIDFD
    lt_subprocess._USE_PIDFD = request.param == "pidfd"
    try:
        yield request.param
    finally:
        lt_subprocess._USE_PIDFD = saved


# -- the core path, with both child watchers ----------------------------------------------


async def test_echo_through_stdin_and_stdout_then_exit_status(watcher: str) -> None:
    loop = running_loop()
    code = "import sys; data = sys.stdin.buffer.read(); sys.stdout.buffer.write(data.upper())"
    transport, proto = await loop.subprocess_exec(Child, PY, "-c", code)
    assert isinstance(transport, ProcessTransport)
    assert proto.events == ["made"]  # connection_made ran before the call returned
    if watcher == "pidfd":
        assert transport._watch.uses_pidfd
    else:
        assert not transport._watch.uses_pidfd
    stdin = transport.get_pipe_transport(0)
    stdin.write(b"hello ")
    stdin.write(b"child")
    stdin.write_eof()
    assert await proto.lost is None
    assert bytes(proto.out[1]) == b"HELLO CHILD"
    assert transport.get_returncode() == 0
    assert await proto.exited == 0
    proto.assert_rules()
    transport.close()
    assert_reaped(transport.get_pid())


async def test_pipe_data_received_reports_stdout_and_stderr_by_fd(watcher: str) -> None:
    loop = running_loop()
    code = (
        "import sys; sys.stdout.write('to out'); sys.stdout.flush(); "
        "sys.stderr.write('to err'); sys.exit(7)"
    )
    transport, proto = await loop.subprocess_exec(Child, PY, "-c", code)
    await proto.lost
    assert bytes(proto.out[1]) == b"to out"
    assert bytes(proto.out[2]) == b"to err"
    assert transport.get_returncode() == 7
    assert proto.pipes_lost == {0: None, 1: None, 2: None}
    proto.assert_rules()
    transport.close()
    assert_reaped(transport.get_pid())


async def test_connection_lost_comes_after_process_exited_and_every_pipe_closed(
    watcher: str,
) -> None:
    loop = running_loop()
    transport, proto = await loop.subprocess_exec(Child, PY, "-c", "print('x')")
    await proto.lost
    lost_at = proto.events.index("lost")
    assert lost_at == len(proto.events) - 1
    assert proto.events.index("exited") < lost_at
    for fd in (0, 1, 2):
        assert proto.events.index(("pipe_lost", fd)) < lost_at
    proto.assert_rules()
    transport.close()


async def test_send_signal_reaches_the_child_and_returncode_is_minus_the_signal(
    watcher: str,
) -> None:
    loop = running_loop()
    code = "import sys, time; print('ready', flush=True); time.sleep(60)"
    transport, proto = await loop.subprocess_exec(Child, PY, "-c", code)
    await proto.wait_output(1, b"ready")
    transport.send_signal(signal.SIGUSR1)  # default action: terminate
    assert await proto.exited == -signal.SIGUSR1
    await proto.lost
    assert transport.get_returncode() == -signal.SIGUSR1
    proto.assert_rules()
    transport.close()
    assert_reaped(transport.get_pid())


@pytest.mark.parametrize(
    ("method", "signum"), [("terminate", signal.SIGTERM), ("kill", signal.SIGKILL)]
)
async def test_terminate_and_kill_send_sigterm_and_sigkill(
    watcher: str, method: str, signum: int
) -> None:
    loop = running_loop()
    code = "import time; print('ready', flush=True); time.sleep(60)"
    transport, proto = await loop.subprocess_exec(Child, PY, "-c", code)
    await proto.wait_output(1, b"ready")
    getattr(transport, method)()
    assert await proto.exited == -signum
    await proto.lost
    proto.assert_rules()
    transport.close()
    assert_reaped(transport.get_pid())


async def test_send_signal_after_exit_raises_process_lookup_error(watcher: str) -> None:
    loop = running_loop()
    transport, proto = await loop.subprocess_exec(Child, PY, "-c", "pass")
    await proto.exited
    with pytest.raises(ProcessLookupError, match="already exited"):
        transport.send_signal(signal.SIGTERM)
    with pytest.raises(ProcessLookupError):
        transport.kill()
    await proto.lost
    transport.close()


async def test_child_killed_by_a_signal_while_its_pipes_are_full(watcher: str) -> None:
    loop = running_loop()
    code = (
        "import sys\n"
        "sys.stdout.buffer.write(b'o' * 4096); sys.stdout.flush()\n"
        "sys.stderr.write('writing'); sys.stderr.flush()\n"
        "chunk = b'o' * 65536\n"
        "while True:\n"
        "    sys.stdout.buffer.write(chunk); sys.stdout.flush()\n"
    )
    transport, proto = await loop.subprocess_exec(Child, PY, "-c", code)
    stdout = transport.get_pipe_transport(1)
    stdout.pause_reading()  # nobody drains stdout: the child blocks on a full pipe
    await proto.wait_output(2, b"writing")
    transport.kill()
    assert await proto.exited == -signal.SIGKILL
    # stdout still holds what the child wrote: not closed until it is drained.
    assert 1 not in proto.pipes_lost
    assert not proto.lost.done()
    stdout.resume_reading()
    assert await proto.lost is None
    assert len(proto.out[1]) > 0
    assert set(proto.out[1]) == {ord("o")}
    proto.assert_rules()
    transport.close()
    assert_reaped(transport.get_pid())


async def test_stdin_flow_control_reaches_the_subprocess_protocol(watcher: str) -> None:
    loop = running_loop()
    code = "import sys; n = len(sys.stdin.buffer.read()); print(n)"
    transport, proto = await loop.subprocess_exec(Child, PY, "-c", code)
    stdin = transport.get_pipe_transport(0)
    stdin.set_write_buffer_limits(high=64 * 1024)
    stdin.write(b"i" * (4 * 1024 * 1024))  # far more than a pipe holds
    assert proto.paused == 1
    stdin.write_eof()
    await proto.lost
    assert proto.resumed == 1
    assert bytes(proto.out[1]).strip() == str(4 * 1024 * 1024).encode()
    proto.assert_rules()
    transport.close()


async def test_close_kills_a_running_child_and_the_protocol_still_sees_it_end(
    watcher: str,
) -> None:
    loop = running_loop()
    code = "import time; print('ready', flush=True); time.sleep(60)"
    transport, proto = await loop.subprocess_exec(Child, PY, "-c", code)
    await proto.wait_output(1, b"ready")
    transport.close()
    assert transport.is_closing()
    transport.close()  # idempotent
    assert await proto.exited == -signal.SIGKILL
    assert await proto.lost is None
    proto.assert_rules()
    assert_reaped(transport.get_pid())


async def test_no_zombie_is_left_after_many_short_children(watcher: str) -> None:
    loop = running_loop()
    pids = []
    for i in range(5):
        transport, proto = await loop.subprocess_exec(Child, PY, "-c", f"import sys; sys.exit({i})")
        await proto.lost
        assert transport.get_returncode() == i
        pids.append(transport.get_pid())
        transport.close()
    for pid in pids:
        assert_reaped(pid)
    assert zombie_children() == []


# -- the rest of the API ----------------------------------------------------------------


async def test_subprocess_shell_runs_the_command_through_the_shell() -> None:
    loop = running_loop()
    transport, proto = await loop.subprocess_shell(Child, "echo $((6 * 7)); echo oops >&2; exit 3")
    assert await proto.lost is None
    assert bytes(proto.out[1]) == b"42\n"
    assert bytes(proto.out[2]) == b"oops\n"
    assert transport.get_returncode() == 3
    proto.assert_rules()
    transport.close()
    assert_reaped(transport.get_pid())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"universal_newlines": True}, "universal_newlines"),
        ({"text": True}, "text"),
        ({"encoding": "utf-8"}, "encoding"),
        ({"errors": "strict"}, "errors"),
        ({"bufsize": 1}, "bufsize"),
        ({"shell": True}, "shell"),
    ],
)
async def test_subprocess_exec_refuses_text_mode_buffering_and_shell(
    kwargs: dict[str, Any], message: str
) -> None:
    loop = running_loop()
    with pytest.raises(ValueError, match=message):
        await loop.subprocess_exec(Child, PY, "-c", "pass", **kwargs)
    assert zombie_children() == []


@pytest.mark.parametrize(
    ("cmd", "kwargs", "message"),
    [
        (["echo", "hi"], {}, "cmd must be a string"),
        ("echo hi", {"shell": False}, "shell must be True"),
        ("echo hi", {"universal_newlines": True}, "universal_newlines"),
        ("echo hi", {"bufsize": -1}, "bufsize"),
    ],
)
async def test_subprocess_shell_refuses_a_non_string_command_and_bad_arguments(
    cmd: Any, kwargs: dict[str, Any], message: str
) -> None:
    loop = running_loop()
    with pytest.raises(ValueError, match=message):
        await loop.subprocess_shell(Child, cmd, **kwargs)


async def test_a_missing_program_raises_file_not_found_error() -> None:
    loop = running_loop()
    with pytest.raises(FileNotFoundError):
        await loop.subprocess_exec(Child, "/nonexistent/program/for/looptransports")
    assert zombie_children() == []


async def test_get_pipe_transport_is_none_for_streams_that_are_not_pipes() -> None:
    loop = running_loop()
    transport, proto = await loop.subprocess_exec(
        Child,
        PY,
        "-c",
        "print('out')",
        stdin=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    assert transport.get_pipe_transport(0) is None
    assert transport.get_pipe_transport(2) is None
    assert transport.get_pipe_transport(1) is not None
    assert transport.get_pipe_transport(7) is None
    await proto.lost
    assert bytes(proto.out[1]) == b"out\n"
    proto.assert_rules(pipes=(1,))
    transport.close()


async def test_get_extra_info_subprocess_is_the_popen_object_and_get_pid_its_pid() -> None:
    loop = running_loop()
    transport, proto = await loop.subprocess_exec(Child, PY, "-c", "pass")
    popen = transport.get_extra_info("subprocess")
    assert isinstance(popen, subprocess.Popen)
    assert popen.pid == transport.get_pid()
    await proto.lost
    assert popen.returncode == 0  # kept in step, so Popen never reaps it again
    transport.close()


async def test_popen_keywords_such_as_cwd_and_env_reach_the_child(tmp_path: Any) -> None:
    loop = running_loop()
    code = "import os; print(os.getcwd()); print(os.environ['LT_MARK'])"
    env = dict(os.environ, LT_MARK="marked")
    transport, proto = await loop.subprocess_exec(Child, PY, "-c", code, cwd=str(tmp_path), env=env)
    await proto.lost
    lines = bytes(proto.out[1]).decode().splitlines()
    assert os.path.samefile(lines[0], str(tmp_path))
    assert lines[1] == "marked"
    transport.close()


async def test_a_fast_child_still_gets_connection_made_first() -> None:
    loop = running_loop()
    transport, proto = await loop.subprocess_exec(
        Child, PY, "-c", "import os; os.write(1, b'quick'); os.write(2, b'!')"
    )
    await proto.lost
    assert proto.events[0] == "made"
    assert bytes(proto.out[1]) == b"quick"
    proto.assert_rules()
    transport.close()


def test_closing_the_loop_kills_and_reaps_children_still_running() -> None:
    loop = SelectorEventLoop()
    try:

        async def start() -> Any:
            code = "import time; print('ready', flush=True); time.sleep(60)"
            transport, proto = await loop.subprocess_exec(Child, PY, "-c", code)
            await proto.wait_output(1, b"ready")
            return transport

        transport = loop.run_until_complete(start())
        pid = transport.get_pid()
    except BaseException:
        loop.close()
        raise
    with pytest.warns(ResourceWarning, match=f"child process {pid} was running"):
        loop.close()
    assert_reaped(pid)
    with pytest.warns(ResourceWarning, match="unclosed transport"):
        del transport
        gc.collect()


async def test_cancelling_subprocess_exec_during_start_up_kills_and_reaps_the_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = running_loop()
    started: loopcore.Future[Any] = loop.create_future()

    class Watched(ProcessTransport):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.set_result(self)

    monkeypatch.setattr(lt_subprocess, "ProcessTransport", Watched)
    task = loop.create_task(loop.subprocess_exec(Child, PY, "-c", "import time; time.sleep(60)"))
    transport = await started  # the child runs; its pipes are being connected
    task.cancel()
    with pytest.raises(loopcore.CancelledError):
        await task
    assert transport.get_returncode() == -signal.SIGKILL
    assert transport.get_pid() not in live_children()
    assert_reaped(transport.get_pid())


async def test_stdin_data_the_child_never_read_ends_in_pipe_connection_lost_broken_pipe() -> None:
    loop = running_loop()
    transport, proto = await loop.subprocess_exec(Child, PY, "-c", "import os; os.close(0)")
    stdin = transport.get_pipe_transport(0)
    stdin.set_write_buffer_limits(high=16 * 1024 * 1024)
    stdin.write(b"unread" * 200_000)  # more than the pipe holds: some stays buffered
    assert await proto.lost is None
    assert isinstance(proto.pipes_lost[0], BrokenPipeError)
    assert proto.pipes_lost[1] is None and proto.pipes_lost[2] is None
    assert transport.get_returncode() == 0
    proto.assert_rules()
    transport.close()
