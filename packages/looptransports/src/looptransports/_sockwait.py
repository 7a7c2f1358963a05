"""How the ``sock_*`` coroutines wait for a socket: registrations kept between waits.

A ``sock_*`` coroutine first tries its system call at once; only when it would block
does it wait here for the socket to become readable (writable) and the call to
succeed. Registering the fd with the poller for each wait and unregistering it after
costs two ``epoll_ctl`` calls per wait, that is per echo round trip of a server
written with ``sock_recv``/``sock_sendall``, the usual shape of such code. So a
registration outlives its wait:

* **Kept while the socket keeps being waited on.** When a wait ends with a result,
  its :class:`SockRegistration` stays registered, idle. The next wait on the same
  socket, in the same direction, reuses it: no system call.
* **Dropped when nobody waits.** An idle registration costs nothing while its
  socket stays quiet (epoll reports only what is ready). The first time the poller
  reports it ready while idle, it is dropped: nobody reads, and a level-triggered
  registration would wake every poll. It is dropped at once when its wait fails
  (the error is the socket's: it is probably about to be closed), is cancelled, or
  reads end of file, and by :meth:`SockWaits.release` (``sock_sendall`` after
  waiting: a socket with room to write is writable on every poll). Idle
  registrations of quiet or closed sockets are swept when a new registration is
  made, at most every :data:`SWEEP_SECONDS`, and all of them when the loop closes.
  There is no timer: a loop with no ``sock_*`` activity has nothing scheduled.
* **The socket is held weakly.** An idle registration does not keep its socket
  alive: a socket dropped without ``close()`` is still collected (and closed) as
  usual.
* **The registration is its own file object** for the poller (its ``fileno()`` is
  the socket's, -1 once the socket is closed or collected). So when the socket is
  closed while registered and its number goes to a new file, both this module (the
  socket is not the registration's) and the poller (the object is closed, see
  "Some facts about epoll" in :mod:`loopcore._poller`) see that the registration
  is stale, and the new file is registered afresh.
* **Only where a closed fd is harmless.** A loop polling with ``select()`` (a
  ``SelectorEventLoop(selectors.SelectSelector())``) would fail with EBADF on every
  poll once a socket is closed while registered; there every registration ends with
  its wait, as it did before (the poller's ``closed_fds_harmless``).
* **Whoever replaces it wins.** ``add_reader``/``remove_reader`` by a user (or a
  transport) on the same fd replace or remove the registration's handle, which
  cancels it; a registration whose handle is cancelled is never used again.

With a registration in place the loop also knows something about the socket: after
a read of a stream socket that returned less than asked, the kernel's receive queue
was empty (as tokio reasons, ``poll_read`` in its ``io/poll_evented.rs``). The next
``sock_recv`` then waits for readability straight away instead of trying a
``recv()`` that would find nothing: one receive per message instead of two. That is
only a hint: the registration is level-triggered, so if data came meanwhile, the
next poll reports the fd at once; being wrong costs one loop iteration, never data.

Not thread-safe: used by the loop's thread only.
"""

from __future__ import annotations

import socket
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from loopcore.futures import Future
from loopcore.handles import Handle

if TYPE_CHECKING:
    from loopcore.base_loop import BaseEventLoop

__all__ = ["SWEEP_SECONDS", "SockRegistration", "SockWaits"]

#: The least time between two sweeps of idle registrations (made when a new
#: registration is made). A sweep drops those idle since before the previous one.
SWEEP_SECONDS = 1.0

# selectors.EVENT_READ / EVENT_WRITE, the poller's event numbers.
_EVENT_READ = 1
_EVENT_WRITE = 2


class SockRegistration:
    """One socket watched for one direction on behalf of the ``sock_*`` coroutines.

    ``sock`` is a weak reference to the socket. ``fut`` is the future of the wait
    in progress (``None`` while idle), ``func`` and ``args`` the call that the wait
    retries each time the poller reports the socket ready (cleared while idle: they
    hold the socket). ``drained`` is the hint described in the module docstring.
    """

    __slots__ = (
        "__weakref__",
        "args",
        "drained",
        "fd",
        "func",
        "fut",
        "handle",
        "idle_since",
        "sock",
        "stream",
        "write",
    )

    def __init__(self, sock: socket.socket, fd: int, write: bool) -> None:
        self.sock = weakref.ref(sock)
        self.fd = fd
        self.write = write
        #: A stream socket: a short read means its receive queue was emptied.
        self.stream = sock.type == socket.SOCK_STREAM
        self.drained = False
        self.fut: Future[object] | None = None
        self.func: Callable[..., object] | None = None
        self.args: tuple[object, ...] = ()
        #: The sweep period in which it last went idle.
        self.idle_since = 0
        # Set by SockWaits right after: the handle needs this object as argument.
        self.handle: Handle

    def fileno(self) -> int:
        """The socket's fd; -1 once it is closed or collected (the poller's test of
        a stale watch)."""
        sock = self.sock()
        return -1 if sock is None else sock.fileno()

    def __repr__(self) -> str:
        state = "idle" if self.fut is None else "waiting"
        direction = "write" if self.write else "read"
        return f"<SockRegistration fd={self.fd} {direction} {state} drained={self.drained}>"


class SockWaits:
    """The registrations of the ``sock_*`` coroutines of one loop.

    :param loop: the loop whose poller is used (through its ``_watch_fd`` and
        ``_unwatch_fd``).
    """

    def __init__(self, loop: BaseEventLoop) -> None:
        self._loop = loop
        #: fd -> the registration for reading / writing of the socket with that fd.
        self.readers: dict[int, SockRegistration] = {}
        self.writers: dict[int, SockRegistration] = {}
        # Sweeps so far (the period a registration went idle in), and the loop time
        # before which no new sweep is made.
        self._period = 0
        self._next_sweep = 0.0
        #: Keep registrations between waits (see "Only where a closed fd is harmless").
        self.keep = loop._io.closed_fds_harmless

    def __len__(self) -> int:
        """How many registrations exist (idle or waiting)."""
        return len(self.readers) + len(self.writers)

    def wait(
        self,
        sock: socket.socket,
        write: bool,
        func: Callable[..., object],
        args: tuple[object, ...],
    ) -> SockRegistration:
        """Start a wait: reuse or make the registration of *sock* for *write*, and
        give it a new pending future (``reg.fut``), resolved with ``func(*args)`` once
        that stops raising BlockingIOError (or failed with its error).

        A wait already in progress on the same socket and direction is superseded,
        as ``add_reader`` replaces a reader: its future is never resolved (asyncio
        does the same), and it does not drop the registration when it is cancelled.
        """
        regs = self.writers if write else self.readers
        fd = sock.fileno()
        reg = regs.get(fd)
        if reg is not None and (reg.sock() is not sock or reg.handle.cancelled()):
            # Made for a socket closed since (its number now names *sock*), or
            # replaced by someone else's reader or writer: start afresh.
            self.drop(reg)
            reg = None
        if reg is None:
            loop = self._loop
            if regs and loop.time() >= self._next_sweep:
                self.sweep()
            reg = SockRegistration(sock, fd, write)
            reg.handle = Handle(self._ready, (reg,), loop, None)
            # The registration as file object: see "The registration is its own
            # file object".
            loop._watch_fd(reg, _EVENT_WRITE if write else _EVENT_READ, reg.handle)
            regs[fd] = reg
        fut: Future[object] = self._loop.create_future()
        reg.fut = fut
        reg.func = func
        reg.args = args
        return reg

    def _ready(self, reg: SockRegistration) -> None:
        """The poller reports *reg*'s socket ready: retry the call of the wait."""
        fut = reg.fut
        if fut is None:
            # Ready while nobody waits: stop watching (see "Dropped when nobody
            # waits"). The next sock_* call tries its system call first again.
            self.drop(reg)
            return
        if fut.done():
            return  # cancelled: the waiting coroutine drops the registration
        func = reg.func
        assert func is not None
        try:
            result = func(*reg.args)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.drop(reg)
            fut.set_exception(exc)
        else:
            reg.fut = None
            reg.func = None
            reg.args = ()
            reg.idle_since = self._period
            if not self.keep:
                self.drop(reg)
            fut.set_result(result)

    def sweep(self) -> None:
        """Drop the idle registrations that were idle already at the previous sweep,
        and those of sockets closed or collected since."""
        self._period += 1
        self._next_sweep = self._loop.time() + SWEEP_SECONDS
        oldest = self._period - 2
        for regs in (self.readers, self.writers):
            for reg in list(regs.values()):
                if reg.fut is None and (reg.idle_since <= oldest or reg.fileno() != reg.fd):
                    self.drop(reg)

    def abandon(self, reg: SockRegistration, fut: Future[object]) -> None:
        """The wait of *fut* on *reg* ended without a result (cancelled, or failed):
        drop the registration, unless a newer wait has taken it over."""
        if reg.fut is fut:
            self.drop(reg)

    def release(self, sock: socket.socket, write: bool) -> None:
        """Drop the idle registration of *sock* for *write* now, if there is one."""
        reg = (self.writers if write else self.readers).get(sock.fileno())
        if reg is not None and reg.fut is None and reg.sock() is sock:
            self.drop(reg)

    def drop(self, reg: SockRegistration) -> None:
        """Forget *reg* and stop watching its fd, if the poller still has *reg*'s
        handle there (a cancelled handle means someone else's reader or writer
        replaced or removed it: theirs to keep). Dropping twice does nothing."""
        reg.fut = None
        reg.func = None
        reg.args = ()
        regs = self.writers if reg.write else self.readers
        if regs.get(reg.fd) is reg:
            del regs[reg.fd]
        handle = reg.handle
        if not handle.cancelled():
            # By number (the poller's entry is under it): the socket may be closed
            # already; the poller then only forgets it (the kernel did when the fd
            # was closed).
            self._loop._unwatch_fd(reg.fd, _EVENT_WRITE if reg.write else _EVENT_READ)
            handle.cancel()

    def close(self) -> None:
        """Forget every registration (the loop is closing: so is its poller)."""
        for reg in (*self.readers.values(), *self.writers.values()):
            reg.handle.cancel()
            reg.fut = None
            reg.func = None
            reg.args = ()
        self.readers.clear()
        self.writers.clear()
