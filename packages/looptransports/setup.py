"""Build hook for the optional compiled build (docs: "Compiled build").

By default this builds the pure-Python wheel that ``pyproject.toml`` describes, the
reference and the fallback. With ``LOOPCORE_COMPILE=1`` in the environment it also
compiles the modules of ``COMPILED`` with mypyc (from mypy, which must then be
installed in the build environment, with loopcore installed too so that mypy sees its
types: build with ``--no-build-isolation``, as ``nox -s build_compiled`` does). The
``.py`` sources stay in the wheel beside the extension modules, so that
``LOOPCORE_PURE=1`` can run them.
"""

import os

from setuptools import setup

NAME = "looptransports"

#: The modules compiled with mypyc in the compiled build. The others stay
#: interpreted; the docs page "Compiled build" says which and why (the socket
#: transport must stay a Python class, whose attributes a compiled method reaches
#: only through dictionary look-ups: its reads and writes are in ``_socket_io``'s
#: native class instead, and ``_sockets`` keeps the transport's life, interpreted).
COMPILED: list[str] = [
    "_recvbuf",
    "_socket_io",
]


def _extensions() -> list[object]:
    if os.environ.get("LOOPCORE_COMPILE", "") in ("", "0"):
        return []
    from mypyc.build import mypycify

    return list(
        mypycify(
            [f"src/{NAME}/{module}.py" for module in COMPILED],
            opt_level=os.environ.get("LOOPCORE_COMPILE_OPT", "3"),
            # One shared library per distribution, named after it (not a hash).
            group_name=NAME,
        )
    )


setup(ext_modules=_extensions())
