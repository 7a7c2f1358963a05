# requires: loopcore
"""Hello World with a callback: the first example of the Python 3.4 asyncio docs.

A callback scheduled with call_soon() runs on the next iteration of the loop and
stops it; run_forever() then returns.
"""

import loopcore


def hello_world(loop: loopcore.AbstractEventLoop) -> None:
    print("Hello World")
    loop.stop()


loop = loopcore.get_event_loop()

# Schedule a call to hello_world()
loop.call_soon(hello_world, loop)

# Blocking call interrupted by loop.stop()
loop.run_forever()
running = loop.is_running()
print(f"run_forever() returned after hello_world() called stop(); running: {running}")
loop.close()
print(f"the loop is closed: {loop.is_closed()}")


# Expected output ("..." stands for any text):
# Hello World
# run_forever() returned after hello_world() called stop(); running: False
# the loop is closed: True
