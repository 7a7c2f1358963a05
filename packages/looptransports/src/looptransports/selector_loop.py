"""The selector event loop: loopcore's loop plus sockets, name resolution and servers.

:class:`SelectorEventLoop` adds to :class:`loopcore.base_loop.BaseEventLoop` (which
owns the selector, the ready queue and the timers) everything the 3.4 docs list
under "Creating connections", "Creating listening connections", "Low-level socket
operations" and "Resolve host name", on top of the transports of
:mod:`looptransports._sockets` and :mod:`looptransports._datagram`. Pipes and
subprocesses come from :class:`~looptransports.pipes.PipesMixin` and
:class:`~looptransports.subprocess.SubprocessMixin`; TLS from
:mod:`looptransports._ssl`.

How a ``sock_*`` coroutine works: it first tries the operation at once, inline
(most calls succeed without waiting); only on ``EAGAIN`` does it register a reader
or writer for the socket and wait for a future, which the callback resolves when a
retry succeeds. The registration outlives a wait that succeeded, so that the next
wait on the same socket needs no system call to register again; it ends when the
socket is reported ready with nobody waiting, after an error, a cancellation, an end
of file or a ``sock_sendall`` that had to wait, or at a later sweep of idle ones
(see :mod:`looptransports._sockwait`).
"""

from __future__ import annotations

import collections
import errno
import functools
import io
import logging
import os
import selectors
import socket
import stat
import sys
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar, TypeVarTuple, Unpack, cast, overload

from loopcore.base_loop import BaseEventLoop
from loopcore.events import FileDescriptorLike
from loopcore.exceptions import SendfileNotAvailableError
from loopcore.futures import Future
from loopcore.task_functions import sleep

from ._datagram import SocketDatagramTransport
from ._lifecycle import _wait_connection_made
from ._recvbuf import RECV_BUFFER_SIZE, loop_recv_buffer
from ._sockets import SocketTransport
from ._sockwait import SockWaits
from .pipes import PipesMixin
from .protocols import BaseProtocol, DatagramProtocol, Protocol
from .server import Server
from .subprocess import SubprocessMixin
from .transports import BaseTransport, DatagramTransport, Transport

try:
    import ssl as ssl_module
except ImportError:  # pragma: no cover - Python built without OpenSSL
    ssl_module = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from ssl import SSLContext

__all__ = ["SelectorEventLoop"]

logger = logging.getLogger("looptransports")

_T = TypeVar("_T")

#: sock_recv(sock, nbytes) up to this size receives straight into a new bytes object:
#: glibc serves it from the heap (below its 128 KiB mmap threshold) and shrinks it in
#: place. Larger requests, up to RECV_BUFFER_SIZE, receive into the loop's buffer and
#: copy out what came (see _recvbuf): no mmap/mremap/munmap per call.
_DIRECT_RECV_MAX = 64 * 1024
_Ts = TypeVarTuple("_Ts")
_ProtocolT = TypeVar("_ProtocolT", bound=BaseProtocol)

AddrInfo = tuple[int, int, int, str, tuple[object, ...]]
Address = tuple[object, ...] | str | bytes

#: Chunk size of the read-and-write sendfile fallbacks.
SENDFILE_FALLBACK_CHUNK = 256 * 1024

#: os.sendfile errors that mean "not possible for this fd pair": fall back.
_SENDFILE_UNAVAILABLE = frozenset(
    {errno.ENOTSOCK, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENODEV}
)

_HAS_IPV6 = hasattr(socket, "AF_INET6")


#: The getaddrinfo() flags whose effect on a numeric host the fast path knows
#: exactly: AI_CANONNAME fills in the host as given; the others change nothing for
#: a numeric host and a numeric port. Any other flag (AI_V4MAPPED, AI_ALL,
#: AI_ADDRCONFIG, ...) depends on the system: the resolver answers it.
_FAST_PATH_FLAGS = (
    socket.AI_CANONNAME | socket.AI_PASSIVE | socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
)


def _numeric_addrinfo(
    host: bytes | str | None,
    port: bytes | str | int | None,
    family: int,
    type: int,
    proto: int,
    flags: int = 0,
) -> AddrInfo | None:
    """The getaddrinfo() result for an already numeric *host*, or ``None``.

    It is exactly what :func:`socket.getaddrinfo` returns for the same arguments:
    the address in its canonical text form, the canonical name (the host as given)
    with ``AI_CANONNAME``. ``None`` means "ask the resolver": a host name, an
    address form only the resolver reads (``127.1``), a scoped IPv6 address, a
    service name or any other non-digit port, a socket type we cannot infer the
    protocol of, or a flag outside ``_FAST_PATH_FLAGS``.
    """
    if host is None or flags & ~_FAST_PATH_FLAGS:
        return None
    if type == socket.SOCK_STREAM:
        if proto not in (0, socket.IPPROTO_TCP):
            return None
        proto = socket.IPPROTO_TCP
    elif type == socket.SOCK_DGRAM:
        if proto not in (0, socket.IPPROTO_UDP):
            return None
        proto = socket.IPPROTO_UDP
    else:
        return None
    if port is None or port in (b"", ""):
        port_num = 0
    elif isinstance(port, int):
        port_num = port
    elif isinstance(port, (str, bytes)) and port.isascii() and port.isdigit():
        # Only plain ASCII digits: int() would also take " 80", "+80", "8_0" or
        # non-ASCII digits, which the C resolver reads differently or not at all.
        port_num = int(port)
    else:
        return None
    if not 0 <= port_num <= 65535:
        return None
    if family == socket.AF_UNSPEC:
        families: list[int] = [socket.AF_INET, socket.AF_INET6] if _HAS_IPV6 else [socket.AF_INET]
    elif family in (socket.AF_INET, socket.AF_INET6):
        families = [family]
    else:
        return None
    if isinstance(host, bytes):
        try:
            host = host.decode("ascii")
        except UnicodeDecodeError:
            return None
    if "%" in host:
        return None
    for af in families:
        try:
            packed = socket.inet_pton(af, host)
        except (OSError, ValueError):
            continue
        canonname = host if flags & socket.AI_CANONNAME else ""
        # The resolver gives the address back in canonical form ("0:0::1" -> "::1").
        address = socket.inet_ntop(af, packed)
        if af == socket.AF_INET6:
            return (af, type, proto, canonname, (address, port_num, 0, 0))
        return (af, type, proto, canonname, (address, port_num))
    return None


def _interleave_addrinfos(infos: Sequence[AddrInfo], first_count: int = 1) -> list[AddrInfo]:
    """Reorder *infos* alternating address families (RFC 8305, section 4).

    The first family gets *first_count* addresses ahead, then one of each in turn.
    """
    by_family: dict[int, collections.deque[AddrInfo]] = {}
    for info in infos:
        by_family.setdefault(info[0], collections.deque()).append(info)
    queues = list(by_family.values())
    result: list[AddrInfo] = []
    if queues and first_count > 1:
        for _ in range(first_count - 1):
            if queues[0]:
                result.append(queues[0].popleft())
    while any(queues):
        for queue in queues:
            if queue:
                result.append(queue.popleft())
    return result


def _check_sendfile_params(file: IO[bytes], offset: int, count: int | None) -> None:
    if "b" not in getattr(file, "mode", "b"):
        raise ValueError(f"the file must be opened in binary mode, got mode {file.mode!r}")
    if not isinstance(offset, int):
        raise TypeError(f"offset must be an int, got {offset!r}")
    if offset < 0:
        raise ValueError(f"offset must be a non-negative integer, got {offset!r}")
    if count is not None:
        if not isinstance(count, int):
            raise TypeError(f"count must be an int or None, got {count!r}")
        if count <= 0:
            raise ValueError(f"count must be a positive integer (or None), got {count!r}")


def _sendfile_fileno(file: IO[bytes]) -> int:
    """The fd of *file* if os.sendfile() can read it; else SendfileNotAvailableError."""
    if not hasattr(os, "sendfile"):  # pragma: no cover - every POSIX we support has it
        raise SendfileNotAvailableError("os.sendfile() is not available on this platform")
    try:
        fileno = file.fileno()
    except (AttributeError, io.UnsupportedOperation) as exc:
        raise SendfileNotAvailableError(f"{file!r} has no file descriptor") from exc
    try:
        st = os.fstat(fileno)
    except OSError as exc:
        raise SendfileNotAvailableError(f"cannot stat {file!r}: {exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise SendfileNotAvailableError(f"{file!r} is not a regular file")
    return fileno


def _fileno_or_none(fd: object) -> int | None:
    try:
        return int(fd.fileno())  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError, OSError):
        return None


def _connect_result(sock: socket.socket, address: object) -> None:
    """Raise the error of a finished non-blocking connect, if any (``SO_ERROR``)."""
    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise OSError(err, f"Connect call failed {address!r}: {os.strerror(err)}")


def _set_result_unless_done(fut: Future[object]) -> None:
    if not fut.done():
        fut.set_result(None)


def _close_sockets(socks: Iterable[socket.socket]) -> None:
    for sock in socks:
        sock.close()


# loopcore's AbstractEventLoop states the network contract with the types loopcore
# can name (object, callables); this loop narrows them to this layer's Transport and
# Protocol classes, which is what the `# type: ignore[override]` marks below mean.
class SelectorEventLoop(PipesMixin, SubprocessMixin, BaseEventLoop):
    """The event loop with sockets, servers, name resolution, TLS, pipes and subprocesses.

    :param selector: any :class:`selectors.BaseSelector` to poll with; by default the
        loop drives epoll itself on Linux and uses :class:`selectors.DefaultSelector`
        elsewhere (see :mod:`loopcore._poller`). The loop closes it in :meth:`close`.

    Not thread-safe, except ``call_soon_threadsafe``; every coroutine method must be
    awaited in a task running on this loop.
    """

    def __init__(self, selector: selectors.BaseSelector | None = None) -> None:
        super().__init__(selector)
        # fd -> a weak reference to the open transport that owns it (the transport
        # claims and releases its fd, see _lifecycle). The public fd methods and the
        # sock_* coroutines refuse such an fd: a second reader would silently replace
        # the transport's and steal its data. A plain dict, not a
        # WeakValueDictionary, because every sock_* call looks its fd up: a dead
        # reference just means "free", and the next claim of the fd overwrites it.
        self._fd_owners: dict[int, weakref.ref[BaseTransport]] = {}
        # The registrations of the sock_* coroutines, kept between waits.
        self._sock_waits = SockWaits(self)

    def close(self) -> None:
        """As :meth:`loopcore.base_loop.BaseEventLoop.close`; also forgets the
        registrations the ``sock_*`` coroutines keep between waits."""
        super().close()
        self._sock_waits.close()

    def _sock_idle(self, fd: FileDescriptorLike, write: bool) -> bool:
        """Whether *fd* is watched only by an idle registration of the sock_*
        coroutines (kept between waits, see _sockwait): nobody's reader or writer
        from the user's point of view."""
        fileno = fd if isinstance(fd, int) else _fileno_or_none(fd)
        waits = self._sock_waits
        reg = (waits.writers if write else waits.readers).get(fileno)  # type: ignore[arg-type]
        return reg is not None and reg.fut is None and not reg.handle.cancelled()

    def _ensure_fd_no_transport(self, fd: FileDescriptorLike) -> None:
        fileno = fd if isinstance(fd, int) else _fileno_or_none(fd)
        if fileno is None:
            return  # the base class reports a bad fd with its own message
        owner = self._fd_owners.get(fileno)
        transport = None if owner is None else owner()
        if transport is not None and not transport.is_closing():
            raise RuntimeError(
                f"File descriptor {fd!r} is used by transport {transport!r}: use "
                "the transport (or pause it and use another fd), not the loop's fd methods"
            )

    def add_reader(
        self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """As :meth:`loopcore.base_loop.BaseEventLoop.add_reader`.

        :raises RuntimeError: also when *fd* belongs to an open transport.
        """
        self._ensure_fd_no_transport(fd)
        super().add_reader(fd, callback, *args)

    def remove_reader(self, fd: FileDescriptorLike) -> bool:
        """As :meth:`loopcore.base_loop.BaseEventLoop.remove_reader`.

        Returns False, as if none were registered, when the only reader was the
        registration that a ``sock_*`` coroutine keeps for a while after its wait
        (which this removes).

        :raises RuntimeError: when *fd* belongs to an open transport.
        """
        self._ensure_fd_no_transport(fd)
        idle = self._sock_idle(fd, False)
        return super().remove_reader(fd) and not idle

    def add_writer(
        self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """As :meth:`loopcore.base_loop.BaseEventLoop.add_writer`.

        :raises RuntimeError: also when *fd* belongs to an open transport.
        """
        self._ensure_fd_no_transport(fd)
        super().add_writer(fd, callback, *args)

    def remove_writer(self, fd: FileDescriptorLike) -> bool:
        """As :meth:`loopcore.base_loop.BaseEventLoop.remove_writer`.

        Returns False, as if none were registered, when the only writer was the
        registration that a ``sock_*`` coroutine keeps for a while after its wait
        (which this removes).

        :raises RuntimeError: when *fd* belongs to an open transport.
        """
        self._ensure_fd_no_transport(fd)
        idle = self._sock_idle(fd, True)
        return super().remove_writer(fd) and not idle

    # -- Name resolution ---------------------------------------------------------------

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
        """Resolve *host* and *port* like :func:`socket.getaddrinfo`.

        Runs in the default executor, except when *host* is already a numeric IPv4
        or IPv6 address, the socket type is given and *flags* has none but
        ``AI_CANONNAME``, ``AI_PASSIVE``, ``AI_NUMERICHOST`` and ``AI_NUMERICSERV``:
        then the same result is built at once without a thread.
        """
        info = _numeric_addrinfo(host, port, family, type, proto, flags)
        if info is not None:
            return [info]
        t0 = self.time() if self._debug else 0.0
        result = await self.run_in_executor(
            None, socket.getaddrinfo, host, port, family, type, proto, flags
        )
        if self._debug:
            logger.debug(
                "getaddrinfo(%r, %r) took %.3f ms: %r", host, port, (self.time() - t0) * 1e3, result
            )
        return cast(list[AddrInfo], result)

    async def getnameinfo(self, sockaddr: tuple[object, ...], flags: int = 0) -> tuple[str, str]:
        """Reverse-resolve *sockaddr* like :func:`socket.getnameinfo` (in the executor)."""
        return await self.run_in_executor(
            None,
            socket.getnameinfo,
            cast(tuple[str, int], sockaddr),
            flags,
        )

    async def _ensure_resolved(
        self,
        address: Address,
        *,
        family: int = 0,
        type: int = socket.SOCK_STREAM,
        proto: int = 0,
        flags: int = 0,
    ) -> list[AddrInfo]:
        if not isinstance(address, tuple) or len(address) < 2:
            raise ValueError(f"a (host, port) tuple was expected, got {address!r}")
        host, port = address[0], address[1]
        infos = await self.getaddrinfo(
            host,  # type: ignore[arg-type]
            port,  # type: ignore[arg-type]
            family=family,
            type=type,
            proto=proto,
            flags=flags,
        )
        if not infos:
            raise OSError(f"getaddrinfo({host!r}, {port!r}) returned no address")
        return infos

    # -- Low-level socket operations -----------------------------------------------------

    def _check_sock(self, sock: socket.socket) -> None:
        """Refuse what the sock_* coroutines cannot use: an :class:`ssl.SSLSocket`
        (TypeError), a blocking socket (ValueError), the socket of an open transport
        (RuntimeError).

        Runs on every call, so a plain socket costs a type test and ``gettimeout()``
        (and, once the loop has transports, a look-up of its fd).
        """
        if type(sock) is not socket.socket:
            _check_not_ssl_socket(sock)
        if sock.gettimeout() != 0:
            raise ValueError(
                f"the socket must be non-blocking: call sock.setblocking(False) first "
                f"(got {sock!r})"
            )
        if self._fd_owners:
            fileno = sock.fileno()
            if fileno in self._fd_owners:
                self._ensure_fd_no_transport(fileno)  # owned, or a dead reference

    async def _sock_wait(
        self,
        sock: socket.socket,
        write: bool,
        func: Callable[[Unpack[_Ts]], _T],
        *args: *_Ts,
    ) -> _T:
        """Wait until *sock* is readable (with *write*: writable) and ``func(*args)``
        then stops raising BlockingIOError; return its result or raise its error.

        The sock_* coroutines try their call once themselves (or know that it would
        block) and come here only to wait. The registration with the poller is
        :mod:`._sockwait`'s: reused from an earlier wait on the same socket when
        there is one, kept after a result for the next wait, dropped when the wait
        fails or is cancelled (unless a newer wait on the fd has taken it over
        meanwhile: then it is the newer wait's).
        """
        waits = self._sock_waits
        reg = waits.wait(sock, write, func, args)
        fut = cast("Future[_T]", reg.fut)
        try:
            return await fut
        except BaseException:
            waits.abandon(reg, fut)  # type: ignore[arg-type]
            raise

    def _sock_read_done(self, sock: socket.socket, got: int, asked: int) -> None:
        """After a read of *got* bytes (of *asked*) from *sock*: update the hint of
        its registration, if it has one (a short read of a stream socket means its
        receive queue is empty); at end of file, drop the registration (the socket
        is about to be closed, and it would be readable on every poll)."""
        reg = self._sock_waits.readers.get(sock.fileno())
        if reg is None or reg.sock() is not sock:
            return
        if got == 0 and asked > 0:
            if reg.fut is None:
                self._sock_waits.drop(reg)
            return
        reg.drained = got < asked and reg.stream

    def _sock_drained(self, sock: socket.socket) -> bool:
        """Whether *sock* has a reading registration whose last read emptied the
        socket: then a ``recv()`` now would most likely find nothing, and waiting
        for readability at once is as correct (the registration is
        level-triggered) and saves that system call."""
        reg = self._sock_waits.readers.get(sock.fileno())
        return reg is not None and reg.drained and reg.sock() is sock

    # Each sock_* coroutine below tries its system call at once, inline: most calls
    # succeed without waiting (a busy connection always has data or buffer room), and
    # this path then costs no future, no handle, no selector change and no extra
    # coroutine. The exception: sock_recv and sock_recv_into on a socket whose
    # registration says its last read emptied it (_sock_drained) wait at once.

    async def sock_recv(self, sock: socket.socket, nbytes: int) -> bytes:
        """Receive up to *nbytes* from the non-blocking socket *sock*.

        Returns ``b""`` at end of file.

        :raises ValueError: if *sock* is blocking.
        """
        self._check_sock(sock)
        waiting = self._sock_waits.readers
        if _DIRECT_RECV_MAX < nbytes <= RECV_BUFFER_SIZE:
            if waiting and self._sock_drained(sock):
                data = await self._sock_wait(sock, False, self._recv_copy, sock, nbytes)
            else:
                try:
                    data = self._recv_copy(sock, nbytes)
                except (BlockingIOError, InterruptedError):
                    data = await self._sock_wait(sock, False, self._recv_copy, sock, nbytes)
        elif waiting and self._sock_drained(sock):
            data = await self._sock_wait(sock, False, sock.recv, nbytes)
        else:
            try:
                data = sock.recv(nbytes)
            except (BlockingIOError, InterruptedError):
                data = await self._sock_wait(sock, False, sock.recv, nbytes)
        if waiting:  # (the same dict object: filled by the wait above, if any)
            self._sock_read_done(sock, len(data), nbytes)
        return data

    def _recv_copy(self, sock: socket.socket, nbytes: int) -> bytes:
        """``sock.recv(nbytes)`` through the loop's receive buffer: a bytes copy of
        exactly what came, made before anything else can use the buffer."""
        view = loop_recv_buffer(self)
        return view[: sock.recv_into(view, nbytes)].tobytes()

    async def sock_recv_into(self, sock: socket.socket, buf: bytearray | memoryview) -> int:
        """Receive into *buf*; return the number of bytes written (0 at end of file).

        :raises ValueError: if *sock* is blocking.
        """
        self._check_sock(sock)
        waiting = self._sock_waits.readers
        if waiting and self._sock_drained(sock):
            n = await self._sock_wait(sock, False, sock.recv_into, buf)
        else:
            try:
                n = sock.recv_into(buf)
            except (BlockingIOError, InterruptedError):
                n = await self._sock_wait(sock, False, sock.recv_into, buf)
        if waiting:
            self._sock_read_done(sock, n, buf.nbytes if type(buf) is memoryview else len(buf))
        return n

    async def sock_recvfrom(self, sock: socket.socket, bufsize: int) -> tuple[bytes, object]:
        """Receive a datagram of up to *bufsize* bytes; return ``(data, address)``.

        :raises ValueError: if *sock* is blocking.
        """
        self._check_sock(sock)
        try:
            return sock.recvfrom(bufsize)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._sock_wait(sock, False, sock.recvfrom, bufsize)

    async def sock_recvfrom_into(
        self, sock: socket.socket, buf: bytearray | memoryview, nbytes: int = 0
    ) -> tuple[int, object]:
        """Receive a datagram into *buf* (at most *nbytes*, 0 meaning ``len(buf)``);
        return ``(nbytes, address)``.

        :raises ValueError: if *sock* is blocking.
        """
        self._check_sock(sock)
        if not nbytes:
            nbytes = len(buf)
        try:
            return sock.recvfrom_into(buf, nbytes)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._sock_wait(sock, False, sock.recvfrom_into, buf, nbytes)

    async def sock_sendall(self, sock: socket.socket, data: bytes | bytearray | memoryview) -> None:
        """Send all of *data*; returns once everything was handed to the kernel.

        On error or cancellation an unknown part of *data* may have been sent.

        :raises ValueError: if *sock* is blocking.
        """
        self._check_sock(sock)
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        if type(data) is bytes and sent == len(data):
            return  # the common case: the kernel took it all at once
        view = memoryview(data).cast("B")  # counts bytes, whatever the item size
        total = len(view)
        # What is left waits for room in the send buffer before each further send
        # (one registration for all these waits, dropped at the end: a socket with
        # room in its send buffer is writable on every poll).
        while sent < total:
            sent += await self._sock_wait(sock, True, sock.send, view[sent:])
        self._sock_waits.release(sock, True)

    async def sock_sendto(
        self,
        sock: socket.socket,
        data: bytes | bytearray | memoryview,
        address: Address,  # type: ignore[override]
    ) -> int:
        """Send the datagram *data* to *address*; return the number of bytes sent.

        :raises ValueError: if *sock* is blocking.
        """
        self._check_sock(sock)
        try:
            return sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            pass
        sent = await self._sock_wait(sock, True, sock.sendto, data, address)
        self._sock_waits.release(sock, True)
        return sent

    async def sock_connect(self, sock: socket.socket, address: object) -> None:
        """Connect *sock* to *address*; a host name is resolved first.

        :raises ValueError: if *sock* is blocking.
        :raises OSError: when the connection fails (e.g. ConnectionRefusedError).
        """
        self._check_sock(sock)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not (
            isinstance(address, tuple)
            and len(address) >= 2
            and _numeric_addrinfo(address[0], address[1], sock.family, sock.type, sock.proto)
        ):
            infos = await self._ensure_resolved(
                cast(Address, address), family=sock.family, type=sock.type, proto=sock.proto
            )
            address = infos[0][4]
        if sock.family == socket.AF_UNIX:
            await self._sock_connect_unix(sock, address)
            return
        try:
            sock.connect(cast(Address, address))
            return
        except (BlockingIOError, InterruptedError):
            pass
        await self._sock_wait(sock, True, _connect_result, sock, address)
        self._sock_waits.release(sock, True)

    async def _sock_connect_unix(self, sock: socket.socket, address: object) -> None:
        # A non-blocking AF_UNIX connect() either completes at once or fails with
        # EAGAIN when the listener's backlog is full. Unlike TCP's EINPROGRESS, that
        # is not "in progress": writability later says nothing and the socket stays
        # unconnected, so waiting for it (as for TCP) would report a connection that
        # does not exist. Retry the connect itself, backing off, until the listener
        # makes room (or fails with a real error).
        delay = 0.0005
        while True:
            try:
                sock.connect(cast(Address, address))
                return
            except (BlockingIOError, InterruptedError):
                await sleep(delay)
                delay = min(delay * 2, 0.05)

    async def sock_accept(self, sock: socket.socket) -> tuple[socket.socket, object]:
        """Accept a connection on the listening socket *sock*.

        Returns ``(conn, address)``; *conn* is already non-blocking.

        :raises ValueError: if *sock* is blocking.
        """
        self._check_sock(sock)
        try:
            conn, address = sock.accept()
        except (BlockingIOError, InterruptedError):
            conn, address = await self._sock_wait(sock, False, sock.accept)
        conn.setblocking(False)
        return conn, address

    async def sock_sendfile(
        self,
        sock: socket.socket,
        file: IO[bytes],
        offset: int = 0,
        count: int | None = None,
        *,
        fallback: bool = True,
    ) -> int:
        """Send *file* (from *offset*, *count* bytes or to the end) on the stream socket
        *sock*; return the number of bytes sent.

        Uses zero-copy :func:`os.sendfile` when possible, else (with *fallback*)
        reads and sends chunks. Afterwards the file position is ``offset + sent``.

        :raises ValueError: if *sock* is blocking or not a stream socket, or for a
            bad *offset*/*count*.
        :raises SendfileNotAvailableError: when ``os.sendfile`` cannot be used and
            *fallback* is false.
        """
        self._check_sock(sock)
        if sock.type != socket.SOCK_STREAM:
            raise ValueError(f"only SOCK_STREAM type sockets are supported, got {sock!r}")
        _check_sendfile_params(file, offset, count)
        try:
            return await self._sock_sendfile_native(sock, file, offset, count)
        except SendfileNotAvailableError:
            if not fallback:
                raise
        return await self._sock_sendfile_fallback(sock, file, offset, count)

    async def _sock_sendfile_native(
        self,
        sock: socket.socket,
        file: IO[bytes],
        offset: int,
        count: int | None,
        transport: SocketTransport | None = None,
    ) -> int:
        fileno = _sendfile_fileno(file)
        fsize = os.fstat(fileno).st_size
        blocksize = count if count else fsize
        if not blocksize:
            return 0
        # Linux sends at most 0x7ffff000 bytes per call.
        blocksize = min(blocksize, 0x7FFFF000)
        total = 0
        try:
            while True:
                if count:
                    blocksize = min(count - total, blocksize)
                    if blocksize <= 0:
                        break
                try:
                    sent = os.sendfile(sock.fileno(), fileno, offset + total, blocksize)
                except (BlockingIOError, InterruptedError):
                    await self._wait_writable(sock, transport)
                    continue
                except OSError as exc:
                    if total == 0 and exc.errno in _SENDFILE_UNAVAILABLE:
                        raise SendfileNotAvailableError(
                            f"os.sendfile() cannot send {file!r}: {exc}"
                        ) from exc
                    raise
                if sent == 0:
                    break  # end of file
                total += sent
        finally:
            if total > 0:
                file.seek(offset + total)
        return total

    async def _wait_writable(
        self, sock: socket.socket, transport: SocketTransport | None = None
    ) -> None:
        fut = self.create_future()
        fd = sock.fileno()
        handle = self._add_writer(fd, _set_result_unless_done, fut)
        if transport is not None:
            # The transport fails this future if it is closed meanwhile.
            transport._sendfile_wait = fut
        try:
            await fut
        finally:
            # As in _sock_wait: a newer writer on this fd is not ours to remove.
            if not handle.cancelled():
                self._remove_writer(fd)
            if transport is not None:
                transport._sendfile_wait = None

    async def _sock_sendfile_fallback(
        self, sock: socket.socket, file: IO[bytes], offset: int, count: int | None
    ) -> int:
        return await self._copy_file(
            file, offset, count, functools.partial(self.sock_sendall, sock)
        )

    async def _copy_file(
        self,
        file: IO[bytes],
        offset: int,
        count: int | None,
        send: Callable[[memoryview], Awaitable[None]],
    ) -> int:
        """The read-and-send fallback of sendfile: read *file* from *offset* (*count*
        bytes, or to the end) in chunks, in the executor, and ``await send(chunk)``
        each; the file position ends at ``offset + sent``. Returns the bytes sent."""
        if offset:
            file.seek(offset)
        blocksize = min(count, SENDFILE_FALLBACK_CHUNK) if count else SENDFILE_FALLBACK_CHUNK
        buf = bytearray(blocksize)
        total = 0
        try:
            while True:
                if count:
                    blocksize = min(count - total, blocksize)
                    if blocksize <= 0:
                        break
                view = memoryview(buf)[:blocksize]
                read = await self.run_in_executor(None, file.readinto, view)  # type: ignore[attr-defined]
                if not read:
                    break
                await send(view[:read])
                total += read
            return total
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset + total)

    # -- Stream connections ------------------------------------------------------------------

    def _ssl_context(
        self, ssl: bool | SSLContext, server_side: bool, server_hostname: str | None
    ) -> SSLContext:
        if ssl_module is None:  # pragma: no cover
            raise RuntimeError("TLS needs the ssl module, which this Python lacks")
        if isinstance(ssl, ssl_module.SSLContext):
            return ssl
        if server_side:
            raise ValueError("a server needs an ssl.SSLContext (with its certificate), not True")
        context = ssl_module.create_default_context()
        if server_hostname == "":
            # An explicit '' asks not to match the host name (the certificate is
            # still verified).
            context.check_hostname = False
        return context

    def _make_ssl_transport(
        self,
        rawsock: socket.socket,
        protocol: BaseProtocol,
        sslcontext: SSLContext,
        waiter: Future[object],
        *,
        server_side: bool = False,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        server: Server | None = None,
    ) -> Transport:
        from ._ssl import SSLProtocol

        ssl_protocol = SSLProtocol(
            self,
            protocol,
            sslcontext,
            waiter,
            server_side,
            server_hostname or None,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )
        SocketTransport(self, rawsock, ssl_protocol, server=server)
        return cast(Transport, ssl_protocol._app_transport)

    async def _create_connection_transport(
        self,
        sock: socket.socket,
        protocol_factory: Callable[[], _ProtocolT],
        ssl: bool | SSLContext | None,
        server_hostname: str | None,
        server_side: bool = False,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> tuple[Transport, _ProtocolT]:
        sock.setblocking(False)
        try:
            protocol = protocol_factory()
        except BaseException:
            sock.close()
            raise
        waiter = self.create_future()
        transport: Transport
        if ssl:
            sslcontext = self._ssl_context(ssl, server_side, server_hostname)
            transport = self._make_ssl_transport(
                sock,
                protocol,
                sslcontext,
                waiter,
                server_side=server_side,
                server_hostname=server_hostname,
                ssl_handshake_timeout=ssl_handshake_timeout,
                ssl_shutdown_timeout=ssl_shutdown_timeout,
            )
        else:
            transport = SocketTransport(self, sock, protocol, waiter)
        await _wait_connection_made(transport, waiter)
        return transport, protocol

    def _check_ssl_args(
        self,
        ssl: object,
        ssl_handshake_timeout: float | None,
        ssl_shutdown_timeout: float | None,
    ) -> None:
        if ssl_handshake_timeout is not None and not ssl:
            raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
        if ssl_shutdown_timeout is not None and not ssl:
            raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
        for name, value in (
            ("ssl_handshake_timeout", ssl_handshake_timeout),
            ("ssl_shutdown_timeout", ssl_shutdown_timeout),
        ):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")

    @overload  # type: ignore[override]
    async def create_connection(
        self,
        protocol_factory: Callable[[], _ProtocolT],
        host: str | None = None,
        port: int | str | None = None,
        *,
        ssl: bool | SSLContext | None = None,
        family: int = 0,
        proto: int = 0,
        flags: int = 0,
        sock: None = None,
        local_addr: tuple[str, int] | None = None,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        happy_eyeballs_delay: float | None = None,
        interleave: int | None = None,
        all_errors: bool = False,
    ) -> tuple[Transport, _ProtocolT]: ...

    @overload
    async def create_connection(
        self,
        protocol_factory: Callable[[], _ProtocolT],
        host: None = None,
        port: None = None,
        *,
        ssl: bool | SSLContext | None = None,
        family: Literal[0] = 0,
        proto: Literal[0] = 0,
        flags: Literal[0] = 0,
        sock: socket.socket,
        local_addr: None = None,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        happy_eyeballs_delay: float | None = None,
        interleave: int | None = None,
        all_errors: bool = False,
    ) -> tuple[Transport, _ProtocolT]: ...

    async def create_connection(
        self,
        protocol_factory: Callable[[], _ProtocolT],
        host: str | None = None,
        port: int | str | None = None,
        *,
        ssl: bool | SSLContext | None = None,
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
    ) -> tuple[Transport, _ProtocolT]:
        """Open a stream connection to *host*:*port* (or over the connected *sock*).

        Every address ``getaddrinfo`` returns is tried in turn until one connects.
        With *happy_eyeballs_delay* (seconds) the attempts are staggered and run in
        parallel (RFC 8305): a new one starts each time the delay passes or an
        attempt fails; the first to connect wins and the others are closed.
        *interleave* reorders the addresses by family (default 1 with Happy Eyeballs).

        *ssl*: ``True`` for :func:`ssl.create_default_context` (certificate and host
        name verified) or an :class:`ssl.SSLContext`. *server_hostname* defaults to
        *host*, must be given when *host* is empty, and ``''`` turns host-name
        matching off.

        Returns ``(transport, protocol)`` once the connection (and handshake) is done.

        :raises ValueError: for conflicting arguments (*sock* with *host*, *port*,
            *family*, *proto*, *flags* or *local_addr*; TLS options without *ssl*).
        :raises OSError: when no address connects: the error itself for one
            failure, else one :class:`OSError` naming every failure (an
            :class:`ExceptionGroup` of them with *all_errors*).
        """
        if server_hostname is not None and not ssl:
            raise ValueError("server_hostname is only meaningful with ssl")
        if server_hostname is None and ssl:
            if not host:
                raise ValueError(
                    "You must set server_hostname when using ssl without a host "
                    "(pass server_hostname='' to skip host-name matching)"
                )
            server_hostname = host
        self._check_ssl_args(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
        if happy_eyeballs_delay is not None and interleave is None:
            interleave = 1
        if host is not None or port is not None:
            if sock is not None:
                raise ValueError(
                    f"host/port and sock can not be specified at the same time "
                    f"(host={host!r}, port={port!r}, sock={sock!r})"
                )
            infos = await self._ensure_resolved(
                (host, port), family=family, type=socket.SOCK_STREAM, proto=proto, flags=flags
            )
            laddr_infos = None
            if local_addr is not None:
                laddr_infos = await self._ensure_resolved(
                    local_addr, family=family, type=socket.SOCK_STREAM, proto=proto, flags=flags
                )
            if interleave:
                infos = _interleave_addrinfos(infos, interleave)
            errors: list[OSError] = []
            if happy_eyeballs_delay is None:
                for info in infos:
                    try:
                        sock = await self._connect_sock(errors, info, laddr_infos)
                        break
                    except OSError:
                        continue
            else:
                sock = await self._staggered_connect(
                    infos, laddr_infos, happy_eyeballs_delay, errors
                )
            if sock is None:
                if all_errors:
                    raise ExceptionGroup(
                        f"create_connection() to {host!r} port {port!r} failed", errors
                    )
                if len(errors) == 1:
                    raise errors[0]
                first = str(errors[0])
                if all(str(exc) == first for exc in errors):
                    raise errors[0]
                raise OSError(f"Multiple exceptions: {', '.join(str(exc) for exc in errors)}")
        else:
            if sock is None:
                raise ValueError("host and port were not specified and no sock specified")
            conflicts = [
                name
                for name, value in (
                    ("family", family),
                    ("proto", proto),
                    ("flags", flags),
                    ("local_addr", local_addr),
                )
                if value
            ]
            if conflicts:
                raise ValueError(
                    f"{', '.join(conflicts)} can not be given with sock= (the socket is "
                    "already made)"
                )
            _check_stream_socket(sock)
        return await self._create_connection_transport(
            sock,
            protocol_factory,
            ssl,
            server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )

    async def _connect_sock(
        self,
        errors: list[OSError],
        info: AddrInfo,
        laddr_infos: list[AddrInfo] | None,
    ) -> socket.socket:
        """Connect a new socket to the address of *info*; on failure record an error
        naming the address in *errors*, close the socket and raise that error."""
        family, type_, proto, _, address = info
        sock = None
        try:
            sock = socket.socket(family=family, type=type_, proto=proto)
            sock.setblocking(False)
            if laddr_infos is not None:
                self._bind_local(sock, family, laddr_infos)
            try:
                await self.sock_connect(sock, address)
            except OSError as exc:
                reason = os.strerror(exc.errno) if exc.errno else str(exc)
                err = OSError(
                    exc.errno, f"error while attempting to connect to {address!r}: {reason}"
                )
                raise err from exc
            return sock
        except OSError as exc:
            errors.append(exc)
            if sock is not None:
                sock.close()
            raise
        except BaseException:
            if sock is not None:
                sock.close()
            raise

    @staticmethod
    def _bind_local(sock: socket.socket, family: int, laddr_infos: list[AddrInfo]) -> None:
        """Bind *sock* to the first local address of *family* that works.

        :raises OSError: naming the address and keeping the errno of the last bind
            that failed (as asyncio), or saying that no address has *family*.
        """
        failure: tuple[object, OSError] | None = None
        for lfamily, _, _, _, laddr in laddr_infos:
            if lfamily != family:
                continue
            try:
                sock.bind(laddr)
                return
            except OSError as exc:
                failure = (laddr, exc)
        if failure is not None:
            failed_addr, error = failure
            raise OSError(
                error.errno,
                f"error while attempting to bind on address {failed_addr!r}: "
                f"{(error.strerror or str(error)).lower()}",
            ) from error
        raise OSError(
            f"no matching local address with family={family!r} found among {laddr_infos!r}"
        )

    async def _staggered_connect(
        self,
        infos: list[AddrInfo],
        laddr_infos: list[AddrInfo] | None,
        delay: float,
        errors: list[OSError],
    ) -> socket.socket | None:
        """Happy Eyeballs (RFC 8305): start one attempt, then another each time
        *delay* passes or an attempt fails; the first socket to connect wins and
        the other attempts are cancelled (their sockets closed)."""
        attempts: list[Future[socket.socket]] = []
        wake: Future[object] | None = None
        next_index = 0
        timer_fired = False
        handled_failures = 0
        winner: socket.socket | None = None

        def on_done(_fut: object) -> None:
            if wake is not None and not wake.done():
                wake.set_result(None)

        def on_timer() -> None:
            nonlocal timer_fired
            timer_fired = True
            on_done(None)

        def start_next() -> None:
            nonlocal next_index
            task = self.create_task(self._connect_sock(errors, infos[next_index], laddr_infos))
            next_index += 1
            task.add_done_callback(on_done)
            attempts.append(task)

        try:
            start_next()
            while True:
                failures = 0
                for attempt in attempts:
                    if attempt.done() and not attempt.cancelled():
                        if attempt.exception() is None:
                            winner = attempt.result()
                            break
                        failures += 1
                if winner is not None:
                    break
                # Each failure starts the next attempt at once (RFC 8305, 5).
                while handled_failures < failures:
                    handled_failures += 1
                    if next_index < len(infos):
                        start_next()
                if all(attempt.done() for attempt in attempts):
                    break  # every address was tried and failed
                wake = self.create_future()
                timer_fired = False
                timer = self.call_later(delay, on_timer) if next_index < len(infos) else None
                try:
                    await wake
                finally:
                    if timer is not None:
                        timer.cancel()
                    wake = None
                if timer_fired and next_index < len(infos):
                    start_next()
        finally:
            # Cancel the losers and wait until every attempt has finished, so that
            # no task and no socket outlives this call.
            for attempt in attempts:
                attempt.cancel()
            try:
                for attempt in attempts:
                    await _wait_quietly(self, attempt)
            except BaseException:
                if winner is not None:
                    winner.close()
                    winner = None
                raise
            finally:
                for attempt in attempts:
                    if attempt.done() and not attempt.cancelled() and attempt.exception() is None:
                        sock = attempt.result()
                        if sock is not winner:
                            sock.close()
        return winner

    def _accept_connection(self, server: Server, conn: socket.socket, addr: object) -> None:
        """Wrap a socket the server accepted in a transport with a new protocol."""
        try:
            protocol = server._protocol_factory()
        except (SystemExit, KeyboardInterrupt):
            conn.close()
            raise
        except BaseException as exc:
            conn.close()
            self.call_exception_handler(
                {
                    "message": "the protocol factory of the server failed; connection closed",
                    "exception": exc,
                    "server": server,
                }
            )
            return
        if server._ssl_context is not None:
            waiter = self.create_future()
            self._make_ssl_transport(
                conn,
                protocol,
                server._ssl_context,
                waiter,
                server_side=True,
                ssl_handshake_timeout=server._ssl_handshake_timeout,
                ssl_shutdown_timeout=server._ssl_shutdown_timeout,
                server=server,
            )
            waiter.add_done_callback(self._ssl_accept_done)
        else:
            SocketTransport(self, conn, protocol, extra={"peername": addr}, server=server)

    def _ssl_accept_done(self, waiter: Future[object]) -> None:
        if waiter.cancelled():
            return
        exc = waiter.exception()
        # A failed handshake is the client's problem; the TLS layer already closed
        # the connection. Worth a report only when debugging.
        if exc is not None and self._debug:
            self.call_exception_handler(
                {"message": "TLS handshake with an accepted client failed", "exception": exc}
            )

    async def create_server(
        self,
        protocol_factory: Callable[[], BaseProtocol],  # type: ignore[override]
        host: str | Sequence[str] | None = None,
        port: int | str | None = None,
        *,
        family: int = socket.AF_UNSPEC,
        flags: int = socket.AI_PASSIVE,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: SSLContext | None = None,
        reuse_address: bool | None = None,
        reuse_port: bool | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        start_serving: bool = True,
        keep_alive: bool | None = None,
    ) -> Server:
        """Listen on *host*:*port* (or on the bound *sock*); return a :class:`Server`.

        *host* ``None`` or ``''`` listens on every interface: one socket per
        address family (IPv4 and IPv6; IPv6 sockets are ``IPV6_V6ONLY``). A
        sequence of hosts listens on each. *reuse_address* (default True on POSIX)
        sets ``SO_REUSEADDR``; *reuse_port* sets ``SO_REUSEPORT`` so that several
        processes can share the port. *keep_alive* sets ``SO_KEEPALIVE`` (inherited
        by the accepted connections). With *start_serving* false, call
        :meth:`Server.start_serving` or :meth:`Server.serve_forever` later.

        :raises ValueError: for *sock* with *host*/*port*, neither, or a non-stream
            socket; TLS options without *ssl*.
        :raises TypeError: when *ssl* is a bool (a server needs its certificate).
        :raises OSError: when a bind fails (the address is named).
        """
        if isinstance(ssl, bool):
            raise TypeError(
                f"ssl argument must be an SSLContext or None, got {ssl!r}: a server needs "
                "its certificate, which only an SSLContext carries"
            )
        self._check_ssl_args(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
        if host is not None or port is not None:
            if sock is not None:
                raise ValueError(
                    f"host/port and sock can not be specified at the same time "
                    f"(host={host!r}, port={port!r}, sock={sock!r})"
                )
            if reuse_address is None:
                reuse_address = os.name == "posix" and sys.platform != "cygwin"
            hosts: list[str | None]
            if host == "" or host is None:
                hosts = [None]
            elif isinstance(host, str):
                hosts = [host]
            else:
                hosts = list(host)
            seen: set[AddrInfo] = set()
            infos: list[AddrInfo] = []
            for one_host in hosts:
                for info in await self._ensure_resolved(
                    (one_host, port), family=family, type=socket.SOCK_STREAM, flags=flags
                ):
                    if info not in seen:
                        seen.add(info)
                        infos.append(info)
            sockets: list[socket.socket] = []
            completed = False
            try:
                for af, socktype, proto, _canonname, sa in infos:
                    try:
                        listener = socket.socket(af, socktype, proto)
                    except OSError:
                        # The platform may lack that family (IPv6 disabled).
                        if self._debug:
                            logger.warning(
                                "create_server() cannot make a socket for %r", sa, exc_info=True
                            )
                        continue
                    sockets.append(listener)
                    if reuse_address:
                        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    if reuse_port:
                        _set_reuseport(listener)
                    if keep_alive:
                        listener.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                    if af == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                        # Without it the v6 socket would also take the v4 port and
                        # the v4 socket's bind would fail.
                        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    try:
                        listener.bind(sa)
                    except OSError as err:
                        raise OSError(
                            err.errno,
                            f"error while attempting to bind on address {sa!r}: "
                            f"{(err.strerror or str(err)).lower()}",
                        ) from None
                if not sockets:
                    raise OSError(f"could not create any listening socket for {host!r}:{port!r}")
                completed = True
            finally:
                if not completed:
                    _close_sockets(sockets)
        else:
            if sock is None:
                raise ValueError("neither host/port nor sock were specified")
            _check_stream_socket(sock)
            sockets = [sock]
        for listener in sockets:
            listener.setblocking(False)
        server = Server(
            self,
            sockets,
            protocol_factory,
            ssl,
            backlog,
            ssl_handshake_timeout,
            ssl_shutdown_timeout,
        )
        if start_serving:
            server._start_serving()
        return server

    async def connect_accepted_socket(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], _ProtocolT],
        sock: socket.socket,
        *,
        ssl: SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> tuple[Transport, _ProtocolT]:
        """Wrap a connection accepted outside the loop in a transport (server side of TLS).

        :raises ValueError: if *sock* is not a stream socket.
        """
        _check_stream_socket(sock)
        self._check_ssl_args(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
        return await self._create_connection_transport(
            sock,
            protocol_factory,
            ssl,
            "",
            server_side=True,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )

    # -- Unix sockets ------------------------------------------------------------------------

    async def create_unix_connection(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], _ProtocolT],
        path: str | bytes | os.PathLike[str] | None = None,
        *,
        ssl: bool | SSLContext | None = None,
        sock: socket.socket | None = None,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> tuple[Transport, _ProtocolT]:
        """Connect to the Unix socket at *path* (a leading NUL byte names an abstract
        socket on Linux), or use the connected Unix *sock*.

        With *ssl*, *server_hostname* must be given.

        :raises ValueError: for *path* with *sock*, neither, or a wrong socket.
        """
        if ssl:
            if server_hostname is None:
                raise ValueError(
                    "you have to pass server_hostname when using ssl (a Unix socket has no "
                    "host name to default to; pass server_hostname='' to skip host-name "
                    "matching)"
                )
        elif server_hostname is not None:
            raise ValueError("server_hostname is only meaningful with ssl")
        self._check_ssl_args(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            address = os.fspath(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)
            try:
                sock.setblocking(False)
                await self.sock_connect(sock, address)
            except BaseException:
                sock.close()
                raise
        else:
            if sock is None:
                raise ValueError("no path and sock were specified")
            _check_stream_socket(sock, unix=True)
        return await self._create_connection_transport(
            sock,
            protocol_factory,
            ssl,
            server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )

    async def create_unix_server(
        self,
        protocol_factory: Callable[[], BaseProtocol],  # type: ignore[override]
        path: str | bytes | os.PathLike[str] | None = None,
        *,
        sock: socket.socket | None = None,
        backlog: int = 100,
        ssl: SSLContext | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        start_serving: bool = True,
        cleanup_socket: bool = True,
    ) -> Server:
        """Listen on the Unix socket *path* (or the bound Unix *sock*).

        A stale socket file at *path* (left by a dead server) is removed first; a
        path starting with a NUL byte is an abstract socket (Linux), with no file.
        With *cleanup_socket*, closing the server removes the socket file if it is
        still the one it made.

        :raises OSError: ``EADDRINUSE`` when a live server already listens there.
        """
        if isinstance(ssl, bool):
            raise TypeError(
                f"ssl argument must be an SSLContext or None, got {ssl!r}: a server needs "
                "its certificate, which only an SSLContext carries"
            )
        self._check_ssl_args(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
        unix_path: tuple[str | bytes, int] | None = None
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            address = os.fspath(path)
            abstract = address[:1] in ("\0", b"\0")
            if not abstract:
                _remove_stale_unix_socket(address)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(address)
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRINUSE:
                    raise OSError(
                        errno.EADDRINUSE,
                        f"Address {address!r} is already in use: a server listens there, "
                        "or the path is not a socket (remove it, or choose another path)",
                    ) from None
                raise
            if not abstract and cleanup_socket:
                unix_path = (address, os.stat(address).st_ino)
        else:
            if sock is None:
                raise ValueError("path was not specified, and no sock specified")
            _check_stream_socket(sock, unix=True)
            if cleanup_socket:
                name = sock.getsockname()
                if name and name[:1] not in ("\0", b"\0"):
                    try:
                        unix_path = (name, os.stat(name).st_ino)
                    except OSError:
                        unix_path = None
        sock.setblocking(False)
        server = Server(
            self,
            [sock],
            protocol_factory,
            ssl,
            backlog,
            ssl_handshake_timeout,
            ssl_shutdown_timeout,
            unix_path=unix_path,
        )
        if start_serving:
            server._start_serving()
        return server

    # -- Datagrams ---------------------------------------------------------------------------

    async def create_datagram_endpoint(
        self,
        protocol_factory: Callable[[], _ProtocolT],
        local_addr: Address | None = None,  # type: ignore[override]
        remote_addr: Address | None = None,  # type: ignore[override]
        *,
        family: int = 0,
        proto: int = 0,
        flags: int = 0,
        reuse_port: bool | None = None,
        allow_broadcast: bool | None = None,
        sock: socket.socket | None = None,
    ) -> tuple[DatagramTransport, _ProtocolT]:
        """Make a datagram endpoint: bound to *local_addr*, connected to *remote_addr*.

        With *remote_addr* the socket is connected: ``sendto(data)`` needs no
        address and ICMP errors come back as ``error_received``. *family*
        ``AF_UNIX`` takes paths. *allow_broadcast* sets ``SO_BROADCAST``.

        :raises ValueError: for *sock* with any address option, or a non-datagram
            socket.
        """
        if sock is not None:
            if sock.type != socket.SOCK_DGRAM:
                raise ValueError(
                    f"A datagram socket was expected, got {sock!r}: stream sockets go to "
                    "create_connection(sock=...)"
                )
            given = [
                name
                for name, value in (
                    ("local_addr", local_addr),
                    ("remote_addr", remote_addr),
                    ("family", family),
                    ("proto", proto),
                    ("flags", flags),
                    ("reuse_port", reuse_port),
                    ("allow_broadcast", allow_broadcast),
                )
                if value
            ]
            if given:
                raise ValueError(
                    f"socket modifier keyword arguments can not be used when sock is "
                    f"specified ({', '.join(given)})"
                )
            _check_not_ssl_socket(sock)
            sock.setblocking(False)
            r_addr: Address | None = None
        else:
            sock, r_addr = await self._make_datagram_socket(
                local_addr, remote_addr, family, proto, flags, reuse_port, allow_broadcast
            )
        try:
            protocol = protocol_factory()
        except BaseException:
            sock.close()
            raise
        if not isinstance(protocol, DatagramProtocol):
            sock.close()
            raise TypeError(f"the protocol factory must make a DatagramProtocol, made {protocol!r}")
        waiter = self.create_future()
        transport = SocketDatagramTransport(self, sock, protocol, r_addr, waiter)
        await _wait_connection_made(transport, waiter)
        return transport, protocol

    async def _make_datagram_socket(
        self,
        local_addr: Address | None,
        remote_addr: Address | None,
        family: int,
        proto: int,
        flags: int,
        reuse_port: bool | None,
        allow_broadcast: bool | None,
    ) -> tuple[socket.socket, Address | None]:
        pairs: list[tuple[int, int, Address | None, Address | None]]
        if not (local_addr or remote_addr):
            if family == 0:
                raise ValueError(
                    "unexpected address family 0: give family, local_addr or remote_addr"
                )
            pairs = [(family, proto, None, None)]
        elif hasattr(socket, "AF_UNIX") and family == socket.AF_UNIX:
            for addr in (local_addr, remote_addr):
                if addr is not None and not isinstance(addr, str | bytes):
                    raise TypeError(
                        f"a path (str or bytes) was expected with AF_UNIX, got {addr!r}"
                    )
            if (
                local_addr
                and isinstance(local_addr, str | bytes)
                and local_addr[:1] not in ("\0", b"\0")
            ):
                try:
                    # A datagram socket file cannot be probed for life: a leftover
                    # socket file is replaced, as asyncio does.
                    if stat.S_ISSOCK(os.stat(local_addr).st_mode):
                        os.remove(local_addr)
                except FileNotFoundError:
                    pass
            pairs = [(family, proto, local_addr, remote_addr)]
        else:
            by_key: dict[tuple[int, int], list[Address | None]] = {}
            for idx, addr in enumerate((local_addr, remote_addr)):
                if addr is None:
                    continue
                if not isinstance(addr, tuple) or len(addr) != 2:
                    raise TypeError(f"a (host, port) tuple was expected, got {addr!r}")
                infos = await self._ensure_resolved(
                    addr, family=family, type=socket.SOCK_DGRAM, proto=proto, flags=flags
                )
                for fam, _, pro, _, address in infos:
                    slot = by_key.setdefault((fam, pro), [None, None])
                    if slot[idx] is None:
                        slot[idx] = address
            pairs = [
                (fam, pro, addrs[0], addrs[1])
                for (fam, pro), addrs in by_key.items()
                if not (local_addr and addrs[0] is None) and not (remote_addr and addrs[1] is None)
            ]
            if not pairs:
                raise ValueError("local_addr and remote_addr have no address family in common")
        errors: list[BaseException] = []
        for fam, pro, laddr, raddr in pairs:
            sock = None
            try:
                sock = socket.socket(family=fam, type=socket.SOCK_DGRAM, proto=pro)
                if reuse_port:
                    _set_reuseport(sock)
                if allow_broadcast:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                sock.setblocking(False)
                if laddr:
                    sock.bind(laddr)
                if raddr:
                    if not allow_broadcast:
                        await self.sock_connect(sock, raddr)
                    else:
                        sock.connect(raddr)
                return sock, raddr
            except OSError as exc:
                if sock is not None:
                    sock.close()
                errors.append(exc)
            except BaseException:
                if sock is not None:
                    sock.close()
                raise
        raise errors[0]

    # -- sendfile and TLS upgrade on transports ------------------------------------------

    async def sendfile(
        self,
        transport: BaseTransport,  # type: ignore[override]
        file: IO[bytes],
        offset: int = 0,
        count: int | None = None,
        *,
        fallback: bool = True,
    ) -> int:
        """Send *file* over the stream *transport*; return the number of bytes sent.

        On a plain TCP or Unix transport, waits for the write buffer to drain and
        uses zero-copy :func:`os.sendfile`. Otherwise (TLS, a non-regular file), with
        *fallback*, reads chunks and writes them to the transport, waiting whenever
        the transport pauses writing (flow control). The transport refuses
        ``write()`` while a native sendfile runs. Afterwards the file position is
        ``offset + sent``.

        :raises RuntimeError: when the transport is closing, or the native path is
            unavailable and *fallback* is false.
        :raises ValueError: for a text file or a bad *offset*/*count*.
        """
        if transport.is_closing():
            raise RuntimeError(f"the transport {transport!r} is closing")
        _check_sendfile_params(file, offset, count)
        if isinstance(transport, SocketTransport):
            try:
                return await self._sendfile_native(transport, file, offset, count)
            except SendfileNotAvailableError:
                if not fallback:
                    raise
        elif not fallback:
            raise RuntimeError(
                f"fallback is disabled and native sendfile is not supported for {transport!r}"
            )
        return await self._sendfile_fallback(cast(Transport, transport), file, offset, count)

    async def _sendfile_native(
        self, transport: SocketTransport, file: IO[bytes], offset: int, count: int | None
    ) -> int:
        _sendfile_fileno(file)  # fail before touching the transport
        waiter = transport._make_empty_waiter()
        try:
            await waiter
            sock = transport._sock
            if sock is None or transport.is_closing():
                raise ConnectionError(f"{transport!r} was closed during sendfile")
            return await self._sock_sendfile_native(sock, file, offset, count, transport)
        finally:
            transport._reset_empty_waiter()

    async def _sendfile_fallback(
        self, transport: Transport, file: IO[bytes], offset: int, count: int | None
    ) -> int:
        proto = _SendfileFallbackProtocol(transport)

        async def send(chunk: memoryview) -> None:
            await proto.drain()
            transport.write(bytes(chunk))

        try:
            return await self._copy_file(file, offset, count, send)
        finally:
            await proto.restore()

    async def start_tls(
        self,
        transport: BaseTransport,  # type: ignore[override]
        protocol: BaseProtocol,  # type: ignore[override]
        sslcontext: SSLContext,
        *,
        server_side: bool = False,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
    ) -> Transport:
        """Upgrade the live stream *transport* to TLS; return the new transport.

        The old transport must no longer be used. *protocol* receives the
        decrypted data from then on.

        :raises TypeError: when *sslcontext* is not an :class:`ssl.SSLContext`.
        """
        from ._ssl import start_tls as _start_tls

        return await _start_tls(
            self,
            cast(Transport, transport),
            protocol,
            sslcontext,
            server_side=server_side,
            server_hostname=server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )


def _check_not_ssl_socket(sock: socket.socket) -> None:
    if ssl_module is not None and isinstance(sock, ssl_module.SSLSocket):
        raise TypeError(
            f"an ssl.SSLSocket cannot be used here ({sock!r}): pass the plain socket "
            "and ssl= to the loop"
        )


def _check_stream_socket(sock: socket.socket, *, unix: bool = False) -> None:
    """Refuse a *sock=* argument that is not a plain stream socket (of AF_UNIX with *unix*).

    The messages start as asyncio's do (programs and test suites match on them).
    """
    if unix and (sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM):
        raise ValueError(
            f"A UNIX Domain Stream Socket was expected, got {sock!r}: pass a "
            "socket(AF_UNIX, SOCK_STREAM)"
        )
    if sock.type != socket.SOCK_STREAM:
        raise ValueError(
            f"A Stream Socket was expected, got {sock!r}: datagram sockets go to "
            "create_datagram_endpoint(sock=...)"
        )
    _check_not_ssl_socket(sock)


def _remove_stale_unix_socket(path: str | bytes) -> None:
    """Remove the socket file at *path* if no server listens on it any more.

    A dead server leaves its socket file behind and a new bind() would fail with
    EADDRINUSE. A live server's file is left alone: the bind then fails, which is
    the right answer (removing it would silently steal the address).
    """
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return
    except FileNotFoundError:
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.setblocking(False)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
    except OSError:
        pass  # EAGAIN (a live server with a full backlog) or anything else: keep it
    finally:
        probe.close()


def _set_reuseport(sock: socket.socket) -> None:
    if not hasattr(socket, "SO_REUSEPORT"):
        raise ValueError("reuse_port is not supported on this platform")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    except OSError as exc:
        raise ValueError(f"reuse_port is not supported by this socket: {exc}") from exc


async def _wait_quietly(loop: SelectorEventLoop, fut: Future[Any]) -> None:
    """Wait until *fut* is done, ignoring its outcome (the caller inspects it)."""
    if fut.done():
        return
    waiter = loop.create_future()
    fut.add_done_callback(lambda _f: _set_result_unless_done(waiter))
    await waiter


class _SendfileFallbackProtocol(Protocol):
    """Stands in for the transport's protocol while ``loop.sendfile`` writes chunks.

    It catches ``pause_writing``/``resume_writing`` so that the copy loop can wait
    (:meth:`drain`), and hands everything back in :meth:`restore`, including a
    ``resume_writing`` the real protocol would otherwise miss.
    """

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._proto = transport.get_protocol()
        self._should_resume_reading = transport.is_reading()
        self._should_resume_writing = bool(getattr(transport, "_protocol_paused", False))
        self._loop = cast(SelectorEventLoop, getattr(transport, "_loop"))  # noqa: B009
        transport.pause_reading()
        transport.set_protocol(self)
        self._write_ready_fut: Future[object] | None = None
        if self._should_resume_writing:
            self._write_ready_fut = self._loop.create_future()

    async def drain(self) -> None:
        if self._transport.is_closing():
            raise ConnectionError(f"connection closed during sendfile: {self._transport!r}")
        fut = self._write_ready_fut
        if fut is not None:
            await fut

    def connection_made(self, transport: BaseTransport) -> None:
        raise RuntimeError("connection_made() during sendfile: the transport is already connected")

    def connection_lost(self, exc: Exception | None) -> None:
        fut = self._write_ready_fut
        if fut is not None and not fut.done():
            fut.set_exception(exc or ConnectionError("connection closed by peer during sendfile"))
        self._proto.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._write_ready_fut is None:
            self._write_ready_fut = self._loop.create_future()

    def resume_writing(self) -> None:
        fut = self._write_ready_fut
        if fut is not None:
            self._write_ready_fut = None
            if not fut.done():
                fut.set_result(None)

    def data_received(self, data: bytes) -> None:
        raise RuntimeError("data_received() during sendfile: reading should be paused")

    def eof_received(self) -> bool | None:
        raise RuntimeError("eof_received() during sendfile: reading should be paused")

    async def restore(self) -> None:
        """Give the transport its protocol back, in a flow-control state it agrees with."""
        self._transport.set_protocol(self._proto)
        if self._should_resume_reading:
            self._transport.resume_reading()
        fut = self._write_ready_fut
        self._write_ready_fut = None
        if fut is not None and not fut.done():
            fut.cancel()
        paused_now = bool(getattr(self._transport, "_protocol_paused", False))
        # The real protocol must see pause/resume alternate: tell it what changed
        # while it was away.
        if self._should_resume_writing and not paused_now:
            self._proto.resume_writing()
        elif not self._should_resume_writing and paused_now:
            self._proto.pause_writing()
