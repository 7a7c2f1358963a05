"""StreamReader: every read method, the limit rules, pausing, errors, both coroutine styles.

The reader is fed with ``feed_data``/``feed_eof``, its real API (the protocol calls
the same methods). Pausing is checked with a transport that records the calls; the
same rules over real sockets are in test_open_connection.py.
"""

from __future__ import annotations

import pytest
from stream_helpers import COMPILED, bad_argument

import loopcore
from loopcore import coroutine
from loopstreams import IncompleteReadError, LimitOverrunError, StreamReader
from looptransports.transports import ReadTransport


class RecordingTransport(ReadTransport):
    """A read transport that only records pause_reading()/resume_reading()."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.reading = True

    def pause_reading(self) -> None:
        assert self.reading, "paused twice"
        self.reading = False
        self.calls.append("pause")

    def resume_reading(self) -> None:
        assert not self.reading, "resumed while reading"
        self.reading = True
        self.calls.append("resume")

    def is_reading(self) -> bool:
        return self.reading


class UnpausableTransport(ReadTransport):
    def pause_reading(self) -> None:
        raise NotImplementedError


async def turns(n: int = 3) -> None:
    """Let the loop run its ready callbacks *n* times (no sleeping)."""
    from loopcore import get_running_loop

    loop = get_running_loop()
    for _ in range(n):
        fut = loop.create_future()
        loop.call_soon(fut.set_result, None)
        await fut


def fed(data: bytes, *, eof: bool = True, limit: int = 2**16) -> StreamReader:
    reader = StreamReader(limit=limit)
    reader.feed_data(data)
    if eof:
        reader.feed_eof()
    return reader


# -- construction -------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, -1, 1.5, True, "10"])
async def test_limit_must_be_a_positive_int(limit: object) -> None:
    if COMPILED and limit is True:
        # mypyc passes True on as the int 1 where the signature says int, before
        # our check could see a bool (docs: "Compiled build", differences/compiled).
        assert StreamReader(limit=limit)._limit == 1
        return
    error, message = bad_argument(
        limit, f"^limit must be a positive int \\(bytes\\), got {limit!r}$"
    )
    with pytest.raises(error, match=message):
        StreamReader(limit=limit)  # type: ignore[arg-type]


async def test_reader_binds_to_the_running_loop(loopcore_loop: object) -> None:
    assert StreamReader()._loop is loopcore_loop


def test_reader_made_outside_a_loop_uses_the_current_loop(loopcore_loop: object) -> None:
    assert StreamReader()._loop is loopcore_loop


async def test_reader_refuses_a_loop_other_than_the_running_one() -> None:
    from loopcore import policies

    other = policies.new_event_loop()
    try:
        with pytest.raises(ValueError, match="is running in this thread"):
            StreamReader(loop=other)
    finally:
        other.close()


async def test_repr_shows_buffer_eof_and_limit() -> None:
    reader = fed(b"abc", limit=10)
    text = repr(reader)
    assert "3 bytes" in text and "eof" in text and "limit=10" in text


# -- read() ---------------------------------------------------------------------------------


async def test_read_returns_at_most_n_buffered_bytes() -> None:
    reader = fed(b"hello world", eof=False)
    assert await reader.read(5) == b"hello"
    assert await reader.read(100) == b" world"


async def test_read_zero_returns_empty_without_waiting() -> None:
    reader = StreamReader()
    assert await reader.read(0) == b""


async def test_read_waits_for_data_then_returns_what_arrived(loopcore_loop: object) -> None:
    reader = StreamReader()
    loopcore_loop.call_soon(reader.feed_data, b"late")  # type: ignore[attr-defined]
    assert await reader.read(10) == b"late"


async def test_read_at_eof_returns_empty() -> None:
    reader = fed(b"")
    assert await reader.read(10) == b""
    assert await reader.read() == b""


async def test_read_all_collects_every_chunk_until_eof(loopcore_loop: object) -> None:
    reader = StreamReader(limit=4)

    async def feeder() -> None:
        for chunk in (b"abc", b"defgh", b"ij"):
            reader.feed_data(chunk)
            await turns(1)
        reader.feed_eof()

    task = loopcore_loop.create_task(feeder())  # type: ignore[attr-defined]
    assert await reader.read() == b"abcdefghij"
    assert reader.at_eof()
    await task


# -- readexactly() --------------------------------------------------------------------------


async def test_readexactly_returns_exactly_n_bytes_across_chunks(loopcore_loop: object) -> None:
    reader = fed(b"ab", eof=False)
    loopcore_loop.call_soon(reader.feed_data, b"cdef")  # type: ignore[attr-defined]
    assert await reader.readexactly(4) == b"abcd"
    assert await reader.readexactly(2) == b"ef"


async def test_readexactly_at_eof_raises_incomplete_read_with_the_partial_bytes() -> None:
    reader = fed(b"abc")
    with pytest.raises(IncompleteReadError) as info:
        await reader.readexactly(5)
    assert info.value.partial == b"abc"
    assert info.value.expected == 5
    assert isinstance(info.value, EOFError)
    assert await reader.read() == b""  # the partial bytes were consumed


async def test_readexactly_zero_returns_empty() -> None:
    assert await fed(b"abc").readexactly(0) == b""


async def test_readexactly_negative_size_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="-1"):
        await fed(b"abc").readexactly(-1)


# -- readline() -----------------------------------------------------------------------------


async def test_readline_returns_one_line_with_its_newline() -> None:
    reader = fed(b"one\ntwo\n")
    assert await reader.readline() == b"one\n"
    assert await reader.readline() == b"two\n"
    assert await reader.readline() == b""


async def test_readline_returns_the_partial_last_line_then_empty() -> None:
    reader = fed(b"one\ntail")
    assert await reader.readline() == b"one\n"
    assert await reader.readline() == b"tail"
    assert await reader.readline() == b""
    assert reader.at_eof()


async def test_readline_waits_until_the_newline_arrives(loopcore_loop: object) -> None:
    reader = fed(b"par", eof=False)
    loopcore_loop.call_soon(reader.feed_data, b"tial line\nnext")  # type: ignore[attr-defined]
    assert await reader.readline() == b"partial line\n"
    assert await reader.read(10) == b"next"


async def test_readline_accepts_a_line_exactly_as_long_as_the_limit() -> None:
    reader = fed(b"x" * 10 + b"\n", limit=10)
    assert await reader.readline() == b"x" * 10 + b"\n"


async def test_readline_over_the_limit_raises_value_error_caused_by_limit_overrun() -> None:
    reader = fed(b"x" * 11 + b"\nnext\n", limit=10)
    with pytest.raises(ValueError, match="over the limit of 10 bytes") as info:
        await reader.readline()
    assert isinstance(info.value.__cause__, LimitOverrunError)
    assert info.value.__cause__.consumed == 11


async def test_readline_discards_the_overlong_line_through_its_newline() -> None:
    reader = fed(b"x" * 11 + b"\nnext\n", limit=10)
    with pytest.raises(ValueError):
        await reader.readline()
    assert await reader.readline() == b"next\n"


async def test_readline_without_newline_yet_discards_the_whole_buffer_and_stays_usable(
    loopcore_loop: object,
) -> None:
    reader = fed(b"y" * 25, eof=False, limit=10)
    with pytest.raises(ValueError, match="without a newline") as info:
        await reader.readline()
    assert isinstance(info.value.__cause__, LimitOverrunError)
    assert len(reader._buffer) == 0
    reader.feed_data(b"ok\n")
    assert await reader.readline() == b"ok\n"


async def test_readline_endless_line_keeps_memory_near_the_limit_and_raises_each_time() -> None:
    # A peer that never sends a newline: each readline() fails clearly and the
    # buffer never holds much more than the limit plus one chunk.
    limit, chunk = 1000, b"z" * 300
    reader = StreamReader(limit=limit)
    transport = RecordingTransport()
    reader.set_transport(transport)
    errors = 0
    high = 0
    for _ in range(40):
        while transport.reading and len(reader._buffer) <= limit:
            reader.feed_data(chunk)
            high = max(high, len(reader._buffer))
        with pytest.raises(ValueError, match="without a newline"):
            await reader.readline()
        errors += 1
        assert transport.reading
    assert errors == 40
    assert high <= limit + len(chunk)


async def test_readline_per_call_limit_accepts_one_long_line() -> None:
    reader = fed(b"j" * 50 + b"\n" + b"k" * 50 + b"\n", limit=10)
    assert await reader.readline(limit=100) == b"j" * 50 + b"\n"
    with pytest.raises(ValueError, match="over the limit of 10 bytes"):
        await reader.readline()


async def test_readline_per_call_limit_may_be_smaller_than_the_stream_limit() -> None:
    reader = fed(b"abcdef\n", limit=100)
    with pytest.raises(ValueError, match="over the limit of 3 bytes"):
        await reader.readline(limit=3)


@pytest.mark.parametrize("limit", [0, -5, 2.0])
async def test_readline_per_call_limit_must_be_positive(limit: object) -> None:
    error, message = bad_argument(
        limit,
        f"^readuntil\\(\\) limit must be a positive int \\(bytes\\), got {limit!r}$",
        (int, type(None)),
        "int or None",
    )
    with pytest.raises(error, match=message):
        await fed(b"a\n").readline(limit=limit)  # type: ignore[arg-type]


async def test_per_call_limit_raises_the_pause_threshold_while_the_call_waits(
    loopcore_loop: object,
) -> None:
    reader = StreamReader(limit=10)
    transport = RecordingTransport()
    reader.set_transport(transport)
    task = loopcore_loop.create_task(reader.readline(limit=1000))  # type: ignore[attr-defined]
    await turns()
    for _ in range(19):
        reader.feed_data(b"w" * 50)  # 950 bytes: far over 2 * 10, under 2 * 1000
        await turns(1)
    assert transport.calls == []
    reader.feed_data(b"\n")
    assert await task == b"w" * 950 + b"\n"
    # Back to the stream's own limit once the call returned.
    reader.feed_data(b"v" * 21)
    assert transport.calls == ["pause"]


async def test_per_call_limit_resumes_a_paused_transport_so_the_long_line_can_arrive() -> None:
    reader = StreamReader(limit=10)
    transport = RecordingTransport()
    reader.set_transport(transport)
    reader.feed_data(b"w" * 30)
    assert transport.calls == ["pause"]

    async def feed_rest() -> None:
        await turns()
        assert transport.reading, "readline(limit=...) left the transport paused"
        reader.feed_data(b"w" * 30 + b"\n")

    from loopcore import get_running_loop

    feeder = get_running_loop().create_task(feed_rest())
    assert await reader.readline(limit=100) == b"w" * 60 + b"\n"
    await feeder


async def test_pause_after_a_long_read_when_the_buffer_is_still_over_twice_the_limit() -> None:
    reader = StreamReader(limit=10)
    transport = RecordingTransport()
    reader.set_transport(transport)
    reader.feed_data(b"a" * 15 + b"\n" + b"b" * 30)
    # 46 bytes: over 2 * 10, so the transport is paused at once.
    assert transport.calls == ["pause"]
    assert await reader.readline(limit=20) == b"a" * 15 + b"\n"
    assert transport.calls == ["pause"]  # 30 left: still over 2 * 10


# -- readuntil() ----------------------------------------------------------------------------


async def test_readuntil_returns_data_through_a_multibyte_separator_split_across_chunks(
    loopcore_loop: object,
) -> None:
    reader = fed(b"head\r", eof=False)
    loopcore_loop.call_soon(reader.feed_data, b"\nbody")  # type: ignore[attr-defined]
    assert await reader.readuntil(b"\r\n") == b"head\r\n"
    assert await reader.read(10) == b"body"


async def test_readuntil_default_separator_is_newline() -> None:
    assert await fed(b"a\nb").readuntil() == b"a\n"


async def test_readuntil_accepts_bytearray_and_memoryview_separators() -> None:
    reader = fed(b"a;b|c")
    assert await reader.readuntil(bytearray(b";")) == b"a;"
    assert await reader.readuntil(memoryview(b"|")) == b"b|"


async def test_readuntil_tuple_returns_through_the_match_that_ends_first() -> None:
    reader = fed(b"one;two|three;")
    assert await reader.readuntil((b"|", b";")) == b"one;"
    assert await reader.readuntil((b"|", b";")) == b"two|"
    assert await reader.readuntil((b";", b"|")) == b"three;"


async def test_readuntil_tuple_tie_is_won_by_the_longest_separator() -> None:
    # b"\r\n" and b"\n" end at the same place: the match is b"\r\n", so the data
    # before it is 10 bytes, within the limit of 10.
    reader = fed(b"x" * 10 + b"\r\n", limit=10)
    assert await reader.readuntil((b"\n", b"\r\n")) == b"x" * 10 + b"\r\n"


async def test_readuntil_at_eof_without_separator_raises_incomplete_read() -> None:
    reader = fed(b"no separator")
    with pytest.raises(IncompleteReadError) as info:
        await reader.readuntil(b";")
    assert info.value.partial == b"no separator"
    assert info.value.expected is None
    assert reader.at_eof()


async def test_readuntil_found_over_the_limit_raises_and_keeps_the_data() -> None:
    reader = fed(b"x" * 12 + b";rest", limit=10)
    with pytest.raises(LimitOverrunError) as info:
        await reader.readuntil(b";")
    assert info.value.consumed == 12
    assert await reader.readuntil(b";", limit=12) == b"x" * 12 + b";"


async def test_readuntil_not_found_over_the_limit_raises_with_how_much_was_searched() -> None:
    reader = fed(b"x" * 11, eof=False, limit=10)
    with pytest.raises(LimitOverrunError, match="no separator found within the limit") as info:
        await reader.readuntil(b"\n")
    assert info.value.consumed == 11
    assert len(reader._buffer) == 11  # left for the caller to deal with


async def test_readuntil_multibyte_separator_straddling_the_limit_is_not_an_overrun(
    loopcore_loop: object,
) -> None:
    # 10 bytes then the first byte of b"\r\n": the separator may still complete.
    reader = fed(b"x" * 10 + b"\r", eof=False, limit=10)
    loopcore_loop.call_soon(reader.feed_data, b"\n")  # type: ignore[attr-defined]
    assert await reader.readuntil(b"\r\n") == b"x" * 10 + b"\r\n"


@pytest.mark.parametrize(
    ("separator", "asyncio_wording"),
    [
        (b"", "Separator should be at least one-byte string"),
        ((), "Separator should contain at least one element"),
        ((b"a", b""), "Separator should be at least one-byte string"),
    ],
)
async def test_readuntil_empty_separator_is_a_value_error_in_asyncios_words(
    separator: object, asyncio_wording: str
) -> None:
    with pytest.raises(ValueError) as info:
        await fed(b"abc").readuntil(separator)  # type: ignore[arg-type]
    assert str(info.value).startswith(asyncio_wording)


def test_readuntil_empty_separator_messages_start_with_asyncios() -> None:
    import asyncio
    import sys

    async def message(reader_class: type, separator: object) -> str:
        reader = reader_class()
        reader.feed_data(b"abc")
        with pytest.raises(ValueError) as info:
            await reader.readuntil(separator)
        return str(info.value)

    # Tuples of separators came in 3.13; older asyncio has no rule for them to compare.
    separators = [b"", (), (b"a", b"")] if sys.version_info >= (3, 13) else [b""]
    for separator in separators:
        ref = asyncio.run(message(asyncio.StreamReader, separator))
        ours = loopcore.run(message(StreamReader, separator))
        assert ours.startswith(ref), (ref, ours)


@pytest.mark.parametrize("separator", ["\n", 10, [b"\n"], (b"\n", "x")])
async def test_readuntil_non_bytes_separator_is_a_type_error(separator: object) -> None:
    with pytest.raises(TypeError, match="separator"):
        await fed(b"abc").readuntil(separator)  # type: ignore[arg-type]


# -- iteration ------------------------------------------------------------------------------


async def test_async_for_yields_each_line_then_stops_at_eof() -> None:
    reader = fed(b"a\nbb\nccc")
    assert [line async for line in reader] == [b"a\n", b"bb\n", b"ccc"]


# -- EOF, errors and the protocol side ------------------------------------------------------


async def test_at_eof_only_once_eof_was_fed_and_the_buffer_is_empty() -> None:
    reader = StreamReader()
    assert not reader.at_eof()
    reader.feed_data(b"x")
    reader.feed_eof()
    assert not reader.at_eof()
    await reader.read(1)
    assert reader.at_eof()


async def test_feed_data_after_feed_eof_is_an_error() -> None:
    reader = fed(b"")
    with pytest.raises(RuntimeError, match="after feed_eof"):
        reader.feed_data(b"x")


async def test_feed_eof_twice_is_harmless() -> None:
    reader = fed(b"a")
    reader.feed_eof()
    assert await reader.read() == b"a"


async def test_feed_empty_data_does_not_wake_a_waiting_reader(loopcore_loop: object) -> None:
    reader = StreamReader()
    task = loopcore_loop.create_task(reader.read(5))  # type: ignore[attr-defined]
    await turns()
    reader.feed_data(b"")
    await turns()
    assert not task.done()
    reader.feed_data(b"x")
    assert await task == b"x"


async def test_set_exception_makes_every_read_raise_it() -> None:
    reader = fed(b"buffered", eof=False)
    error = ConnectionResetError("peer reset")
    reader.set_exception(error)
    assert reader.exception() is error
    for call in (reader.read(), reader.read(3), reader.readline(), reader.readexactly(2)):
        with pytest.raises(ConnectionResetError, match="peer reset"):
            await call
    with pytest.raises(ConnectionResetError):
        await reader.readuntil(b";")


async def test_set_exception_wakes_the_waiting_reader_with_it(loopcore_loop: object) -> None:
    reader = StreamReader()
    task = loopcore_loop.create_task(reader.readline())  # type: ignore[attr-defined]
    await turns()
    reader.set_exception(BrokenPipeError("gone"))
    with pytest.raises(BrokenPipeError, match="gone"):
        await task


async def test_exception_set_right_after_a_wakeup_still_ends_the_read(
    loopcore_loop: object,
) -> None:
    # Data wakes the reader, then the error comes before it runs: the read must
    # raise instead of waiting forever for data that cannot come.
    reader = StreamReader()
    task = loopcore_loop.create_task(reader.readexactly(10))  # type: ignore[attr-defined]
    await turns()
    reader.feed_data(b"abc")
    reader.set_exception(ConnectionResetError("reset"))
    with pytest.raises(ConnectionResetError):
        await task


async def test_exception_is_none_by_default() -> None:
    assert StreamReader().exception() is None


async def test_set_transport_twice_is_an_error() -> None:
    reader = StreamReader()
    reader.set_transport(RecordingTransport())
    with pytest.raises(RuntimeError, match="already has a transport"):
        reader.set_transport(RecordingTransport())


async def test_second_coroutine_waiting_on_one_reader_is_an_error(loopcore_loop: object) -> None:
    reader = StreamReader()
    first = loopcore_loop.create_task(reader.readline())  # type: ignore[attr-defined]
    await turns()
    with pytest.raises(RuntimeError, match="already waiting"):
        await reader.read(1)
    reader.feed_data(b"ok\n")
    assert await first == b"ok\n"


async def test_cancelled_read_leaves_the_reader_usable(loopcore_loop: object) -> None:
    from loopcore import CancelledError

    reader = StreamReader()
    task = loopcore_loop.create_task(reader.readline())  # type: ignore[attr-defined]
    await turns()
    task.cancel()
    with pytest.raises(CancelledError):
        await task
    reader.feed_data(b"after\n")
    assert await reader.readline() == b"after\n"


# -- pausing the transport ------------------------------------------------------------------


async def test_transport_paused_over_twice_the_limit_and_resumed_at_the_limit() -> None:
    reader = StreamReader(limit=10)
    transport = RecordingTransport()
    reader.set_transport(transport)
    reader.feed_data(b"a" * 20)
    assert transport.calls == []  # exactly 2 * limit: not over it
    reader.feed_data(b"a")
    assert transport.calls == ["pause"]
    await reader.read(5)  # 16 left, over the limit
    assert transport.calls == ["pause"]
    await reader.read(6)  # 10 left: resume
    assert transport.calls == ["pause", "resume"]


async def test_partial_reads_of_one_received_chunk_count_only_what_is_left() -> None:
    reader = StreamReader(limit=10)
    transport = RecordingTransport()
    reader.set_transport(transport)
    reader.feed_data(b"0123456789" * 3)  # one chunk, over twice the limit
    assert transport.calls == ["pause"]
    assert await reader.read(8) == b"01234567"
    assert transport.calls == ["pause"]  # 22 left, over the limit
    assert "22 bytes" in repr(reader)
    assert await reader.read(12) == b"890123456789"
    assert transport.calls == ["pause", "resume"]  # 10 left
    # More data: what is left of the chunk goes first, once.
    reader.feed_data(b"\nnext")
    assert await reader.readline() == b"0123456789\n"
    assert await reader.read(100) == b"next"
    assert not reader._size()


async def test_waiting_for_data_resumes_a_paused_transport(loopcore_loop: object) -> None:
    reader = StreamReader(limit=4)
    transport = RecordingTransport()
    reader.set_transport(transport)
    reader.feed_data(b"0123456789")
    assert transport.calls == ["pause"]
    task = loopcore_loop.create_task(reader.readexactly(30))  # type: ignore[attr-defined]
    await turns()
    assert transport.reading
    reader.feed_data(b"x" * 20)
    assert await task == b"0123456789" + b"x" * 20


async def test_a_transport_that_cannot_pause_is_left_alone() -> None:
    reader = StreamReader(limit=4)
    reader.set_transport(UnpausableTransport())
    reader.feed_data(b"x" * 100)
    assert await reader.read(200) == b"x" * 100


async def test_readexactly_larger_than_the_limit_does_not_pause_while_it_waits(
    loopcore_loop: object,
) -> None:
    reader = StreamReader(limit=4)
    transport = RecordingTransport()
    reader.set_transport(transport)
    task = loopcore_loop.create_task(reader.readexactly(100))  # type: ignore[attr-defined]
    await turns()
    for _ in range(10):
        reader.feed_data(b"y" * 10)
        await turns(1)
    assert await task == b"y" * 100
    assert transport.calls == []


# -- both coroutine styles ------------------------------------------------------------------


async def test_reader_methods_work_with_yield_from_in_a_coroutine_generator() -> None:
    reader = fed(b"line\nabcdef;tail")

    @coroutine
    def old_style():  # type: ignore[no-untyped-def]
        line = yield from reader.readline()
        three = yield from reader.readexactly(3)
        until = yield from reader.readuntil(b";")
        rest = yield from reader.read()
        return line, three, until, rest

    assert await old_style() == (b"line\n", b"abc", b"def;", b"tail")


async def test_a_coroutine_generator_test_can_wait_on_the_reader(loopcore_loop: object) -> None:
    reader = StreamReader()

    @coroutine
    def old_style():  # type: ignore[no-untyped-def]
        return (yield from reader.readline())

    task = loopcore_loop.create_task(old_style())  # type: ignore[attr-defined]
    await turns()
    reader.feed_data(b"woken\n")
    assert await task == b"woken\n"
