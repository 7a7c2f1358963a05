"""Subprocess streams: a child process whose pipes are streams.

:func:`create_subprocess_exec` and :func:`create_subprocess_shell` start a child
with the loop's ``subprocess_exec``/``subprocess_shell`` (``looptransports``) and
return a :class:`Process`. Each standard stream opened with :data:`PIPE` becomes a
stream: ``Process.stdin`` a :class:`~loopstreams.StreamWriter`, ``Process.stdout``
and ``Process.stderr`` :class:`~loopstreams.StreamReader` objects. Memory stays
bounded as for connections: a reader pauses its pipe over twice its *limit*, and
``stdin.drain()`` waits while the child does not read.

:class:`SubprocessStreamProtocol` is the :class:`~looptransports.SubprocessProtocol`
between the process transport and those streams. It closes the transport once the
child exited and its stdout and stderr reached end of file, so that a
:class:`Process` whose output was read to the end leaves nothing open.

Every coroutine here is an ``async def``: ``await`` it, or ``yield from`` it in a
``@loopcore.coroutine`` generator. Not thread-safe: use a :class:`Process` from its
loop's thread.
"""

from __future__ import annotations

import collections
import logging
import os
import subprocess
from typing import IO, TYPE_CHECKING, Any, cast

from loopcore import gather
from loopcore._build import mypyc_attr
from loopcore.events import AbstractEventLoop
from looptransports.protocols import SubprocessProtocol
from looptransports.transports import BaseTransport, ReadTransport, SubprocessTransport, Transport

from .streams import (
    _DEFAULT_LIMIT,
    BytesLike,
    StreamReader,
    StreamWriter,
    _check_limit,
    _resolve_loop,
)

if TYPE_CHECKING:
    from loopcore.futures import Future

__all__ = [
    "DEVNULL",
    "PIPE",
    "STDOUT",
    "Process",
    "SubprocessStreamProtocol",
    "create_subprocess_exec",
    "create_subprocess_shell",
]

logger = logging.getLogger("loopstreams")

#: Open a pipe to the child for this stream (``subprocess.PIPE``).
PIPE: int = subprocess.PIPE
#: For *stderr*: send it where *stdout* goes (``subprocess.STDOUT``).
STDOUT: int = subprocess.STDOUT
#: Connect the stream to :data:`os.devnull` (``subprocess.DEVNULL``).
DEVNULL: int = subprocess.DEVNULL

#: What *stdin*, *stdout* and *stderr* accept: :data:`PIPE`, :data:`DEVNULL`,
#: :data:`STDOUT` (stderr only), a file descriptor, a file object with a
#: ``fileno()``, or ``None`` (inherit the parent's).
StdSpec = int | IO[bytes] | IO[str] | None

#: A program or argument, as :class:`subprocess.Popen` takes it.
StrOrBytesPath = str | bytes | os.PathLike[str] | os.PathLike[bytes]


# Compiled build: users subclass it (mypyc_attr keeps that working). Its base is
# looptransports' interpreted Protocol, so mypyc makes it a non-native class.
@mypyc_attr(allow_interpreted_subclasses=True)
class SubprocessStreamProtocol(SubprocessProtocol):
    """Connects a child's pipes to streams; the protocol behind :class:`Process`.

    After ``connection_made``, :attr:`stdin` is a :class:`~loopstreams.StreamWriter`
    when the child's stdin is a pipe, and :attr:`stdout`/:attr:`stderr` are
    :class:`~loopstreams.StreamReader` objects (with *limit*) for the pipes among
    those; each is ``None`` otherwise.

    What the child writes is fed to the readers; end of file, or the pipe's error,
    ends them. When the child's stdin is closed (by ``stdin.close()`` or because the
    child closed its end) ``stdin.drain()`` raises :class:`ConnectionResetError` (or
    the pipe's error) and ``stdin.wait_closed()`` returns (or raises that error).
    Once the child has exited and both output pipes are closed, the protocol closes
    the transport.

    :param limit: the buffer limit of the readers, in bytes.
    :param loop: the loop; the running loop by default.
    :raises ValueError: for a *limit* that is not a positive int.
    """

    def __init__(self, limit: int = _DEFAULT_LIMIT, loop: AbstractEventLoop | None = None) -> None:
        self._limit = _check_limit(limit)
        self._loop = _resolve_loop(loop)
        #: The child's stdin, or ``None`` when it is not a pipe.
        self.stdin: StreamWriter | None = None
        #: The child's stdout, or ``None`` when it is not a pipe.
        self.stdout: StreamReader | None = None
        #: The child's stderr, or ``None`` when it is not a pipe.
        self.stderr: StreamReader | None = None
        self._transport: SubprocessTransport | None = None
        # The output pipes (1, 2) still open: the transport is closed when none is
        # left and the child has exited.
        self._open_outputs: set[int] = set()
        self._exited = False
        self._returncode: int | None = None
        self._exit_waiters: list[Future[int]] = []
        # Flow control of stdin, read by StreamWriter.drain().
        self._paused = False
        self._connection_lost = False
        self._drain_waiters: collections.deque[Future[None]] = collections.deque()
        self._stdin_closed: Future[None] = self._loop.create_future()  # type: ignore[assignment]

    def __repr__(self) -> str:
        info = [type(self).__name__]
        for name in ("stdin", "stdout", "stderr"):
            stream = getattr(self, name)
            if stream is not None:
                info.append(f"{name}={stream!r}")
        return f"<{' '.join(info)}>"

    # -- SubprocessProtocol ---------------------------------------------------------------

    def connection_made(self, transport: BaseTransport) -> None:
        """Make the streams of the pipes the child has."""
        transport = cast(SubprocessTransport, transport)
        self._transport = transport
        for fd in (1, 2):
            pipe = transport.get_pipe_transport(fd)
            if pipe is None:
                continue
            reader = StreamReader(limit=self._limit, loop=self._loop)
            reader.set_transport(cast(ReadTransport, pipe))
            self._open_outputs.add(fd)
            if fd == 1:
                self.stdout = reader
            else:
                self.stderr = reader
        stdin = transport.get_pipe_transport(0)
        if stdin is not None:
            self.stdin = StreamWriter(cast(Transport, stdin), self, None, self._loop)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        """Feed what the child wrote on stdout (1) or stderr (2) to its reader."""
        reader = self.stdout if fd == 1 else self.stderr if fd == 2 else None
        if reader is not None:
            reader.feed_data(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        """A pipe closed: end its reader (EOF or *exc*), or end stdin's writer."""
        if fd == 0:
            if self.stdin is not None:
                self.stdin.close()
            self._stdin_lost(exc)
            return
        reader = self.stdout if fd == 1 else self.stderr if fd == 2 else None
        if reader is not None:
            if exc is None:
                reader.feed_eof()
            else:
                reader.set_exception(exc)
        self._open_outputs.discard(fd)
        self._maybe_close_transport()

    def process_exited(self) -> None:
        """The child exited: wake :meth:`Process.wait`, close the transport if done."""
        self._exited = True
        transport = self._transport
        if transport is not None:
            self._returncode = transport.get_returncode()
        waiters, self._exit_waiters = self._exit_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(cast(int, self._returncode))
        self._maybe_close_transport()

    def connection_lost(self, exc: Exception | None) -> None:
        """The process transport is finished: stdin's writer is finished too."""
        self._stdin_lost(exc)

    def pause_writing(self) -> None:
        """The stdin pipe's buffer is over its high-water mark: ``drain()`` waits."""
        self._paused = True

    def resume_writing(self) -> None:
        """The stdin pipe's buffer fell to its low-water mark: wake every ``drain()``."""
        self._paused = False
        waiters, self._drain_waiters = self._drain_waiters, collections.deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- internals ------------------------------------------------------------------------

    def _maybe_close_transport(self) -> None:
        if self._exited and not self._open_outputs and self._transport is not None:
            self._transport.close()
            self._transport = None

    def _stdin_lost(self, exc: Exception | None) -> None:
        if self._connection_lost:
            return
        self._connection_lost = True
        if exc is None:
            self._stdin_closed.set_result(None)
        else:
            self._stdin_closed.set_exception(exc)
            # Whoever calls stdin.wait_closed() gets the error; nobody has to.
            self._stdin_closed.exception()
        waiters, self._drain_waiters = self._drain_waiters, collections.deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(
                    exc
                    if exc is not None
                    else ConnectionResetError("the child's stdin was closed while draining")
                )
                waiter.exception()

    async def _drain_helper(self) -> None:
        # Called by StreamWriter.drain() while paused or lost.
        if self._connection_lost:
            raise ConnectionResetError("the child's stdin is closed")
        if not self._paused:
            return
        waiter: Future[None] = self._loop.create_future()  # type: ignore[assignment]
        self._drain_waiters.append(waiter)
        try:
            await waiter
        finally:
            try:
                self._drain_waiters.remove(waiter)
            except ValueError:
                pass

    def _get_close_waiter(self) -> Future[None]:
        return self._stdin_closed

    async def _wait_exit(self) -> int:
        if self._exited:
            return cast(int, self._returncode)
        waiter: Future[int] = self._loop.create_future()  # type: ignore[assignment]
        self._exit_waiters.append(waiter)
        try:
            return await waiter
        finally:
            if waiter in self._exit_waiters:
                self._exit_waiters.remove(waiter)


# Compiled build: users subclass it (mypyc_attr keeps that working).
@mypyc_attr(allow_interpreted_subclasses=True)
class Process:
    """A child process started by :func:`create_subprocess_exec` or
    :func:`create_subprocess_shell`.

    :attr:`stdin` is a :class:`~loopstreams.StreamWriter` and :attr:`stdout` and
    :attr:`stderr` are :class:`~loopstreams.StreamReader` objects for the streams
    opened with :data:`PIPE`; each is ``None`` otherwise.

    Unlike :class:`subprocess.Popen`, there is no ``poll()``: read
    :attr:`returncode`. Waiting with :meth:`wait` while the child writes more to a
    pipe than the reader's buffer holds, with nobody reading it, deadlocks (the child
    blocks on the full pipe): use :meth:`communicate`, or read the streams.

    Not thread-safe: use it from its loop's thread.
    """

    def __init__(
        self,
        transport: SubprocessTransport,
        protocol: SubprocessStreamProtocol,
        loop: AbstractEventLoop,
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        self._loop = loop
        #: The child's stdin (a :class:`~loopstreams.StreamWriter`), or ``None``.
        self.stdin: StreamWriter | None = protocol.stdin
        #: The child's stdout (a :class:`~loopstreams.StreamReader`), or ``None``.
        self.stdout: StreamReader | None = protocol.stdout
        #: The child's stderr (a :class:`~loopstreams.StreamReader`), or ``None``.
        self.stderr: StreamReader | None = protocol.stderr
        #: The child's process id.
        self.pid: int = transport.get_pid()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.pid}>"

    @property
    def returncode(self) -> int | None:
        """The child's exit status; ``-N`` when signal *N* killed it; ``None`` while it runs.

        It is set as soon as the loop has reaped the child, which may be before
        :meth:`wait` returns and before the output pipes reach end of file.
        """
        return self._transport.get_returncode()

    async def wait(self) -> int:
        """Wait for the child to exit; return :attr:`returncode`.

        Any number of tasks may wait at once; cancelling one leaves the others and
        the child alone. See the class docstring about pipes nobody reads.
        """
        returncode = self._transport.get_returncode()
        if returncode is not None:
            return returncode
        return await self._protocol._wait_exit()

    def send_signal(self, signal: int) -> None:
        """Send *signal* to the child (see :mod:`signal`).

        :raises ProcessLookupError: when the child has already exited and been reaped.
        """
        self._transport.send_signal(signal)

    def terminate(self) -> None:
        """Send ``SIGTERM`` to the child. :raises ProcessLookupError: as :meth:`send_signal`."""
        self._transport.terminate()

    def kill(self) -> None:
        """Send ``SIGKILL`` to the child. :raises ProcessLookupError: as :meth:`send_signal`."""
        self._transport.kill()

    async def communicate(
        self, input: BytesLike | None = None
    ) -> tuple[bytes | None, bytes | None]:
        """Send *input* to the child's stdin, read stdout and stderr to end of file,
        wait for the child to exit; return ``(stdout_data, stderr_data)``.

        The three happen concurrently, so a child that writes while it reads cannot
        deadlock. stdin is closed once *input* is written (also when *input* is
        ``None``); a child that exits or closes its stdin before reading everything
        is not an error (:class:`BrokenPipeError` and :class:`ConnectionResetError`
        from stdin are ignored). Each item of the result is ``None`` when that stream
        is not a :data:`PIPE`, and *input* is ignored when stdin is not one.

        Data is buffered in memory: do not use it when the output can be large or
        unbounded; read :attr:`stdout` instead.

        :raises: what reading a pipe raises; :class:`~loopcore.CancelledError` if
            cancelled (the child keeps running: kill it if it must stop).
        """
        stdout = self.stdout
        stderr = self.stderr
        results = await gather(
            self._feed_stdin(input),
            self._read_stream(1, stdout),
            self._read_stream(2, stderr),
        )
        await self.wait()
        return results[1], results[2]

    async def _feed_stdin(self, input: BytesLike | None) -> None:
        stdin = self.stdin
        if stdin is None:
            return
        debug = self._loop.get_debug()
        try:
            if input is not None:
                stdin.write(input)
                if debug:
                    logger.debug("%r communicate: fed %d bytes to stdin", self, len(input))
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            # The child exited or closed its stdin before reading everything: like
            # subprocess.Popen.communicate(), not an error.
            if debug:
                logger.debug("%r communicate: stdin got %r", self, exc)
        stdin.close()

    async def _read_stream(self, fd: int, stream: StreamReader | None) -> bytes | None:
        if stream is None:
            return None
        output = await stream.read()
        # At end of file already; closing releases the pipe now rather than when the
        # child exits.
        pipe = self._transport.get_pipe_transport(fd)
        if pipe is not None:
            pipe.close()
        return output


async def create_subprocess_exec(
    program: StrOrBytesPath,
    *args: StrOrBytesPath,
    stdin: StdSpec = None,
    stdout: StdSpec = None,
    stderr: StdSpec = None,
    limit: int = _DEFAULT_LIMIT,
    loop: AbstractEventLoop | None = None,
    **kwds: object,
) -> Process:
    """Run *program* with *args* in a child process, without a shell.

    :param stdin: :data:`PIPE` (then :attr:`Process.stdin` is a
        :class:`~loopstreams.StreamWriter`), :data:`DEVNULL`, a file descriptor, a file
        object, or ``None`` (the default: inherit the parent's).
    :param stdout: as *stdin*; :data:`PIPE` makes :attr:`Process.stdout` a
        :class:`~loopstreams.StreamReader`.
    :param stderr: as *stdout*, or :data:`STDOUT` to merge it into stdout.
    :param limit: the buffer limit of the readers (64 KiB by default).
    :param loop: the 3.4 keyword: the running loop if given (omit it).
    :param kwds: any other keyword of :class:`subprocess.Popen`: ``cwd``, ``env``,
        ``executable``, ``pass_fds``, ``close_fds``, ``start_new_session``,
        ``process_group``, ``preexec_fn``, ``user``, ``umask``...

    Returns once the child runs and its pipes are connected. Cancelling this call
    kills the child and reaps it before the cancellation propagates.

    :raises OSError: when the program cannot be started (:class:`FileNotFoundError`,
        :class:`PermissionError`...).
    :raises ValueError: for a *limit* that is not a positive int, or for text-mode
        keywords (``text``, ``universal_newlines``, ``encoding``, ``errors``) or a
        ``bufsize`` other than 0: the streams carry bytes.
    """
    target = _resolve_loop(loop)
    _check_limit(limit)
    transport, protocol = await target.subprocess_exec(
        lambda: SubprocessStreamProtocol(limit, target),
        program,
        *args,
        stdin=_std(stdin),
        stdout=_std(stdout),
        stderr=_std(stderr),
        **_popen_kwargs(kwds),
    )
    return Process(cast(SubprocessTransport, transport), protocol, target)


async def create_subprocess_shell(
    cmd: str | bytes,
    stdin: StdSpec = None,
    stdout: StdSpec = None,
    stderr: StdSpec = None,
    limit: int = _DEFAULT_LIMIT,
    loop: AbstractEventLoop | None = None,
    **kwds: object,
) -> Process:
    """Run *cmd* with the platform's shell (``/bin/sh -c cmd``) in a child process.

    The shell parses *cmd*: quote what you interpolate (:func:`shlex.quote`).
    :attr:`Process.pid` and :attr:`Process.returncode` are the shell's (most shells
    ``exec`` a simple command, so they are then the command's).
    The other arguments are as for :func:`create_subprocess_exec`.

    :raises ValueError: when *cmd* is not ``str`` or ``bytes``, and as
        :func:`create_subprocess_exec`.
    """
    target = _resolve_loop(loop)
    _check_limit(limit)
    transport, protocol = await target.subprocess_shell(
        lambda: SubprocessStreamProtocol(limit, target),
        cmd,
        stdin=_std(stdin),
        stdout=_std(stdout),
        stderr=_std(stderr),
        **_popen_kwargs(kwds),
    )
    return Process(cast(SubprocessTransport, transport), protocol, target)


def _std(spec: StdSpec) -> int | IO[bytes] | None:
    # Popen takes any object with a fileno() (a text file too); the loop's
    # signature names the binary case only.
    return cast("int | IO[bytes] | None", spec)


def _popen_kwargs(kwds: dict[str, object]) -> dict[str, Any]:
    # The other Popen keywords have as many types as Popen has keywords; Popen
    # itself checks them.
    return kwds
