"""Property tests: how the bytes arrive must not change what the reader returns.

The same byte stream is fed whole (the reference) and cut into random chunks, fed
one per loop turn while the reads run; every read method must return the same data
either way (``read(n)`` may return less per call, so for it the concatenation is
compared). EOF comes at random points, and a transport that honours pausing keeps
the buffer within twice the limit plus one chunk.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopcore import Future, get_running_loop, policies
from loopstreams import IncompleteReadError, StreamReader
from looptransports.transports import ReadTransport

T = TypeVar("T")

# Few distinct bytes, so that separators occur often and overlap.
data_st = st.lists(
    st.sampled_from([b"a", b"b", b";", b"\n", b"\r", b"\r\n", b"ab", b"xyz"]), max_size=80
).map(b"".join)

SEPARATORS: list[bytes | tuple[bytes, ...]] = [
    b"\n",
    b";",
    b"\r\n",
    b"ab",
    b"xyz",
    (b";", b"\n"),
    (b"\n", b"\r\n"),
    (b"ab", b"b;"),
    (b"\r", b"\r\n"),
    (b"\n", b"xyz"),
    (b";", b"b\r\n"),
]
separators_st = st.sampled_from(SEPARATORS)

op_st = st.one_of(
    st.tuples(st.just("readline"), st.none()),
    st.tuples(st.just("readexactly"), st.integers(0, 12)),
    st.tuples(st.just("readuntil"), separators_st),
    st.tuples(st.just("read_all"), st.none()),
)


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Run *main()* on a fresh loop, closed afterwards."""
    loop = policies.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """*data* cut at *points* (taken modulo its length), in order."""
    if not data:
        return []
    marks = sorted({p % len(data) for p in points} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(marks)]


class FlowTransport(ReadTransport):
    """A transport whose feeder stops while the reader has it paused."""

    def __init__(self) -> None:
        super().__init__()
        self.resumed: Future[None] | None = None
        self.pauses = 0

    def pause_reading(self) -> None:
        self.pauses += 1
        self.resumed = get_running_loop().create_future()  # type: ignore[assignment]

    def resume_reading(self) -> None:
        assert self.resumed is not None
        self.resumed.set_result(None)
        self.resumed = None


async def feed(
    reader: StreamReader,
    chunks: list[bytes],
    transport: FlowTransport | None = None,
    high: list[int] | None = None,
) -> None:
    loop = get_running_loop()
    for chunk in chunks:
        if transport is not None and transport.resumed is not None:
            await transport.resumed
        reader.feed_data(chunk)
        if high is not None:
            high.append(len(reader._buffer))
        turn = loop.create_future()
        loop.call_soon(turn.set_result, None)
        await turn
    reader.feed_eof()


async def apply(reader: StreamReader, ops: list[tuple[str, object]]) -> list[object]:
    results: list[object] = []
    for name, arg in ops:
        try:
            if name == "readline":
                results.append(await reader.readline())
            elif name == "readexactly":
                results.append(await reader.readexactly(arg))  # type: ignore[arg-type]
            elif name == "readuntil":
                results.append(await reader.readuntil(arg))  # type: ignore[arg-type]
            else:
                results.append(await reader.read())
        except IncompleteReadError as e:
            results.append(("incomplete", e.partial, e.expected))
    results.append(await reader.read())
    return results


def reference(data: bytes, ops: list[tuple[str, object]], limit: int = 10_000) -> list[object]:
    async def main() -> list[object]:
        reader = StreamReader(limit=limit)
        reader.feed_data(data)
        reader.feed_eof()
        return await apply(reader, ops)

    return run(main)


def chunked(
    chunks: list[bytes], ops: list[tuple[str, object]], limit: int = 10_000
) -> list[object]:
    async def main() -> list[object]:
        reader = StreamReader(limit=limit)
        feeder = get_running_loop().create_task(feed(reader, chunks))
        try:
            return await apply(reader, ops)
        finally:
            await feeder

    return run(main)


def flatten(results: list[object]) -> bytes:
    out = b""
    for r in results:
        out += r[1] if isinstance(r, tuple) else r  # type: ignore[operator, index]
    return out


@given(
    data=data_st,
    points=st.lists(st.integers(0, 10_000), max_size=20),
    ops=st.lists(op_st, max_size=15),
)
def test_every_read_method_returns_the_same_data_under_any_chunking(
    data: bytes, points: list[int], ops: list[tuple[str, object]]
) -> None:
    expected = reference(data, ops)
    assert chunked(cut(data, points), ops) == expected
    assert flatten(expected) == data


@given(data=data_st, points=st.lists(st.integers(0, 10_000), max_size=20))
def test_readline_splits_lines_the_same_under_any_chunking(data: bytes, points: list[int]) -> None:
    async def main() -> list[bytes]:
        reader = StreamReader()
        feeder = get_running_loop().create_task(feed(reader, cut(data, points)))
        lines = [line async for line in reader]
        await feeder
        return lines

    parts = data.split(b"\n")
    expected = [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    assert run(main) == expected


@given(
    data=data_st,
    points=st.lists(st.integers(0, 10_000), max_size=20),
    sizes=st.lists(st.integers(1, 16), min_size=1, max_size=10),
)
def test_read_n_returns_at_most_n_bytes_and_loses_nothing(
    data: bytes, points: list[int], sizes: list[int]
) -> None:
    async def main() -> list[bytes]:
        reader = StreamReader()
        feeder = get_running_loop().create_task(feed(reader, cut(data, points)))
        parts: list[bytes] = []
        i = 0
        while True:
            n = sizes[i % len(sizes)]
            i += 1
            part = await reader.read(n)
            assert len(part) <= n
            if not part:
                break
            parts.append(part)
        await feeder
        return parts

    assert b"".join(run(main)) == data


@given(
    data=data_st,
    eof_at=st.integers(0, 10_000),
    points=st.lists(st.integers(0, 10_000), max_size=10),
    ops=st.lists(op_st, max_size=15),
)
def test_eof_at_any_point_gives_what_the_stream_up_to_it_gives(
    data: bytes, eof_at: int, points: list[int], ops: list[tuple[str, object]]
) -> None:
    prefix = data[: eof_at % (len(data) + 1)]
    expected = reference(prefix, ops)
    assert chunked(cut(prefix, points), ops) == expected
    assert flatten(expected) == prefix


@given(
    lines=st.lists(st.integers(0, 16), max_size=40),
    points=st.lists(st.integers(0, 10_000), max_size=30),
    limit=st.integers(16, 40),
)
def test_buffer_stays_within_twice_the_limit_plus_a_chunk_when_pausing_is_honoured(
    lines: list[int], points: list[int], limit: int
) -> None:
    data = b"".join(b"x" * n + b"\n" for n in lines)
    chunks = cut(data, points)

    async def main() -> tuple[list[bytes], list[int]]:
        reader = StreamReader(limit=limit)
        transport = FlowTransport()
        reader.set_transport(transport)
        high: list[int] = []
        feeder = get_running_loop().create_task(feed(reader, chunks, transport, high))
        got = []
        # A slow consumer: one line every few turns, so the buffer fills up.
        async for line in reader:
            got.append(line)
            for _ in range(3):
                turn = get_running_loop().create_future()
                get_running_loop().call_soon(turn.set_result, None)
                await turn
        await feeder
        return got, high

    got, high = run(main)
    assert b"".join(got) == data
    biggest_chunk = max((len(c) for c in chunks), default=0)
    assert max(high, default=0) <= 2 * limit + biggest_chunk


@pytest.mark.parametrize("separator", SEPARATORS, ids=repr)
@given(data=data_st, points=st.lists(st.integers(0, 10_000), max_size=20))
def test_readuntil_matches_a_model_of_the_separator_rule(
    data: bytes, points: list[int], separator: bytes | tuple[bytes, ...]
) -> None:
    seps = separator if isinstance(separator, tuple) else (separator,)

    def model(buf: bytes) -> list[object]:
        out: list[object] = []
        while True:
            ends = [buf.find(s) + len(s) for s in seps if buf.find(s) != -1]
            if not ends:
                out.append(("incomplete", buf, None))
                out.append(b"")
                return out
            end = min(ends)
            out.append(buf[:end])
            buf = buf[end:]

    ops: list[tuple[str, object]] = [("readuntil", separator)] * (len(data) + 1)
    results = chunked(cut(data, points), ops)
    # Cut the model's answer at the first incomplete read: after it, each further
    # readuntil() at EOF gives an empty incomplete read.
    expected = model(data)
    n = len(expected) - 1
    assert results[:n] == expected[:n]
    assert all(r == ("incomplete", b"", None) for r in results[n:-1])
    assert results[-1] == b""


# -- the same answers as CPython's asyncio.StreamReader -------------------------------------


def asyncio_results(chunks: list[bytes], ops: list[tuple[str, object]], limit: int) -> list[object]:
    """Run *ops* on the standard library's StreamReader (tests may import asyncio)."""
    import asyncio

    async def main() -> list[object]:
        reader = asyncio.StreamReader(limit=limit)

        async def feeder() -> None:
            for chunk in chunks:
                reader.feed_data(chunk)
                await asyncio.sleep(0)
            reader.feed_eof()

        task = asyncio.get_running_loop().create_task(feeder())
        results: list[object] = []
        for name, arg in ops:
            try:
                if name == "readline":
                    results.append(await reader.readline())
                elif name == "readexactly":
                    results.append(await reader.readexactly(arg))  # type: ignore[arg-type]
                elif name == "readuntil":
                    results.append(await reader.readuntil(arg))  # type: ignore[arg-type]
                else:
                    results.append(await reader.read())
            except asyncio.IncompleteReadError as e:
                results.append(("incomplete", e.partial, e.expected))
            except asyncio.LimitOverrunError as e:
                results.append(("overrun", e.consumed))
            except ValueError as e:
                assert isinstance(e.__context__, asyncio.LimitOverrunError)
                results.append("value-error")
        results.append(await reader.read())
        await task
        return results

    return asyncio.run(main())


async def apply_catching(reader: StreamReader, ops: list[tuple[str, object]]) -> list[object]:
    from loopstreams import LimitOverrunError

    results: list[object] = []
    for name, arg in ops:
        try:
            if name == "readline":
                results.append(await reader.readline())
            elif name == "readexactly":
                results.append(await reader.readexactly(arg))  # type: ignore[arg-type]
            elif name == "readuntil":
                results.append(await reader.readuntil(arg))  # type: ignore[arg-type]
            else:
                results.append(await reader.read())
        except IncompleteReadError as e:
            results.append(("incomplete", e.partial, e.expected))
        except LimitOverrunError as e:
            results.append(("overrun", e.consumed))
        except ValueError:
            # asyncio chains the LimitOverrunError as __context__, we as __cause__.
            results.append("value-error")
    results.append(await reader.read())
    return results


def loopstreams_results(
    chunks: list[bytes], ops: list[tuple[str, object]], limit: int
) -> list[object]:
    async def main() -> list[object]:
        reader = StreamReader(limit=limit)
        feeder = get_running_loop().create_task(feed(reader, chunks))
        try:
            return await apply_catching(reader, ops)
        finally:
            await feeder

    return run(main)


single_separator_op_st = st.one_of(
    st.tuples(st.just("readline"), st.none()),
    st.tuples(st.just("readexactly"), st.integers(0, 12)),
    st.tuples(st.just("readuntil"), st.sampled_from([b"\n", b";", b"\r\n", b"ab", b"xyz"])),
    st.tuples(st.just("read_all"), st.none()),
)


@given(
    data=data_st,
    points=st.lists(st.integers(0, 10_000), max_size=20),
    ops=st.lists(single_separator_op_st, max_size=15),
)
def test_chunked_reads_give_what_cpython_asyncio_gives(
    data: bytes, points: list[int], ops: list[tuple[str, object]]
) -> None:
    chunks = cut(data, points)
    assert loopstreams_results(chunks, ops, 10_000) == asyncio_results(chunks, ops, 10_000)


@given(
    data=data_st,
    ops=st.lists(single_separator_op_st, max_size=15),
    limit=st.integers(1, 12),
)
def test_limit_errors_and_discarding_match_cpython_asyncio(
    data: bytes, ops: list[tuple[str, object]], limit: int
) -> None:
    # All the data at once: overruns and readline()'s discarding, exactly as asyncio.
    assert loopstreams_results([data], ops, limit) == asyncio_results([data], ops, limit)


@pytest.mark.skipif(
    sys.version_info < (3, 13), reason="asyncio takes tuples of separators since 3.13"
)
@given(
    data=data_st,
    points=st.lists(st.integers(0, 10_000), max_size=20),
    ops=st.lists(op_st, max_size=15),
)
def test_tuple_separators_give_what_cpython_313_asyncio_gives(
    data: bytes, points: list[int], ops: list[tuple[str, object]]
) -> None:
    chunks = cut(data, points)
    assert loopstreams_results(chunks, ops, 10_000) == asyncio_results(chunks, ops, 10_000)
