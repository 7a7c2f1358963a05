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


def test_source_object_has_the_docstring_and_slots_the_source_declares():
    # Compiled, mypyc's classes and functions have no docstring and its classes no
    # __slots__: source_object gives the source's definitions, in either build.
    import loopcore
    from loopcore.testing import source_object

    future = source_object(loopcore.Future)
    assert isinstance(future, type) and future.__name__ == "Future"
    assert future.__doc__.startswith("A placeholder for a result that is set later")
    assert "_state" in future.__slots__
    isfuture = source_object(loopcore.isfuture)
    assert isfuture.__doc__.startswith("True for a :class:`Future`-compatible object")
    method = source_object(loopcore.Future, "get_loop")
    assert method.__doc__.startswith("The loop this future is bound to")
    loop = loopcore.BaseEventLoop()
    try:
        # Looked up on an instance: the function the class body defines.
        assert source_object(loop, "call_soon") is source_object(
            loopcore.BaseEventLoop, "call_soon"
        )
        assert source_object(loop, "call_soon").__doc__
    finally:
        loop.close()
    if loopcore.COMPILED:
        # Copies run from the source, not the classes the loop uses.
        assert future is not loopcore.Future
    else:
        assert future is loopcore.Future
        assert isfuture is loopcore.isfuture


def test_source_object_of_an_interpreted_object_is_the_object_itself():
    import loopcore
    from loopcore.testing import source_object

    assert source_object(loopcore.sleep) is loopcore.sleep
    assert source_object(loopcore.timeout) is loopcore.timeout
    assert source_object(int) is int
    with pytest.raises(AttributeError):
        source_object(loopcore.Future, "no_such_method")
