"""Property tests: for any completion order of the children, gather(),
as_completed(), wait() and TaskGroup give what a simple model predicts.

Each child runs *steps* loop iterations (``await sleep(0)``) and then returns,
raises or cancels itself, so hypothesis explores every completion order without
timers. Children with the same number of steps finish in the same iteration, in
the order they were created: the model's completion order is ``(steps, index)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine

from hypothesis import given, settings
from hypothesis import strategies as st

import loopcore
from loopcore import CancelledError

# Small and derandomized, so every run checks the same examples; many random ones
# under the stress profile (nox -s stress sets HYPOTHESIS_PROFILE=stress).
_STRESS = os.environ.get("HYPOTHESIS_PROFILE") == "stress"
examples = settings(max_examples=1000 if _STRESS else 30, deadline=None, derandomize=not _STRESS)

Spec = tuple[int, str]
specs_strategy = st.lists(
    st.tuples(st.integers(0, 4), st.sampled_from(["value", "error", "cancelled"])),
    min_size=1,
    max_size=7,
)


def run(main: Callable[[], Coroutine[object, object, None]]) -> None:
    loop = loopcore.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        leftovers = [t for t in loopcore.all_tasks(loop) if not t.done()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            loop.run_until_complete(loopcore.wait(leftovers))
        loop.close()


async def child(index: int, steps: int, outcome: str) -> int:
    for _ in range(steps):
        await loopcore.sleep(0)
    if outcome == "error":
        raise ValueError(index)
    if outcome == "cancelled":
        raise CancelledError(index)
    return index


def spawn_all(specs: list[Spec]) -> list[loopcore.Task[int]]:
    loop = loopcore.get_running_loop()
    return [loop.create_task(child(i, s, o)) for i, (s, o) in enumerate(specs)]


def retrieve(tasks: list[loopcore.Task[int]]) -> None:
    """Look at every outcome, so that none is reported as never retrieved."""
    for task in tasks:
        if not task.cancelled():
            task.exception()


def completion_order(specs: list[Spec]) -> list[int]:
    return sorted(range(len(specs)), key=lambda i: (specs[i][0], i))


def describe(outcome: object) -> tuple[str, object]:
    if isinstance(outcome, ValueError):
        return ("error", outcome.args[0])
    if isinstance(outcome, CancelledError):
        return ("cancelled", outcome.args[0])
    return ("value", outcome)


@examples
@given(specs=specs_strategy, return_exceptions=st.booleans())
def test_gather_outcome_matches_the_model_for_any_completion_order(
    specs: list[Spec], return_exceptions: bool
) -> None:
    async def main() -> None:
        tasks = spawn_all(specs)
        outer = loopcore.gather(*tasks, return_exceptions=return_exceptions)
        try:
            got: object = ("results", [describe(r) for r in await outer])
        except (ValueError, CancelledError) as exc:
            got = ("raised", describe(exc))
        await loopcore.wait(tasks)

        failing = [i for i in completion_order(specs) if specs[i][1] != "value"]
        if return_exceptions or not failing:
            expected: object = ("results", [(o, i) for i, (_, o) in enumerate(specs)])
        else:
            first = failing[0]
            expected = ("raised", (specs[first][1], first))
        retrieve(tasks)
        assert got == expected
        assert not outer.cancelled()  # a child's cancellation never cancels the outer

    run(main)


@examples
@given(specs=specs_strategy)
def test_as_completed_yields_in_completion_order(specs: list[Spec]) -> None:
    async def main() -> None:
        tasks = spawn_all(specs)
        got = [tasks.index(t) async for t in loopcore.as_completed(tasks)]
        assert got == completion_order(specs)
        retrieve(tasks)

    run(main)


@examples
@given(
    specs=specs_strategy,
    return_when=st.sampled_from(
        [loopcore.FIRST_COMPLETED, loopcore.FIRST_EXCEPTION, loopcore.ALL_COMPLETED]
    ),
)
def test_wait_returns_when_its_condition_first_holds(specs: list[Spec], return_when: str) -> None:
    async def main() -> None:
        tasks = spawn_all(specs)
        done, pending = await loopcore.wait(tasks, return_when=return_when)
        order = completion_order(specs)
        if return_when == loopcore.FIRST_COMPLETED:
            stop_at = specs[order[0]][0]
        elif return_when == loopcore.FIRST_EXCEPTION:
            errors = [i for i in order if specs[i][1] == "error"]
            stop_at = specs[errors[0]][0] if errors else max(s for s, _ in specs)
        else:
            stop_at = max(s for s, _ in specs)
        done_idx = {tasks.index(t) for t in done}
        assert done | pending == set(tasks) and not done & pending
        # Everything that finished by the time the condition held is in done...
        assert {i for i, (s, _) in enumerate(specs) if s <= stop_at} <= done_idx
        # ...and wait() returned promptly after: its wake-up takes two callbacks (the
        # done callback, then the task step), so only children finishing in those
        # iterations can have joined them.
        assert all(specs[i][0] <= stop_at + 2 for i in done_idx)
        if return_when == loopcore.ALL_COMPLETED:
            assert not pending
        await loopcore.wait(tasks)
        retrieve(tasks)

    run(main)


@examples
@given(specs=specs_strategy, body_steps=st.integers(0, 6))
def test_taskgroup_errors_are_exactly_the_failed_children_and_the_first_is_among_them(
    specs: list[Spec], body_steps: int
) -> None:
    async def main() -> None:
        tasks: list[loopcore.Task[int]] = []
        body_finished = False
        raised: BaseException | None = None
        try:
            async with loopcore.TaskGroup() as tg:
                for i, (s, o) in enumerate(specs):
                    tasks.append(tg.create_task(child(i, s, o)))
                for _ in range(body_steps):
                    await loopcore.sleep(0)
                body_finished = True
        except BaseExceptionGroup as group:
            raised = group
        assert all(t.done() for t in tasks)
        failed = {i for i, t in enumerate(tasks) if not t.cancelled() and t.exception()}
        if raised is None:
            assert not failed
            assert body_finished
        else:
            assert isinstance(raised, ExceptionGroup)
            assert {e.args[0] for e in raised.exceptions} == failed
            first_error = min(
                (i for i in range(len(specs)) if specs[i][1] == "error"),
                key=lambda i: (specs[i][0], i),
            )
            assert first_error in failed
        assert loopcore.current_task().cancelling() == 0

    run(main)
