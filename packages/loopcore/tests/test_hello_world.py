"""The seed examples of the 3.4 docs, "Hello World (callback)" and "Hello World
(coroutine)", on loopcore alone (BaseEventLoop, no upper layer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import loopcore
from loopcore import policies
from loopcore.base_loop import BaseEventLoop

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


class LoopcoreAlonePolicy(loopcore.DefaultEventLoopPolicy):
    """get_event_loop() gives a plain BaseEventLoop, whatever else is installed."""

    _loop_factory = BaseEventLoop


@pytest.fixture(autouse=True)
def loopcore_alone():
    saved = policies._policy
    loopcore.set_event_loop_policy(LoopcoreAlonePolicy())
    yield
    policies._policy = saved


def test_hello_world_callback_runs_on_loopcore_alone(capsys):
    def hello_world(loop):
        print("Hello World")
        loop.stop()

    loop = loopcore.get_event_loop()
    assert type(loop) is BaseEventLoop
    # Schedule a call to hello_world()
    loop.call_soon(hello_world, loop)
    # Blocking call interrupted by loop.stop()
    loop.run_forever()
    iterations = loop._iterations
    loop.close()
    assert capsys.readouterr().out == "Hello World\n"
    assert iterations <= 2  # one to run hello_world, at most one more for stop


def test_hello_world_coroutine_runs_on_loopcore_alone_and_stops_after_a_few_iterations(capsys):
    @loopcore.coroutine
    def greet_every_two_seconds(times):
        # The 3.4 example loops forever with a 2 s sleep; a few short rounds here.
        for _ in range(times):
            print("Hello World")
            yield from loopcore.sleep(0.01)

    loop = loopcore.get_event_loop()
    assert type(loop) is BaseEventLoop
    try:
        loop.run_until_complete(greet_every_two_seconds(3))
        iterations = loop._iterations
    finally:
        loop.close()
    assert capsys.readouterr().out == "Hello World\n" * 3
    assert iterations < 50


def test_hello_world_native_coroutine_runs_on_loopcore_alone(capsys):
    async def hello_world():
        print("Hello World!")

    loop = loopcore.get_event_loop()
    try:
        # Blocking call which returns when the hello_world() coroutine is done
        loop.run_until_complete(hello_world())
    finally:
        loop.close()
    assert capsys.readouterr().out == "Hello World!\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hello_callback.py", ["Hello World", "run_forever() returned"]),
        ("hello_coroutine.py", ["Hello World (3 of 3)", "returned 'done'"]),
    ],
)
def test_docs_hello_world_examples_run_and_say_what_they_did(name, expected):
    path = EXAMPLES / name
    if not path.exists():
        pytest.skip("the docs examples are not part of this checkout")
    assert path.read_text().splitlines()[0] == "# requires: loopcore"
    out = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for text in expected:
        assert text in out
