"""Shared fixtures of the loopstreams suite.

* Hypothesis profiles: ``ci`` (default: derandomized, 25 examples) and ``stress``
  (1000 examples), chosen by the ``HYPOTHESIS_PROFILE`` environment variable.
* Every test is checked for file-descriptor leaks.
* ``tls``: a certificate authority and server/client contexts made at test time with
  ``trustme``.
"""

from __future__ import annotations

import gc
import os
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import trustme
from hypothesis import settings

from loopcore.testing import ipv6_loopback_available, open_fds

settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None)
settings.register_profile("stress", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def no_fd_leak() -> Iterator[None]:
    """Fail the test if it leaves more file descriptors open than it found."""
    gc.collect()
    before = open_fds()
    yield
    gc.collect()
    after = open_fds()
    leaked = [f"{fd} -> {after[fd]}" for fd in sorted(after.keys() - before.keys())]
    if leaked:
        pytest.fail(f"file descriptors leaked by the test: {leaked}")


HAS_IPV6 = ipv6_loopback_available()


@pytest.fixture(params=["127.0.0.1", pytest.param("::1", id="ipv6")])
def loopback(request: pytest.FixtureRequest) -> str:
    """Each loopback address in turn (the IPv6 one is skipped where it is missing)."""
    if request.param == "::1" and not HAS_IPV6:
        pytest.skip("IPv6 loopback (::1) is not available")
    return str(request.param)


@dataclass
class TLS:
    server: ssl.SSLContext
    client: ssl.SSLContext
    hostname: str


@pytest.fixture(scope="session")
def tls() -> TLS:
    """Server and client TLS contexts trusting one test CA (trustme)."""
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1", "::1")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return TLS(server=server, client=client, hostname="localhost")
