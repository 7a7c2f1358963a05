"""Shared setup of the integration tests (every distribution installed).

* Hypothesis profiles: ``ci`` (the default: derandomized, 25 examples, no deadline)
  and ``stress`` (1000 examples), chosen by the ``HYPOTHESIS_PROFILE`` environment
  variable (``nox -s stress`` sets ``stress``).
* ``net``: each way of connecting (TCP on 127.0.0.1 and ::1, TLS, Unix sockets,
  TLS over Unix sockets) behind the same two calls, so one test covers them all.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import trustme
from hypothesis import settings

from loopcore.testing import ipv6_loopback_available

settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None)
settings.register_profile("stress", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: True under ``nox -s stress``: tests may use more clients and more messages.
STRESS = os.environ.get("LOOP_STRESS", "") not in ("", "0")


HAS_IPV6 = ipv6_loopback_available()


@dataclass
class TLS:
    server: ssl.SSLContext
    client: ssl.SSLContext
    hostname: str = "localhost"


def make_tls() -> TLS:
    """Contexts trusting a certificate authority made now, with trustme."""
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1", "::1")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return TLS(server=server, client=client)


@pytest.fixture(scope="session")
def tls() -> TLS:
    return make_tls()


@dataclass
class Net:
    """How to serve and connect for one kind of connection.

    ``server_kwds(cb)`` gives the arguments of ``start_server``/``start_unix_server``
    (call :meth:`start`), and ``connect(server)`` the connection to it.
    """

    kind: str
    tls: TLS | None
    host: str = "127.0.0.1"
    unix_dir: str | None = None
    _count: list[int] = field(default_factory=lambda: [0])

    @property
    def unix(self) -> bool:
        return self.unix_dir is not None

    async def start(self, cb: Callable[..., object], **kwds: object) -> object:
        import loopstreams

        if self.tls is not None:
            kwds["ssl"] = self.tls.server
        if self.unix_dir is not None:
            self._count[0] += 1
            path = os.path.join(self.unix_dir, f"s{self._count[0]}.sock")
            return await loopstreams.start_unix_server(cb, path, **kwds)
        return await loopstreams.start_server(cb, self.host, 0, **kwds)

    async def connect(self, server: object, **kwds: object) -> tuple[object, object]:
        import loopstreams

        if self.tls is not None:
            kwds["ssl"] = self.tls.client
            kwds["server_hostname"] = self.tls.hostname
        if "sock" in kwds:  # an already connected socket
            if self.unix_dir is not None:
                return await loopstreams.open_unix_connection(**kwds)
            return await loopstreams.open_connection(**kwds)
        address = server.sockets[0].getsockname()  # type: ignore[attr-defined]
        if self.unix_dir is not None:
            return await loopstreams.open_unix_connection(address, **kwds)
        return await loopstreams.open_connection(address[0], address[1], **kwds)


KINDS = ["tcp", "tcp6", "tls", "unix", "unix+tls"]


def make_net(kind: str, tls: TLS, unix_dir: str) -> Net:
    if kind == "tcp6" and not HAS_IPV6:
        pytest.skip("IPv6 loopback (::1) is not available")
    return Net(
        kind=kind,
        tls=tls if "tls" in kind else None,
        host="::1" if kind == "tcp6" else "127.0.0.1",
        unix_dir=unix_dir if kind.startswith("unix") else None,
    )


@pytest.fixture(params=KINDS)
def net(request: pytest.FixtureRequest, tls: TLS) -> Iterator[Net]:
    """Each kind of connection in turn: tcp, tcp6, tls, unix, unix+tls."""
    # A short directory: Unix socket paths are limited to about 100 bytes.
    with tempfile.TemporaryDirectory(prefix="ls-") as unix_dir:
        yield make_net(str(request.param), tls, unix_dir)
