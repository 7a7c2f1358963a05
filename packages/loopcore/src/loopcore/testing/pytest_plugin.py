"""pytest plugin: run ``async def`` and ``@coroutine`` tests on a loopcore loop.

Declared as the ``pytest11`` entry point ``loopcore`` but opt-in, so that it never
takes over the async tests of projects that use another plugin:

- ``loopcore_mode = "auto"`` in the pytest configuration (or ``--loopcore-mode=auto``)
  runs every coroutine test (and every ``async def`` fixture they use) on a fresh
  loopcore loop;
- otherwise (mode ``strict``, the default) only tests marked ``@pytest.mark.loopcore``
  do.

Marker: ``@pytest.mark.loopcore(clock="virtual" | "real", autojump_threshold=0.0,
seed=None, debug=None, loop_factory=None)`` chooses, for one test, a virtual clock (see
:class:`loopcore.testing.VirtualClock`), its autojump threshold, a shuffle seed (see
:class:`loopcore.testing.Shuffler`), debug mode and the loop class.

Command line / ini:

- ``--loopcore-seed=N`` shuffles every loopcore test with seed *N* (replays a
  failure); ``--loopcore-seed=random`` gives each test its own random seed. The seed
  of a failing shuffled test is printed in its report.
- ``--loopcore-debug`` / ``loopcore_debug = true``: debug mode for every loop (the
  leak report then says where each leaked object was created).
- ``--loopcore-loop-factory=module:name`` / ``loopcore_loop_factory = "module:name"``:
  what makes each test's loop (default: :func:`loopcore.new_event_loop`). With
  ``loopasyncio:new_event_loop`` an existing asyncio test suite runs on loopcore:
  ``asyncio.get_running_loop()``, ``asyncio.sleep`` and every asyncio library work in
  the tests, with the virtual clock and the leak checks below.
- ``loopcore_clock = "virtual"``: every test's loop runs on a virtual clock unless its
  marker says ``clock="real"`` (default ``"real"``).

Fixtures (always available, prefixed so that they never shadow another plugin's):

- ``loopcore_loop``: the fresh loop the test runs on (also the thread's current
  event loop). At teardown the test fails if it left tasks pending (they are
  cancelled first), callbacks or timers scheduled, transports or servers open
  (registered with :func:`loopcore.introspect.register_resource`), coroutines never
  awaited, or errors in the loop's default exception handler (for example a future exception
  nobody retrieved); the report says where each was created when debug mode
  recorded it.
- ``loopcore_clock``: the :class:`~loopcore.testing.VirtualClock` of the test's loop;
  requesting it makes the loop virtual.
- ``loopcore_seed``: the shuffle seed of the test's loop; requesting it turns
  shuffling on (with a random seed unless one was chosen).
"""

from __future__ import annotations

import gc
import importlib
import inspect
import traceback
import warnings
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import cast

import pytest

from loopcore import introspect
from loopcore.base_loop import BaseEventLoop
from loopcore.handles import Handle
from loopcore.tasks import Task

from ._virtual import Shuffler, VirtualClock, _pending_threadsafe_handles, get_clock

__all__ = ["loopcore_clock", "loopcore_loop", "loopcore_seed"]

_MARKER = "loopcore"
_MARKER_KEYS = frozenset({"clock", "autojump_threshold", "seed", "debug", "loop_factory"})

_seed_key = pytest.StashKey[int]()
_unawaited_key = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("loopcore")
    group.addoption(
        "--loopcore-mode",
        choices=("strict", "auto"),
        default=None,
        help="auto: run every coroutine test on loopcore; strict: only @pytest.mark.loopcore tests",
    )
    group.addoption(
        "--loopcore-seed",
        default=None,
        metavar="N|random",
        help="shuffle the unordered events of every loopcore loop with seed N "
        "(or a random seed per test, printed on failure)",
    )
    group.addoption(
        "--loopcore-debug",
        action="store_true",
        default=None,
        help="run every loopcore loop in debug mode (leak reports say where objects were created)",
    )
    group.addoption(
        "--loopcore-loop-factory",
        default=None,
        metavar="MODULE:NAME",
        help="make each test's loop with this callable (e.g. loopasyncio:new_event_loop)",
    )
    parser.addini(
        "loopcore_mode", "strict (default) or auto; see --loopcore-mode", default="strict"
    )
    parser.addini(
        "loopcore_loop_factory",
        "MODULE:NAME of the callable that makes each test's loop; see --loopcore-loop-factory",
        default="",
    )
    parser.addini(
        "loopcore_clock",
        "real (default) or virtual: the clock of every test's loop unless its marker says",
        default="real",
    )
    parser.addini(
        "loopcore_debug",
        "run loopcore loops in debug mode; see --loopcore-debug",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "loopcore(clock='real'|'virtual', autojump_threshold=0.0, seed=None, debug=None, "
        "loop_factory=None): "
        "run this coroutine test on a fresh loopcore event loop, configured so",
    )
    seed = config.getoption("--loopcore-seed")
    if seed is not None and seed != "random":
        try:
            int(seed)
        except ValueError:
            raise pytest.UsageError(f"--loopcore-seed must be an integer or 'random', got {seed!r}")


def _mode(config: pytest.Config) -> str:
    mode = config.getoption("--loopcore-mode") or config.getini("loopcore_mode")
    if mode not in ("strict", "auto"):
        raise pytest.UsageError(f"loopcore_mode must be 'strict' or 'auto', got {mode!r}")
    return str(mode)


def _is_coroutine_test(func: Callable[..., object]) -> bool:
    from loopcore.coroutines import iscoroutinefunction

    return iscoroutinefunction(func)


def _on_loopcore(item: pytest.Item | pytest.Collector) -> bool:
    """Whether coroutine tests and async fixtures of *item* run on loopcore."""
    return item.get_closest_marker(_MARKER) is not None or _mode(item.config) == "auto"


def _wants_loopcore(item: pytest.Function) -> bool:
    return _is_coroutine_test(item.obj) and _on_loopcore(item)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> list[pytest.Item | pytest.Collector] | None:
    """Collect ``@coroutine`` generator tests, which pytest refuses as "tests that
    yield", when they run on loopcore."""
    if not (inspect.isgeneratorfunction(obj) and collector.istestfunction(obj, name)):
        return None
    if not _is_coroutine_test(obj):
        return None
    marked = any(m.name == _MARKER for m in getattr(obj, "pytestmark", ()))
    if not (marked or _on_loopcore(collector)):
        return None
    return list(collector._genfunctions(name, obj))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        # First, so that the loop is set up before and torn down after every other
        # fixture (async fixtures run on it).
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
    loop = cast("BaseEventLoop", pyfuncitem.funcargs["loopcore_loop"])
    argnames = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in argnames}
    unawaited = pyfuncitem.stash.setdefault(_unawaited_key, [])
    with _recording_unawaited(unawaited):
        loop.run_until_complete(pyfuncitem.obj(**kwargs))
    return True


#: How a project opts in, for the error below and the docs.
OPT_IN_ADVICE = (
    'add loopcore_mode = "auto" to the pytest configuration ([tool.pytest.ini_options] '
    "in pyproject.toml, or [pytest] in pytest.ini), pass --loopcore-mode=auto, or mark "
    "the test @pytest.mark.loopcore"
)


@pytest.hookimpl(wrapper=True, specname="pytest_pyfunc_call")
def pytest_pyfunc_call_unrun_async(
    pyfuncitem: pytest.Function,
) -> Generator[None, object, object]:
    """An ``async def`` test that no plugin ran fails, as pytest makes it fail, but
    saying how to opt in to this plugin instead of only "async def functions are not
    natively supported" and a list of other plugins to install."""
    try:
        return (yield)
    except pytest.fail.Exception as failure:
        if not (
            "not natively supported" in str(failure)
            and inspect.iscoroutinefunction(pyfuncitem.obj)
            and not _on_loopcore(pyfuncitem)
        ):
            raise
        raise pytest.fail.Exception(
            f"{pyfuncitem.nodeid} is an async def test, and no plugin ran it: the loopcore "
            f"plugin runs coroutine tests only when the project opts in. To run it on "
            f"loopcore, {OPT_IN_ADVICE}.",
            pytrace=False,
        ) from None


class _recording_unawaited:
    """Record the "coroutine ... was never awaited" warnings raised inside the block
    (into *sink*) and pass every other warning on unchanged."""

    def __init__(self, sink: list[str]) -> None:
        self._sink = sink
        self._cm = warnings.catch_warnings(record=True)
        self._caught: list[warnings.WarningMessage] = []

    def __enter__(self) -> None:
        self._caught = self._cm.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(None, None, None)
        for w in self._caught:
            text = str(w.message)
            if issubclass(w.category, RuntimeWarning) and "was never awaited" in text:
                self._sink.append(text)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        seed = item.stash.get(_seed_key, None)
        if seed is not None:
            report.sections.append(
                (
                    "loopcore",
                    f"event order shuffled with seed {seed}; replay with --loopcore-seed={seed} "
                    f"or @pytest.mark.loopcore(seed={seed})",
                )
            )
    return report


# -- Async fixtures ------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
) -> object:
    """Run ``async def`` fixtures (coroutine or async generator) of loopcore tests on
    the test's loop; leave every other fixture to pytest and other plugins."""
    func = fixturedef.func
    is_agen = inspect.isasyncgenfunction(func)
    if not (is_agen or inspect.iscoroutinefunction(func)):
        return None
    if not _on_loopcore(request.node):
        return None
    if fixturedef.scope != "function":
        pytest.fail(
            f"async fixture {fixturedef.argname!r} has scope {fixturedef.scope!r}: loopcore runs "
            "async fixtures on the test's own loop, so they must be function-scoped",
            pytrace=False,
        )
    loop = request.getfixturevalue("loopcore_loop")
    kwargs = {name: request.getfixturevalue(name) for name in fixturedef.argnames}
    # Bind a fixture defined in a test class to the test's own instance (as pytest
    # does for its fixtures), unless it belongs to another class (a plugin's).
    instance = getattr(request, "instance", None)
    owner = getattr(func, "__self__", None)
    if instance is not None and (owner is None or isinstance(instance, type(owner))):
        func = getattr(func, "__func__", func).__get__(instance)
    cache_key = fixturedef.cache_key(request)  # type: ignore[arg-type]
    try:
        if is_agen:
            agen = func(**kwargs)
            value = loop.run_until_complete(_first_value(agen, fixturedef.argname))
            request.addfinalizer(lambda: loop.run_until_complete(_finish(agen, fixturedef.argname)))
        else:
            value = loop.run_until_complete(func(**kwargs))
    except BaseException as exc:
        fixturedef.cached_result = (None, cache_key, (exc, exc.__traceback__))
        raise
    fixturedef.cached_result = (value, cache_key, None)
    return value


async def _first_value(agen: object, name: str) -> object:
    try:
        return await agen.__anext__()  # type: ignore[attr-defined]
    except StopAsyncIteration:
        raise ValueError(f"async fixture {name!r} did not yield a value") from None


async def _finish(agen: object, name: str) -> None:
    try:
        await agen.__anext__()  # type: ignore[attr-defined]
    except StopAsyncIteration:
        return
    await agen.aclose()  # type: ignore[attr-defined]
    pytest.fail(f"async fixture {name!r} yielded more than once", pytrace=False)


# -- The loop and its teardown checks --------------------------------------------------------


@dataclass
class _LoopOptions:
    virtual: bool
    autojump_threshold: float
    seed: int | None
    shuffle: bool
    # True: debug mode on; False: off (the marker said so, whatever LOOPCORE_DEBUG
    # says); None: the loop's own default.
    debug: bool | None
    # What makes the loop; None: loopcore.new_event_loop().
    loop_factory: Callable[[], object] | None


def _options(request: pytest.FixtureRequest) -> _LoopOptions:
    config = request.config
    marker = request.node.get_closest_marker(_MARKER)
    kwargs = dict(marker.kwargs) if marker is not None else {}
    unknown = set(kwargs) - _MARKER_KEYS
    if unknown or (marker is not None and marker.args):
        raise pytest.UsageError(
            f"@pytest.mark.loopcore takes only the keywords {sorted(_MARKER_KEYS)}, "
            f"got args {marker.args if marker else ()} and keywords {sorted(unknown)}"
        )
    clock = kwargs.get("clock")
    if clock not in (None, "real", "virtual"):
        raise pytest.UsageError(
            f"@pytest.mark.loopcore(clock=...) must be 'real' or 'virtual', got {clock!r}"
        )
    default_clock = config.getini("loopcore_clock")
    if default_clock not in ("real", "virtual"):
        raise pytest.UsageError(
            f"loopcore_clock must be 'real' or 'virtual', got {default_clock!r}"
        )
    wants_clock_fixture = "loopcore_clock" in request.fixturenames
    if clock == "real" and wants_clock_fixture:
        raise pytest.UsageError(
            f"{request.node.nodeid}: the loopcore_clock fixture needs a virtual clock, "
            "but the marker says clock='real'"
        )
    threshold = kwargs.get("autojump_threshold", 0.0)
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not threshold >= 0:
        raise pytest.UsageError(
            f"@pytest.mark.loopcore(autojump_threshold=...) must be seconds >= 0, got {threshold!r}"
        )
    virtual = (
        clock == "virtual"
        or wants_clock_fixture
        or ("autojump_threshold" in kwargs and clock is None)
        or (default_clock == "virtual" and clock is None)
    )
    seed: int | None = kwargs.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise pytest.UsageError(f"@pytest.mark.loopcore(seed=...) must be an int, got {seed!r}")
    option = config.getoption("--loopcore-seed")
    shuffle = seed is not None or option is not None or "loopcore_seed" in request.fixturenames
    if seed is None and option not in (None, "random"):
        seed = int(option)
    debug = kwargs.get("debug")
    if debug is None and (config.getoption("--loopcore-debug") or config.getini("loopcore_debug")):
        debug = True
    return _LoopOptions(
        virtual,
        float(threshold),
        seed,
        shuffle,
        None if debug is None else bool(debug),
        _loop_factory(config, kwargs.get("loop_factory")),
    )


def _loop_factory(config: pytest.Config, marked: object) -> Callable[[], object] | None:
    """The marker's ``loop_factory``, else the one the option or ini names, else None."""
    if marked is not None:
        if not callable(marked):
            raise pytest.UsageError(
                f"@pytest.mark.loopcore(loop_factory=...) must be a callable, got {marked!r}"
            )
        return cast("Callable[[], object]", marked)
    spec = config.getoption("--loopcore-loop-factory") or config.getini("loopcore_loop_factory")
    if not spec:
        return None
    module_name, sep, attr = str(spec).partition(":")
    if not sep or not module_name or not attr:
        raise pytest.UsageError(
            f"loopcore_loop_factory must be 'module:name' (e.g. loopasyncio:new_event_loop), "
            f"got {spec!r}"
        )
    try:
        factory: object = importlib.import_module(module_name)
        for part in attr.split("."):
            factory = getattr(factory, part)
    except (ImportError, AttributeError) as exc:
        raise pytest.UsageError(f"loopcore_loop_factory {spec!r} cannot be loaded: {exc}")
    if not callable(factory):
        raise pytest.UsageError(f"loopcore_loop_factory {spec!r} is not callable: {factory!r}")
    return cast("Callable[[], object]", factory)


class _ErrorRecorder:
    """An exception handler that keeps what it is given for the teardown report."""

    def __init__(self) -> None:
        self.contexts: list[dict[str, object]] = []

    def __call__(self, loop: object, context: dict[str, object]) -> None:
        self.contexts.append(context)
        loop.default_exception_handler(context)  # type: ignore[attr-defined]


def _user_frames(source: Sequence[traceback.FrameSummary]) -> list[traceback.FrameSummary]:
    """The last frames of *source* outside loopcore's own code (the user's), or the
    last frame when every one is loopcore's."""
    outside = [f for f in source if not introspect._is_internal_file(f.filename)]
    return outside[-4:] if outside else list(source[-1:])


def _where(obj: object) -> str:
    """Where *obj* was created (debug mode records it), as indented lines."""
    source = getattr(obj, "_source_traceback", None)
    if not source:
        return ""
    frames = "".join(traceback.format_list(_user_frames(source))).rstrip()
    return "\n    created at (most recent call last):\n" + _indent(frames, 6)


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line for line in text.splitlines())


def _describe(obj: object) -> str:
    return repr(obj) + _where(obj)


def _describe_context(context: dict[str, object]) -> str:
    text = f"{context.get('message')}"
    exc = context.get("exception")
    if exc is not None:
        text += f" ({exc!r})"
    for key in ("task", "future", "handle"):
        if key in context:
            text += f"\n    {key}: {context[key]!r}"
            break
    source = context.get("source_traceback")
    if isinstance(source, list) and source:
        frames = "".join(traceback.format_list(_user_frames(source))).rstrip()
        text += "\n    created at (most recent call last):\n" + _indent(frames, 6)
    return text


_NO_SOURCE_HINT = (
    "(run with --loopcore-debug, loopcore_debug = true or @pytest.mark.loopcore(debug=True) "
    "to see where each was created)"
)


def _flush_ready(loop: object, rounds: int = 10) -> None:
    """Run what is queued now (done callbacks of the test's last step) a few times,
    so that only what keeps being rescheduled, or waits on a timer, counts as a leak."""
    for _ in range(rounds):
        ready = loop._ready  # type: ignore[attr-defined]
        if not any(not h._cancelled for h in ready) and not _pending_threadsafe_handles(loop):  # type: ignore[arg-type]
            return
        loop.call_soon(loop.stop)  # type: ignore[attr-defined]
        loop.run_forever()  # type: ignore[attr-defined]


@pytest.fixture
def loopcore_loop(request: pytest.FixtureRequest) -> Iterator[BaseEventLoop]:
    """A fresh loopcore event loop, closed after the test, which must leave nothing behind.

    Configured by the ``loopcore`` marker, ``--loopcore-seed`` and ``--loopcore-debug``
    (see the module docstring); virtual when the test also uses ``loopcore_clock``.
    """
    from loopcore import policies, tasks

    options = _options(request)
    made = options.loop_factory() if options.loop_factory is not None else policies.new_event_loop()
    if not isinstance(made, BaseEventLoop):
        close = getattr(made, "close", None)
        if callable(close):
            close()
        raise pytest.UsageError(
            f"the event loop {made!r} is not a loopcore loop: the loopcore plugin "
            "runs tests only on loopcore's BaseEventLoop and its subclasses"
        )
    loop = made
    try:
        if options.debug is not None:
            loop.set_debug(options.debug)
        if options.virtual:
            VirtualClock(autojump_threshold=options.autojump_threshold).install(loop)
        if options.shuffle:
            shuffler = Shuffler(options.seed)
            shuffler.install(loop)
            request.node.stash[_seed_key] = shuffler.seed
    except BaseException:
        loop.close()
        raise
    policies.set_event_loop(loop)
    recorder = _ErrorRecorder()
    loop.set_exception_handler(recorder)
    problems: list[str] = []
    need_hint = False
    try:
        yield loop
    finally:
        try:
            if not loop.is_closed() and not loop.is_running():
                _flush_ready(loop)
            leftovers = [t for t in tasks.all_tasks(loop) if not t.done()]
            if leftovers:
                need_hint = need_hint or not all(t._source_traceback for t in leftovers)
                problems.append(
                    "the test left tasks pending:\n  "
                    + "\n  ".join(_describe(t) for t in leftovers)
                )
                for task in leftovers:
                    task.cancel()
                if not loop.is_closed():
                    loop.run_until_complete(_wait_all(leftovers))
            if not loop.is_closed():
                sentinel = loop._stop_sentinel
                scheduled = [h for h in loop._ready if not h._cancelled and h is not sentinel]
                scheduled += _pending_threadsafe_handles(loop)
                scheduled += [t for t in loop._scheduled if not t._cancelled]
                if scheduled:
                    need_hint = need_hint or not all(h._source_traceback for h in scheduled)
                    problems.append(
                        "the test left callbacks scheduled:\n  "
                        + "\n  ".join(_describe(h) for h in scheduled)
                    )
                    for entry in scheduled:
                        # A Handle skips its call (a task's step handle included:
                        # the loop makes the task a new one if it steps again).
                        if isinstance(entry, (Handle, Task)):
                            entry.cancel()
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            gc.collect()
            still_open = introspect.open_resources(loop)
            if still_open:
                problems.append(
                    "the test left resources open:\n  "
                    + "\n  ".join(f"{r['kind']}: {r['repr']}" for r in still_open)
                )
            unawaited = request.node.stash.get(_unawaited_key, [])
            if unawaited:
                problems.append(
                    "the test created coroutines it never awaited:\n  " + "\n  ".join(unawaited)
                )
            if recorder.contexts and loop.get_exception_handler() is recorder:
                need_hint = need_hint or not all(
                    c.get("source_traceback") for c in recorder.contexts
                )
                problems.append(
                    "errors reached the loop's exception handler:\n  "
                    + "\n  ".join(_describe_context(c) for c in recorder.contexts)
                )
        finally:
            # The checks above are this fixture's leak report; the debug-mode one of
            # close() would repeat them (slowly: it walks every object) in the log.
            loop._debug = False
            loop.close()
            policies.set_event_loop(None)
    if problems:
        if need_hint and not options.debug:
            problems.append(_NO_SOURCE_HINT)
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def loopcore_clock(loopcore_loop: object) -> object:
    """The :class:`~loopcore.testing.VirtualClock` of the test's loop (which is virtual
    because this fixture is requested)."""
    clock = get_clock(loopcore_loop)  # type: ignore[arg-type]
    assert clock is not None, "loopcore_loop should have installed a virtual clock"
    return clock


@pytest.fixture
def loopcore_seed(request: pytest.FixtureRequest, loopcore_loop: object) -> int:
    """The shuffle seed of the test's loop (shuffling is on because this fixture is
    requested; the seed is random unless the marker or ``--loopcore-seed`` chose one)."""
    seed: int = request.node.stash[_seed_key]
    return seed


async def _wait_all(pending: Sequence[object]) -> None:
    for task in pending:
        try:
            await task  # type: ignore[misc]
        except BaseException:  # the report is about the leak, not its outcome
            pass
