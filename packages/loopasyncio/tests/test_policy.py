"""EventLoopPolicy and install(): asyncio's policy machinery hands out our loop."""

from __future__ import annotations

import asyncio
import sys
import warnings
from collections.abc import Iterator

import pytest

import loopasyncio


@pytest.fixture
def restore_policy() -> Iterator[None]:
    before = asyncio.get_event_loop_policy()
    try:
        yield
    finally:
        asyncio.set_event_loop_policy(before)


def test_policy_new_event_loop_makes_our_loop(restore_policy):
    policy = loopasyncio.EventLoopPolicy()
    loop = policy.new_event_loop()
    try:
        assert type(loop) is loopasyncio.EventLoop
    finally:
        loop.close()


def test_asyncio_run_uses_the_installed_policy(restore_policy):
    asyncio.set_event_loop_policy(loopasyncio.EventLoopPolicy())

    async def main():
        return type(asyncio.get_running_loop())

    assert asyncio.run(main()) is loopasyncio.EventLoop


def test_install_sets_the_policy(restore_policy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loopasyncio.install()
    assert isinstance(asyncio.get_event_loop_policy(), loopasyncio.EventLoopPolicy)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="policies are deprecated from 3.12 on")
def test_install_warns_deprecation_from_python_3_12(restore_policy):
    with pytest.warns(DeprecationWarning, match="loopasyncio.run"):
        loopasyncio.install()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.11 has no deprecation")
def test_install_does_not_warn_on_python_3_11(restore_policy):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loopasyncio.install()


def test_child_watcher_is_refused_with_a_reason():
    policy = loopasyncio.EventLoopPolicy()
    with pytest.raises(NotImplementedError, match="reaps its child processes itself"):
        policy.get_child_watcher()
    with pytest.raises(NotImplementedError, match="set_child_watcher"):
        policy.set_child_watcher(None)
