# requires: loopcore
"""A virtual clock: an hour of sleeping in a few milliseconds; time moved by hand."""

import math

import loopcore
from loopcore.testing import get_clock, virtual_clock_loop


async def nightly_job(log: list[str]) -> None:
    loop = loopcore.get_running_loop()
    for hour in range(3):
        await loopcore.sleep(3600)
        log.append(f"job ran at loop time {loop.time():.0f} s (hour {hour + 1})")


# Autojump (threshold 0): the idle loop jumps straight to the next timer.
loop = virtual_clock_loop()
try:
    log: list[str] = []
    loop.run_until_complete(nightly_job(log))
    print("\n".join(log))
finally:
    loop.close()

# No autojump (threshold infinite): time moves only when the test moves it.
loop = virtual_clock_loop(autojump_threshold=math.inf)
try:
    clock = get_clock(loop)
    assert clock is not None
    fired: list[float] = []
    loop.call_later(10, lambda: fired.append(loop.time()))

    async def drive() -> None:
        clock.advance(9.5)
        await loopcore.sleep(0)
        print(f"after advance(9.5): fired={fired}")
        clock.advance(0.5)
        await loopcore.sleep(0)
        await loopcore.sleep(0)
        print(f"after advance(0.5): fired={fired}")

    loop.run_until_complete(drive())
finally:
    loop.close()


# Expected output ("..." stands for any text):
# job ran at loop time 3600 s (hour 1)
# job ran at loop time 7200 s (hour 2)
# job ran at loop time 10800 s (hour 3)
# after advance(9.5): fired=[]
# after advance(0.5): fired=[10.0]
