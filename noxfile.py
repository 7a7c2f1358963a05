"""Sessions for the loopcore monorepo.

``nox`` (no arguments) runs every default session: each package's tests on every
Python 3.11-3.13 found, integration, lint, typecheck, docs and demo. ``bench`` and
``stress`` run only when named. ``nox -l`` lists them all.

Our own distributions are always installed from this tree, by path, never looked up
in a registry; they are installed as wheels (not editable) so that an import the
package does not declare fails here instead of on a user's machine.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PACKAGES = ROOT / "packages"

#: Each distribution and the lower layers it declares.
LAYERS: dict[str, list[str]] = {
    "loopcore": [],
    "looptransports": ["loopcore"],
    "loopsync": ["loopcore"],
    "loopstreams": ["loopcore", "looptransports"],
}
ALL = list(LAYERS)

TEST_DEPS = ["pytest>=8", "pytest-timeout>=2.3", "hypothesis>=6.100", "trustme>=1.1"]
# pytest: autodoc imports loopcore.testing.pytest_plugin; trustme: the TLS examples.
DOCS_DEPS = ["sphinx>=7.2", "furo>=2024.1", "trustme>=1.1", "pytest>=8"]

SUPPORTED = ["3.11", "3.12", "3.13"]
# Test sessions run on every supported interpreter that is present here.
PYTHONS = [v for v in SUPPORTED if shutil.which(f"python{v}")]
if not PYTHONS:
    raise SystemExit(
        f"none of Python {', '.join(SUPPORTED)} was found on PATH; "
        "with pyenv, set PYENV_VERSION=3.11.7:3.12.1:3.13.0"
    )
DEFAULT_PYTHON = PYTHONS[0]

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = False
nox.options.sessions = [
    *(f"tests_{name}" for name in ALL),
    "integration",
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


def _run_pytest(session: nox.Session, *paths: str) -> None:
    env = {"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")}
    # Run from a neutral directory so that the source tree is not importable:
    # the tests see only the installed wheels.
    session.run(
        "python", "-m", "pytest", "-p", "no:cacheprovider", *paths, *session.posargs, env=env
    )


def _make_test_session(name: str) -> None:
    def tests(session: nox.Session) -> None:
        session.install(*_with_layers(name), *TEST_DEPS)
        _run_pytest(session, str(PACKAGES / name / "tests"))

    # nox reads the docstring when the session is declared, so set it first.
    tests.__doc__ = (
        f"Run {name}'s tests with only {name} and its declared lower layers "
        f"({', '.join(LAYERS[name]) or 'none'}) installed."
    )
    nox.session(name=f"tests_{name}", python=PYTHONS)(tests)


for _name in ALL:
    _make_test_session(_name)


@nox.session(python=DEFAULT_PYTHON)
def integration(session: nox.Session) -> None:
    """Run tests_integration/ with all four distributions installed."""
    _install_all(session)
    session.install(*TEST_DEPS)
    _run_pytest(session, str(ROOT / "tests_integration"))


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
        "-m",
        "stress or not stress",
        *session.posargs,
    )


@nox.session(python=DEFAULT_PYTHON)
def shuffled(session: nox.Session) -> None:
    """Every package suite in debug mode with a random shuffle seed (not run by default).

    Perturbs only the orders no documented rule fixes (I/O events of one poll, timers
    due at the same instant, wake-ups from other threads); a failure prints the seed,
    and ``nox -s shuffled -- --loopcore-seed=N`` replays it.
    """
    _install_all(session)
    session.install(*TEST_DEPS)
    for name in ALL:
        session.run(
            "python",
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            str(PACKAGES / name / "tests"),
            "--loopcore-debug",
            "--loopcore-seed=random",
            *session.posargs,
        )


@nox.session(python=DEFAULT_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (check and format) and the import-linter layer contract."""
    # Pinned: a new ruff release may format differently and turn CI red by itself.
    session.install("ruff==0.17.6", "import-linter>=2.0")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    _install_all(session)
    session.run("lint-imports", "--config", str(ROOT / ".importlinter"))


@nox.session(python=DEFAULT_PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package's source."""
    # pytest: loopcore.testing.pytest_plugin is type-checked against it.
    session.install("mypy==2.4.1", "pytest>=8")
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
    """Run the runnable examples of every installed layer and print what they did."""
    _install_all(session)
    session.run("python", str(ROOT / "docs" / "examples" / "run_all.py"))


@nox.session(python=DEFAULT_PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against stdlib asyncio, uvloop and rloop (not run by default).

    ``nox -s bench -- --quick`` for a short check; ``-- --cold`` measures the echo
    servers untrained (see benchmarks/README.md).
    """
    _install_all(session)
    session.install("uvloop", "rloop", "matplotlib", "trustme")
    session.run("python", str(ROOT / "benchmarks" / "run.py"), *session.posargs)
