"""Which build of looptransports runs (docs: "Compiled build").

These tests hold in both builds. Against the pure-Python wheel (or a source checkout)
no module of looptransports is compiled; against its compiled wheel (``nox -s tests_compiled``)
exactly the modules that ``setup.py`` lists are, unless ``LOOPCORE_PURE`` is set.
"""

from __future__ import annotations

import gc
import socket
import weakref
from pathlib import Path

import loopcore
import looptransports
from loopcore import _build
from loopcore.testing._build_checks import (
    compiled_in_fresh_interpreter,
    installed_extensions,
    setup_compiled,
)
from looptransports._sockets import SocketTransport

_SETUP = Path(__file__).resolve().parent.parent / "setup.py"


def test_compiled_wheel_runs_exactly_the_modules_setup_py_compiles():
    installed = installed_extensions("looptransports")
    if installed:  # the compiled wheel
        assert installed == setup_compiled(_SETUP, "looptransports")
    assert set(compiled_in_fresh_interpreter("looptransports", None)) == installed


def test_loopcore_pure_runs_every_module_of_looptransports_from_source():
    assert compiled_in_fresh_interpreter("looptransports", "1") == []


def test_modules_in_this_process_run_in_the_build_installed():
    running = set(_build.compiled_modules("looptransports"))
    if _build.PURE_REQUESTED:
        assert running == set()
    else:
        assert running <= installed_extensions("looptransports")


def test_interpreted_subclasses_of_loop_and_protocol_have_their_overrides_called():
    # Both builds: the socket transport (a Python class in both, see docs "Compiled
    # build") and its SocketIO (native in the compiled build) call the protocol's
    # and the loop's methods through Python's lookup, so a user's subclass of
    # either is seen.
    calls: list[str] = []

    class Loop(looptransports.SelectorEventLoop):
        def _add_reader(self, fd, callback, *args):  # type: ignore[no-untyped-def]
            calls.append("_add_reader")
            return super()._add_reader(fd, callback, *args)

    class Echo(looptransports.Protocol):
        def connection_made(self, transport):  # type: ignore[no-untyped-def]
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            calls.append("data_received")
            self.transport.write(data.upper())

    async def main() -> bytes:
        loop = loopcore.get_running_loop()
        ours, peer = socket.socketpair()
        peer.setblocking(False)
        transport, _ = await loop.create_connection(Echo, sock=ours)
        assert type(transport) is SocketTransport
        await loop.sock_sendall(peer, b"ping")
        echoed = await loop.sock_recv(peer, 10)
        transport.close()
        await loopcore.sleep(0)
        peer.close()
        return echoed

    loop = Loop()
    try:
        assert loop.run_until_complete(main()) == b"PING"
    finally:
        loop.close()
    assert "_add_reader" in calls
    assert "data_received" in calls


def test_a_dead_socket_transport_clears_its_weak_references():
    # The transport is weakly referenced (the loop's fd owners, loopcore.introspect):
    # in the compiled build it stays a Python class, whose weak references CPython
    # clears when it dies (a mypyc native class did not, and crashed the collector).
    async def main() -> weakref.ref[object]:
        loop = loopcore.get_running_loop()
        ours, peer = socket.socketpair()
        transport, _ = await loop.create_connection(looptransports.Protocol, sock=ours)
        ref = weakref.ref(transport)
        transport.close()
        await loopcore.sleep(0)
        peer.close()
        return ref

    loop = looptransports.SelectorEventLoop()
    try:
        ref = loop.run_until_complete(main())
    finally:
        loop.close()
    gc.collect()
    assert ref() is None
