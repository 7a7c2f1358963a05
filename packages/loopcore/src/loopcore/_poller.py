"""The loop's I/O poller: which fds are watched, which are ready, and the self-pipe.

A :class:`~loopcore.base_loop.BaseEventLoop` holds one poller (``loop._io``), the way
trio's ``Runner`` holds its ``io_manager``: the loop decides *when* to poll and for
how long, the poller owns *what* is polled. Everything the loop needs from the
operating system's readiness API goes through five methods:

* :meth:`Poller.watch` / :meth:`Poller.unwatch`: one fd, one direction
  (``EVENT_READ`` or ``EVENT_WRITE``), one :class:`~loopcore.Handle`;
* :meth:`Poller.poll`: block up to a timeout, return ``(FdWatch, mask)`` pairs;
* :meth:`Poller.process_events`: queue the handles of those pairs on the ready queue;
* :meth:`Poller.wake`: make a blocked :meth:`~Poller.poll` return (any thread, and
  the C-level signal handler through :func:`signal.set_wakeup_fd`).

Two backends implement them:

* :class:`EpollPoller` calls :class:`select.epoll` itself (Linux). The stdlib's
  ``selectors.EpollSelector`` does the same system calls with several layers of
  Python around each (a ``SelectorKey`` namedtuple per register or modify, a
  ``get_key`` that raises a formatted ``KeyError`` for every fd not registered),
  and the loop does them on every ``sock_*`` wait and every iteration.
* :class:`SelectorPoller` wraps any :class:`selectors.BaseSelector`: the fallback on
  platforms without epoll (kqueue on macOS and the BSDs, through
  ``selectors.DefaultSelector``), and what a loop built with a user-supplied
  selector uses (the 3.4 API ``SelectorEventLoop(selector)``).

Both keep the same fd table: int fd -> :class:`FdWatch`, a mutable record of the
events watched and the reader and writer handles. Replacing the reader of an fd that
already has one is an attribute store, no system call.

Some facts about epoll
----------------------

An epoll set does not hold fds, it holds (fd number, open file description) pairs,
resolved when ``epoll_ctl`` is called. So:

* closing an fd removes it from the set only when no other fd (a ``dup``, a forked
  child's copy) refers to the same file description; until then its events keep
  coming, reported under the old number. The table is the truth: an event for an
  fd the table does not hold is dropped.
* An fd closed while watched and not unwatched first leaves a stale table entry;
  when the number is reused by a new file, ``EPOLL_CTL_MOD`` fails with ``ENOENT``
  (the kernel dropped the old pair). :meth:`EpollPoller.watch` then registers the
  new file (``EPOLL_CTL_ADD``) instead of failing. When the watch was made with an
  object (a socket) rather than an int, a stale entry is recognised without a
  system call: the object is closed (its ``fileno()`` is -1, or another number).
  :meth:`~Poller.watch` then drops the entry (cancelling its handles) and watches
  the new file from scratch, whatever the events; with an int there is nothing to
  tell the old file from the new one, so only a change of events (the ``ENOENT``
  above) reveals it. Callers that keep an fd watched across a point where its
  owner may close it (the ``sock_*`` coroutines of looptransports do) therefore
  watch the object.
* ``EPOLL_CTL_DEL`` on an fd closed meanwhile fails with ``EBADF`` (or ``ENOENT``):
  the kernel has already forgotten it, which is what unwatching wanted, so the error
  is ignored.
* ``EPOLLERR`` and ``EPOLLHUP`` are reported whatever was asked for. They count as
  both readable and writable, so that the reader and the writer both see the
  error when they next call ``recv``/``send``.

Not thread-safe, except :meth:`Poller.wake`.
"""

from __future__ import annotations

import math
import select
import selectors
import socket
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Protocol

from ._build import mypyc_attr

if TYPE_CHECKING:
    from .events import FileDescriptorLike
    from .handles import Handle

__all__ = [
    "EVENT_READ",
    "EVENT_WRITE",
    "EpollPoller",
    "EventList",
    "FdWatch",
    "Poller",
    "SelectorPoller",
    "make_poller",
]

#: Readability of an fd (the value of :data:`selectors.EVENT_READ`).
EVENT_READ: Final[int] = selectors.EVENT_READ
#: Writability of an fd (the value of :data:`selectors.EVENT_WRITE`).
EVENT_WRITE: Final[int] = selectors.EVENT_WRITE

# select()/epoll refuse very large timeouts on some platforms; one day is plenty,
# the loop simply polls again.
MAX_POLL_TIMEOUT = 24 * 3600.0

_HAVE_EPOLL = hasattr(select, "epoll")
# Final ints: C constants in the compiled build, where a plain module global is a
# dict look-up and `flags & ~_EPOLLOUT` a generic operation on every polled event.
_EPOLLIN: Final[int] = getattr(select, "EPOLLIN", 0)
_EPOLLOUT: Final[int] = getattr(select, "EPOLLOUT", 0)
# epoll flags of an events mask (0 to 3), by index: no dict look-up, no branches.
_EPOLL_FLAGS = (0, _EPOLLIN, _EPOLLOUT, _EPOLLIN | _EPOLLOUT)


@mypyc_attr(allow_interpreted_subclasses=True)
class FdWatch:
    """What the loop watches on one fd: the events and who is told about them.

    ``events`` is ``EVENT_READ``, ``EVENT_WRITE`` or both; ``reader`` and ``writer``
    are the handles queued when the fd is readable / writable (``None`` when that
    direction is not watched). ``fileobj`` is what the fd was first watched as (an
    int or an object with ``fileno()``), kept so that an object closed since can
    still be unwatched. Owned by the poller; read-only for everyone else.
    """

    __slots__ = ("events", "fd", "fileobj", "reader", "writer")

    def __init__(self, fd: int, fileobj: FileDescriptorLike, event: int, handle: Handle) -> None:
        self.fd = fd
        self.fileobj = fileobj
        self.events = event
        self.reader: Handle | None = handle if event == EVENT_READ else None
        self.writer: Handle | None = handle if event == EVENT_WRITE else None

    def __repr__(self) -> str:
        return (
            f"<FdWatch fd={self.fd} events={self.events} reader={self.reader!r} "
            f"writer={self.writer!r}>"
        )


#: What :meth:`Poller.poll` returns: each ready fd's watch with the events that are
#: ready (only events it watches).
EventList = list[tuple[FdWatch, int]]


def _fileno(fileobj: FileDescriptorLike) -> int:
    """The fd number of an int or an object with ``fileno()``; -1 if it has none
    any more (a closed socket)."""
    if type(fileobj) is int:
        return fileobj
    if isinstance(fileobj, int):
        return int(fileobj)
    try:
        return int(fileobj.fileno())
    except (AttributeError, TypeError, ValueError, OSError):
        return -1


class Poller(Protocol):
    """The interface the loop uses; :class:`EpollPoller` and :class:`SelectorPoller`
    implement it. A loop subclass may give its own (see
    :meth:`~loopcore.base_loop.BaseEventLoop`'s ``_io``)."""

    #: The fd to give :func:`signal.set_wakeup_fd` (the write end of the self-pipe).
    wakeup_fd: int
    #: The read end of the self-pipe, watched by the loop itself.
    self_pipe_fd: int
    #: Whether an fd closed while watched (and not unwatched) leaves :meth:`poll`
    #: working: epoll and kqueue forget it, poll() and /dev/poll report it (as
    #: readable and writable, so its handlers run and can unwatch it); select()
    #: fails with EBADF on every call until it is unwatched. Code that keeps fds
    #: watched past the point where their owner may close them (looptransports'
    #: ``sock_*`` coroutines) does so only when this is true.
    closed_fds_harmless: bool

    def watch(self, fd: FileDescriptorLike, event: int, handle: Handle) -> Handle:
        """Queue *handle* whenever *fd* has *event*; cancel the handle it replaces."""
        ...

    def unwatch(self, fd: FileDescriptorLike, event: int) -> bool:
        """Stop watching *fd* for *event*; True if a handle was watching it."""
        ...

    def get(self, fd: FileDescriptorLike) -> FdWatch | None:
        """The watch of *fd*, or None."""
        ...

    def poll(self, timeout: float | None) -> EventList:
        """Wait up to *timeout* seconds (None: no limit) for events."""
        ...

    def process_events(self, event_list: EventList) -> None:
        """Queue the handles of *event_list* on the ready queue."""
        ...

    def wake(self) -> bool:
        """Make a blocked :meth:`poll` return; False if the self-pipe is gone."""
        ...

    def drain_self_pipe(self) -> bytes:
        """Read what the self-pipe holds: wake-up bytes and signal numbers."""
        ...

    def __len__(self) -> int:
        """How many fds are watched (the self-pipe included)."""
        ...

    def close(self) -> None:
        """Release the OS resources; a second call does nothing."""
        ...


@mypyc_attr(allow_interpreted_subclasses=True)
class _PollerBase:
    """The fd table, the self-pipe and the ready queue, shared by both backends.

    The self-pipe is a socketpair rather than ``os.pipe()``: both ends are sockets,
    which every selector accepts on every POSIX platform, and
    :func:`signal.set_wakeup_fd` takes it too. Its read end is watched by the loop
    (which owns what a wake-up means); the poller only creates, writes, drains and
    closes it.
    """

    #: See :attr:`Poller.closed_fds_harmless` (set by each backend's ``__init__``).
    closed_fds_harmless: bool

    def __init__(self, ready: deque[Handle]) -> None:
        self._fds: dict[int, FdWatch] = {}
        self._ready_append: Callable[[Handle], None] = ready.append
        ssock, csock = socket.socketpair()
        ssock.setblocking(False)
        csock.setblocking(False)
        self._ssock: socket.socket | None = ssock
        self._csock: socket.socket | None = csock
        self.self_pipe_fd = ssock.fileno()
        self.wakeup_fd = csock.fileno()

    def __len__(self) -> int:
        return len(self._fds)

    def _lookup(self, fd: FileDescriptorLike) -> FdWatch | None:
        if type(fd) is int:
            return self._fds.get(fd)
        fileno = _fileno(fd)
        if fileno >= 0:
            return self._fds.get(fileno)
        # A file object closed since it was watched has no fileno() any more: find
        # it by identity, as selectors do. (An open object has its number: no scan,
        # so watching a new socket object costs a dict look-up, not a walk of the
        # table.)
        for watch in self._fds.values():
            if watch.fileobj is fd:
                return watch
        return None

    def _stale(self, watch: FdWatch, fd: FileDescriptorLike) -> bool:
        """Whether *watch* belongs to a file closed since it was watched, now that
        *fd* is to be watched under its number: known only when the watch was made
        with an object (see "Some facts about epoll")."""
        fileobj = watch.fileobj
        return fileobj is not fd and type(fileobj) is not int and _fileno(fileobj) != watch.fd

    def _forget(self, watch: FdWatch) -> None:
        """Drop the stale *watch* from the table and cancel its handles (their file
        is closed: nothing will ever be reported for it)."""
        del self._fds[watch.fd]
        reader, writer = watch.reader, watch.writer
        watch.reader = watch.writer = None
        if reader is not None:
            reader.cancel()
        if writer is not None:
            writer.cancel()

    def get(self, fd: FileDescriptorLike) -> FdWatch | None:
        return self._lookup(fd)

    # The backend's own (declared here so that the loop, which holds a _PollerBase,
    # calls them natively when compiled: through the Poller protocol each call would
    # be a Python method call with its arguments boxed).
    def watch(self, fd: FileDescriptorLike, event: int, handle: Handle) -> Handle:
        raise NotImplementedError

    def unwatch(self, fd: FileDescriptorLike, event: int) -> bool:
        raise NotImplementedError

    def poll(self, timeout: float | None) -> EventList:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def process_events(self, event_list: EventList) -> None:
        # The handles are read now, not at poll time: a watch replaced in between
        # (by a subclass's _poll, say) queues its current handle. A cancelled one
        # means nobody wants the event any more: stop watching for it.
        ready_append = self._ready_append
        for watch, mask in event_list:
            if mask & EVENT_READ:
                reader = watch.reader
                if reader is not None:
                    if reader._cancelled:
                        self.unwatch(watch.fileobj, EVENT_READ)
                    else:
                        ready_append(reader)
            if mask & EVENT_WRITE:
                writer = watch.writer
                if writer is not None:
                    if writer._cancelled:
                        self.unwatch(watch.fileobj, EVENT_WRITE)
                    else:
                        ready_append(writer)

    def wake(self) -> bool:
        csock = self._csock
        if csock is None:
            return False
        try:
            csock.send(b"\0")
        except OSError:
            # A full pipe already holds a wake-up byte: nothing is lost. Any other
            # error means the loop is closing.
            return False
        return True

    def drain_self_pipe(self) -> bytes:
        ssock = self._ssock
        if ssock is None:
            return b""
        chunks = []
        while True:
            try:
                data = ssock.recv(4096)
            except InterruptedError:
                continue
            except BlockingIOError:
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)

    def _close_self_pipe(self) -> None:
        ssock, csock = self._ssock, self._csock
        self._ssock = self._csock = None
        if ssock is not None:
            ssock.close()
        if csock is not None:
            csock.close()


@mypyc_attr(allow_interpreted_subclasses=True)
class EpollPoller(_PollerBase):
    """The Linux backend: one :class:`select.epoll`, driven directly.

    :param ready: the loop's ready queue, where :meth:`process_events` queues handles.
    """

    def __init__(self, ready: deque[Handle]) -> None:
        self.closed_fds_harmless = True
        self._epoll = select.epoll()
        # Bound once: poll() calls it on every loop iteration (compiled, a method
        # call on the epoll object would look the method up each time).
        self._epoll_poll: Callable[[float, int], list[tuple[int, int]]] = self._epoll.poll
        try:
            super().__init__(ready)
        except BaseException:
            self._epoll.close()
            raise

    def __repr__(self) -> str:
        return f"<EpollPoller fds={len(self._fds)} closed={self._epoll.closed}>"

    def watch(self, fd: FileDescriptorLike, event: int, handle: Handle) -> Handle:
        watch = self._fds.get(fd) if type(fd) is int else self._lookup(fd)
        if watch is not None and self._stale(watch, fd):
            self._forget(watch)
            watch = None
        if watch is None:
            # A new registration: one epoll_ctl and one small object.
            fileno = fd if type(fd) is int else _fileno(fd)
            if fileno < 0:
                raise ValueError(f"invalid file descriptor {fd!r}: it has no fileno() any more")
            try:
                self._epoll.register(fileno, _EPOLL_FLAGS[event])
            except FileExistsError:
                # Still registered: a stale entry whose object was detached from
                # the fd rather than closed (the same file, now in a new object).
                self._epoll.modify(fileno, _EPOLL_FLAGS[event])
            self._fds[fileno] = FdWatch(fileno, fd, event, handle)
            return handle
        if event == EVENT_READ:
            replaced = watch.reader
            watch.reader = handle
        else:
            replaced = watch.writer
            watch.writer = handle
        events = watch.events | event
        if events != watch.events:
            try:
                self._epoll.modify(watch.fd, _EPOLL_FLAGS[events])
            except FileNotFoundError:
                # The fd was closed while watched and its number reused by a new
                # file (see "Some facts about epoll"): watch the new one.
                self._epoll.register(watch.fd, _EPOLL_FLAGS[events])
            watch.events = events
        if replaced is not None:
            replaced.cancel()
        return handle

    def unwatch(self, fd: FileDescriptorLike, event: int) -> bool:
        watch = self._fds.get(fd) if type(fd) is int else self._lookup(fd)
        if watch is None:
            return False
        if event == EVENT_READ:
            removed = watch.reader
            watch.reader = None
        else:
            removed = watch.writer
            watch.writer = None
        events = watch.events & ~event
        if events != watch.events:
            if events:
                try:
                    self._epoll.modify(watch.fd, _EPOLL_FLAGS[events])
                except OSError:
                    pass  # closed since: the kernel dropped it already
                watch.events = events
            else:
                del self._fds[watch.fd]
                try:
                    self._epoll.unregister(watch.fd)
                except OSError:
                    pass  # closed since: the kernel dropped it already
        if removed is not None:
            removed.cancel()
            return True
        return False

    def poll(self, timeout: float | None) -> EventList:
        if timeout is None:
            timeout = -1.0
        elif timeout <= 0.0:
            timeout = 0.0
        else:
            # epoll counts milliseconds: round up, or a timer due in 0.4 ms would
            # make the loop spin with zero timeouts until it is due.
            timeout = math.ceil(timeout * 1e3) * 1e-3
        fds = self._fds
        try:
            fd_events = self._epoll_poll(timeout, len(fds) or 1)
        except InterruptedError:
            return []
        event_list = []
        for fd, flags in fd_events:
            watch = fds.get(fd)
            if watch is None:
                continue  # unwatched since (see "Some facts about epoll")
            mask = 0
            if flags & ~_EPOLLOUT:
                mask = EVENT_READ
            if flags & ~_EPOLLIN:
                mask |= EVENT_WRITE
            event_list.append((watch, mask & watch.events))
        return event_list

    def close(self) -> None:
        self._fds.clear()
        self._close_self_pipe()
        self._epoll.close()


_TOLERANT_SELECTORS: tuple[type[selectors.BaseSelector], ...] = tuple(
    cls
    for cls in (
        getattr(selectors, "EpollSelector", None),
        getattr(selectors, "KqueueSelector", None),
        getattr(selectors, "DevpollSelector", None),
        getattr(selectors, "PollSelector", None),
    )
    if cls is not None
)


@mypyc_attr(allow_interpreted_subclasses=True)
class SelectorPoller(_PollerBase):
    """The portable backend: any :class:`selectors.BaseSelector`.

    The data of each selector key is the fd's :class:`FdWatch` itself, registered
    once: changing a handle changes the watch, not the key, so the selector is
    called only when the events change.

    :param selector: the selector to drive; the poller closes it in :meth:`close`.
    :param ready: the loop's ready queue, where :meth:`process_events` queues handles.
    """

    def __init__(self, selector: selectors.BaseSelector, ready: deque[Handle]) -> None:
        self.selector = selector
        # Only the selectors known to survive a closed fd (see Poller); select()
        # and any selector of unknown make do not count.
        self.closed_fds_harmless = isinstance(selector, _TOLERANT_SELECTORS)
        super().__init__(ready)

    def __repr__(self) -> str:
        return f"<SelectorPoller {type(self.selector).__name__} fds={len(self._fds)}>"

    def watch(self, fd: FileDescriptorLike, event: int, handle: Handle) -> Handle:
        watch = self._lookup(fd)
        if watch is not None and self._stale(watch, fd):
            self._forget(watch)
            try:
                # Selectors find a closed object by identity; kqueue and epoll
                # selectors ignore the kernel's "not registered" themselves.
                self.selector.unregister(watch.fileobj)
            except (KeyError, ValueError, OSError):
                pass
            watch = None
        if watch is None:
            fileno = _fileno(fd)
            watch = FdWatch(fileno, fd, event, handle)
            # The selector validates fd (and raises ValueError/TypeError for a bad one).
            self.selector.register(fd, event, watch)
            self._fds[fileno] = watch
            return handle
        if event == EVENT_READ:
            replaced = watch.reader
            watch.reader = handle
        else:
            replaced = watch.writer
            watch.writer = handle
        events = watch.events | event
        if events != watch.events:
            try:
                self.selector.modify(watch.fileobj, events, watch)
            except OSError:
                # Closed while watched and the number reused by a new file (see
                # "Some facts about epoll"; other selectors raise nothing here):
                # forget the old registration and watch the new file.
                try:
                    self.selector.unregister(watch.fileobj)
                except (KeyError, ValueError, OSError):
                    pass
                watch.fileobj = watch.fd
                self.selector.register(watch.fd, events, watch)
            watch.events = events
        if replaced is not None:
            replaced.cancel()
        return handle

    def unwatch(self, fd: FileDescriptorLike, event: int) -> bool:
        watch = self._lookup(fd)
        if watch is None:
            return False
        if event == EVENT_READ:
            removed = watch.reader
            watch.reader = None
        else:
            removed = watch.writer
            watch.writer = None
        events = watch.events & ~event
        if events != watch.events:
            if events:
                self.selector.modify(watch.fileobj, events, watch)
                watch.events = events
            else:
                del self._fds[watch.fd]
                try:
                    self.selector.unregister(watch.fileobj)
                except (KeyError, ValueError, OSError):
                    pass  # closed since, and forgotten by the selector already
        if removed is not None:
            removed.cancel()
            return True
        return False

    def poll(self, timeout: float | None) -> EventList:
        if timeout is not None and timeout < 0.0:
            timeout = 0.0
        try:
            ready = self.selector.select(timeout)
        except InterruptedError:
            return []
        return [(key.data, mask & key.data.events) for key, mask in ready]

    def close(self) -> None:
        self._fds.clear()
        self._close_self_pipe()
        self.selector.close()


def make_poller(selector: selectors.BaseSelector | None, ready: deque[Handle]) -> _PollerBase:
    """The poller of a new loop: epoll where the platform has it, else
    ``selectors.DefaultSelector`` (kqueue, devpoll, poll or select); with a
    *selector*, that selector."""
    if selector is not None:
        return SelectorPoller(selector, ready)
    if _HAVE_EPOLL:
        return EpollPoller(ready)
    return SelectorPoller(selectors.DefaultSelector(), ready)
