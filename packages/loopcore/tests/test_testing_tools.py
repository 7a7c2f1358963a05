"""loopcore.testing's tools for suites: signature_problems, open_fds,
ipv6_loopback_available."""

from __future__ import annotations

import inspect
import os
import socket

import pytest

from loopcore.testing import ipv6_loopback_available, open_fds, signature_problems


def sig(func: object) -> inspect.Signature:
    return inspect.signature(func)  # type: ignore[arg-type]


def test_signature_problems_is_empty_for_the_same_signature():
    def ref(a, b=1, *, c=None): ...
    def ours(a, b=1, *, c=None): ...

    assert signature_problems(sig(ref), sig(ours)) == []


def test_signature_problems_allows_an_extra_parameter_with_a_default():
    def ref(delay, result=None): ...
    def ours(delay, result=None, *, loop=None): ...

    assert signature_problems(sig(ref), sig(ours)) == []


def test_signature_problems_names_a_missing_keyword_only_parameter():
    def ref(a, *, timeout=None): ...
    def ours(a): ...

    assert signature_problems(sig(ref), sig(ours)) == [
        "keyword-only parameter 'timeout' is missing"
    ]


def test_signature_problems_names_a_positional_parameter_out_of_order():
    def ref(a, b): ...
    def ours(b, a): ...

    problems = signature_problems(sig(ref), sig(ours))
    assert "parameter #0 is 'b' (positional or keyword), the reference has 'a'" in problems[0]


def test_signature_problems_names_a_different_default():
    def ref(limit=2**16): ...
    def ours(limit=2**10): ...

    assert signature_problems(sig(ref), sig(ours)) == [
        "'limit' defaults to 1024, the reference's to 65536"
    ]


def test_signature_problems_names_an_extra_parameter_without_a_default():
    def ref(a): ...
    def ours(a, b): ...

    assert signature_problems(sig(ref), sig(ours)) == ["extra parameter 'b' has no default"]


def test_signature_problems_ignores_self():
    class Ref:
        def method(self, x): ...

    class Ours:
        def method(self, x): ...

    assert signature_problems(sig(Ref.method), sig(Ours.method)) == []


def test_open_fds_sees_a_new_descriptor_and_its_closing():
    before = open_fds()
    with socket.socket() as sock:
        during = open_fds()
        assert sock.fileno() in during
        assert sock.fileno() not in before
    assert sock.fileno() == -1
    assert set(open_fds()) == set(before)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="descriptions need /proc")
def test_open_fds_says_what_a_descriptor_refers_to():
    with socket.socket() as sock:
        assert open_fds()[sock.fileno()].startswith("socket:")


def test_ipv6_loopback_available_agrees_with_binding_to_it():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        expected = False
    else:
        expected = True
    assert ipv6_loopback_available() is expected


def test_source_signature_gives_the_parameters_of_an_async_loop_method():
    # Needed in the compiled build, where inspect.signature reads "()" for compiled
    # async methods; in the pure build it is inspect.signature.
    from loopcore.base_loop import BaseEventLoop
    from loopcore.testing import source_signature

    unbound = source_signature(BaseEventLoop, "sock_recv")
    assert list(unbound.parameters) == ["self", "sock", "nbytes"]
    loop = BaseEventLoop()
    try:
        bound = source_signature(loop, "sock_recv")
        assert list(bound.parameters) == ["sock", "nbytes"]
        assert list(source_signature(loop, "call_later").parameters) == [
            "delay",
            "callback",
            "args",
            "context",
        ]
    finally:
        loop.close()


def test_source_signature_of_a_function_is_its_signature():
    import loopcore
    from loopcore.testing import source_signature

    assert source_signature(loopcore.sleep) == inspect.signature(loopcore.sleep)
