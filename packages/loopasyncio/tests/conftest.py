"""Shared fixtures of the loopasyncio suite.

* Every test is checked for file-descriptor leaks: the number of open fds after
  the test (and its loop) is compared with the number before.
* Hypothesis profiles: ``ci`` (default: derandomized, 25 examples) and ``stress``
  (1000 examples), chosen by the ``HYPOTHESIS_PROFILE`` environment variable.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None)
settings.register_profile("stress", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: pytest.Config) -> None:
    # A transport, socket or file collected unclosed warns ResourceWarning from
    # __del__; as an error it surfaces as an unraisable exception, which the root
    # configuration turns into a test failure.
    config.addinivalue_line("filterwarnings", "error::ResourceWarning")


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def no_fd_leak() -> Iterator[None]:
    """Fail the test if it leaves file descriptors open that it did not find."""
    before = _open_fds()
    yield
    leaked = _open_fds() - before
    if leaked:
        # An unreachable transport or socket closes its fd when collected (with a
        # ResourceWarning): collect before judging, but only when needed.
        gc.collect()
        leaked = _open_fds() - before
    details = []
    for fd in sorted(leaked, key=int):
        try:
            details.append(f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            pass  # closed in between (listdir's own fd, for one)
    if details:
        pytest.fail(f"file descriptors leaked by the test: {details}")


@pytest.fixture(autouse=True, scope="session")
def no_thread_or_child_leak() -> Iterator[None]:
    """After the whole suite: no thread still running (executor threads are given a
    few seconds to finish) and no child process left, running or zombie."""
    before = set(threading.enumerate())
    yield
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=5.0)
    alive = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    try:
        pid, _status = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        pid = -1  # no children at all
    problems = []
    if alive:
        problems.append(f"threads still running after the suite: {alive}")
    if pid == 0:
        problems.append("a child process is still running after the suite")
    elif pid > 0:
        problems.append(f"child process {pid} was left as a zombie (never reaped)")
    if problems:
        pytest.fail("; ".join(problems))
