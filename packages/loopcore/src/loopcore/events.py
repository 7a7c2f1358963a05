"""The event loop contract, and which loop is running in this thread.

:class:`AbstractEventLoop` lists every method of the loop as the 3.4 documentation
(PEP 3156) groups them, plus the names added since (``create_future``,
``create_task(name=, context=)``, ``shutdown_default_executor``, ...). It is the one
place that states the contract; ``loopcore.base_loop.BaseEventLoop`` implements the
core part and ``looptransports.SelectorEventLoop`` the network part.
"""

from __future__ import annotations

import _thread  # noqa: F401 (mypyc names it for ThreadLoopState's base, threading.local)
import contextvars
import os
import socket
import ssl as _ssl
import threading
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from concurrent.futures import Executor
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar, TypeVarTuple, Unpack, overload

from ._build import InstanceDictBase, mypyc_attr

if TYPE_CHECKING:
    from .futures import Future, FutureLike
    from .handles import Handle, TimerHandle
    from .tasks import Task

__all__ = [
    "AbstractEventLoop",
    "AbstractServer",
    "ExceptionHandler",
    "LoopLike",
    "TaskFactory",
    "ThreadLoopState",
    "get_running_loop",
    "this_thread",
]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

#: A coroutine object of either style: a native one or a ``@coroutine`` generator.
CoroutineLike = Coroutine[object, object, _T] | Generator[object, None, _T]

#: ``loop.set_exception_handler(handler)``: called as ``handler(loop, context)``.
ExceptionHandler = Callable[["AbstractEventLoop", dict[str, object]], object]


class TaskFactory(Protocol):
    """``loop.set_task_factory(factory)``: called as ``factory(loop, coro, **kwargs)``."""

    def __call__(
        self, loop: AbstractEventLoop, coro: CoroutineLike[object], /, **kwargs: object
    ) -> Future[object]: ...


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


class LoopLike(Protocol):
    """The loop a :class:`~loopcore.Future` or :class:`~loopcore.Task` is bound to:
    loopcore's :class:`AbstractEventLoop`, or a loop of another asyncio-compatible
    implementation (PEP 3156; the standard library's, for one).

    It names the methods every such loop has and that futures, tasks and their
    users call on :meth:`Future.get_loop() <loopcore.Future.get_loop>`. It is
    declared where such loops are accepted (``Future(loop=)``, ``Task(loop=)``,
    ``get_loop()``) rather than :class:`AbstractEventLoop`: the compiled build
    checks declared classes at run time (see "Compiled build" in the docs), and a
    protocol is not checked there. Narrow it with ``isinstance(loop,
    AbstractEventLoop)`` to call loopcore's other methods.
    """

    def is_running(self) -> bool:
        """True while the loop runs."""
        ...

    def is_closed(self) -> bool:
        """True once the loop was closed."""
        ...

    def stop(self) -> None:
        """Stop after every callback scheduled so far has run."""
        ...

    def time(self) -> float:
        """The loop's clock."""
        ...

    def call_soon(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> object:
        """Call ``callback(*args)`` on a later iteration; returns a handle."""
        ...

    def call_soon_threadsafe(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> object:
        """Like :meth:`call_soon`, from any thread."""
        ...

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> object:
        """Call ``callback(*args)`` after *delay* seconds; returns a timer handle."""
        ...

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> object:
        """Call ``callback(*args)`` at loop time *when*; returns a timer handle."""
        ...

    def create_future(self) -> FutureLike:
        """A new future of this loop."""
        ...

    def call_exception_handler(self, context: dict[str, object]) -> None:
        """Report *context* to the loop's exception handler."""
        ...

    def get_debug(self) -> bool:
        """True in debug mode."""
        ...


FileDescriptorLike = int | _HasFileno


#: The distribution whose loop implements the network methods of
#: :class:`AbstractEventLoop` (sockets, servers, pipes, subprocesses, DNS).
_NETWORK_DISTRIBUTION = "looptransports"


def _not_in_core(loop: object, method: str) -> NotImplementedError:
    """The error of a network method called on a loop that does not implement it."""
    return NotImplementedError(
        f"{type(loop).__name__}.{method}() is not implemented: the network methods "
        f"(sockets, servers, pipes, subprocesses, DNS) are provided by the "
        f"{_NETWORK_DISTRIBUTION!r} distribution. Install it (pip install "
        f"{_NETWORK_DISTRIBUTION}): loopcore.new_event_loop() and loopcore.run() then "
        f"give its SelectorEventLoop (also {_NETWORK_DISTRIBUTION}.EventLoop)"
    )


@mypyc_attr(allow_interpreted_subclasses=True)
class AbstractServer:
    """A listening server, as returned by ``create_server``."""

    def close(self) -> None:
        """Stop listening; existing connections stay open."""
        raise NotImplementedError

    async def wait_closed(self) -> None:
        """Wait until the server is closed and its connections are gone."""
        raise NotImplementedError

    def get_loop(self) -> AbstractEventLoop:
        """The loop the server runs on."""
        raise NotImplementedError

    def is_serving(self) -> bool:
        """True while the server accepts new connections."""
        raise NotImplementedError

    async def start_serving(self) -> None:
        """Start accepting connections (a no-op when already serving)."""
        raise NotImplementedError

    async def serve_forever(self) -> None:
        """Accept connections until the call is cancelled, then close the server."""
        raise NotImplementedError

    def close_clients(self) -> None:
        """Close every connection the server accepted (their buffers are flushed)."""
        raise NotImplementedError

    def abort_clients(self) -> None:
        """Abort every connection the server accepted (buffers are dropped)."""
        raise NotImplementedError

    async def __aenter__(self) -> AbstractServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await self.wait_closed()


@mypyc_attr(allow_interpreted_subclasses=True)
class AbstractEventLoop(InstanceDictBase):
    """The event loop interface.

    Unless a method says otherwise it is **not thread-safe**: call it from the
    thread running the loop, and use :meth:`call_soon_threadsafe` from others.
    """

    # Where loopcore's tasks and futures may queue a task's step handle (and a done
    # callback's handle) themselves (futures._queue_step): the `append` of the
    # loop's ready queue, set by BaseEventLoop while _call_soon_task would do no more
    # than append the handle to it; None (the default, for any other loop) sends
    # every step through _call_soon_task. A typed attribute, read directly by the
    # compiled build, where a method call on a Python subclass of the loop would go
    # through Python's attribute lookup; the bound method, called directly, saves
    # the look-up of `append` on every call. Set, it also means "not in debug mode"
    # (Handle and Future skip get_debug()).
    _task_queue: Callable[[Handle], None] | None = None

    # -- Running and stopping the loop ------------------------------------------
    def run_forever(self) -> None:
        """Run until :meth:`stop` is called."""
        raise NotImplementedError

    def run_until_complete(self, future: Awaitable[_T]) -> _T:
        """Run until *future* is done (a coroutine is wrapped in a task); return its result."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop after every callback scheduled so far has run."""
        raise NotImplementedError

    def is_running(self) -> bool:
        """True while ``run_forever``/``run_until_complete`` runs."""
        raise NotImplementedError

    def is_closed(self) -> bool:
        """True once :meth:`close` was called."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the loop: it must not be running; pending callbacks are dropped."""
        raise NotImplementedError

    async def shutdown_asyncgens(self) -> None:
        """Close every asynchronous generator that is still suspended."""
        raise NotImplementedError

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        """Shut the default executor down, waiting for its threads (up to *timeout*)."""
        raise NotImplementedError

    # -- Calls ----------------------------------------------------------------------
    def call_soon(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> Handle:
        """Call ``callback(*args)`` on a later iteration, in FIFO order."""
        raise NotImplementedError

    def call_soon_threadsafe(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> Handle:
        """Like :meth:`call_soon`, from any thread; wakes the loop."""
        raise NotImplementedError

    def _call_soon_task(self, task: Task[Any]) -> None:
        """Run the next step of *task* (sending it ``None``) on a later iteration, as
        ``call_soon(task._step, context=task._context)`` does: how loopcore's tasks
        schedule their steps. loopcore's loop queues the task's own step handle, made
        once per task (see ``BaseEventLoop._call_soon_task``)."""
        self.call_soon(task._step, context=task._context)

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> TimerHandle:
        """Call ``callback(*args)`` after *delay* seconds."""
        raise NotImplementedError

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> TimerHandle:
        """Call ``callback(*args)`` at loop time *when*."""
        raise NotImplementedError

    def time(self) -> float:
        """The loop's clock (monotonic seconds)."""
        raise NotImplementedError

    def _timer_handle_cancelled(self, handle: TimerHandle) -> None:
        """Tell the loop a scheduled timer was cancelled (for lazy heap compaction)."""
        raise NotImplementedError

    # -- Futures and tasks ----------------------------------------------------------
    def create_future(self) -> Future[object]:
        """A new future attached to this loop."""
        raise NotImplementedError

    def create_task(
        self,
        coro: CoroutineLike[_T],
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> Task[_T]:
        """Schedule a coroutine as a task."""
        raise NotImplementedError

    def set_task_factory(self, factory: TaskFactory | None) -> None:
        """Use *factory* in :meth:`create_task` (``None`` restores the default)."""
        raise NotImplementedError

    def get_task_factory(self) -> TaskFactory | None:
        """The task factory, or ``None`` for the default."""
        raise NotImplementedError

    # -- Executors ------------------------------------------------------------------
    # Two overloads (the default executor, or one given) where one signature would
    # do, so that BaseEventLoop's implementation may return `object` (see there).
    @overload
    def run_in_executor(
        self, executor: None, func: Callable[[Unpack[_Ts]], _T], *args: *_Ts
    ) -> Future[_T]: ...

    @overload
    def run_in_executor(
        self, executor: Executor, func: Callable[[Unpack[_Ts]], _T], *args: *_Ts
    ) -> Future[_T]: ...

    def run_in_executor(
        self,
        executor: Executor | None,
        func: Callable[[Unpack[_Ts]], _T],
        *args: *_Ts,
    ) -> object:
        """Run ``func(*args)`` in *executor* (the default one when ``None``) and
        return a future of this loop for its result."""
        raise NotImplementedError

    def set_default_executor(self, executor: Executor) -> None:
        """Use *executor* for ``run_in_executor(None, ...)``."""
        raise NotImplementedError

    # -- File descriptor readiness ----------------------------------------------------
    def add_reader(
        self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """Call ``callback(*args)`` whenever *fd* is readable."""
        raise NotImplementedError

    def remove_reader(self, fd: FileDescriptorLike) -> bool:
        """Stop watching *fd* for reading; True if it was watched."""
        raise NotImplementedError

    def add_writer(
        self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """Call ``callback(*args)`` whenever *fd* is writable."""
        raise NotImplementedError

    def remove_writer(self, fd: FileDescriptorLike) -> bool:
        """Stop watching *fd* for writing; True if it was watched."""
        raise NotImplementedError

    # -- Signals ----------------------------------------------------------------------
    def add_signal_handler(
        self, sig: int, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """Call ``callback(*args)`` in the loop when signal *sig* arrives (POSIX)."""
        raise NotImplementedError

    def remove_signal_handler(self, sig: int) -> bool:
        """Remove the handler for *sig*; True if there was one."""
        raise NotImplementedError

    # -- Error handling ---------------------------------------------------------------
    def set_exception_handler(self, handler: ExceptionHandler | None) -> None:
        """Call ``handler(loop, context)`` for errors nobody else handles."""
        raise NotImplementedError

    def get_exception_handler(self) -> ExceptionHandler | None:
        """The handler set by :meth:`set_exception_handler`, or ``None``."""
        raise NotImplementedError

    def default_exception_handler(self, context: dict[str, object]) -> None:
        """Log *context* (``message``, ``exception``, ``future``, ``handle``, ...)."""
        raise NotImplementedError

    def call_exception_handler(self, context: dict[str, object]) -> None:
        """Pass *context* to the handler in use; never raises."""
        raise NotImplementedError

    # -- Debug mode -------------------------------------------------------------------
    def get_debug(self) -> bool:
        """True in debug mode."""
        raise NotImplementedError

    def set_debug(self, enabled: bool) -> None:
        """Turn debug mode on or off."""
        raise NotImplementedError

    # -- Network (implemented by looptransports.SelectorEventLoop) ----------------------
    # A loop with only loopcore's core (BaseEventLoop) inherits these: each raises a
    # NotImplementedError that names the distribution providing it.
    async def getaddrinfo(
        self,
        host: bytes | str | None,
        port: bytes | str | int | None,
        *,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[tuple[int, int, int, str, tuple[object, ...]]]:
        """Resolve *host* and *port* (in the executor)."""
        raise _not_in_core(self, "getaddrinfo")

    async def getnameinfo(self, sockaddr: tuple[object, ...], flags: int = 0) -> tuple[str, str]:
        """Reverse-resolve *sockaddr* (in the executor)."""
        raise _not_in_core(self, "getnameinfo")

    async def sock_recv(self, sock: socket.socket, nbytes: int) -> bytes:
        """Receive up to *nbytes* from a non-blocking socket."""
        raise _not_in_core(self, "sock_recv")

    async def sock_sendall(self, sock: socket.socket, data: bytes) -> None:
        """Send all of *data* on a non-blocking socket."""
        raise _not_in_core(self, "sock_sendall")

    async def sock_connect(self, sock: socket.socket, address: object) -> None:
        """Connect a non-blocking socket to *address*."""
        raise _not_in_core(self, "sock_connect")

    async def sock_accept(self, sock: socket.socket) -> tuple[socket.socket, object]:
        """Accept a connection on a non-blocking listening socket."""
        raise _not_in_core(self, "sock_accept")

    async def sock_recv_into(self, sock: socket.socket, buf: bytearray | memoryview) -> int:
        """Receive into *buf* from a non-blocking socket; return the byte count."""
        raise _not_in_core(self, "sock_recv_into")

    async def sock_recvfrom(self, sock: socket.socket, bufsize: int) -> tuple[bytes, object]:
        """Receive a datagram of up to *bufsize* bytes; return ``(data, address)``."""
        raise _not_in_core(self, "sock_recvfrom")

    async def sock_recvfrom_into(
        self, sock: socket.socket, buf: bytearray | memoryview, nbytes: int = 0
    ) -> tuple[int, object]:
        """Receive a datagram into *buf*; return ``(nbytes, address)``."""
        raise _not_in_core(self, "sock_recvfrom_into")

    async def sock_sendto(
        self, sock: socket.socket, data: bytes | bytearray | memoryview, address: object
    ) -> int:
        """Send a datagram to *address*; return the byte count."""
        raise _not_in_core(self, "sock_sendto")

    async def sock_sendfile(
        self,
        sock: socket.socket,
        file: IO[bytes],
        offset: int = 0,
        count: int | None = None,
        *,
        fallback: bool = True,
    ) -> int:
        """Send *file* over a connected socket (``os.sendfile`` where possible)."""
        raise _not_in_core(self, "sock_sendfile")

    async def create_connection(
        self,
        protocol_factory: Callable[[], _T],
        host: str | None = None,
        port: int | str | None = None,
        *,
        ssl: bool | _ssl.SSLContext | None = None,
        family: int = 0,
        proto: int = 0,
        flags: int = 0,
        sock: socket.socket | None = None,
        local_addr: tuple[str, int] | None = None,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        happy_eyeballs_delay: float | None = None,
        interleave: int | None = None,
        all_errors: bool = False,
    ) -> tuple[object, _T]:
        """Open a stream connection; return ``(transport, protocol)``."""
        raise _not_in_core(self, "create_connection")

    async def create_server(
        self,
        protocol_factory: Callable[[], object],
        host: str | Sequence[str] | None = None,
        port: int | str | None = None,
        *,
        family: int = socket.AF_UNSPEC,
        flags: int = socket.AI_PASSIVE,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: _ssl.SSLContext | None = None,
        reuse_address: bool | None = None,
        reuse_port: bool | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        start_serving: bool = True,
        keep_alive: bool | None = None,
    ) -> AbstractServer:
        """Listen for stream connections; return the server."""
        raise _not_in_core(self, "create_server")

    async def connect_accepted_socket(
        self,
        protocol_factory: Callable[[], _T],
        sock: socket.socket,
        *,
        ssl: _ssl.SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> tuple[object, _T]:
        """Wrap an already accepted connection in a transport."""
        raise _not_in_core(self, "connect_accepted_socket")

    async def create_unix_connection(
        self,
        protocol_factory: Callable[[], _T],
        path: str | bytes | os.PathLike[str] | None = None,
        *,
        ssl: bool | _ssl.SSLContext | None = None,
        sock: socket.socket | None = None,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> tuple[object, _T]:
        """Open a Unix stream connection; return ``(transport, protocol)``."""
        raise _not_in_core(self, "create_unix_connection")

    async def create_unix_server(
        self,
        protocol_factory: Callable[[], object],
        path: str | bytes | os.PathLike[str] | None = None,
        *,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: _ssl.SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        start_serving: bool = True,
        cleanup_socket: bool = True,
    ) -> AbstractServer:
        """Listen on a Unix socket; return the server."""
        raise _not_in_core(self, "create_unix_server")

    async def create_datagram_endpoint(
        self,
        protocol_factory: Callable[[], _T],
        local_addr: object = None,
        remote_addr: object = None,
        *,
        family: int = 0,
        proto: int = 0,
        flags: int = 0,
        reuse_port: bool | None = None,
        allow_broadcast: bool | None = None,
        sock: socket.socket | None = None,
    ) -> tuple[object, _T]:
        """Open a datagram endpoint; return ``(transport, protocol)``."""
        raise _not_in_core(self, "create_datagram_endpoint")

    async def sendfile(
        self,
        transport: object,
        file: IO[bytes],
        offset: int = 0,
        count: int | None = None,
        *,
        fallback: bool = True,
    ) -> int:
        """Send *file* over *transport*; return the byte count."""
        raise _not_in_core(self, "sendfile")

    async def start_tls(
        self,
        transport: object,
        protocol: object,
        sslcontext: _ssl.SSLContext,
        *,
        server_side: bool = False,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> object:
        """Upgrade a live connection to TLS; return the new transport."""
        raise _not_in_core(self, "start_tls")

    async def subprocess_exec(
        self,
        protocol_factory: Callable[[], _T],
        program: str | bytes | os.PathLike[str] | os.PathLike[bytes],
        *args: str | bytes | os.PathLike[str] | os.PathLike[bytes],
        stdin: int | IO[bytes] | None = -1,
        stdout: int | IO[bytes] | None = -1,
        stderr: int | IO[bytes] | None = -1,
        universal_newlines: bool = False,
        shell: bool = False,
        bufsize: int = 0,
        encoding: str | None = None,
        errors: str | None = None,
        text: bool | None = None,
        **kwargs: object,
    ) -> tuple[object, _T]:
        """Run *program* with *args*; return ``(transport, protocol)``."""
        raise _not_in_core(self, "subprocess_exec")

    async def subprocess_shell(
        self,
        protocol_factory: Callable[[], _T],
        cmd: str | bytes,
        *,
        stdin: int | IO[bytes] | None = -1,
        stdout: int | IO[bytes] | None = -1,
        stderr: int | IO[bytes] | None = -1,
        universal_newlines: bool = False,
        shell: bool = True,
        bufsize: int = 0,
        encoding: str | None = None,
        errors: str | None = None,
        text: bool | None = None,
        **kwargs: object,
    ) -> tuple[object, _T]:
        """Run *cmd* through the shell; return ``(transport, protocol)``."""
        raise _not_in_core(self, "subprocess_shell")

    async def connect_read_pipe(
        self, protocol_factory: Callable[[], object], pipe: IO[bytes]
    ) -> tuple[object, object]:
        """Wrap the read end of a pipe in a transport."""
        raise _not_in_core(self, "connect_read_pipe")

    async def connect_write_pipe(
        self, protocol_factory: Callable[[], object], pipe: IO[bytes]
    ) -> tuple[object, object]:
        """Wrap the write end of a pipe in a transport."""
        raise _not_in_core(self, "connect_write_pipe")


# -- Which loop runs in this thread ---------------------------------------------------


# A Python class even in the compiled build: a thread-local's attributes live in a
# per-thread dict that only threading.local's own attribute lookup finds (mypyc's
# native layout would bypass it, and crash the garbage collector).
@mypyc_attr(native_class=False)
class ThreadLoopState(threading.local):
    """Which loop runs in the current thread, readable at the cost of one attribute read.

    :data:`this_thread` is the one instance. Its attribute ``loop`` is the loop running
    in the calling thread, or ``None`` when none runs; each thread sees its own value,
    and a child made by ``fork()`` starts with ``None``. It is the fast accessor for
    code above loopcore that looks up the running loop on every call (loopsync's locks
    and queues do): ``this_thread.loop`` returns what :func:`get_running_loop` returns,
    without the function call and without raising.

    Read it only. A loop sets it while it runs (``run_forever`` and everything built on
    it); assigning it yourself would make other code believe a loop runs that does not.
    """

    loop: AbstractEventLoop | None = None


#: The running loop of the calling thread: ``this_thread.loop`` (see :class:`ThreadLoopState`).
this_thread = ThreadLoopState()


def _forget_running_loop_after_fork() -> None:
    # A child made by fork() inherits the forking thread's state, including the
    # loop that was running in the parent; it must not believe that loop runs
    # there. Resetting once at fork time keeps _get_running_loop() free of a
    # getpid() call, which matters: it runs on every lock, queue and sleep call.
    this_thread.loop = None


os.register_at_fork(after_in_child=_forget_running_loop_after_fork)


def _get_running_loop() -> AbstractEventLoop | None:
    """The running loop of this thread, or ``None`` (no error)."""
    return this_thread.loop


def _set_running_loop(loop: AbstractEventLoop | None) -> None:
    """Record *loop* as running in this thread (``None`` when it stops)."""
    this_thread.loop = loop


def get_running_loop() -> AbstractEventLoop:
    """The loop running in this thread.

    :raises RuntimeError: when no loop is running (call it from a coroutine or a
        callback, or start a loop with :func:`loopcore.run`).
    """
    loop = _get_running_loop()
    if loop is None:
        raise RuntimeError(
            "no running event loop: call this from a coroutine or callback running "
            "on a loop, or start one with loopcore.run()"
        )
    return loop
