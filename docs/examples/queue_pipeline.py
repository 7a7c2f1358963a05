# requires: loopcore, loopsync
"""A pipeline of three stages joined by bounded queues.

Lines go from a reader stage to two parser tasks to a writer stage. Each queue holds
at most 2 items, so a fast stage waits for a slow one instead of piling up work.
The end of the input travels down the pipeline as a ``None`` marker per consumer,
behind the last line, so no stage stops before it has handled everything.
"""

from __future__ import annotations

import loopcore
import loopsync

LINES = ["GET /a 200", "GET /b 404", "POST /c 201", "GET /d 500", "GET /e 200"]


async def read(lines: list[str], out: loopsync.Queue[str | None], parsers: int) -> None:
    for line in lines:
        await out.put(line)  # waits while the parsers are 2 lines behind
    for _ in range(parsers):
        await out.put(None)  # one end marker per parser


async def parse(
    inbox: loopsync.Queue[str | None], out: loopsync.Queue[tuple[str, int] | None]
) -> None:
    while (line := await inbox.get()) is not None:
        _method, path, status = line.split()
        await loopcore.sleep(0.01)  # the work
        await out.put((path, int(status)))
        inbox.task_done()
    inbox.task_done()


async def write(inbox: loopsync.Queue[tuple[str, int] | None]) -> dict[str, int]:
    statuses: dict[str, int] = {}
    while (item := await inbox.get()) is not None:
        path, status = item
        statuses[path] = status
        inbox.task_done()
    inbox.task_done()
    return statuses


async def main() -> None:
    lines: loopsync.Queue[str | None] = loopsync.Queue(maxsize=2)
    parsed: loopsync.Queue[tuple[str, int] | None] = loopsync.Queue(maxsize=2)
    async with loopcore.TaskGroup() as group:
        group.create_task(read(LINES, lines, parsers=2))
        parsers = [group.create_task(parse(lines, parsed)) for _ in range(2)]
        writer = group.create_task(write(parsed))
        await loopcore.gather(*parsers)  # both parsers saw their end marker
        await parsed.put(None)  # so the writer gets the end of the input last
    statuses = writer.result()
    errors = sorted(path for path, status in statuses.items() if status >= 400)
    print(f"{len(statuses)} requests, errors on {', '.join(errors)}")
    print(f"queues empty at the end: {lines.empty() and parsed.empty()}")


loopcore.run(main())


# Expected output ("..." stands for any text):
# 5 requests, errors on /b, /d
# queues empty at the end: True
