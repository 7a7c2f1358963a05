"""pytest plugin: run ``async def`` and ``@coroutine`` tests on a loopcore loop.

Declared as the ``pytest11`` entry point ``loopcore`` but opt-in, so that it never
takes over the async tests of projects that use another plugin:

- ``loopcore_mode = "auto"`` in the pytest configuration (or ``--loopcore-mode=auto``)
  runs every coroutine test on a fresh loopcore loop;
- otherwise (mode ``strict``, the default) only tests marked ``@pytest.mark.loopcore``
  do.

Fixtures (always available, prefixed so that they never shadow another plugin's):

- ``loopcore_loop``: the fresh loop the test runs on (also the thread's current
  event loop). At teardown the test fails if it left tasks pending (they are
  cancelled first, and the report says where each was created when debug mode
  recorded it) or if an error reached the loop's default exception handler (for
  example a future exception nobody retrieved).
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Iterator, Sequence

import pytest

from loopcore.events import AbstractEventLoop

__all__ = ["loopcore_loop"]

_MARKER = "loopcore"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("loopcore")
    group.addoption(
        "--loopcore-mode",
        choices=("strict", "auto"),
        default=None,
        help="auto: run every coroutine test on loopcore; strict: only @pytest.mark.loopcore tests",
    )
    parser.addini(
        "loopcore_mode", "strict (default) or auto; see --loopcore-mode", default="strict"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "loopcore: run this coroutine test on a fresh loopcore event loop"
    )


def _mode(config: pytest.Config) -> str:
    mode = config.getoption("--loopcore-mode") or config.getini("loopcore_mode")
    if mode not in ("strict", "auto"):
        raise pytest.UsageError(f"loopcore_mode must be 'strict' or 'auto', got {mode!r}")
    return str(mode)


def _is_coroutine_test(func: Callable[..., object]) -> bool:
    from loopcore.coroutines import iscoroutinefunction

    return iscoroutinefunction(func)


def _wants_loopcore(item: pytest.Function) -> bool:
    if not _is_coroutine_test(item.obj):
        return False
    return item.get_closest_marker(_MARKER) is not None or _mode(item.config) == "auto"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and _wants_loopcore(item)
            and "loopcore_loop" not in item.fixturenames
        ):
            item.fixturenames.insert(0, "loopcore_loop")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not _wants_loopcore(pyfuncitem):
        return None
    loop = pyfuncitem.funcargs["loopcore_loop"]
    assert isinstance(loop, AbstractEventLoop)
    argnames = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in argnames}
    loop.run_until_complete(pyfuncitem.obj(**kwargs))
    return True


class _ErrorRecorder:
    """An exception handler that keeps what it is given for the teardown report."""

    def __init__(self) -> None:
        self.contexts: list[dict[str, object]] = []

    def __call__(self, loop: object, context: dict[str, object]) -> None:
        self.contexts.append(context)
        loop.default_exception_handler(context)  # type: ignore[attr-defined]


def _describe(obj: object) -> str:
    text = repr(obj)
    source = getattr(obj, "_source_traceback", None)
    if source:
        frame = source[-1]
        text += f"\n    created at {frame.filename}:{frame.lineno}"
    return text


@pytest.fixture
def loopcore_loop() -> Iterator[AbstractEventLoop]:
    """A fresh loopcore event loop, closed after the test, which must leave nothing behind."""
    from loopcore import policies, tasks

    loop = policies.new_event_loop()
    policies.set_event_loop(loop)
    recorder = _ErrorRecorder()
    loop.set_exception_handler(recorder)
    problems: list[str] = []
    try:
        yield loop
    finally:
        try:
            leftovers = [t for t in tasks.all_tasks(loop) if not t.done()]
            if leftovers:
                problems.append(
                    "the test left tasks pending:\n  "
                    + "\n  ".join(_describe(t) for t in leftovers)
                )
                for task in leftovers:
                    task.cancel()
                if not loop.is_closed():
                    loop.run_until_complete(_wait_all(leftovers))
            if not loop.is_closed():
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            gc.collect()
            if recorder.contexts and loop.get_exception_handler() is recorder:
                problems.append(
                    "errors reached the loop's exception handler:\n  "
                    + "\n  ".join(
                        str(c.get("message")) + f" ({c.get('exception')!r})"
                        for c in recorder.contexts
                    )
                )
        finally:
            loop.close()
            policies.set_event_loop(None)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


async def _wait_all(pending: Sequence[Awaitable[object]]) -> None:
    for task in pending:
        try:
            await task
        except BaseException:
            pass
