"""What a test may leak or need from the machine: open file descriptors, IPv6."""

from __future__ import annotations

import os
import socket
import sys

__all__ = ["ipv6_loopback_available", "open_fds"]


def open_fds() -> dict[int, str]:
    """The file descriptors open in this process, each with what it refers to.

    Take it before and after a test: a descriptor in the second that is not in the
    first leaked (an unreachable socket or transport may still be waiting for the
    garbage collector; call :func:`gc.collect` before judging). The description is
    the ``/proc/self/fd`` link target on Linux (``socket:[1234]``, a path), and the
    empty string where the platform does not say.

    :raises OSError: on a platform with neither ``/proc/self/fd`` nor ``/dev/fd``.
    """
    directory = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    found: dict[int, str] = {}
    for name in os.listdir(directory):
        fd = int(name)
        try:
            found[fd] = os.readlink(f"{directory}/{name}") if sys.platform == "linux" else ""
        except OSError:
            continue  # closed meanwhile: listdir's own descriptor, for one
    return found


def ipv6_loopback_available() -> bool:
    """True if a TCP socket can be bound to the IPv6 loopback address ``::1``.

    Some containers and CI machines have no IPv6; tests that use ``::1`` should be
    skipped there rather than fail.
    """
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True
