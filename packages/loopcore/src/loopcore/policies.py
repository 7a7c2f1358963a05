"""Event loop policies: which loop ``get_event_loop()`` returns, and which class
``new_event_loop()`` makes.

The 3.4 model (PEP 3156): a process has one policy; the policy keeps one "current"
loop per thread. We keep the 3.4 behaviour of ``get_event_loop()``: it never returns
``None``; it returns the running loop when one runs; in the main thread it creates
a loop on first use; in other threads it raises unless ``set_event_loop()`` was
called there. (CPython 3.14 stopped creating loops implicitly; see the differences
page.)

Which class is the default: the most capable loop installed. ``loopcore`` alone
has :class:`~loopcore.base_loop.BaseEventLoop` (no sockets); ``looptransports``
declares its ``SelectorEventLoop`` under the entry-point group
``loopcore.event_loops`` with the name ``selector``. ``loopcore`` never imports an
upper layer by name: it asks :mod:`importlib.metadata`, once.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable

from . import events
from .events import AbstractEventLoop

__all__ = [
    "AbstractEventLoopPolicy",
    "DefaultEventLoopPolicy",
    "get_event_loop",
    "get_event_loop_policy",
    "new_event_loop",
    "set_event_loop",
    "set_event_loop_policy",
]

#: The entry-point group where layers above declare their loop classes.
ENTRY_POINT_GROUP = "loopcore.event_loops"

#: Entry-point names, most capable first. Others in the group are ignored.
_PREFERRED_LOOPS = ("selector",)


@functools.cache
def _default_loop_class() -> Callable[[], AbstractEventLoop]:
    """The loop class ``new_event_loop()`` uses by default (looked up once).

    The first name of :data:`_PREFERRED_LOOPS` found in the entry-point group
    :data:`ENTRY_POINT_GROUP` that loads, else ``BaseEventLoop``. An entry point that
    fails to load is reported with a :class:`RuntimeWarning` and skipped.
    """
    from importlib.metadata import entry_points

    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    for name in _PREFERRED_LOOPS:
        ep = found.get(name)
        if ep is None:
            continue
        try:
            cls = ep.load()
        except Exception as exc:
            warnings.warn(
                f"the event loop {ep.value!r} (entry point {name!r} of {ENTRY_POINT_GROUP!r}) "
                f"could not be loaded, falling back: {exc!r}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        if not (isinstance(cls, type) and issubclass(cls, AbstractEventLoop)):
            warnings.warn(
                f"the entry point {name!r} of {ENTRY_POINT_GROUP!r} is {cls!r}, "
                "not an AbstractEventLoop subclass; ignored",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        return cls
    from .base_loop import BaseEventLoop

    return BaseEventLoop


class AbstractEventLoopPolicy:
    """The interface of an event loop policy (PEP 3156)."""

    def get_event_loop(self) -> AbstractEventLoop:
        """The current loop of this context (never ``None``)."""
        raise NotImplementedError

    def set_event_loop(self, loop: AbstractEventLoop | None) -> None:
        """Make *loop* the current loop of this context (``None``: none)."""
        raise NotImplementedError

    def new_event_loop(self) -> AbstractEventLoop:
        """A new loop (not made current)."""
        raise NotImplementedError


class DefaultEventLoopPolicy(AbstractEventLoopPolicy):
    """The default policy: one current loop per thread.

    :meth:`get_event_loop` follows the 3.4 rules: it returns the running loop when
    one runs in this thread; otherwise the loop set with :meth:`set_event_loop`; in
    the main thread, when :meth:`set_event_loop` was never called, it creates one
    with :meth:`new_event_loop` and makes it current. It never returns ``None``.

    Subclasses may set :attr:`_loop_factory` to choose the loop class.
    """

    #: What :meth:`new_event_loop` calls; ``None`` means the default loop class
    #: (the most capable one installed).
    _loop_factory: Callable[[], AbstractEventLoop] | None = None

    class _Local(threading.local):
        loop: AbstractEventLoop | None = None
        set_called: bool = False

    def __init__(self) -> None:
        self._local = self._Local()

    def get_event_loop(self) -> AbstractEventLoop:
        """The running loop, else this thread's current loop (created in the main thread).

        :raises RuntimeError: in a thread other than the main one when no loop was set
            there, or in the main thread after ``set_event_loop(None)``.
        """
        running = events._get_running_loop()
        if running is not None:
            return running
        local = self._local
        if (
            local.loop is None
            and not local.set_called
            and threading.current_thread() is threading.main_thread()
        ):
            self.set_event_loop(self.new_event_loop())
        loop = local.loop
        if loop is None:
            raise RuntimeError(
                f"There is no current event loop in thread {threading.current_thread().name!r}: "
                "create one with new_event_loop() and set_event_loop(), or use loopcore.run()"
            )
        return loop

    def set_event_loop(self, loop: AbstractEventLoop | None) -> None:
        """Make *loop* this thread's current loop (``None``: no loop, and none is
        created implicitly any more).

        :raises TypeError: if *loop* is not an event loop.
        """
        if loop is not None and not isinstance(loop, AbstractEventLoop):
            raise TypeError(f"an event loop (AbstractEventLoop) or None was expected, got {loop!r}")
        self._local.set_called = True
        self._local.loop = loop

    def new_event_loop(self) -> AbstractEventLoop:
        """A new loop of the default class (``SelectorEventLoop`` when
        ``looptransports`` is installed, else ``BaseEventLoop``)."""
        factory = self._loop_factory
        if factory is None:
            factory = _default_loop_class()
        return factory()


_policy: AbstractEventLoopPolicy | None = None
_policy_lock = threading.Lock()


def get_event_loop_policy() -> AbstractEventLoopPolicy:
    """The process's event loop policy (a :class:`DefaultEventLoopPolicy` unless set)."""
    global _policy
    if _policy is None:
        with _policy_lock:
            if _policy is None:
                _policy = DefaultEventLoopPolicy()
    return _policy


def set_event_loop_policy(policy: AbstractEventLoopPolicy | None) -> None:
    """Install *policy* (``None``: back to a fresh default policy on next use).

    :raises TypeError: if *policy* is not an :class:`AbstractEventLoopPolicy`.
    """
    global _policy
    if policy is not None and not isinstance(policy, AbstractEventLoopPolicy):
        raise TypeError(f"an AbstractEventLoopPolicy or None was expected, got {policy!r}")
    _policy = policy


def get_event_loop() -> AbstractEventLoop:
    """The running loop when called from a coroutine or callback, else the policy's
    current loop (see :meth:`DefaultEventLoopPolicy.get_event_loop`). Never ``None``.

    :raises RuntimeError: when the policy has no loop for this thread.
    """
    running = events._get_running_loop()
    if running is not None:
        return running
    return get_event_loop_policy().get_event_loop()


def set_event_loop(loop: AbstractEventLoop | None) -> None:
    """``get_event_loop_policy().set_event_loop(loop)``."""
    get_event_loop_policy().set_event_loop(loop)


def new_event_loop() -> AbstractEventLoop:
    """``get_event_loop_policy().new_event_loop()``: a new loop, not made current."""
    return get_event_loop_policy().new_event_loop()


def _after_fork_in_child() -> None:
    # A loop belongs to the process that made it (its selector and self-pipe are
    # shared with the parent after fork): the child starts with no current loop.
    if isinstance(_policy, DefaultEventLoopPolicy):
        _policy._local = DefaultEventLoopPolicy._Local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
