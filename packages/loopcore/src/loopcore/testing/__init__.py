"""Testing support: a virtual clock, deterministic shuffling, and the pytest plugin.

- :class:`VirtualClock`: virtual ``loop.time()`` that jumps to the next timer when the
  loop has nothing else to do (a test sleeping for an hour finishes in milliseconds);
- :class:`Shuffler`: a seeded perturbation of the orders no documented rule fixes, so
  that order dependence shows up and a failing order can be replayed;
- :func:`virtual_clock_loop`, :func:`get_clock`, :func:`get_shuffler`;
- :func:`signature_problems`: whether one callable accepts every call another does
  (the API-parity checks of our suites against asyncio);
- :func:`source_signature` and :func:`source_object`: a signature, a docstring or
  ``__slots__`` as the source declares them, in either build;
- :func:`open_fds` and :func:`ipv6_loopback_available`: a descriptor-leak check and
  the machine's IPv6 loopback, for suites that use real sockets.

The pytest plugin lives in :mod:`loopcore.testing.pytest_plugin`; it is declared as
an entry point but stays inactive until a project opts in (``loopcore_mode =
"auto"`` in its pytest configuration, or ``@pytest.mark.loopcore`` on a test).
"""

from __future__ import annotations

from ._parity import signature_problems, source_object, source_signature
from ._resources import ipv6_loopback_available, open_fds
from ._virtual import Shuffler, VirtualClock, get_clock, get_shuffler, virtual_clock_loop

__all__ = [
    "Shuffler",
    "VirtualClock",
    "get_clock",
    "get_shuffler",
    "ipv6_loopback_available",
    "open_fds",
    "signature_problems",
    "source_object",
    "source_signature",
    "virtual_clock_loop",
]
