"""Sessions for the loopcore monorepo.

``nox`` (no arguments) runs every default session: each package's tests (with branch
coverage and the package's floor) on every Python 3.11-3.13 found, the shuffled
suites, every package's tests against the compiled (mypyc) wheels on 3.11 and 3.13
(``tests_compiled``), integration, lint, typecheck, docs and demo. ``bench``,
``stress`` and ``build_compiled`` (wheels into ``dist/``) run only when named.
``nox -l`` lists them all.

Our own distributions are always installed from this tree, by path, never looked up
in a registry; they are installed as wheels (not editable) so that an import the
package does not declare fails here instead of on a user's machine. The tools come
from the ``[dependency-groups]`` of the root ``pyproject.toml``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nox

# nox.project.dependency_groups and nox.options.download_python need a recent nox.
nox.needs_version = ">=2025.2.9"

ROOT = Path(__file__).parent
PACKAGES = ROOT / "packages"

#: Each distribution and the lower layers it declares.
LAYERS: dict[str, list[str]] = {
    "loopcore": [],
    "looptransports": ["loopcore"],
    "loopsync": ["loopcore"],
    "loopstreams": ["loopcore", "looptransports"],
    "loopasyncio": ["loopcore", "looptransports"],
}
ALL = list(LAYERS)

# -- Tools: the dependency groups of pyproject.toml ---------------------------------------

_PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")


def _group(name: str) -> tuple[str, ...]:
    return nox.project.dependency_groups(_PYPROJECT, name)


TEST_DEPS = _group("test")
COVERAGE_DEPS = _group("coverage")
LINT_DEPS = _group("lint")
TYPECHECK_DEPS = _group("typecheck")
DOCS_DEPS = _group("docs")
DEMO_DEPS = _group("demo")

#: Branch coverage (percent) each package's own suite must reach on every Python;
#: set just under what was measured (see CONTRIBUTING.md, "Coverage"). A distribution
#: missing here is measured and reported but has no floor yet: add it.
COVERAGE_FLOORS: dict[str, float] = {
    "loopcore": 89.5,
    "looptransports": 85.5,
    "loopsync": 96.0,
    "loopstreams": 96.0,
    "loopasyncio": 88.0,
}

# -- Interpreters -------------------------------------------------------------------------

SUPPORTED = ["3.11", "3.12", "3.13"]

# Never download an interpreter: a test run uses the Pythons of this machine, and one
# that is missing is reported below, not fetched (nox's own option, and uv's for the
# venvs nox asks it to make).
nox.options.download_python = "never"
os.environ["UV_PYTHON_DOWNLOADS"] = "never"


def _real_python(executable: str, version: str) -> str | None:
    """The interpreter *executable* runs, if it starts and is Python *version*.

    pyenv's shims exist for every installed version but fail unless that version is
    selected; one that works is resolved to the interpreter behind it.
    """
    try:
        proc = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2], sys.executable)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found, _, path = proc.stdout.strip().partition(" ")
    return path if proc.returncode == 0 and found == version and path else None


def _pyenv_pythons(version: str) -> list[str]:
    """pyenv's installed CPython *version*.N interpreters, newest first."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    pattern = re.compile(rf"{re.escape(version)}\.(\d+)")
    found = []
    if (root / "versions").is_dir():
        for entry in (root / "versions").iterdir():
            match = pattern.fullmatch(entry.name)
            if match:
                found.append((int(match.group(1)), str(entry / "bin" / f"python{version}")))
    return [path for _, path in sorted(found, reverse=True)]


def _find_python(version: str) -> str | None:
    """A working ``python<version>``: the one on PATH, else one of pyenv's versions."""
    for candidate in [shutil.which(f"python{version}"), *_pyenv_pythons(version)]:
        if candidate and (path := _real_python(candidate, version)):
            return path
    return None


_FOUND = {version: _find_python(version) for version in SUPPORTED}
#: The supported Pythons present here; the test sessions run on each of them.
PYTHONS = [version for version, path in _FOUND.items() if path]
_MISSING = [version for version, path in _FOUND.items() if not path]
if _MISSING and os.environ.get("CI"):
    raise SystemExit(
        f"nox: CI needs every supported Python; not found: {', '.join(_MISSING)} "
        "(looked for python3.X on PATH and in pyenv's versions)"
    )
if not PYTHONS:
    raise SystemExit(
        f"nox: none of Python {', '.join(SUPPORTED)} runs here (looked for python3.X on "
        "PATH and in pyenv's versions); install one, e.g. `pyenv install 3.11`"
    )
if _MISSING:
    print(
        f"nox: skipping the Python {', '.join(_MISSING)} sessions: no working "
        f"{', '.join('python' + v for v in _MISSING)} on PATH or in pyenv's versions "
        f"(install it, e.g. `pyenv install {_MISSING[0]}`)",
        file=sys.stderr,
    )
# Put the interpreters found first on PATH, so that nox and uv find the same ones:
# links named python3.X in a directory of their own (a pyenv version's bin directory
# holds many other commands, which must not shadow the user's).
_LINKS = ROOT / ".nox" / "_pythons"
_LINKS.mkdir(parents=True, exist_ok=True)
for _version, _path in _FOUND.items():
    _link = _LINKS / f"python{_version}"
    if _path and not (_link.is_symlink() and os.readlink(_link) == _path):
        _link.unlink(missing_ok=True)
        _link.symlink_to(_path)
os.environ["PATH"] = os.pathsep.join([str(_LINKS), os.environ.get("PATH", "")])
DEFAULT_PYTHON = PYTHONS[0]

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = False
nox.options.sessions = [
    *(f"tests_{name}" for name in ALL),
    "shuffled",
    "tests_compiled",
    "integration",
    "interop",
    "lint",
    "typecheck",
    "docs",
    "demo",
]


def _with_layers(name: str) -> list[str]:
    """Paths of *name* and its lower layers, installed together so that each
    dependency resolves to this tree."""
    return [str(PACKAGES / dep) for dep in [*LAYERS[name], name]]


def _install_all(session: nox.Session) -> None:
    session.install(*(str(PACKAGES / name) for name in ALL))


def _run_pytest(session: nox.Session, *args: str, python: tuple[str, ...] = ("python",)) -> None:
    env = {"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")}
    # The tests see only the installed wheels: packages/*/src is never on sys.path.
    session.run(*python, "-m", "pytest", "-p", "no:cacheprovider", *args, *session.posargs, env=env)


def _make_test_session(name: str) -> None:
    def tests(session: nox.Session) -> None:
        session.install(*_with_layers(name), *TEST_DEPS, *COVERAGE_DEPS)
        data = str(Path(session.virtualenv.location) / ".coverage")
        session.env["COVERAGE_FILE"] = data
        session.env["COVERAGE_RCFILE"] = str(ROOT / "pyproject.toml")
        coverage = ("python", "-m", "coverage", "run", f"--source={name}")
        _run_pytest(session, str(PACKAGES / name / "tests"), python=coverage)
        # The report, then the floor: a drop in coverage fails the session.
        floor = COVERAGE_FLOORS.get(name, 0.0)
        session.run("python", "-m", "coverage", "report", f"--fail-under={floor}")

    # nox reads the docstring when the session is declared, so set it first.
    tests.__doc__ = (
        f"Run {name}'s tests with only {name} and its declared lower layers "
        f"({', '.join(LAYERS[name]) or 'none'}) installed; branch coverage must reach "
        f"{COVERAGE_FLOORS.get(name, 0.0)}%."
    )
    nox.session(name=f"tests_{name}", python=PYTHONS)(tests)


for _name in ALL:
    _make_test_session(_name)


# -- The compiled build (mypyc; docs page "Compiled build") --------------------------------

#: The distributions whose setup.py compiles modules with mypyc when LOOPCORE_COMPILE=1
#: (the list of modules is in each setup.py). The others ship only their pure-Python
#: wheel, which the compiled wheels install beside.
COMPILED_DISTS = ["loopcore", "looptransports", "loopsync", "loopstreams"]
#: The Pythons the compiled wheels are tested on: the oldest and the newest supported.
COMPILED_PYTHONS = [v for v in ("3.11", "3.13") if v in PYTHONS]
#: What compiling needs in the build environment (they are not build requirements
#: of the pure-Python wheels, so the compiled build runs with --no-isolation).
COMPILE_DEPS = ("build>=1.2", "mypy==2.4.1", "setuptools>=77", "wheel")


def _build_compiled_wheels(session: nox.Session, outdir: Path) -> list[Path]:
    """Build the compiled wheel of each of COMPILED_DISTS for the session's Python
    into *outdir* (a lower layer is installed first, so that mypy sees it typed) and
    return their paths."""
    session.install(*COMPILE_DEPS)
    outdir.mkdir(parents=True, exist_ok=True)
    built = []
    for name in COMPILED_DISTS:
        # mypy must see the lower layers' types: a lower layer without a compiled
        # build is installed pure first (COMPILED_DISTS is in layer order, so the
        # compiled lower layers are installed already).
        pure_lower = [str(PACKAGES / n) for n in LAYERS[name] if n not in COMPILED_DISTS]
        if pure_lower:
            session.install("--no-deps", *pure_lower)
        before = set(outdir.glob(f"{name}-*.whl"))
        session.run(
            "python",
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(outdir),
            str(PACKAGES / name),
            env={"LOOPCORE_COMPILE": "1"},
        )
        new = sorted(set(outdir.glob(f"{name}-*.whl")) - before) or sorted(
            outdir.glob(f"{name}-*-cp*.whl")
        )
        wheel = max(new, key=lambda path: path.stat().st_mtime)
        built.append(wheel)
        session.install(str(wheel))
    return built


@nox.session(python=PYTHONS)
def build_compiled(session: nox.Session) -> None:
    """Build the compiled (mypyc) platform wheels for each Python into dist/
    (not run by default); the pure-Python wheels stay the reference."""
    for wheel in _build_compiled_wheels(session, ROOT / "dist"):
        session.log(f"built {wheel}")


@nox.session(python=COMPILED_PYTHONS)
def tests_compiled(session: nox.Session) -> None:
    """Build the compiled wheels for this Python, install them with the pure-Python
    wheels of the other distributions, and run every package's tests against them."""
    # Not session.create_tmp(): it points TMPDIR into the checkout, for the tests too.
    wheels = _build_compiled_wheels(session, Path(session.virtualenv.location) / "wheels")
    pure = [str(PACKAGES / n) for n in ALL if n not in COMPILED_DISTS]
    session.install(*(str(w) for w in wheels), *pure, *TEST_DEPS)
    # The session tests the compiled build: fail if it is not the one running.
    session.run(
        "python",
        "-c",
        "import loopcore, sys; sys.exit(0 if loopcore.COMPILED else 'loopcore is not compiled')",
    )
    for name in ALL:
        _run_pytest(session, str(PACKAGES / name / "tests"))


#: Real asyncio libraries that ``interop`` runs on loopasyncio's loop, from the registry.
INTEROP_DEPS = ["aiohttp>=3.9", "httpx>=0.27", "anyio>=4.4", "uvicorn>=0.36"]
INTEROP_TESTS = ROOT / "tests_integration" / "asyncio_libraries"


@nox.session(python=DEFAULT_PYTHON)
def integration(session: nox.Session) -> None:
    """Run tests_integration/ with every distribution installed (the real asyncio
    libraries of tests_integration/asyncio_libraries run in ``interop``)."""
    _install_all(session)
    session.install(*TEST_DEPS)
    _run_pytest(session, str(ROOT / "tests_integration"), f"--ignore={INTEROP_TESTS}")


@nox.session(python=PYTHONS)
def interop(session: nox.Session) -> None:
    """Run aiohttp, httpx, anyio and uvicorn (installed from the registry) on loopasyncio."""
    session.install(*_with_layers("loopasyncio"), *TEST_DEPS, *INTEROP_DEPS)
    _run_pytest(session, str(INTEROP_TESTS))


@nox.session(python=DEFAULT_PYTHON)
def stress(session: nox.Session) -> None:
    """Long load and fault tests (not run by default): more connections, more examples."""
    _install_all(session)
    session.install(*TEST_DEPS)
    session.env["HYPOTHESIS_PROFILE"] = "stress"
    session.env["LOOP_STRESS"] = "1"
    session.run(
        "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        str(ROOT / "tests_integration"),
        f"--ignore={INTEROP_TESTS}",
        "-m",
        "stress or not stress",
        *session.posargs,
    )


@nox.session(python=DEFAULT_PYTHON)
def shuffled(session: nox.Session) -> None:
    """Every package suite in debug mode with a random shuffle seed.

    Perturbs only the orders no documented rule fixes (I/O events of one poll, timers
    due at the same instant, wake-ups from other threads); a failure prints the seed,
    and ``nox -s shuffled -- --loopcore-seed=N`` replays it. Runs by default, as trio
    randomizes its scheduler on every run: it adds about as much time as one Python's
    test sessions.
    """
    _install_all(session)
    session.install(*TEST_DEPS)
    for name in ALL:
        _run_pytest(
            session,
            str(PACKAGES / name / "tests"),
            "--loopcore-debug",
            "--loopcore-seed=random",
        )


@nox.session(python=DEFAULT_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (check and format) and the import-linter layer contract."""
    session.install(*LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    _install_all(session)
    # The config file is a positional argument (the --config option is deprecated).
    session.run("lint-imports", str(ROOT / ".importlinter"))


@nox.session(python=DEFAULT_PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package's source."""
    session.install(*TYPECHECK_DEPS)
    _install_all(session)
    session.run(
        "mypy",
        "--strict",
        *(str(PACKAGES / name / "src" / name) for name in ALL),
    )


@nox.session(python=DEFAULT_PYTHON)
def docs(session: nox.Session) -> None:
    """Build the Sphinx site with warnings as errors; every example file is executed."""
    _install_all(session)
    session.install(*DOCS_DEPS)
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "-d",
        str(ROOT / "docs" / "_build" / "doctrees"),
        str(ROOT / "docs"),
        str(ROOT / "docs" / "_build" / "html"),
    )
    # Every public name of every distribution must appear in the site.
    session.run("python", str(ROOT / "docs" / "_tools" / "check_coverage.py"))


@nox.session(python=DEFAULT_PYTHON)
def demo(session: nox.Session) -> None:
    """Run the runnable examples of every layer; each checks its own output."""
    _install_all(session)
    session.install(*DEMO_DEPS)
    session.run("python", str(ROOT / "docs" / "examples" / "run_all.py"))


@nox.session(python=DEFAULT_PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks of ours, pure and compiled, against stdlib asyncio, uvloop and rloop
    (not run by default), then the aiohttp "hello" server on asyncio, uvloop and
    loopasyncio loaded by wrk.

    ``nox -s bench -- --quick`` for a short check; ``-- --cold`` measures the echo
    servers untrained (see benchmarks/README.md).
    """
    # The compiled wheels of this tree (the "compiled" rows), with the pure-Python
    # wheels of the other distributions; "ours" runs the same install with
    # LOOPCORE_PURE=1 (benchmarks/_impls.py).
    wheels = _build_compiled_wheels(session, Path(session.create_tmp()) / "wheels")
    pure = [str(PACKAGES / n) for n in ALL if n not in COMPILED_DISTS]
    session.install(*(str(w) for w in wheels), *pure)
    session.install("uvloop", "rloop", "matplotlib", "trustme", "aiohttp>=3.9")
    session.run("python", str(ROOT / "benchmarks" / "run.py"), *session.posargs)
    # aiohttp "hello" on asyncio, uvloop and loopasyncio, loaded by wrk (Debian's
    # package; the script says so and fails when it is missing).
    session.run("python", str(ROOT / "benchmarks" / "aiohttp_hello.py"), *session.posargs)
