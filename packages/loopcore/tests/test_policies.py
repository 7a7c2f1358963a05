"""Policies: get_event_loop (3.4 rules), set/new_event_loop, the policy functions,
and the default loop class found through the "loopcore.event_loops" entry points."""

from __future__ import annotations

import ast
import os
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import loopcore
from loopcore import events, policies
from loopcore.base_loop import BaseEventLoop


@pytest.fixture(autouse=True)
def fresh_policy():
    """Each test starts with no policy (a fresh default one on first use) and leaves
    the process as it found it, closing the loops it made current."""
    saved = policies._policy
    policies._policy = None
    policies._default_loop_class.cache_clear()
    yield
    policy = policies._policy
    if isinstance(policy, policies.DefaultEventLoopPolicy):
        loop = policy._local.loop
        if loop is not None and not loop.is_closed():
            loop.close()
    policies._policy = saved
    policies._default_loop_class.cache_clear()


def test_get_event_loop_returns_the_running_loop():
    loop = BaseEventLoop()
    seen = []
    try:
        loop.call_soon(lambda: seen.append(loopcore.get_event_loop()))
        loop.call_soon(lambda: seen.append(policies.get_event_loop_policy().get_event_loop()))
        loop.call_soon(loop.stop)
        loop.run_forever()
    finally:
        loop.close()
    assert seen == [loop, loop]


def test_get_event_loop_in_the_main_thread_creates_a_loop_on_first_call():
    loop = loopcore.get_event_loop()
    assert isinstance(loop, loopcore.AbstractEventLoop)
    assert loopcore.get_event_loop() is loop


def test_get_event_loop_never_returns_none():
    assert loopcore.get_event_loop() is not None
    loopcore.set_event_loop(None)
    with pytest.raises(RuntimeError, match="no current event loop"):
        loopcore.get_event_loop()


def test_get_event_loop_in_the_main_thread_returns_the_loop_that_was_set():
    loop = BaseEventLoop()
    loopcore.set_event_loop(loop)
    assert loopcore.get_event_loop() is loop


def _in_thread(func):
    result = {}

    def target():
        try:
            result["value"] = func()
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target, name="worker-thread")
    thread.start()
    thread.join()
    return result


def test_get_event_loop_in_another_thread_raises_unless_a_loop_was_set():
    result = _in_thread(loopcore.get_event_loop)
    assert isinstance(result["error"], RuntimeError)
    assert "worker-thread" in str(result["error"])


def test_set_event_loop_in_another_thread_makes_get_event_loop_return_it():
    def body():
        loop = loopcore.new_event_loop()
        try:
            loopcore.set_event_loop(loop)
            return loopcore.get_event_loop() is loop
        finally:
            loopcore.set_event_loop(None)
            loop.close()

    assert _in_thread(body) == {"value": True}


def test_each_thread_has_its_own_current_loop():
    main_loop = loopcore.get_event_loop()

    def body():
        loop = loopcore.new_event_loop()
        loopcore.set_event_loop(loop)
        try:
            return loopcore.get_event_loop()
        finally:
            loopcore.set_event_loop(None)
            loop.close()

    other = _in_thread(body)["value"]
    assert other is not main_loop
    assert loopcore.get_event_loop() is main_loop


def test_set_event_loop_rejects_what_is_not_a_loop():
    with pytest.raises(TypeError, match="'loop'"):
        loopcore.set_event_loop("loop")


def test_new_event_loop_returns_a_fresh_loop_not_made_current():
    current = loopcore.get_event_loop()
    loop = loopcore.new_event_loop()
    try:
        assert loop is not current
        assert loopcore.get_event_loop() is current
    finally:
        loop.close()


def test_get_event_loop_policy_returns_one_default_policy():
    policy = loopcore.get_event_loop_policy()
    assert isinstance(policy, loopcore.DefaultEventLoopPolicy)
    assert loopcore.get_event_loop_policy() is policy


def test_set_event_loop_policy_installs_the_policy_used_by_the_module_functions():
    made = []

    class Policy(loopcore.DefaultEventLoopPolicy):
        def new_event_loop(self):
            loop = BaseEventLoop()
            made.append(loop)
            return loop

    policy = Policy()
    loopcore.set_event_loop_policy(policy)
    assert loopcore.get_event_loop_policy() is policy
    loop = loopcore.new_event_loop()
    loop.close()
    assert made == [loop]
    loopcore.set_event_loop_policy(None)
    assert loopcore.get_event_loop_policy() is not policy


def test_set_event_loop_policy_rejects_what_is_not_a_policy():
    with pytest.raises(TypeError, match="42"):
        loopcore.set_event_loop_policy(42)


def test_abstract_policy_methods_must_be_overridden():
    policy = loopcore.AbstractEventLoopPolicy()
    with pytest.raises(NotImplementedError):
        policy.get_event_loop()
    with pytest.raises(NotImplementedError):
        policy.set_event_loop(None)
    with pytest.raises(NotImplementedError):
        policy.new_event_loop()


def test_policy_loop_factory_chooses_the_loop_class():
    class MyLoop(BaseEventLoop):
        pass

    class Policy(loopcore.DefaultEventLoopPolicy):
        _loop_factory = MyLoop

    loop = Policy().new_event_loop()
    try:
        assert type(loop) is MyLoop
    finally:
        loop.close()


# -- The default loop class ------------------------------------------------------------------


def _make_distribution(root: Path, entry_points: str, modules: dict[str, str]) -> None:
    """A real (tiny) installed distribution: a dist-info directory and modules."""
    dist = root / "fake_loops-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-loops\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))


def _has_selector_entry_point() -> bool:
    from importlib.metadata import entry_points

    return any(ep.name == "selector" for ep in entry_points(group="loopcore.event_loops"))


@pytest.mark.skipif(_has_selector_entry_point(), reason="an upper layer is installed")
def test_default_loop_class_is_base_event_loop_when_loopcore_is_alone():
    loop = loopcore.new_event_loop()
    try:
        assert type(loop) is BaseEventLoop
    finally:
        loop.close()


@pytest.mark.skipif(not _has_selector_entry_point(), reason="no upper layer installed")
def test_default_loop_class_is_the_selector_loop_an_upper_layer_declares():
    from importlib.metadata import entry_points

    (ep,) = [ep for ep in entry_points(group="loopcore.event_loops") if ep.name == "selector"]
    loop = loopcore.new_event_loop()
    try:
        assert type(loop) is ep.load()
        assert isinstance(loop, BaseEventLoop)
    finally:
        loop.close()


@pytest.fixture
def fake_site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("fakeloops_good", "fakeloops_broken"):
        sys.modules.pop(name, None)


@pytest.mark.skipif(_has_selector_entry_point(), reason="an upper layer is installed")
def test_default_loop_class_is_found_through_the_entry_point_group(fake_site):
    _make_distribution(
        fake_site,
        """
        [loopcore.event_loops]
        selector = fakeloops_good:FakeSelectorLoop
        """,
        {
            "fakeloops_good": """
            from loopcore.base_loop import BaseEventLoop

            class FakeSelectorLoop(BaseEventLoop):
                pass
            """
        },
    )
    loop = loopcore.new_event_loop()
    try:
        assert type(loop).__name__ == "FakeSelectorLoop"
        assert type(loop).__module__ == "fakeloops_good"
    finally:
        loop.close()


@pytest.mark.skipif(_has_selector_entry_point(), reason="an upper layer is installed")
def test_an_entry_point_that_fails_to_load_warns_and_falls_back(fake_site):
    _make_distribution(
        fake_site,
        """
        [loopcore.event_loops]
        selector = fakeloops_broken:Nope
        """,
        {"fakeloops_broken": "raise ImportError('broken on purpose')\n"},
    )
    with pytest.warns(RuntimeWarning, match="could not be loaded"):
        loop = loopcore.new_event_loop()
    try:
        assert type(loop) is BaseEventLoop
    finally:
        loop.close()


def test_default_loop_class_lookup_is_cached():
    first = policies._default_loop_class()
    info = policies._default_loop_class.cache_info()
    assert policies._default_loop_class() is first
    assert policies._default_loop_class.cache_info().hits == info.hits + 1


def test_loopcore_never_imports_an_upper_layer_by_name():
    src = Path(loopcore.__file__).parent
    for path in src.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top not in {"looptransports", "loopsync", "loopstreams", "asyncio"}, (
                    f"{path.name} imports {name}"
                )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_has_no_current_loop():
    parent_loop = loopcore.get_event_loop()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            loop = policies.get_event_loop_policy()._local.loop
            code = 0 if loop is None else 1
            if events._get_running_loop() is not None:
                code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert loopcore.get_event_loop() is parent_loop


# -- EventLoop: CPython 3.13's name for the default loop class -----------------------------


def test_event_loop_is_the_default_loop_class():
    assert loopcore.EventLoop is policies._default_loop_class()
    from loopcore import EventLoop

    assert EventLoop is loopcore.EventLoop
    loop = loopcore.new_event_loop()
    try:
        assert type(loop) is loopcore.EventLoop
    finally:
        loop.close()


@pytest.mark.skipif(_has_selector_entry_point(), reason="an upper layer is installed")
def test_event_loop_is_base_event_loop_when_loopcore_is_alone():
    assert loopcore.EventLoop is BaseEventLoop


def test_event_loop_is_listed_and_other_missing_names_still_raise_attribute_error():
    assert "EventLoop" in loopcore.__all__
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        loopcore.NoSuchName  # noqa: B018
