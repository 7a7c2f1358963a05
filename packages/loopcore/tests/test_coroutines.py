"""coroutine, iscoroutine, iscoroutinefunction for both coroutine styles."""

from __future__ import annotations

import loopcore


def test_iscoroutinefunction_recognises_both_styles():
    @loopcore.coroutine
    def gen_style():
        yield from loopcore.sleep(0)

    async def native():
        pass

    def plain():
        pass

    assert loopcore.iscoroutinefunction(gen_style)
    assert loopcore.iscoroutinefunction(native)
    assert not loopcore.iscoroutinefunction(plain)


def test_iscoroutine_recognises_native_and_generator_coroutines():
    async def native():
        pass

    @loopcore.coroutine
    def gen_style():
        yield from loopcore.sleep(0)

    n = native()
    g = gen_style()
    try:
        assert loopcore.iscoroutine(n)
        assert loopcore.iscoroutine(g)
        assert not loopcore.iscoroutine(42)
        assert not loopcore.iscoroutine(native)
    finally:
        n.close()
        g.close()


def test_coroutine_decorator_returns_async_def_unchanged():
    async def native():
        pass

    assert loopcore.coroutine(native) is native


def test_coroutine_decorator_on_plain_function_makes_a_coroutine(loopcore_loop):
    @loopcore.coroutine
    def plain():
        return 5

    assert loopcore.iscoroutinefunction(plain)
    assert loopcore_loop.run_until_complete(plain()) == 5


def test_coroutine_decorator_on_plain_function_returning_future_waits_for_it(loopcore_loop):
    fut = loopcore_loop.create_future()
    loopcore_loop.call_soon(fut.set_result, "later")

    @loopcore.coroutine
    def returns_future():
        return fut

    assert loopcore_loop.run_until_complete(returns_future()) == "later"


def test_generator_coroutine_is_awaitable(loopcore_loop):
    @loopcore.coroutine
    def gen_style():
        yield from loopcore.sleep(0)
        return "ok"

    async def main():
        return await gen_style()

    assert loopcore_loop.run_until_complete(main()) == "ok"
