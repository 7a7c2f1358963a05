"""The loop's POSIX signal handlers (``add_signal_handler``/``remove_signal_handler``).

How a signal reaches a loop callback, and why that way: Python runs signal handlers
in the main thread between two bytecodes of whatever it was doing, which is no place
to run a loop callback. So the Python-level handler does nothing
(:func:`_sighandler_noop`); the C-level handler writes the signal number to the fd
given to :func:`signal.set_wakeup_fd`, which is the write end of the loop's
self-pipe (``loop._io.wakeup_fd``). That byte wakes a loop asleep in its poller; the
loop reads it (``BaseEventLoop._read_from_self``) and :meth:`SignalHandlers.dispatch`
queues the handler's :class:`~loopcore.Handle`, which then runs between other
callbacks like any other.

The wake-up fd is process-wide, so it is claimed when the first handler is added
and the previous one restored when the last is removed.

Not thread-safe: adding and removing handlers works only in the main thread (the
only one :func:`signal.signal` accepts).
"""

from __future__ import annotations

import errno
import logging
import signal
import threading
import warnings
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .handles import Handle

__all__ = ["SignalHandlers", "check_main_thread", "check_signal"]

logger = logging.getLogger("loopcore")

# Signals no program can catch: refused by add_signal_handler(), never registered.
_UNCATCHABLE_SIGNALS = frozenset(
    getattr(signal, name) for name in ("SIGKILL", "SIGSTOP") if hasattr(signal, name)
)


def _sighandler_noop(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler of a signal the loop handles.

    The real work is done by the C-level handler, which writes the signal number to
    the wake-up fd (``signal.set_wakeup_fd``); the loop reads it and runs the
    callback between other callbacks, never in the middle of one.
    """


def check_signal(sig: int) -> None:
    """Refuse what is not a signal number, with asyncio's exceptions and wording
    (the same on CPython 3.11 to 3.13).

    :raises TypeError: if *sig* is not an int.
    :raises ValueError: if it is not a valid signal number here.
    """
    if not isinstance(sig, int):
        raise TypeError(f"sig must be an int, not {sig!r}: pass a signal.SIG* number")
    if sig not in signal.valid_signals():
        raise ValueError(
            f"invalid signal number {sig}: not in signal.valid_signals() on this platform"
        )


def check_main_thread(method: str) -> None:
    """:raises RuntimeError: outside the main thread, naming *method*."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError(
            f"{method}() works only in the main thread (signals are delivered there); "
            f"called from thread {threading.current_thread().name!r}"
        )


class SignalHandlers:
    """One loop's signal handlers and the wake-up fd it claimed for them.

    :param wakeup_fd: the write end of the loop's self-pipe.
    :param ready_append: appends a handle to the loop's ready queue.
    """

    def __init__(self, wakeup_fd: int, ready_append: Callable[[Handle], None]) -> None:
        self._wakeup_fd = wakeup_fd
        self._ready_append = ready_append
        #: signal number -> the handle to queue when it arrives.
        self.handlers: dict[int, Handle] = {}
        #: The wake-up fd in place before the first handler was added (None while
        #: this loop has no handler).
        self.saved_wakeup_fd: int | None = None

    def __bool__(self) -> bool:
        return bool(self.handlers)

    def add(self, sig: int, handle: Handle) -> None:
        """Queue *handle* whenever *sig* arrives, replacing any handler *sig* had.

        The loop checks the callback, the signal number and that it is open first
        (asyncio's order); this checks the rest.

        :raises RuntimeError: outside the main thread, for ``SIGKILL``/``SIGSTOP``
            or another signal the OS refuses, or if the wake-up fd cannot be set.
        """
        check_main_thread("add_signal_handler")
        if sig in _UNCATCHABLE_SIGNALS:
            # signal.signal() would refuse it too (EINVAL), after the wake-up fd was
            # set up; say so first, as asyncio words it, and why.
            raise RuntimeError(
                f"sig {sig} cannot be caught: {signal.Signals(sig).name} cannot be caught "
                "or handled by any program"
            )
        if self.saved_wakeup_fd is None:
            try:
                self.saved_wakeup_fd = signal.set_wakeup_fd(
                    self._wakeup_fd, warn_on_full_buffer=False
                )
            except (ValueError, OSError) as exc:
                raise RuntimeError(f"cannot set the signal wake-up fd: {exc}")
        previous = self.handlers.get(sig)
        self.handlers[sig] = handle
        try:
            signal.signal(sig, _sighandler_noop)
            # SA_RESTART: system calls in other code are not interrupted by it.
            signal.siginterrupt(sig, False)
        except OSError as exc:
            if previous is None:
                del self.handlers[sig]
            else:
                self.handlers[sig] = previous
            if not self.handlers:
                self.restore_wakeup_fd()
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig} cannot be caught (signal.signal(): {exc})")
            raise

    def remove(self, sig: int) -> bool:
        """Remove the handler of *sig*; its default disposition comes back
        (``SIGINT``: :func:`signal.default_int_handler`).

        :returns: True if there was one.
        :raises RuntimeError: outside the main thread (when there is one to remove).
        """
        check_signal(sig)
        if sig not in self.handlers:
            return False
        check_main_thread("remove_signal_handler")
        del self.handlers[sig]
        handler = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, handler)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig} cannot be caught (signal.signal(): {exc})")
            raise
        if not self.handlers:
            self.restore_wakeup_fd()
        return True

    def restore_wakeup_fd(self) -> None:
        """Give the process back the wake-up fd it had before the first handler."""
        saved = self.saved_wakeup_fd
        if saved is None:
            return
        self.saved_wakeup_fd = None
        if saved == self._wakeup_fd:
            # Our own self-pipe (claimed by loopcore.run() for Ctrl-C): never leave
            # the wake-up fd on a socket that close() is about to release.
            saved = -1
        try:
            signal.set_wakeup_fd(saved)
        except (ValueError, OSError) as exc:
            logger.info("could not restore the signal wake-up fd %d: %s", saved, exc)

    def remove_all(self, owner: object) -> None:
        """Remove every handler (the loop is closing). Outside the main thread that
        is impossible: warn with a :class:`ResourceWarning` naming *owner* and forget
        them."""
        if not self.handlers:
            return
        if threading.current_thread() is threading.main_thread():
            for sig in list(self.handlers):
                self.remove(sig)
        else:
            warnings.warn(
                f"closing the loop {owner!r} outside the main thread: its signal handlers "
                f"for {sorted(self.handlers)} could not be removed",
                ResourceWarning,
                stacklevel=2,
                source=owner,
            )
            self.handlers.clear()

    def dispatch(self, data: bytes) -> None:
        """Queue the handler of each signal number in *data* (bytes read from the
        self-pipe; zero bytes are plain wake-ups). A cancelled handler is removed
        instead."""
        for signum in data:
            if not signum:
                continue
            handle = self.handlers.get(signum)
            if handle is None:
                continue
            if handle._cancelled:
                self.remove(signum)
            else:
                self._ready_append(handle)
