"""The distribution: its one dependency, its entry point, its public names."""

from __future__ import annotations

import importlib.metadata
import inspect
import re
from pathlib import Path

import loopcore
import looptransports
from looptransports import SelectorEventLoop

SRC = Path(looptransports.__file__).parent


def test_depends_exactly_on_loopcore() -> None:
    requires = importlib.metadata.requires("looptransports") or []
    names = {re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0].lower() for req in requires}
    assert names == {"loopcore"}


def test_its_loop_is_what_new_event_loop_returns() -> None:
    eps = importlib.metadata.entry_points(group="loopcore.event_loops")
    assert any(ep.value == "looptransports.selector_loop:SelectorEventLoop" for ep in eps)
    loop = loopcore.new_event_loop()
    try:
        assert type(loop) is SelectorEventLoop
    finally:
        loop.close()


def test_default_poller_is_the_platforms_best_and_a_given_selector_is_used() -> None:
    import select
    import selectors

    from loopcore._poller import EpollPoller, SelectorPoller

    loop = SelectorEventLoop()
    try:
        if hasattr(select, "epoll"):
            assert type(loop._io) is EpollPoller
        else:
            assert type(loop._io) is SelectorPoller
            assert type(loop._io.selector) is selectors.DefaultSelector
    finally:
        loop.close()
    custom = selectors.SelectSelector()
    loop = SelectorEventLoop(custom)
    try:
        assert type(loop._io) is SelectorPoller
        assert loop._io.selector is custom
    finally:
        loop.close()


def test_every_public_name_is_exported_and_documented() -> None:
    for name in looptransports.__all__:
        obj = getattr(looptransports, name)
        assert inspect.getdoc(obj), f"{name} has no docstring"
    for name in (
        "BaseProtocol",
        "Protocol",
        "BufferedProtocol",
        "DatagramProtocol",
        "SubprocessProtocol",
        "BaseTransport",
        "ReadTransport",
        "WriteTransport",
        "Transport",
        "DatagramTransport",
        "SubprocessTransport",
        "BaseSubprocessTransport",
        "SelectorEventLoop",
        "Server",
    ):
        assert name in looptransports.__all__


def test_the_network_methods_are_all_there() -> None:
    for name in (
        "getaddrinfo",
        "getnameinfo",
        "sock_recv",
        "sock_recv_into",
        "sock_sendall",
        "sock_connect",
        "sock_accept",
        "sock_sendto",
        "sock_recvfrom",
        "sock_recvfrom_into",
        "sock_sendfile",
        "create_connection",
        "create_server",
        "create_unix_connection",
        "create_unix_server",
        "create_datagram_endpoint",
        "connect_accepted_socket",
        "sendfile",
        "start_tls",
    ):
        method = getattr(SelectorEventLoop, name)
        assert inspect.iscoroutinefunction(method), name
        assert inspect.getdoc(method), name


def test_sources_never_import_stdlib_asyncio() -> None:
    pattern = re.compile(r"^\s*(import asyncio|from asyncio)", re.MULTILINE)
    for path in SRC.glob("*.py"):
        assert not pattern.search(path.read_text()), path


def test_run_uses_the_selector_loop() -> None:
    async def which() -> type:
        return type(loopcore.get_running_loop())

    assert loopcore.run(which()) is SelectorEventLoop
