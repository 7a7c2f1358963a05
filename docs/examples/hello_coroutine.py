# requires: loopcore
"""Hello World with a coroutine, in both styles of the docs.

The 3.4 docs greet "every two seconds" forever, until Ctrl-C; this version greets
three times a tenth of a second apart, so that it ends by itself.
"""

from collections.abc import Generator

import loopcore


@loopcore.coroutine
def greet_every_tenth_of_a_second(times: int) -> Generator[object, None, None]:
    """A 3.4-style generator coroutine: suspends with ``yield from``."""
    for i in range(times):
        print(f"Hello World ({i + 1} of {times})")
        yield from loopcore.sleep(0.1)


loop = loopcore.get_event_loop()
start = loop.time()
try:
    loop.run_until_complete(greet_every_tenth_of_a_second(3))
finally:
    loop.close()
elapsed = loop.time() - start
print(f"run_until_complete() returned after about {elapsed:.1f} s of loop time")


async def hello_world() -> str:
    """The same in today's style: ``async def``, ``await``, and ``loopcore.run()``."""
    print("Hello World!")
    await loopcore.sleep(0)
    return "done"


print(f"loopcore.run(hello_world()) returned {loopcore.run(hello_world())!r}")


# Expected output ("..." stands for any text):
# Hello World (1 of 3)
# Hello World (2 of 3)
# Hello World (3 of 3)
# run_until_complete() returned after about ... s of loop time
# Hello World!
# loopcore.run(hello_world()) returned 'done'
