"""Compute-once machinery: in-process single flight, and a lock across processes.

:class:`SingleFlight` lets the first caller of a key do the work while the
others in the same process await its result (or its exception: failures are
shared, never cached). :class:`KeyLock` then makes the work happen once across
processes and machines: the shared tier's lock (Redis: ``SET NX PX`` with a
random token, released by compare-and-delete) when it is reachable, otherwise
the local tier's (diskcache: ``add`` with expiry), which covers the processes
sharing one directory. A held lock is a :data:`Held` pair: which of the two
holds it (``"shared"``, ``"local"``, or ``"none"`` when the cache has neither)
and the token.

A lock is a lease: it expires ``ttl`` seconds after it was last renewed, and
the holder renews it every ``ttl / 3`` while it computes (:meth:`KeyLock.kept`).
So a long computation keeps its lock however long it takes, and a holder that
dies (SIGKILL, lost machine) blocks the key for at most ``ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from vgkit._tasks import stop
from vgkit.cache.base import LocalTier, SharedTier
from vgkit.errors import CacheError

__all__ = ["DEFAULT_LOCK_TTL", "Held", "KeyLock", "LockConfig", "SingleFlight", "new_token"]

T = TypeVar("T")
DEFAULT_LOCK_TTL = 5.0

#: A lock this caller holds: where (the shared tier, the local tier, or nowhere when the
#: cache has neither) and the token that proves it is ours.
Held = tuple[Literal["shared", "local", "none"], str]


def new_token() -> str:
    """A random lock token (who holds the lock)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True, kw_only=True)
class LockConfig:
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
    """A lock per key across processes: the shared tier's when reachable, else the local one's."""

    def __init__(
        self,
        *,
        local: LocalTier | None,
        shared: SharedTier | None,
        prefix: str,
        config: LockConfig | None = None,
    ) -> None:
        self.local = local
        self.shared = shared
        self.prefix = prefix
        self.config = config or LockConfig()

    def lock_key(self, key: str) -> str:
        return f"{self.prefix}lock:{key.removeprefix(self.prefix)}"

    async def try_acquire(self, key: str) -> Held | None:
        """The lock when this caller now holds it, None when another does."""
        token = new_token()
        lock_key = self.lock_key(key)
        if self.shared is not None:
            got = await self.shared.acquire(lock_key, token, self.config.ttl)
            if got is not None:
                return ("shared", token) if got else None
        return await self._acquire_local(lock_key, token)

    async def try_acquire_peek(self, key: str) -> tuple[Held | None, bytes | None, bool]:
        """``try_acquire`` unless the shared tier already holds ``key``, in one round trip.

        ``(held, shared bytes of key, whether the shared tier was read)``: when it
        has the value it comes back instead of the lock (held is None), so the
        double check after acquiring needs no round trip of its own.
        """
        token = new_token()
        lock_key = self.lock_key(key)
        if self.shared is not None:
            got, data = await self.shared.acquire_and_get(lock_key, token, self.config.ttl, key)
            if got is not None:
                return (("shared", token) if got else None), data, True
        return await self._acquire_local(lock_key, token), None, False

    async def _acquire_local(self, lock_key: str, token: str) -> Held | None:
        if self.local is not None:
            got = await self.local.add(lock_key, token, self.config.ttl)
            return ("local", token) if got else None
        return ("none", token)

    def shared_unlock(self, key: str, held: Held | None) -> tuple[str, str] | None:
        """``(lock key, token)`` when ``held`` is a shared lock (released with a write)."""
        if held is None or held[0] != "shared":
            return None
        return self.lock_key(key), held[1]

    async def release(self, key: str, held: Held) -> None:
        where, token = held
        lock_key = self.lock_key(key)
        if where == "shared" and self.shared is not None:
            await self.shared.release(lock_key, token)
        elif where == "local" and self.local is not None:
            await self.local.remove_if(lock_key, token)

    async def renew(self, key: str, held: Held) -> bool:
        """Extend the lease of a lock this caller holds; False when it was lost."""
        where, token = held
        lock_key = self.lock_key(key)
        if where == "shared" and self.shared is not None:
            return await self.shared.renew(lock_key, token, self.config.ttl)
        if where == "local" and self.local is not None:
            return await self.local.renew_if(lock_key, token, self.config.ttl)
        return True

    @contextlib.asynccontextmanager
    async def kept(self, key: str, held: Held | None) -> AsyncIterator[None]:
        """Renew the lease of ``held`` in the background while the block runs."""
        if held is None or held[0] == "none":
            yield
            return

        async def renew_forever() -> None:
            while True:
                await asyncio.sleep(self.config.ttl / 3)
                await self.renew(key, held)

        renewer = asyncio.create_task(renew_forever())
        try:
            yield
        finally:
            await stop(renewer)

    async def held_elsewhere(self, key: str) -> bool:
        """Whether some process still holds the lock (False when no tier can tell)."""
        lock_key = self.lock_key(key)
        if self.shared is not None:
            exists = await self.shared.exists(lock_key)
            if exists is not None:
                return exists
        if self.local is not None:
            return self.local.contains(lock_key)
        return False

    async def wait_for(
        self, key: str, probe: Callable[[], Awaitable[T | None]]
    ) -> tuple[T | None, bool]:
        """Poll ``probe`` until it finds a value or the lock is released.

        ``(value, False)`` when a value appeared, ``(None, True)`` when the lock
        was released (or timed out) without one: the caller should try again.
        """
        deadline = time.monotonic() + self.config.wait
        delay = self.config.poll_min
        while time.monotonic() < deadline:
            await asyncio.sleep(delay)
            value = await probe()
            if value is not None:
                return value, False
            if not await self.held_elsewhere(key):
                return await probe(), True
            delay = min(self.config.poll_max, delay * 2)
        return None, True
