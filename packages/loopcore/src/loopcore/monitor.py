"""A live view of a running loop from outside: a JSON endpoint on a Unix socket.

``loop.enable_monitor(path)`` starts a :class:`Monitor`: a background thread that
listens on the Unix socket *path*. Each client connects, optionally sends one line
naming what it wants (``all``, the default, or ``tasks``, ``timers``,
``resources``, ``telemetry``), and receives one JSON document followed by a newline;
then the connection is closed. ``python -m loopcore monitor PATH`` is such a client
that prints the answer for a person.

The monitor never blocks the loop: its thread never touches the loop's state
directly. It asks the loop, with ``call_soon_threadsafe``, to build the answer
between two callbacks, and waits for it on a :class:`concurrent.futures.Future`
with a time-out. A loop that does not answer in time (stalled in a callback, or not
running) still gets an answer: the counters (read without a lock, so possibly a few
callbacks stale), the stalls seen by the stall detector, and the loop thread's
current stack, with ``"answered": false``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import selectors
import socket
import stat
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING

from . import introspect, telemetry
from .handles import format_callback

if TYPE_CHECKING:
    from .base_loop import BaseEventLoop

__all__ = ["QUERIES", "Monitor", "enable_monitor", "query"]

#: What a client may ask for (the first line it sends; ``all`` when it sends none).
QUERIES = ("all", "tasks", "timers", "resources", "telemetry")

# How long the monitor waits for the loop to answer before answering without it.
_LOOP_ANSWER_TIMEOUT = 2.0
# How long a client has to send its query line.
_CLIENT_TIMEOUT = 1.0
# How many timers an answer lists (the earliest ones).
_MAX_TIMERS = 200


def _timers(loop: BaseEventLoop) -> list[dict[str, object]]:
    now = loop.time()
    pending = sorted((t for t in loop._scheduled if not t._cancelled), key=lambda t: t._when)
    return [
        {
            "when": t._when,
            "in": t._when - now,
            "callback": format_callback(t._callback, t._args),
        }
        for t in pending[:_MAX_TIMERS]
    ]


def _collect(loop: BaseEventLoop, query: str) -> dict[str, object]:
    """Build the answer; runs in the loop's thread, between two callbacks."""
    answer: dict[str, object] = {
        "answered": True,
        "loop": repr(loop),
        "pid": os.getpid(),
        "time": loop.time(),
        "debug": loop.get_debug(),
    }
    if query in ("all", "tasks"):
        answer["tasks"] = introspect.task_tree(loop)
    if query in ("all", "timers"):
        answer["timers"] = _timers(loop)
    if query in ("all", "resources"):
        answer["resources"] = introspect.open_resources(loop)
    if query in ("all", "telemetry"):
        answer["telemetry"] = telemetry.snapshot(loop)
    return answer


def _unanswered(loop: BaseEventLoop, query: str, reason: str) -> dict[str, object]:
    """The answer given without the loop's help (it is stalled or not running)."""
    answer: dict[str, object] = {
        "answered": False,
        "reason": reason,
        "loop": repr(loop),
        "pid": os.getpid(),
    }
    try:
        answer["telemetry"] = telemetry.snapshot(loop)
    except Exception as exc:  # read without a lock: a resize may race with us
        answer["telemetry"] = {"error": repr(exc)}
    thread_id = loop._thread_id
    frame = sys._current_frames().get(thread_id) if thread_id is not None else None
    if frame is not None:
        answer["loop_thread_stack"] = [line.rstrip("\n") for line in traceback.format_stack(frame)]
    return answer


class Monitor:
    """The monitor of one loop: a Unix socket served by a daemon thread.

    Made by :func:`enable_monitor` (``loop.enable_monitor(path)``); closed by
    :meth:`close` or when the loop closes. Thread-safe.
    """

    def __init__(self, loop: BaseEventLoop, path: str | os.PathLike[str]) -> None:
        self._loop = loop
        self._path = os.fspath(path)
        self._closed = threading.Event()
        self._sock = _bind_unix(self._path)
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        self._thread = threading.Thread(
            target=self._serve, name=f"loopcore-monitor {self._path}", daemon=True
        )
        self._thread.start()

    def __repr__(self) -> str:
        state = "closed" if self._closed.is_set() else "serving"
        return f"<Monitor {self._path!r} {state}>"

    @property
    def path(self) -> str:
        """The path of the Unix socket."""
        return self._path

    def close(self) -> None:
        """Stop serving, wait for the thread, and remove the socket file. Idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        with contextlib.suppress(OSError):
            self._wakeup_w.send(b"x")
        if self._thread is not threading.current_thread():
            self._thread.join()
        self._sock.close()
        self._wakeup_r.close()
        self._wakeup_w.close()
        with contextlib.suppress(OSError):
            os.unlink(self._path)
        if self._loop._monitor is self:
            self._loop._monitor = None

    # -- The thread ---------------------------------------------------------------------
    def _serve(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self._sock, selectors.EVENT_READ)
            sel.register(self._wakeup_r, selectors.EVENT_READ)
            while not self._closed.is_set():
                for key, _ in sel.select():
                    if key.fileobj is self._wakeup_r or self._closed.is_set():
                        return
                    try:
                        conn, _addr = self._sock.accept()
                    except OSError:
                        continue
                    with conn:
                        self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(_CLIENT_TIMEOUT)
        query = "all"
        try:
            line = _read_line(conn)
        except OSError:
            line = b""
        text = line.decode("ascii", "replace").strip().lower()
        if text:
            query = text
        if query not in QUERIES:
            payload: dict[str, object] = {
                "error": f"unknown query {query!r}; ask one of {list(QUERIES)}"
            }
        else:
            payload = self._ask_loop(query)
        data = json.dumps(payload, default=repr).encode() + b"\n"
        with contextlib.suppress(OSError):
            conn.settimeout(_LOOP_ANSWER_TIMEOUT)
            conn.sendall(data)

    def _ask_loop(self, query: str) -> dict[str, object]:
        loop = self._loop
        if loop.is_closed():
            return {"answered": False, "reason": "the loop is closed", "loop": repr(loop)}
        if not loop.is_running():
            # Nothing would run the request; answer from outside at once.
            return _unanswered(loop, query, "the loop is not running")
        result: concurrent.futures.Future[dict[str, object]] = concurrent.futures.Future()

        def build() -> None:
            if not result.set_running_or_notify_cancel():
                return
            try:
                result.set_result(_collect(loop, query))
            except BaseException as exc:
                result.set_exception(exc)

        try:
            loop.call_soon_threadsafe(build)
        except RuntimeError:
            return {"answered": False, "reason": "the loop is closed", "loop": repr(loop)}
        started = time.monotonic()
        try:
            return result.result(timeout=_LOOP_ANSWER_TIMEOUT)
        except concurrent.futures.TimeoutError:
            result.cancel()
            waited = time.monotonic() - started
            return _unanswered(
                loop, query, f"the loop did not answer within {waited:.1f} s (a callback holds it)"
            )
        except Exception as exc:
            return {
                "answered": False,
                "reason": f"building the answer failed: {exc!r}",
                "loop": repr(loop),
            }


def _read_line(conn: socket.socket, limit: int = 256) -> bytes:
    data = b""
    while b"\n" not in data and len(data) < limit:
        try:
            chunk = conn.recv(limit)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]


def _bind_unix(path: str) -> socket.socket:
    """A listening Unix socket at *path*; a stale socket file (nobody listening) is
    replaced, anything else at *path* is an error."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise FileExistsError(
                f"{path!r} exists and is not a socket: choose another monitor path"
            )
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # stale: its server is gone
        else:
            raise FileExistsError(f"another monitor is already listening on {path!r}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(8)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def enable_monitor(loop: BaseEventLoop, path: str | os.PathLike[str]) -> Monitor:
    """Serve *loop*'s task tree, timers, open resources and telemetry on the Unix
    socket *path* (``loop.enable_monitor(path)``).

    Replaces the loop's previous monitor, if any. The monitor closes with the loop.

    :returns: the :class:`Monitor` (close it to stop serving early).
    :raises RuntimeError: if the loop is closed.
    :raises FileExistsError: if *path* is taken by a live socket or another file.
    :raises OSError: if the socket cannot be bound.
    """
    if loop.is_closed():
        raise RuntimeError(f"cannot monitor a closed loop: {loop!r}")
    previous = loop._monitor
    if previous is not None:
        previous.close()
    monitor = Monitor(loop, path)
    loop._monitor = monitor
    return monitor


def query(
    path: str | os.PathLike[str], what: str = "all", *, timeout: float = 10.0
) -> dict[str, object]:
    """Ask the monitor listening on *path* for *what* (one of :data:`QUERIES`) and
    return the decoded answer. Used by ``python -m loopcore monitor``.

    :raises OSError: if nobody listens on *path* (e.g. ``ConnectionRefusedError``).
    :raises ValueError: if the answer is not JSON.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(os.fspath(path))
        sock.sendall(what.encode("ascii") + b"\n")
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    answer = json.loads(b"".join(chunks).decode())
    if not isinstance(answer, dict):
        raise ValueError(f"the monitor at {os.fspath(path)!r} sent {answer!r}, not a JSON object")
    return answer
