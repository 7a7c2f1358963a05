# requires: loopcore
"""Start background work with create_task(), the first thing asyncio programs reach for."""

import loopcore


async def tick(name: str, times: int) -> str:
    for i in range(times):
        print(f"{name}: tick {i}")
        await loopcore.sleep(0.01)
    return f"{name} done"


async def main() -> None:
    # create_task() schedules the coroutine on the running loop and returns at once:
    # the task runs while main() goes on. Keep the reference to get its result.
    background = loopcore.create_task(tick("background", 3), name="ticker")
    print("started", background.get_name(), "done?", background.done())
    await tick("main", 2)
    print("result:", await background)


loopcore.run(main())

# Outside a running loop there is nothing to schedule the task on: a RuntimeError
# that says so (and the coroutine is closed, so no second "never awaited" warning).
try:
    loopcore.create_task(tick("orphan", 1))
except RuntimeError as exc:
    print("outside a loop:", str(exc).split(":")[0])
