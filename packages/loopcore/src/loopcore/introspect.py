"""The live task tree: what every pending task is waiting for, and who waits for it.

:func:`task_tree` answers "what is my program waiting on right now?" for one loop:
for each pending task, its name, its coroutine stack, where it was created (debug
mode records it), what it awaits (a future, another task, a ``gather``, a
``TaskGroup``, a ``sleep`` deadline, a ``timeout()`` deadline, and whatever an upper
layer registered: a lock, a queue, a socket...) and the tasks it waits for, nested
below it. :func:`format_task_tree` prints the same for a person.

How the awaited object is found, from the most to the least precise:

1. The task's coroutine stack is walked from the outermost frame in; the first
   frame whose ``self`` is an instance of a class with a registered describer (see
   :func:`register_describer`) says what the task waits for (so a ``Barrier`` is
   named rather than the ``Condition`` it uses inside). This is how an upper
   layer (``loopsync``'s ``Lock.acquire``, ``Queue.get``...) describes its objects
   without loopcore importing it. A task suspended in one of the loop's socket
   coroutines (``sock_recv``, ``sock_accept``...) is shown waiting on that socket.
2. Otherwise, the future the task is suspended on (``task._fut_waiter``): a task, a
   ``gather``, a future some timer resolves (``sleep``), or a plain future.

Tasks awaited by another task (directly, through ``gather``, or as members of a
``TaskGroup`` whose body runs in that task) are its children in the tree; the others
are roots.

Call these functions from the loop's thread (or while it is stopped): they read the
loop's state without locks. The monitor (``loop.enable_monitor``) does exactly that,
through ``call_soon_threadsafe``.

Upper layers also register the resources they open (:func:`register_resource`), so
that the monitor can list them and the debug-mode leak report can name those never
closed.
"""

from __future__ import annotations

import linecache
import os
import socket
import threading
import traceback
import weakref
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, TypeGuard

from . import futures, tasks
from .handles import TimerHandle, format_callback

if TYPE_CHECKING:
    from .events import AbstractEventLoop

__all__ = [
    "describe_awaitable",
    "format_task_tree",
    "open_resources",
    "register_describer",
    "register_resource",
    "task_tree",
]

#: What a describer returns: a JSON-able mapping with at least ``kind`` (a short word
#: such as ``"lock"``) and ``description`` (one line for a person). Optional keys:
#: ``deadline`` (loop time), ``tasks`` (tasks waited for, which become children).
Description = dict[str, object]
Describer = Callable[[object], Description]

_describers: dict[type, Describer] = {}
_describers_lock = threading.Lock()

# Open resources (transports, servers...) per loop; weak, so that registering never
# keeps anything alive.
_resources: weakref.WeakKeyDictionary[object, weakref.WeakSet[object]] = weakref.WeakKeyDictionary()
# Kinds are per class ("socket transport"), so a plain dict keyed by type is enough:
# a per-object weak mapping would cost every connection two more weak references.
_resource_kinds: dict[type, str] = {}
_resource_origins: weakref.WeakKeyDictionary[object, traceback.StackSummary] = (
    weakref.WeakKeyDictionary()
)


def register_describer(cls: type, func: Describer) -> None:
    """Describe instances of *cls* (and its subclasses) with ``func(obj)``.

    Used for objects that a task waits *on* while one of their methods is on its
    coroutine stack (a lock in ``acquire()``, a queue in ``get()``, a transport's
    socket in ``sock_recv()``...). *func* returns a :data:`Description` (``kind`` and
    ``description`` at least) and must not block or schedule anything. Registering
    *cls* again replaces its describer.

    :raises TypeError: if *cls* is not a class or *func* is not callable.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_describer() needs a class, got {cls!r}")
    if not callable(func):
        raise TypeError(f"register_describer() needs a callable describer, got {func!r}")
    with _describers_lock:
        _describers[cls] = func


def _describer_for(obj: object) -> Describer | None:
    if not _describers:
        return None
    for klass in type(obj).__mro__:
        func = _describers.get(klass)
        if func is not None:
            return func
    return None


def register_resource(loop: AbstractEventLoop, resource: object, kind: str) -> None:
    """Record *resource* (a transport, a server...) as open on *loop*.

    Held weakly. :func:`open_resources` lists those still alive and not closed
    (``is_closing()`` false, when the object has that method); the debug-mode leak
    report of ``loop.close()`` names them with where they were registered (in debug
    mode). There is no "unregister": closing is detected through ``is_closing()``
    (or ``is_serving()`` for servers), and the weak reference goes with the object.

    :raises TypeError: if *resource* cannot be referenced weakly.
    """
    try:
        refs = _resources.get(loop)
        if refs is None:
            refs = _resources[loop] = weakref.WeakSet()
        refs.add(resource)
        rtype = type(resource)
        if _resource_kinds.get(rtype) != kind:
            _resource_kinds[rtype] = str(kind)
    except TypeError:
        raise TypeError(
            f"register_resource() needs an object that supports weak references, got {resource!r}"
        ) from None
    if loop.get_debug():
        _resource_origins[resource] = traceback.StackSummary.from_list(
            traceback.extract_stack(limit=12)[:-1]
        )


def _is_open(resource: object) -> bool:
    is_closing = getattr(resource, "is_closing", None)
    if callable(is_closing):
        try:
            return not is_closing()
        except Exception:
            return False
    is_serving = getattr(resource, "is_serving", None)
    if callable(is_serving):
        try:
            return bool(is_serving())
        except Exception:
            return False
    return True


def open_resources(loop: AbstractEventLoop) -> list[dict[str, object]]:
    """The resources registered on *loop* that are still open, as JSON-able dicts
    (``kind``, ``repr``, ``id``, ``created_at`` frames when recorded)."""
    refs = _resources.get(loop)
    if not refs:
        return []
    found = []
    for resource in list(refs):
        if not _is_open(resource):
            continue
        origin = _resource_origins.get(resource)
        found.append(
            {
                "kind": _resource_kinds.get(type(resource), "resource"),
                "id": id(resource),
                "repr": _short_repr(resource),
                "created_at": _frames_of_summary(origin) if origin else None,
            }
        )
    return found


def _open_resource_objects(loop: AbstractEventLoop) -> list[object]:
    refs = _resources.get(loop)
    return [r for r in list(refs) if _is_open(r)] if refs else []


def _resource_origin(resource: object) -> traceback.StackSummary | None:
    return _resource_origins.get(resource)


# -- Describing what a task waits for ------------------------------------------------------


def _short_repr(obj: object, limit: int = 160) -> str:
    try:
        text = repr(obj)
    except Exception as exc:  # a broken __repr__ must not break the monitor
        text = f"<{type(obj).__name__} (repr failed: {exc!r})>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _timer_index(loop: AbstractEventLoop) -> dict[int, TimerHandle]:
    """Pending timers by the id of each future among their arguments (sleep's)."""
    index: dict[int, TimerHandle] = {}
    for timer in getattr(loop, "_scheduled", ()):
        if timer._cancelled or not timer._args:
            continue
        for arg in timer._args:
            if futures.isfuture(arg):
                index[id(arg)] = timer
    return index


def _timeouts_by_task(loop: AbstractEventLoop) -> dict[int, TimerHandle]:
    """Pending ``timeout()`` timers by the id of the task they will cancel."""
    found: dict[int, TimerHandle] = {}
    for timer in getattr(loop, "_scheduled", ()):
        if timer._cancelled:
            continue
        owner = getattr(timer._callback, "__self__", None)
        task = getattr(owner, "_task", None)
        if task is not None and getattr(timer._callback, "__name__", "") == "_on_timeout":
            found[id(task)] = timer
    return found


def describe_awaitable(obj: object, loop: AbstractEventLoop | None = None) -> Description:
    """Describe *obj*, something a task waits for, as a JSON-able dict.

    Uses a registered describer when there is one, else knows loopcore's own
    objects: :class:`~loopcore.Task`, ``gather``'s future, a future resolved by a
    timer (``sleep``), any other future. Never raises: a failing describer is
    reported in the description.
    """
    func = _describer_for(obj)
    if func is not None:
        try:
            described = dict(func(obj))
        except Exception as exc:
            return {
                "kind": "unknown",
                "description": f"{_short_repr(obj)} (describer failed: {exc!r})",
            }
        described.setdefault("kind", type(obj).__name__.lower())
        described.setdefault("description", _short_repr(obj))
        return described
    if _is_task(obj):
        return {"kind": "task", "description": f"task {obj.get_name()!r}", "tasks": [obj]}
    children = getattr(obj, "_children", None)
    if futures.isfuture(obj) and isinstance(children, list):
        pending = [c for c in children if not c.done()]
        return {
            "kind": "gather",
            "description": f"gather of {len(children)} ({len(pending)} pending)",
            "tasks": [c for c in pending if _is_task(c)],
        }
    if futures.isfuture(obj):
        loop = loop if loop is not None else getattr(obj, "_loop", None)
        timer = _timer_index(loop).get(id(obj)) if loop is not None else None
        if timer is not None and loop is not None:
            deadline = timer.when()
            left = deadline - loop.time()
            if getattr(timer._callback, "__name__", "") == "_set_result_unless_cancelled":
                what = f"sleep until loop time {deadline:.3f} (in {left:.3f} s)"
            else:
                what = (
                    f"a future resolved by the timer {format_callback(timer._callback)} "
                    f"at loop time {deadline:.3f} (in {left:.3f} s)"
                )
            return {"kind": "sleep", "description": what, "deadline": deadline}
        callbacks = obj._done_callbacks() if isinstance(obj, futures.Future) else ()
        if any(isinstance(getattr(cb, "__self__", None), futures._Chain) for cb, _ in callbacks):
            # wrap_future()/run_in_executor(): the result comes from another thread.
            return {
                "kind": "thread",
                "description": "a result from another thread (concurrent.futures.Future, "
                "e.g. run_in_executor or to_thread)",
            }
        return {"kind": "future", "description": _short_repr(obj)}
    return {"kind": type(obj).__name__.lower(), "description": _short_repr(obj)}


def _frames(task: tasks.Task[object]) -> list[FrameType]:
    if not _is_loopcore_task(task) and not task.done():
        # A task of a registered library (see loopcore.tasks.TaskSource; asyncio's
        # get_stack() stops at the task's own coroutine): walk the chain of awaited
        # coroutines, as loopcore's Task.get_stack() does.
        return _await_chain(task.get_coro())
    try:
        return task.get_stack()
    except Exception:
        return []


def _is_loopcore_task(obj: object) -> bool:
    return isinstance(obj, tasks.Task)


def _await_chain(coro: object) -> list[FrameType]:
    """The frames of *coro* and of what it awaits, outermost first."""
    frames: list[FrameType] = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if not isinstance(frame, FrameType):
            break
        frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return frames


def _frame_info(frame: FrameType) -> dict[str, object]:
    code = frame.f_code
    lineno = frame.f_lineno or code.co_firstlineno
    linecache.checkcache(code.co_filename)
    return {
        "file": code.co_filename,
        "line": lineno,
        "function": code.co_name,
        "code": linecache.getline(code.co_filename, lineno).strip(),
    }


def _frames_of_summary(
    summary: traceback.StackSummary | list[traceback.FrameSummary],
) -> list[dict[str, object]]:
    return [
        {"file": f.filename, "line": f.lineno, "function": f.name, "code": (f.line or "").strip()}
        for f in summary
    ]


# The socket coroutines of the loop contract (AbstractEventLoop): a task suspended in
# one of them waits on the socket it was given as ``sock``.
_SOCK_METHODS = frozenset(
    {
        "sock_accept",
        "sock_connect",
        "sock_recv",
        "sock_recv_into",
        "sock_recvfrom",
        "sock_recvfrom_into",
        "sock_sendall",
        "sock_sendfile",
        "sock_sendto",
    }
)


def _describe_socket(sock: socket.socket) -> str:
    try:
        fd = sock.fileno()
    except OSError:
        fd = -1
    text = f"socket fd={fd}"
    try:
        text += f" {sock.getsockname()!r}"
    except OSError:
        pass
    try:
        text += f" -> {sock.getpeername()!r}"
    except OSError:
        pass
    return text


def _owner_description(frames: list[FrameType]) -> Description | None:
    """A registered describer for the ``self`` of the outermost frame that has one:
    the object the user's code called (a Barrier), not the one it uses inside (its
    Condition)."""
    for frame in frames:
        if frame.f_code.co_name in _SOCK_METHODS:
            sock = frame.f_locals.get("sock")
            if isinstance(sock, socket.socket):
                return {
                    "kind": "socket",
                    "description": f"{frame.f_code.co_name}() on {_describe_socket(sock)}",
                }
        if not _describers:
            continue
        owner = frame.f_locals.get("self")
        if owner is None:
            continue
        func = _describer_for(owner)
        if func is not None:
            return describe_awaitable(owner)
    return None


def _is_task(obj: object) -> TypeGuard[tasks.Task[object]]:
    """A loopcore task, or a task of a library registered with
    :func:`loopcore.tasks.register_task_source` (a future with a coroutine)."""
    return isinstance(obj, tasks.Task) or (
        futures.isfuture(obj) and callable(getattr(obj, "get_coro", None))
    )


def _callbacks_of(task: object) -> list[tuple[object, object]]:
    """The done callbacks of *task*, as ``(callback, context)`` pairs: loopcore's
    accessor, or the ``_callbacks`` list asyncio's tasks expose."""
    if isinstance(task, tasks.Task):
        return list(task._done_callbacks())
    return list(getattr(task, "_callbacks", None) or ())


def _taskgroup_of(task: tasks.Task[object]) -> object | None:
    """The TaskGroup *task* belongs to (found through its done callback)."""
    for callback, _ctx in _callbacks_of(task):
        owner: object = getattr(callback, "__self__", None)
        if owner is not None and type(owner).__name__ == "TaskGroup" and hasattr(owner, "_tasks"):
            return owner
    return None


def _task_node(
    task: tasks.Task[object],
    loop: AbstractEventLoop,
    timeouts: dict[int, TimerHandle],
) -> tuple[dict[str, object], list[tasks.Task[object]]]:
    """One node (without children) and the tasks it waits for."""
    frames = _frames(task)
    waiter = task._fut_waiter
    awaiting = _owner_description(frames)
    if awaiting is None:
        if waiter is not None:
            awaiting = describe_awaitable(waiter, loop)
        elif task is tasks.current_task(loop):
            awaiting = {"kind": "running", "description": "running now"}
        else:
            awaiting = {"kind": "ready", "description": "scheduled to run (ready queue)"}
    waited: list[tasks.Task[object]] = []
    for child in awaiting.pop("tasks", None) or ():  # type: ignore[attr-defined]
        if _is_task(child):
            waited.append(child)
    if waiter is not None and awaiting.get("kind") == "future":
        # A TaskGroup's __aexit__ waits on a plain future: say so.
        for frame in reversed(frames):
            owner = frame.f_locals.get("self")
            if owner is not None and type(owner).__name__ == "TaskGroup":
                members = [t for t in getattr(owner, "_tasks", ()) if not t.done()]
                awaiting = {
                    "kind": "taskgroup",
                    "description": f"TaskGroup exit: {len(members)} task(s) still running",
                }
                break
    timeout = timeouts.get(id(task))
    if timeout is not None:
        awaiting["timeout"] = timeout.when()
    source = task._source_traceback
    node: dict[str, object] = {
        "id": id(task),
        "name": task.get_name(),
        "coro": tasks._format_coroutine(task.get_coro()),
        "awaiting": awaiting,
        "stack": [_frame_info(f) for f in frames],
        "created_at": _frames_of_summary(source) if source else None,
        "cancelling": task.cancelling(),
        "children": [],
    }
    return node, waited


def task_tree(loop: AbstractEventLoop) -> list[dict[str, object]]:
    """The pending tasks of *loop* as a forest of JSON-able dicts.

    Each node: ``id``, ``name``, ``coro`` (the coroutine and where it is suspended),
    ``awaiting`` (``kind``, ``description``, and ``deadline``/``timeout`` in loop time
    when a timer is involved), ``stack`` (frames outermost first: ``file``, ``line``,
    ``function``, ``code``), ``created_at`` (frames, or ``None`` outside debug mode),
    ``cancelling`` and ``children`` (the nodes of the tasks it waits for). Roots are
    the tasks no other pending task waits for, sorted by name.

    Call it from the loop's thread or while the loop is stopped.
    """
    pending = sorted(tasks.all_tasks(loop), key=lambda t: (t.get_name(), id(t)))
    timeouts = _timeouts_by_task(loop)
    nodes: dict[int, dict[str, object]] = {}
    edges: dict[int, list[tasks.Task[object]]] = {}
    for task in pending:
        nodes[id(task)], edges[id(task)] = _task_node(task, loop, timeouts)
    # TaskGroup members are children of the task running the group's body.
    for task in pending:
        group = _taskgroup_of(task)
        parent = getattr(group, "_parent_task", None)
        if parent is not None and id(parent) in nodes and task not in edges[id(parent)]:
            edges[id(parent)].append(task)
    has_parent: set[int] = set()
    for parent_id, children in edges.items():
        for child in children:
            if id(child) in nodes and id(child) != parent_id and id(child) not in has_parent:
                has_parent.add(id(child))
                nodes[parent_id]["children"].append(nodes[id(child)])  # type: ignore[attr-defined]
    # A cycle (impossible with real awaits, possible with odd describers) leaves no
    # root; fall back to listing every task flat rather than losing it.
    roots = [nodes[id(t)] for t in pending if id(t) not in has_parent]
    if pending and not roots:
        for node in nodes.values():
            node["children"] = []
        roots = list(nodes.values())
    return roots


def _walk(
    nodes: list[dict[str, object]], depth: int = 0
) -> Iterator[tuple[int, dict[str, object]]]:
    for node in nodes:
        yield depth, node
        yield from _walk(node["children"], depth + 1)  # type: ignore[arg-type]


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

# The packages of the stack: frames in them are machinery, not the user's code.
_STACK_PACKAGES = frozenset({"loopcore", "looptransports", "loopsync", "loopstreams"})


def _is_internal_file(filename: str) -> bool:
    """True for a file of loopcore or of an upper layer of the stack (its frames say
    nothing about which user code created an object)."""
    if filename.startswith(_PACKAGE_DIR):
        return True
    parts = os.path.normpath(filename).split(os.sep)
    if len(parts) < 3:
        return False
    return parts[-2] in _STACK_PACKAGES or parts[-3:-1] == ["loopcore", "testing"]


_FUTURES_FILE = futures.__file__


def _outside_loopcore(frames: list[dict[str, object]]) -> dict[str, object]:
    """The innermost frame outside the stack's own code (where the user created the
    object), else the innermost frame."""
    for frame in reversed(frames):
        if not _is_internal_file(str(frame["file"])):
            return frame
    return frames[-1]


def format_task_tree(
    loop: AbstractEventLoop | None = None,
    *,
    tree: list[dict[str, object]] | None = None,
    stack: bool = True,
) -> str:
    """:func:`task_tree` as indented text, one block per task.

    Pass *tree* (a result of :func:`task_tree`, possibly received as JSON) instead of
    *loop* to format a tree taken elsewhere; *stack* false leaves out the
    coroutine stacks.

    :raises TypeError: if neither *loop* nor *tree* is given.
    """
    if tree is None:
        if loop is None:
            raise TypeError("format_task_tree() needs a loop or a tree")
        tree = task_tree(loop)
    if not tree:
        return "(no pending tasks)\n"
    lines: list[str] = []
    for depth, node in _walk(tree):
        pad = "    " * depth
        awaiting = node.get("awaiting") or {}
        assert isinstance(awaiting, dict)
        extra = ""
        if awaiting.get("timeout") is not None:
            extra = f" (timeout at {float(awaiting['timeout']):.3f})"
        cancelling = f" cancelling={node['cancelling']}" if node.get("cancelling") else ""
        lines.append(f"{pad}* {node['name']}{cancelling}: {node['coro']}")
        lines.append(
            f"{pad}    awaiting [{awaiting.get('kind')}] {awaiting.get('description')}{extra}"
        )
        created = node.get("created_at")
        if created:
            origin = _outside_loopcore(created)  # type: ignore[arg-type]
            lines.append(
                f"{pad}    created at {origin['file']}:{origin['line']} in {origin['function']}"
            )
        if stack:
            for frame in node.get("stack") or ():  # type: ignore[attr-defined]
                if frame["file"] == _FUTURES_FILE and frame["function"] == "__await__":
                    continue  # every await of a future ends there: noise
                code = f": {frame['code']}" if frame.get("code") else ""
                lines.append(
                    f"{pad}    | {frame['file']}:{frame['line']} in {frame['function']}{code}"
                )
    return "\n".join(lines) + "\n"
