# requires: loopcore, loopsync
"""A lock protecting a shared resource: a bank account updated by many tasks.

Each deposit reads the balance, pauses (an ``await`` where other tasks run), then
writes the new balance. Without the lock the tasks overwrite each other's updates;
with it every deposit counts. The second half does the same in the 3.4 style, a
``@coroutine`` generator holding the lock with ``with (yield from lock):``.
"""

from __future__ import annotations

from collections.abc import Generator

import loopcore
import loopsync


class Account:
    def __init__(self) -> None:
        self.balance = 0


async def deposit(account: Account, amount: int, lock: loopsync.Lock | None) -> None:
    async def update() -> None:
        balance = account.balance
        await loopcore.sleep(0)  # other tasks run here
        account.balance = balance + amount

    if lock is None:
        await update()
    else:
        async with lock:
            await update()


async def main() -> None:
    for lock in (None, loopsync.Lock()):
        account = Account()
        await loopcore.gather(*(deposit(account, 10, lock) for _ in range(100)))
        label = "with a lock   " if lock else "without a lock"
        print(f"{label}: 100 deposits of 10 -> balance {account.balance}")


loopcore.run(main())


@loopcore.coroutine
def deposit_34_style(
    account: Account, amount: int, lock: loopsync.Lock
) -> Generator[object, None, None]:
    with (yield from lock):
        balance = account.balance
        yield from loopcore.sleep(0)
        account.balance = balance + amount


async def main_34_style() -> None:
    account = Account()
    lock = loopsync.Lock()
    await loopcore.gather(*(deposit_34_style(account, 10, lock) for _ in range(100)))
    print(f"3.4 style, 'with (yield from lock)': balance {account.balance}")


loopcore.run(main_34_style())


# Expected output ("..." stands for any text):
# without a lock: 100 deposits of 10 -> balance 10
# with a lock   : 100 deposits of 10 -> balance 1000
# 3.4 style, 'with (yield from lock)': balance 1000
