# requires: loopcore
"""A seed shuffles what no rule orders (here: timers due at the same instant), and
the same seed replays the same order."""

from loopcore.testing import virtual_clock_loop


def finishing_order(seed: int) -> list[str]:
    loop = virtual_clock_loop(seed=seed)
    try:
        order: list[str] = []
        for name in ("alpha", "beta", "gamma", "delta"):
            loop.call_later(1.0, order.append, name)  # all due at the same instant
        loop.call_later(2.0, loop.stop)
        loop.run_forever()
        return order
    finally:
        loop.close()


for seed in (1, 2, 3):
    print(f"seed {seed}: {finishing_order(seed)}")
print(f"seed 2 again: {finishing_order(2)}")
assert finishing_order(2) == finishing_order(2)


# Expected output ("..." stands for any text):
# seed 1: ['delta', 'alpha', 'beta', 'gamma']
# seed 2: ['gamma', 'beta', 'delta', 'alpha']
# seed 3: ['delta', 'alpha', 'beta', 'gamma']
# seed 2 again: ['gamma', 'beta', 'delta', 'alpha']
