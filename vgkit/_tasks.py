"""Stopping a background loop for certain, even when a library swallows its cancellation.

On Python 3.11, ``asyncio.wait_for`` drops a cancellation that arrives just as
the operation it awaits completes (CPython gh-86296, fixed in 3.12), and
redis-py awaits every command's send through it when a socket timeout is set.
A loop cancelled at that moment goes on as if nothing had happened, and
whoever awaits its end waits forever. Measured: a plain ``while True: await
redis.ping()`` task survived its ``cancel()`` within the first ten tries, and a
queue worker whose last job was done sat in its heartbeat loop until a test's
timeout (1 run in ~300 under load).

:func:`stop` is for loops whose cancellation *is* their stop, with nothing to
finish afterwards (heartbeats, lock renewers, listeners, reporters). A task
that does work after catching its cancellation (a worker handing its job back)
must not be cancelled a second time: stop it some other way.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["stop"]

#: How long a cancelled loop gets to end before it is cancelled again (seconds).
AGAIN = 0.25


async def stop(*tasks: asyncio.Future[Any], again: float = AGAIN) -> None:
    """Cancel ``tasks`` and return once every one has ended.

    A task still running ``again`` seconds after its cancellation is cancelled
    again, until it ends. Their results and exceptions are dropped (retrieved,
    so asyncio does not log them as never retrieved).
    """
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=again)
    for task in tasks:
        if not task.cancelled():
            task.exception()
