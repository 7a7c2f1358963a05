"""Subprocess transports: ``subprocess_exec`` and ``subprocess_shell``.

A child is started with :class:`subprocess.Popen` (in the loop's thread: ``fork``/
``exec`` are quick and Popen reports an ``exec`` failure synchronously). Its
standard streams that are ``PIPE`` become pipe transports
(:mod:`looptransports.pipes`), and a :class:`ProcessTransport` ties them to one
:class:`~looptransports.SubprocessProtocol`.

How the child's exit is noticed -- without blocking the loop, and without a global
``SIGCHLD`` handler. asyncio's historical child watchers installed a ``SIGCHLD``
handler that called ``waitpid(-1)`` and so reaped children belonging to other code,
or were themselves broken by other code's handlers; there is one signal disposition
per process, so no scheme built on it composes. Instead each child is watched on
its own (:class:`_ChildWatch`):

* On Linux >= 5.3, ``os.pidfd_open(pid)`` gives a file descriptor that becomes
  readable when that child exits. The loop watches it like a socket; when it fires,
  ``waitpid(pid)`` reaps the child at once, in the loop's thread. Signals go through
  ``signal.pidfd_send_signal``, which can never hit a recycled pid.
* Elsewhere (or when a sandbox refuses pidfds), a thread per child waits for the
  exit with ``waitid(..., WNOWAIT)`` (which does not reap), then reaps it under a
  lock and reports with ``call_soon_threadsafe``. Holding the lock while reaping is
  what lets ``send_signal`` check "not reaped yet" and signal without the pid being
  reused in between.

Only the watched pid is ever reaped, so children started by other code are left
alone. Closing the loop while children run kills and reaps them (with a
:class:`ResourceWarning`): no zombie outlives the loop.

The protocol's calls, in order::

    connection_made -> (pipe_data_received | pipe_connection_lost | process_exited)*
                    -> connection_lost

``process_exited`` is called once; ``connection_lost(None)`` once, after the process
exited *and* every pipe was closed. Events that happen before ``connection_made``
(a fast child) are held and delivered after it, in order.
"""

from __future__ import annotations

import collections
import contextlib
import enum
import logging
import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

from loopcore import CancelledError, shield
from loopcore.base_loop import BaseEventLoop
from loopcore.introspect import register_resource

from ._lifecycle import _set_result_unless_cancelled
from .protocols import BaseProtocol, Protocol, SubprocessProtocol
from .transports import BaseTransport, SubprocessTransport

if TYPE_CHECKING:
    from loopcore import Future

    from .pipes import ReadPipeTransport, WritePipeTransport

__all__ = ["ProcessTransport", "State", "SubprocessMixin"]

logger = logging.getLogger("looptransports")

_P = TypeVar("_P", bound=SubprocessProtocol)

#: What ``stdin``/``stdout``/``stderr`` accept: ``subprocess.PIPE``, ``DEVNULL``,
#: ``STDOUT`` (stderr only), a file descriptor, a file object, or ``None``.
StdSpec = int | IO[bytes] | IO[str] | None

# The return code reported when someone else reaped our child (as asyncio does).
_UNKNOWN_RETURNCODE = 255
# How long closing the loop waits for a watcher thread after killing its child.
_THREAD_JOIN_TIMEOUT = 5.0


def _exit_code(status: int) -> int:
    """The Popen-style return code: the exit status, or minus the killing signal."""
    return os.waitstatus_to_exitcode(status)


class _ChildWatch:
    """Waits for one child to exit without blocking the loop; reaps it; reports it.

    *callback(returncode)* is called once, in the loop's thread. See the module
    docstring for the two strategies (pidfd, or a thread).
    """

    __slots__ = (
        "_callback",
        "_done",
        "_lock",
        "_loop",
        "_pidfd",
        "_popen",
        "_reaped",
        "_thread",
        "pid",
    )

    def __init__(
        self,
        loop: BaseEventLoop,
        popen: subprocess.Popen[bytes],
        callback: Callable[[int], object],
    ) -> None:
        self._loop = loop
        self._popen = popen
        self.pid = popen.pid
        self._callback = callback
        self._done = False
        # Set (under _lock in thread mode) once waitpid has reaped the child: from
        # then on its pid may belong to another process and must not be signalled.
        self._reaped = False
        self._lock = threading.Lock()
        self._pidfd: int | None = None
        self._thread: threading.Thread | None = None
        pidfd_open = getattr(os, "pidfd_open", None) if _USE_PIDFD else None
        if pidfd_open is not None:
            try:
                self._pidfd = pidfd_open(self.pid)
            except OSError:
                # ENOSYS (old kernel) or EPERM (seccomp sandbox): use a thread.
                self._pidfd = None
        if self._pidfd is not None:
            loop._add_reader(self._pidfd, self._on_pidfd_readable)
        else:
            self._thread = threading.Thread(
                target=self._wait_in_thread,
                name=f"looptransports-waitpid-{self.pid}",
                daemon=True,
            )
            self._thread.start()

    @property
    def uses_pidfd(self) -> bool:
        """True when the exit is watched through a pidfd, False with a thread."""
        return self._thread is None

    def _reap(self) -> int:
        """``waitpid`` the child (it has exited, so this does not block for long)."""
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            # Someone else reaped it: Popen.poll()/wait() on get_extra_info('subprocess'),
            # or a foreign waitpid(-1). Popen may still know the code.
            self._reaped = True
            if self._popen.returncode is not None:
                return self._popen.returncode
            logger.warning(
                "child process %d was reaped by other code; its return code is unknown, "
                "reporting %d",
                self.pid,
                _UNKNOWN_RETURNCODE,
            )
            return _UNKNOWN_RETURNCODE
        self._reaped = True
        returncode = _exit_code(status)
        if self._popen.returncode is None:
            # Keep Popen consistent, so that it never tries to reap the pid again.
            self._popen.returncode = returncode
        return returncode

    def _on_pidfd_readable(self) -> None:
        self._close_pidfd(remove=True)
        returncode = self._reap()
        self._finish(returncode)

    def _close_pidfd(self, *, remove: bool) -> None:
        pidfd = self._pidfd
        if pidfd is None:
            return
        self._pidfd = None
        if remove:
            self._loop._remove_reader(pidfd)
        os.close(pidfd)

    def _wait_in_thread(self) -> None:
        waitid = getattr(os, "waitid", None)
        if waitid is not None:
            try:
                # Wait for the exit *without* reaping: the pid stays ours until we
                # reap under the lock, so send_signal() cannot hit a recycled pid.
                waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
            except ChildProcessError:
                pass
            with self._lock:
                returncode = self._reap()
        else:
            # No waitid (some platforms): reap as it exits. send_signal() then has
            # a window of a few instructions in which the pid could be reused.
            returncode = self._reap()
        try:
            self._loop.call_soon_threadsafe(self._finish, returncode)
        except RuntimeError:
            # The loop was closed meanwhile; the child is reaped all the same.
            pass

    def _finish(self, returncode: int) -> None:
        if self._done:
            return
        self._done = True
        _forget_watch(self._loop, self)
        self._callback(returncode)

    def send_signal(self, sig: int) -> bool:
        """Send *sig* to the child unless it was reaped; True if it was sent."""
        if self._pidfd is not None:
            try:
                signal.pidfd_send_signal(self._pidfd, sig)
            except ProcessLookupError:
                return False
            return True
        with self._lock:
            if self._reaped:
                return False
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                return False
            return True

    def kill_and_reap(self) -> None:
        """Kill the child and reap it now (the loop is closing: no more callbacks)."""
        if self._done:
            return
        self._done = True
        self.send_signal(signal.SIGKILL)
        if self._thread is not None:
            self._thread.join(_THREAD_JOIN_TIMEOUT)
        else:
            # The selector is closed with the loop: just drop the fd.
            self._close_pidfd(remove=False)
            if not self._reaped:
                self._reap()
        # Nobody will read or write these pipes again: release the fds now.
        for stream in (self._popen.stdin, self._popen.stdout, self._popen.stderr):
            if stream is not None:
                stream.close()


# Tests switch this off to exercise the thread fallback on Linux.
_USE_PIDFD = True


def _watches(loop: BaseEventLoop) -> set[_ChildWatch]:
    watches: set[_ChildWatch] | None = getattr(loop, "_child_watches", None)
    if watches is None:
        watches = set()
        loop._child_watches = watches  # type: ignore[attr-defined]
    return watches


def _forget_watch(loop: BaseEventLoop, watch: _ChildWatch) -> None:
    _watches(loop).discard(watch)


class State(enum.Enum):
    """Where a :class:`ProcessTransport` is in its life."""

    #: Started; the pipes are being connected, events are held back. A start-up
    #: that fails stays here: the protocol never saw connection_made.
    STARTING = "STARTING"
    #: ``connection_made`` was scheduled; events are delivered as they come.
    RUNNING = "RUNNING"
    #: The process exited and every pipe closed; ``connection_lost`` was scheduled.
    FINISHED = "FINISHED"


_STARTING = State.STARTING
_RUNNING = State.RUNNING
_FINISHED = State.FINISHED

#: Every allowed state change of a :class:`ProcessTransport`.
_TRANSITIONS: dict[State, frozenset[State]] = {
    _STARTING: frozenset({_RUNNING}),
    _RUNNING: frozenset({_FINISHED}),
    _FINISHED: frozenset(),
}


class _PipeProtocol(Protocol):
    """The protocol of one of the child's pipes: forwards to the process transport."""

    __slots__ = ("disconnected", "fd", "pipe", "proc")

    def __init__(self, proc: ProcessTransport, fd: int) -> None:
        self.proc = proc
        self.fd = fd
        self.pipe: ReadPipeTransport | WritePipeTransport | None = None
        self.disconnected = False

    def connection_made(self, transport: BaseTransport) -> None:
        self.pipe = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.proc._pipe_data_received(self.fd, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.disconnected = True
        self.proc._pipe_connection_lost(self.fd, exc)

    # Flow control of the child's stdin is the subprocess protocol's business.
    def pause_writing(self) -> None:
        self.proc._protocol.pause_writing()

    def resume_writing(self) -> None:
        self.proc._protocol.resume_writing()


class ProcessTransport(SubprocessTransport):
    """The transport of a child process, as made by ``subprocess_exec``/``subprocess_shell``.

    ``get_extra_info('subprocess')`` is the :class:`subprocess.Popen` object (do not
    call its ``wait()``/``poll()``: the transport reaps the child). Not thread-safe.
    """

    def __init__(
        self,
        loop: BaseEventLoop,
        protocol: SubprocessProtocol,
        args: str | bytes | tuple[object, ...],
        shell: bool,
        stdin: StdSpec,
        stdout: StdSpec,
        stderr: StdSpec,
        bufsize: int,
        popen_kwargs: dict[str, Any],
    ) -> None:
        super().__init__()
        self._loop = loop
        # Known to loopcore.introspect: the monitor lists it, the leak report names it.
        register_resource(loop, self, "subprocess transport")
        self._protocol = protocol
        self._state = _STARTING
        self._closed = False
        self._returncode: int | None = None
        self._exit_waiters: list[Future[object]] = []
        # Protocol calls made before connection_made, delivered after it.
        self._pending_calls: collections.deque[tuple[Callable[..., object], tuple[object, ...]]]
        self._pending_calls = collections.deque()
        self._pipes: dict[int, _PipeProtocol | None] = {}
        if stdin == subprocess.PIPE:
            self._pipes[0] = None
        if stdout == subprocess.PIPE:
            self._pipes[1] = None
        if stderr == subprocess.PIPE:
            self._pipes[2] = None
        # universal_newlines=False makes it a Popen[bytes]; the **kwargs hide that
        # from the type checker.
        proc = cast(
            "subprocess.Popen[bytes]",
            subprocess.Popen(
                args,  # type: ignore[arg-type]
                shell=shell,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                universal_newlines=False,
                bufsize=bufsize,
                **popen_kwargs,
            ),
        )
        self._proc = proc
        self._pid = proc.pid
        self._extra["subprocess"] = proc
        if loop.get_debug():
            logger.debug("process %r started: pid %d", args, proc.pid)
        self._watch = _ChildWatch(loop, proc, self._process_exited)
        _watches(loop).add(self._watch)

    def _set_state(self, new: State) -> None:
        if new not in _TRANSITIONS[self._state]:
            raise RuntimeError(
                f"cannot move {type(self).__name__} from {self._state.value} to {new.value}"
            )
        self._state = new

    def __repr__(self) -> str:
        info = [type(self).__name__, f"pid={self._pid}"]
        if self._closed:
            info.append("closed")
        if self._returncode is not None:
            info.append(f"returncode={self._returncode}")
        else:
            info.append("running")
        for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
            if fd in self._pipes:
                proto = self._pipes[fd]
                info.append(f"{name}={proto.pipe if proto is not None else None!r}")
        return f"<{' '.join(info)}>"

    def __del__(self, _warn: object = warnings.warn) -> None:
        if getattr(self, "_watch", None) is None:
            return  # Popen failed in __init__: there is no child and no pipe.
        if self._closed or self._state is _FINISHED:
            return
        warnings.warn(f"unclosed transport {self!r}", ResourceWarning, stacklevel=2, source=self)
        if not self._loop.is_closed():
            self.close()

    async def _connect_pipes(self) -> None:
        """Wrap the child's pipes in transports, then call ``connection_made``."""
        loop = self._loop
        proc = self._proc
        # Imported here: the mixins live side by side in SelectorEventLoop.
        from .pipes import ReadPipeTransport, WritePipeTransport

        if proc.stdin is not None and 0 in self._pipes:
            proto = _PipeProtocol(self, 0)
            self._pipes[0] = proto
            waiter = loop.create_future()
            proto.pipe = WritePipeTransport(loop, proc.stdin, proto, waiter)
            await waiter
        for fd, stream in ((1, proc.stdout), (2, proc.stderr)):
            if stream is not None and fd in self._pipes:
                proto = _PipeProtocol(self, fd)
                self._pipes[fd] = proto
                waiter = loop.create_future()
                proto.pipe = ReadPipeTransport(loop, stream, proto, waiter)
                await waiter
        self._set_state(_RUNNING)
        loop.call_soon(self._protocol.connection_made, self)
        pending = self._pending_calls
        while pending:
            callback, args = pending.popleft()
            loop.call_soon(callback, *args)
        # A fast child may have exited and closed its pipes already.
        self._try_finish()
        made = loop.create_future()
        loop.call_soon(_set_result_unless_cancelled, made)
        await made

    def _call(self, callback: Callable[..., object], *args: object) -> None:
        if self._state is _STARTING:
            self._pending_calls.append((callback, args))
        else:
            self._loop.call_soon(callback, *args)

    # -- events from the pipes and the child watch -----------------------------------------
    def _pipe_data_received(self, fd: int, data: bytes) -> None:
        self._call(self._protocol.pipe_data_received, fd, data)

    def _pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._call(self._protocol.pipe_connection_lost, fd, exc)
        self._try_finish()

    def _process_exited(self, returncode: int) -> None:
        if self._loop.get_debug():
            logger.debug("%r exited with return code %d", self, returncode)
        self._returncode = returncode
        if self._proc.returncode is None:
            # Keep Popen consistent, so that it never tries to reap the pid again.
            self._proc.returncode = returncode
        self._call(self._protocol.process_exited)
        for waiter in self._exit_waiters:
            if not waiter.done():
                waiter.set_result(returncode)
        self._exit_waiters.clear()
        self._try_finish()

    def _try_finish(self) -> None:
        # While STARTING nothing is delivered: _connect_pipes calls this again once
        # connection_made is scheduled (and a start-up that fails never made a
        # connection, so it must not lose one).
        if self._state is not _RUNNING or self._returncode is None:
            return
        if all(proto is not None and proto.disconnected for proto in self._pipes.values()):
            self._set_state(_FINISHED)
            self._loop.call_soon(self._call_connection_lost, None)

    def _call_connection_lost(self, exc: Exception | None) -> None:
        self._protocol.connection_lost(exc)

    async def _wait(self) -> int:
        """Wait until the child exited; its return code."""
        if self._returncode is not None:
            return self._returncode
        waiter = self._loop.create_future()
        self._exit_waiters.append(waiter)
        result = await waiter
        assert isinstance(result, int)
        return result

    # -- SubprocessTransport -------------------------------------------------------------------
    def get_pid(self) -> int:
        """The child's process id."""
        return self._pid

    def get_returncode(self) -> int | None:
        """The exit status, or minus the signal number that killed it; ``None`` while running."""
        return self._returncode

    def get_pipe_transport(self, fd: int) -> BaseTransport | None:
        """The transport of the child's stdin (0), stdout (1) or stderr (2).

        ``None`` when that stream is not a ``PIPE`` (or not connected yet).
        """
        proto = self._pipes.get(fd)
        if proto is None:
            return None
        return proto.pipe

    def send_signal(self, signal: int) -> None:
        """Send *signal* to the child.

        :raises ProcessLookupError: when the child has already exited (it was
            reaped: its pid may belong to another process by now).
        """
        if self._returncode is not None or not self._watch.send_signal(signal):
            raise ProcessLookupError(
                f"process {self._pid} has already exited "
                f"(return code {self._returncode}): cannot send signal {signal}"
            )

    def terminate(self) -> None:
        """Send SIGTERM to the child. :raises ProcessLookupError: as :meth:`send_signal`."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL to the child. :raises ProcessLookupError: as :meth:`send_signal`."""
        self.send_signal(signal.SIGKILL)

    def is_closing(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Close the pipes and kill the child if it still runs.

        The child is still reaped (without blocking) and the protocol still gets
        ``process_exited()`` and ``connection_lost(None)``. Calling it again is a no-op.
        """
        if self._closed:
            return
        self._closed = True
        for fd, proto in list(self._pipes.items()):
            if proto is not None and proto.pipe is not None:
                proto.pipe.close()
            else:
                # Never wrapped in a transport (start-up failed or was cancelled).
                stream = (self._proc.stdin, self._proc.stdout, self._proc.stderr)[fd]
                if stream is not None:
                    stream.close()
                placeholder = _PipeProtocol(self, fd)
                placeholder.disconnected = True
                self._pipes[fd] = placeholder
        if self._returncode is None:
            if self._loop.get_debug():
                logger.warning("close() kills the running process %r", self)
            with contextlib.suppress(ProcessLookupError):
                self._watch.send_signal(signal.SIGKILL)
        self._try_finish()

    def set_protocol(self, protocol: BaseProtocol) -> None:
        """Deliver the following callbacks to *protocol* (a :class:`SubprocessProtocol`)."""
        self._protocol = protocol  # type: ignore[assignment]

    def get_protocol(self) -> SubprocessProtocol:
        """The subprocess protocol the transport calls."""
        return self._protocol


def _check_text_args(
    universal_newlines: bool,
    bufsize: int,
    encoding: str | None,
    errors: str | None,
    text: bool | None,
) -> None:
    # The protocol receives bytes: a text-mode or buffered Popen would decode or
    # hold data the loop cannot see.
    if universal_newlines:
        raise ValueError(f"universal_newlines must be False, got {universal_newlines!r}")
    if text:
        raise ValueError(f"text must be False, got {text!r}")
    if encoding is not None:
        raise ValueError(f"encoding must be None, got {encoding!r}")
    if errors is not None:
        raise ValueError(f"errors must be None, got {errors!r}")
    if bufsize != 0:
        raise ValueError(f"bufsize must be 0, got {bufsize!r}")


async def _reap_despite_cancellation(
    loop: BaseEventLoop, transport: ProcessTransport, failure: BaseException
) -> None:
    """Wait until the killed child of a failed start-up is reaped.

    A cancellation that arrives meanwhile (a task cancelled twice, a timeout over a
    TaskGroup) must not leave the child unreaped: the wait goes on, shielded, and the
    cancellation is raised afterwards unless *failure* (re-raised by the caller) is
    itself one.
    """
    reaped = loop.create_task(transport._wait())
    cancelled: CancelledError | None = None
    while not reaped.done():
        try:
            await shield(reaped)
        except CancelledError as exc:
            cancelled = exc
    if cancelled is not None and not isinstance(failure, CancelledError):
        raise cancelled


class SubprocessMixin(BaseEventLoop):
    """Adds ``subprocess_exec``/``subprocess_shell`` to the selector loop.

    A mixin of ``looptransports.SelectorEventLoop``. Closing the loop kills and
    reaps the children still running (with a :class:`ResourceWarning`).
    """

    async def subprocess_exec(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], _P],
        program: str | bytes | os.PathLike[str] | os.PathLike[bytes],
        *args: str | bytes | os.PathLike[str] | os.PathLike[bytes],
        stdin: StdSpec = subprocess.PIPE,
        stdout: StdSpec = subprocess.PIPE,
        stderr: StdSpec = subprocess.PIPE,
        universal_newlines: bool = False,
        shell: bool = False,
        bufsize: int = 0,
        encoding: str | None = None,
        errors: str | None = None,
        text: bool | None = None,
        **kwargs: Any,
    ) -> tuple[ProcessTransport, _P]:
        """Run *program* with *args* in a child process, without a shell.

        The other keywords go to :class:`subprocess.Popen` (``cwd``, ``env``,
        ``start_new_session``, ``pass_fds``, ...).

        :returns: ``(transport, protocol)`` once the pipes are connected and
            ``connection_made`` has run.
        :raises ValueError: for *universal_newlines*, *text*, *shell* true, a
            *bufsize* other than 0, or an *encoding*/*errors* (the protocol gets bytes).
        :raises OSError: when the program cannot be started (e.g.
            :class:`FileNotFoundError`).

        Cancelled (or failing) while the pipes are being connected, it kills the
        child and reaps it before raising, even if cancelled again meanwhile.
        """
        _check_text_args(universal_newlines, bufsize, encoding, errors, text)
        if shell:
            raise ValueError(f"shell must be False in subprocess_exec(), got {shell!r}")
        popen_args = (program, *args)
        protocol = protocol_factory()
        transport = await self._start_process(
            protocol, popen_args, False, stdin, stdout, stderr, bufsize, kwargs
        )
        return transport, protocol

    async def subprocess_shell(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], _P],
        cmd: str | bytes,
        *,
        stdin: StdSpec = subprocess.PIPE,
        stdout: StdSpec = subprocess.PIPE,
        stderr: StdSpec = subprocess.PIPE,
        universal_newlines: bool = False,
        shell: bool = True,
        bufsize: int = 0,
        encoding: str | None = None,
        errors: str | None = None,
        text: bool | None = None,
        **kwargs: Any,
    ) -> tuple[ProcessTransport, _P]:
        """Run *cmd* with the platform's shell (``/bin/sh -c cmd``).

        Quote what you interpolate (:func:`shlex.quote`). The other keywords are as
        :meth:`subprocess_exec`.

        :raises ValueError: when *cmd* is not a string, *shell* is false, or for the
            text-mode arguments refused by :meth:`subprocess_exec`.
        """
        if not isinstance(cmd, (bytes, str)):
            raise ValueError(f"cmd must be a string (str or bytes), got {cmd!r}")
        _check_text_args(universal_newlines, bufsize, encoding, errors, text)
        if not shell:
            raise ValueError(f"shell must be True in subprocess_shell(), got {shell!r}")
        protocol = protocol_factory()
        transport = await self._start_process(
            protocol, cmd, True, stdin, stdout, stderr, bufsize, kwargs
        )
        return transport, protocol

    async def _start_process(
        self,
        protocol: SubprocessProtocol,
        args: str | bytes | tuple[object, ...],
        shell: bool,
        stdin: StdSpec,
        stdout: StdSpec,
        stderr: StdSpec,
        bufsize: int,
        kwargs: dict[str, Any],
    ) -> ProcessTransport:
        transport = ProcessTransport(
            self, protocol, args, shell, stdin, stdout, stderr, bufsize, kwargs
        )
        try:
            await transport._connect_pipes()
        except BaseException as exc:
            # Kill the child, close its pipes, and reap it before reporting.
            transport.close()
            await _reap_despite_cancellation(self, transport, exc)
            raise
        return transport

    def close(self) -> None:
        """Close the loop (as ``BaseEventLoop.close``), then kill and reap the children
        still running, each with a :class:`ResourceWarning`.

        :raises RuntimeError: if the loop is running (the children are left alone).
        """
        super().close()
        watches = getattr(self, "_child_watches", None)
        if not watches:
            return
        for watch in list(watches):
            warnings.warn(
                f"the loop was closed while child process {watch.pid} was running: "
                f"it was killed (close its transport, or await its exit, first)",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )
            watch.kill_and_reap()
        watches.clear()


if sys.platform == "win32":  # pragma: no cover - POSIX only
    raise ImportError("looptransports.subprocess needs a POSIX system")
