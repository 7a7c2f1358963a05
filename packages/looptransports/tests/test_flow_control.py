"""Write flow control: pause_writing strictly over the high-water mark, resume_writing
at the low-water mark or below, each once; limits validated; raising callbacks
reported, not fatal."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lt_support import Recorder, accepted_pair, running_loop

from looptransports import transports


async def _fill(transport: Any) -> int:
    """Write until the kernel buffer is full and something stays buffered."""
    transport.set_write_buffer_limits(high=1 << 30)
    chunk = b"x" * (1 << 20)
    while transport.get_write_buffer_size() == 0:
        transport.write(chunk)
    return int(transport.get_write_buffer_size())


async def _drain_until(peer: Any, cond: Any) -> None:
    loop = running_loop()
    while not cond():
        await loop.sock_recv(peer, 1 << 20)


async def test_default_limits_are_64k_and_a_quarter() -> None:
    transport, proto, peer = await accepted_pair()
    assert transport.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
    transport.set_write_buffer_limits(low=1000)
    assert transport.get_write_buffer_limits() == (1000, 4000)
    transport.set_write_buffer_limits(high=1000)
    assert transport.get_write_buffer_limits() == (250, 1000)
    transport.set_write_buffer_limits()
    assert transport.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
    transport.close()
    await proto.lost
    peer.close()


@pytest.mark.parametrize(("high", "low"), [(-1, None), (None, -1), (10, 11), (0, 1), (-5, -10)])
async def test_invalid_limits_are_refused_naming_the_values(high: Any, low: Any) -> None:
    transport, proto, peer = await accepted_pair()
    with pytest.raises(ValueError, match=r"high=.*low="):
        transport.set_write_buffer_limits(high=high, low=low)
    assert transport.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
    transport.close()
    await proto.lost
    peer.close()


async def test_pause_only_strictly_over_high_and_once() -> None:
    transport, proto, peer = await accepted_pair()
    size = await _fill(transport)
    transport.set_write_buffer_limits(high=size + 10, low=0)
    assert "pause_writing" not in proto.events
    transport.write(b"y" * 10)  # exactly at the mark: not over it
    assert transport.get_write_buffer_size() == size + 10
    assert "pause_writing" not in proto.events
    transport.write(b"z")  # one byte over
    assert proto.events.count("pause_writing") == 1
    transport.write(b"more")
    assert proto.events.count("pause_writing") == 1
    await _drain_until(peer, lambda: "resume_writing" in proto.events)
    assert transport.get_write_buffer_size() == 0  # low=0: only when empty
    assert proto.events.count("resume_writing") == 1
    transport.close()
    await proto.lost
    proto.assert_rules()
    peer.close()


async def test_resume_once_at_low_or_below() -> None:
    transport, proto, peer = await accepted_pair()
    size = await _fill(transport)
    transport.set_write_buffer_limits(high=size - 1, low=0)
    assert proto.events.count("pause_writing") == 1
    # Raising low to just under the buffered size does not resume ...
    transport.set_write_buffer_limits(high=size, low=size - 1)
    assert "resume_writing" not in proto.events
    # ... but reaching it does, exactly once.
    transport.set_write_buffer_limits(high=size, low=size)
    assert proto.events.count("resume_writing") == 1
    transport.set_write_buffer_limits(high=size, low=size)
    assert proto.events.count("resume_writing") == 1
    transport.abort()
    await proto.lost
    proto.assert_rules()
    peer.close()


async def test_resume_reported_when_draining_to_low() -> None:
    sizes: list[int] = []

    class Watch(Recorder):
        def resume_writing(self) -> None:
            super().resume_writing()
            sizes.append(self.transport.get_write_buffer_size())

    transport, proto, peer = await accepted_pair(Watch)
    size = await _fill(transport)
    low = size // 2
    transport.set_write_buffer_limits(high=size - 1, low=low)
    assert proto.events.count("pause_writing") == 1
    await _drain_until(peer, lambda: sizes)
    assert len(sizes) == 1 and sizes[0] <= low
    transport.abort()
    await proto.lost
    peer.close()


async def test_high_zero_pauses_on_any_buffered_byte() -> None:
    transport, proto, peer = await accepted_pair()
    transport.set_write_buffer_limits(high=0)
    assert transport.get_write_buffer_limits() == (0, 0)
    transport.write(b"fits in the kernel")
    assert "pause_writing" not in proto.events
    chunk = b"x" * (1 << 20)
    while transport.get_write_buffer_size() == 0:
        transport.write(chunk)
    assert proto.events.count("pause_writing") == 1
    await _drain_until(peer, lambda: "resume_writing" in proto.events)
    assert transport.get_write_buffer_size() == 0
    transport.close()
    await proto.lost
    proto.assert_rules()
    peer.close()


async def test_raising_flow_callbacks_are_reported_not_fatal() -> None:
    loop = running_loop()
    contexts: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))

    class Raising(Recorder):
        def pause_writing(self) -> None:
            super().pause_writing()
            raise RuntimeError("pause failed")

        def resume_writing(self) -> None:
            super().resume_writing()
            raise RuntimeError("resume failed")

    transport, proto, peer = await accepted_pair(Raising)
    size = await _fill(transport)
    transport.set_write_buffer_limits(high=size - 1, low=0)
    await _drain_until(peer, lambda: "resume_writing" in proto.events)
    assert not transport.is_closing()
    messages = [c["message"] for c in contexts]
    assert messages == ["protocol.pause_writing() failed", "protocol.resume_writing() failed"]
    assert all(c["transport"] is transport for c in contexts)
    transport.write(b"still works")
    transport.close()
    assert await proto.lost is None
    peer.close()


class _Sizer(transports._FlowControlMixin):
    """The mixin alone over a buffer size the test sets: the rules as pure logic."""

    def __init__(self, loop: Any, protocol: Any) -> None:
        self._protocol = protocol
        self.size = 0
        super().__init__(None, loop)

    def get_write_buffer_size(self) -> int:
        return self.size

    def is_closing(self) -> bool:
        return False


@given(
    high=st.integers(0, 100),
    low_frac=st.floats(0, 1),
    sizes=st.lists(st.integers(0, 150), max_size=40),
)
def test_pause_resume_alternate_and_follow_the_marks(
    high: int, low_frac: float, sizes: list[int]
) -> None:
    events: list[str] = []

    class P(Recorder.__mro__[1]):  # looptransports.Protocol
        def pause_writing(self) -> None:
            events.append("pause")

        def resume_writing(self) -> None:
            events.append("resume")

    low = int(high * low_frac)
    t = _Sizer(None, P())
    t.set_write_buffer_limits(high=high, low=low)
    paused = False
    for size in sizes:
        grew = size > t.size
        t.size = size
        before = len(events)
        if grew:
            t._maybe_pause_protocol()
        else:
            t._maybe_resume_protocol()
        if grew and not paused and size > high:
            assert events[before:] == ["pause"]
            paused = True
        elif not grew and paused and size <= low:
            assert events[before:] == ["resume"]
            paused = False
        else:
            assert events[before:] == []
    assert all(a != b for a, b in zip(events, events[1:], strict=False))


async def test_no_flow_callback_after_connection_lost() -> None:
    transport, proto, peer = await accepted_pair()
    size = await _fill(transport)
    transport.set_write_buffer_limits(high=size - 1, low=0)
    assert proto.events.count("pause_writing") == 1
    transport.abort()
    await proto.lost
    transport.set_write_buffer_limits(high=size, low=size)
    assert proto.events[-1] == "connection_lost"
    proto.assert_rules()
    peer.close()
