"""Compute-once machinery: in-process single flight, and a lock across processes.

:class:`SingleFlight` lets the first caller of a key do the work while the
others in the same process await its result (or its exception: failures are
shared, never cached). :class:`KeyLock` then makes the work happen once across
processes and machines: a Redis lock (``SET NX PX`` with a random token,
released by compare-and-delete) when Redis is reachable, otherwise a diskcache
lock (``add`` with expiry) that covers the processes sharing one directory.

A lock is a lease: it expires ``ttl`` seconds after it was last renewed, and
the holder renews it every ``ttl / 3`` while it computes (:meth:`KeyLock.kept`).
So a long computation keeps its lock however long it takes, and a holder that
dies (SIGKILL, lost machine) blocks the key for at most ``ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from vgkit.cache.disk import DiskTier
from vgkit.cache.redis import RedisTier, new_token
from vgkit.errors import CacheError

__all__ = ["DEFAULT_LOCK_TTL", "KeyLock", "LockOptions", "SingleFlight"]

T = TypeVar("T")
DEFAULT_LOCK_TTL = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class LockOptions:
    """``ttl``: the lease, how long a lock outlives a crashed holder (a live
    holder renews it every ``ttl / 3``); ``wait``: how long a caller waits for
    another process's result before computing it anyway."""

    ttl: float = DEFAULT_LOCK_TTL
    wait: float = 60.0
    poll_min: float = 0.005
    poll_max: float = 0.05

    def __post_init__(self) -> None:
        if self.ttl <= 0 or self.wait <= 0 or not 0 < self.poll_min <= self.poll_max:
            raise CacheError("lock ttl, wait and poll intervals must be positive")


class SingleFlight(Generic[T]):
    """One in-flight computation per key inside this process."""

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    async def run(self, key: str, fn: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """``(result, leader)``: the leader ran ``fn``, followers shared its outcome."""
        flight = self._flights.get(key)
        if flight is not None:
            return await asyncio.shield(flight), False
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._flights[key] = future
        try:
            result = await fn()
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc)
                # Followers get the error; nobody may hold a reference to an unretrieved one.
                future.exception()
            raise
        else:
            future.set_result(result)
            return result, True
        finally:
            self._flights.pop(key, None)


class KeyLock:
    """A lock per key across processes: Redis when available, else diskcache."""

    def __init__(
        self,
        *,
        l1: DiskTier | None,
        l2: RedisTier | None,
        prefix: str,
        options: LockOptions | None = None,
    ) -> None:
        self.l1 = l1
        self.l2 = l2
        self.prefix = prefix
        self.options = options or LockOptions()

    def lock_key(self, key: str) -> str:
        return f"{self.prefix}lock:{key.removeprefix(self.prefix)}"

    async def try_acquire(self, key: str) -> tuple[str, str] | None:
        """``(backend, token)`` when this caller now holds the lock, None when another does."""
        token = new_token()
        lock_key = self.lock_key(key)
        if self.l2 is not None:
            got = await self.l2.acquire(lock_key, token, self.options.ttl)
            if got is not None:
                return ("l2", token) if got else None
        return await self._acquire_local(lock_key, token)

    async def try_acquire_peek(self, key: str) -> tuple[tuple[str, str] | None, bytes | None, bool]:
        """``try_acquire`` unless Redis already holds ``key``, in one round trip.

        ``(held, Redis bytes of key, whether Redis was read)``: when Redis has
        the value it comes back instead of the lock (held is None), so the
        double check after acquiring needs no round trip of its own.
        """
        token = new_token()
        lock_key = self.lock_key(key)
        if self.l2 is not None:
            got, data = await self.l2.acquire_and_get(lock_key, token, self.options.ttl, key)
            if got is not None:
                return (("l2", token) if got else None), data, True
        return await self._acquire_local(lock_key, token), None, False

    async def _acquire_local(self, lock_key: str, token: str) -> tuple[str, str] | None:
        if self.l1 is not None:
            return ("l1", token) if await self.l1.add(lock_key, token, self.options.ttl) else None
        return ("none", token)

    def redis_unlock(self, key: str, held: tuple[str, str] | None) -> tuple[str, str] | None:
        """``(lock key, token)`` when ``held`` is a Redis lock (released with a write)."""
        if held is None or held[0] != "l2":
            return None
        return self.lock_key(key), held[1]

    async def release(self, key: str, held: tuple[str, str]) -> None:
        backend, token = held
        lock_key = self.lock_key(key)
        if backend == "l2" and self.l2 is not None:
            await self.l2.release(lock_key, token)
        elif backend == "l1" and self.l1 is not None:
            await self.l1.remove_if(lock_key, token)

    async def renew(self, key: str, held: tuple[str, str]) -> bool:
        """Extend the lease of a lock this caller holds; False when it was lost."""
        backend, token = held
        lock_key = self.lock_key(key)
        if backend == "l2" and self.l2 is not None:
            return await self.l2.renew(lock_key, token, self.options.ttl)
        if backend == "l1" and self.l1 is not None:
            return await self.l1.renew_if(lock_key, token, self.options.ttl)
        return True

    @contextlib.asynccontextmanager
    async def kept(self, key: str, held: tuple[str, str] | None) -> AsyncIterator[None]:
        """Renew the lease of ``held`` in the background while the block runs."""
        if held is None or held[0] == "none":
            yield
            return

        async def renew_forever() -> None:
            while True:
                await asyncio.sleep(self.options.ttl / 3)
                await self.renew(key, held)

        renewer = asyncio.create_task(renew_forever())
        try:
            yield
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)

    async def held_elsewhere(self, key: str) -> bool:
        """Whether some process still holds the lock (False when no backend can tell)."""
        lock_key = self.lock_key(key)
        if self.l2 is not None:
            exists = await self.l2.exists(lock_key)
            if exists is not None:
                return exists
        if self.l1 is not None:
            return self.l1.contains(lock_key)
        return False

    async def wait_for(
        self, key: str, probe: Callable[[], Awaitable[T | None]]
    ) -> tuple[T | None, bool]:
        """Poll ``probe`` until it finds a value or the lock is released.

        ``(value, False)`` when a value appeared, ``(None, True)`` when the lock
        was released (or timed out) without one: the caller should try again.
        """
        deadline = time.monotonic() + self.options.wait
        delay = self.options.poll_min
        while time.monotonic() < deadline:
            await asyncio.sleep(delay)
            value = await probe()
            if value is not None:
                return value, False
            if not await self.held_elsewhere(key):
                return await probe(), True
            delay = min(self.options.poll_max, delay * 2)
        return None, True
