"""The loop's I/O poller (loopcore._poller): both backends keep the same contract.

Every test runs on the epoll backend (where the platform has it) and on the
selectors fallback, forced by giving the loop a selector, as a platform without
epoll (macOS: kqueue through selectors.DefaultSelector) would use it.
"""

from __future__ import annotations

import os
import select
import selectors
import socket
import threading

import pytest

from loopcore import _poller
from loopcore.base_loop import BaseEventLoop
from loopcore.handles import Handle

BACKENDS = ["epoll", "DefaultSelector", "PollSelector", "SelectSelector"]


def _make_loop(backend: str) -> BaseEventLoop:
    if backend == "epoll":
        if not hasattr(select, "epoll"):
            pytest.skip("no epoll on this platform")
        loop = BaseEventLoop()
        assert type(loop._io) is _poller.EpollPoller
        return loop
    selector_class = getattr(selectors, backend, None)
    if selector_class is None:
        pytest.skip(f"selectors.{backend} is not available here")
    loop = BaseEventLoop(selector_class())
    assert type(loop._io) is _poller.SelectorPoller
    return loop


@pytest.fixture(params=BACKENDS)
def loop(request):
    loop = _make_loop(request.param)
    yield loop
    loop.close()


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def _handle(loop, callback=print):
    return Handle(callback, (), loop, None)


def test_without_epoll_the_loop_falls_back_to_the_default_selector(monkeypatch):
    monkeypatch.setattr(_poller, "_HAVE_EPOLL", False)
    loop = BaseEventLoop()
    try:
        assert type(loop._io) is _poller.SelectorPoller
        assert type(loop._io.selector) is selectors.DefaultSelector
        done = []
        loop.call_soon(done.append, 1)
        loop.call_soon(loop.stop)
        loop.run_forever()
        assert done == [1]
    finally:
        loop.close()


def test_a_given_selector_is_polled_and_closed_with_the_loop():
    selector = selectors.SelectSelector()
    loop = BaseEventLoop(selector)
    assert loop._io.selector is selector
    # The self-pipe is the one fd every loop watches.
    assert list(selector.get_map()) == [loop._io.self_pipe_fd]
    loop.close()
    assert selector.get_map() is None


def test_watch_records_events_and_handles_in_the_fd_table(loop, pair):
    a, _ = pair
    fd = a.fileno()
    reader, writer = _handle(loop), _handle(loop)
    assert loop._io.watch(fd, _poller.EVENT_READ, reader) is reader
    watch = loop._io.get(fd)
    assert (watch.fd, watch.events, watch.reader, watch.writer) == (
        fd,
        _poller.EVENT_READ,
        reader,
        None,
    )
    loop._io.watch(fd, _poller.EVENT_WRITE, writer)
    assert loop._io.get(fd) is watch
    assert watch.events == _poller.EVENT_READ | _poller.EVENT_WRITE
    assert watch.writer is writer
    assert loop._io.unwatch(fd, _poller.EVENT_READ) is True
    assert (watch.events, watch.reader) == (_poller.EVENT_WRITE, None)
    assert loop._io.unwatch(fd, _poller.EVENT_READ) is False
    assert loop._io.unwatch(fd, _poller.EVENT_WRITE) is True
    assert loop._io.get(fd) is None
    assert reader.cancelled() and writer.cancelled()


def test_a_replaced_handle_is_cancelled_and_the_new_one_is_queued(loop, pair):
    a, b = pair
    first, second = [], []
    old = loop._add_reader(a.fileno(), first.append, "old")
    loop._add_reader(a.fileno(), lambda: (second.append(a.recv(10)), loop.stop()))
    assert old.cancelled()
    b.send(b"x")
    loop.run_forever()
    assert first == []
    assert second == [b"x"]
    assert loop._remove_reader(a.fileno()) is True


def test_poll_reports_only_the_events_watched(loop, pair):
    a, b = pair
    b.send(b"data")  # a is readable and writable; only readability is watched
    loop._io.watch(a.fileno(), _poller.EVENT_READ, _handle(loop))
    events = loop._io.poll(0)
    assert [(w.fd, mask) for w, mask in events] == [(a.fileno(), _poller.EVENT_READ)]
    loop._io.watch(a.fileno(), _poller.EVENT_WRITE, _handle(loop))
    events = loop._io.poll(0)
    assert [(w.fd, mask) for w, mask in events] == [
        (a.fileno(), _poller.EVENT_READ | _poller.EVENT_WRITE)
    ]


def test_poll_with_nothing_ready_returns_an_empty_list_after_the_timeout(loop):
    assert loop._io.poll(0) == []
    assert loop._io.poll(0.001) == []
    assert loop._io.poll(-1.0) == []


def test_a_cancelled_reader_is_unwatched_instead_of_queued(loop, pair):
    a, b = pair
    handle = loop._add_reader(a.fileno(), print)
    handle.cancel()
    b.send(b"x")
    loop._process_events(loop._poll(0))
    assert not loop._ready
    assert loop._io.get(a.fileno()) is None


def test_a_cancelled_writer_is_unwatched_instead_of_queued(loop, pair):
    a, _ = pair
    handle = loop._add_writer(a.fileno(), print)
    handle.cancel()
    loop._process_events(loop._poll(0))
    assert not loop._ready
    assert loop._io.get(a.fileno()) is None


def test_hang_up_is_seen_by_the_reader_and_the_writer(loop, pair):
    a, b = pair
    got = []
    loop._add_reader(a.fileno(), got.append, "read")
    loop._add_writer(a.fileno(), got.append, "write")
    b.close()
    loop._process_events(loop._poll(0))
    assert sorted(h._args[0] for h in loop._ready) == ["read", "write"]
    loop._remove_reader(a.fileno())
    loop._remove_writer(a.fileno())


def test_an_object_with_fileno_closed_while_watched_can_be_unwatched(loop):
    a, b = socket.socketpair()
    loop._add_reader(a, print)
    a.close()  # a.fileno() is now -1: the poller finds the watch by identity
    assert loop._remove_reader(a) is True
    assert len(loop._io) == 1  # the self-pipe only
    b.close()


def test_an_fd_number_reused_after_close_can_be_watched_again(loop):
    # The fd is closed while watched (a bug in the caller, but a common one): its
    # number goes to the next file, which must be watchable.
    a, b = socket.socketpair()
    fd = a.fileno()
    loop._add_writer(fd, print)
    a.close()
    c, d = socket.socketpair()
    try:
        if c.fileno() != fd:
            c, d = d, c
        if c.fileno() != fd:
            pytest.skip("the OS did not reuse the fd number")
        got = []
        loop._add_reader(fd, lambda: (got.append(c.recv(10)), loop.stop()))
        d.send(b"again")
        loop.run_forever()
        assert got == [b"again"]
        loop._remove_reader(fd)
        loop._remove_writer(fd)
        assert loop._io.get(fd) is None
    finally:
        b.close()
        c.close()
        d.close()


@pytest.mark.parametrize("again", ["int", "object"])
def test_an_object_closed_while_watched_gives_its_number_to_a_new_file_for_the_same_event(
    loop, again
):
    # Watched as an object, closed without unwatching, its number reused: the entry
    # is stale (the object says so), so watching the number again for the *same*
    # event registers the new file, rather than only swapping the handle.
    a, b = socket.socketpair()
    fd = a.fileno()
    old = _handle(loop)
    loop._io.watch(a, _poller.EVENT_READ, old)
    a.close()
    b.close()
    c, d = socket.socketpair()
    try:
        if d.fileno() == fd:
            c, d = d, c
        if c.fileno() != fd:
            pytest.skip("the OS did not reuse the fd number")
        got = []
        loop._add_reader(fd if again == "int" else c, lambda: (got.append(c.recv(10)), loop.stop()))
        assert old.cancelled()
        d.send(b"again")
        loop.call_later(5, loop.stop)  # a failure ends the test instead of hanging it
        loop.run_forever()
        assert got == [b"again"]
        assert loop._remove_reader(fd) is True
        assert loop._io.get(fd) is None
    finally:
        c.close()
        d.close()


def test_an_object_detached_while_watched_can_be_watched_again_in_a_new_object(loop, pair):
    # Detached, not closed: the same file, still registered with the kernel, now in
    # a new object. Watching it again must work (epoll says EEXIST to a new ADD).
    a, b = pair
    loop._io.watch(a, _poller.EVENT_READ, _handle(loop))
    fd = a.detach()
    again = socket.socket(fileno=fd)
    try:
        got = []
        loop._add_reader(again, lambda: (got.append(again.recv(10)), loop.stop()))
        b.send(b"same file")
        loop.call_later(5, loop.stop)
        loop.run_forever()
        assert got == [b"same file"]
        assert loop._remove_reader(again) is True
    finally:
        again.close()


def test_events_of_a_dup_of_an_unwatched_fd_are_not_reported(loop, pair):
    # epoll keeps a (fd, file description) pair alive while a dup refers to it;
    # the table decides what is reported.
    a, b = pair
    dup = os.dup(a.fileno())
    try:
        loop._add_reader(a.fileno(), print)
        fd = a.fileno()
        a.detach()
        os.close(fd)  # closed without unwatching: the dup keeps it alive for epoll
        assert loop._remove_reader(fd) is True
        b.send(b"x")
        assert loop._io.poll(0) == []
    finally:
        os.close(dup)


def test_wake_from_another_thread_ends_a_poll_without_timeout(loop):
    thread = threading.Thread(target=loop._io.wake)
    thread.start()
    events = loop._io.poll(None)
    thread.join()
    assert [w.fd for w, _ in events] == [loop._io.self_pipe_fd]
    assert loop._io.drain_self_pipe() == b"\0"
    assert loop._io.drain_self_pipe() == b""


def test_close_releases_the_fd_table_and_the_self_pipe_and_is_idempotent(loop):
    io = loop._io
    loop.close()
    assert len(io) == 0
    assert io.wake() is False
    assert io.drain_self_pipe() == b""
    io.close()


def test_closed_fds_harmless_says_whether_poll_survives_an_fd_closed_while_watched(loop):
    a, b = socket.socketpair()
    loop._io.watch(a, _poller.EVENT_READ, _handle(loop))
    a.close()
    try:
        if loop._io.closed_fds_harmless:
            loop._io.poll(0)  # forgotten (epoll, kqueue) or reported (poll, /dev/poll)
        else:
            assert isinstance(loop._io, _poller.SelectorPoller)
            assert isinstance(loop._io.selector, selectors.SelectSelector)
            with pytest.raises(OSError):
                loop._io.poll(0)
    finally:
        loop._io.unwatch(a, _poller.EVENT_READ)
        b.close()
