"""One cancellation class that both libraries' ``except`` clauses catch.

Python's ``except`` matches classes, and ``asyncio.CancelledError`` and
``loopcore.CancelledError`` are two unrelated classes (neither library may depend on
the other). Importing loopasyncio registers them with loopcore
(:func:`loopcore.exceptions.register_foreign_cancelled_error`):

* loopcore raises its cancellations as :class:`CancelledError` below, a subclass of
  both: ``except asyncio.CancelledError`` and ``except loopcore.CancelledError`` both
  catch it, and an asyncio task cancelled while it awaits a loopcore future ends
  cancelled.
* loopcore (``timeout()``, ``TaskGroup``, ``wait_for``, its tasks, loopsync's
  conditions, looptransports' ``serve_forever``) treats ``asyncio.CancelledError`` as
  a cancellation too.

What stays different: asyncio raises plain ``asyncio.CancelledError``, which
``except loopcore.CancelledError`` does not catch; code that must see every
cancellation catches ``asyncio.CancelledError`` (or
``loopcore.exceptions.cancelled_error_types()``).
"""

from __future__ import annotations

import asyncio

import loopcore
import loopcore.exceptions

__all__ = ["CancelledError"]


class CancelledError(loopcore.CancelledError, asyncio.CancelledError):
    """A cancellation raised by loopcore while loopasyncio is imported: both
    ``except loopcore.CancelledError`` and ``except asyncio.CancelledError`` catch it."""


loopcore.exceptions.register_foreign_cancelled_error(asyncio.CancelledError, CancelledError)
