"""A counting limiter whose capacity can change while requests wait on it."""

from __future__ import annotations

import asyncio
import time
from collections import deque

__all__ = ["Limiter"]


class Limiter:
    """Like a semaphore, but ``resize``-able; ``acquire`` returns the seconds waited.

    The pool uses one for its total connection limit and, under adaptive
    sizing, one per origin whose capacity ``adapt`` grows while requests queue
    and shrinks while most of it stays unused.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self.peak = 0
        self.queued = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def try_acquire(self) -> bool:
        """Take a slot without waiting, if one is free (the hot path)."""
        if self.in_use < self.capacity and not self._waiters:
            self.in_use += 1
            if self.in_use > self.peak:
                self.peak = self.in_use
            return True
        return False

    async def acquire(self) -> float:
        if self.try_acquire():
            return 0.0
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        self.queued += 1
        start = time.perf_counter()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            else:
                self._waiters.remove(future)
            raise
        return time.perf_counter() - start

    def release(self) -> None:
        self.in_use -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_use < self.capacity:
            future = self._waiters.popleft()
            if not future.done():
                self.in_use += 1
                self.peak = max(self.peak, self.in_use)
                future.set_result(None)

    def resize(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._wake()

    def adapt(self, low: int, high: int) -> int:
        """Double while requests queued since the last call; shrink when under half used."""
        if self.queued:
            self.resize(min(high, self.capacity * 2))
        elif self.peak < self.capacity // 2:
            self.resize(max(low, self.capacity - max(1, self.capacity // 4)))
        self.queued = 0
        self.peak = self.in_use
        return self.capacity
