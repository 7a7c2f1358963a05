"""Shared fixtures of the looptransports suite.

* Every test is checked for file-descriptor leaks: the number of open fds after
  the test (and its loop) is compared with the number before.
* Hypothesis profiles: ``ci`` (default: derandomized, 25 examples) and ``stress``
  (1000 examples), chosen by the ``HYPOTHESIS_PROFILE`` environment variable.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None)
settings.register_profile("stress", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def no_fd_leak() -> Iterator[None]:
    """Fail the test if it leaves more file descriptors open than it found."""
    gc.collect()
    before = _open_fds()
    yield
    gc.collect()
    after = _open_fds()
    leaked = after - before
    # The loop's default executor threads may still be winding down; fds are what
    # we check, and a thread holds none.
    details = []
    for fd in sorted(leaked, key=int):
        try:
            details.append(f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            pass
    if details:
        pytest.fail(f"file descriptors leaked by the test: {details}")
