"""The layered cache: a local tier (L1, diskcache) in front of a shared tier (L2, Redis).

The tiers are whatever implements :class:`~vgkit.cache.base.LocalTier` and
:class:`~vgkit.cache.base.SharedTier`, given to the constructor;
:func:`~vgkit.cache.factory.open_cache` builds the usual pair from settings.

Read path: L1, then L2 (a hit there is promoted into L1 with its remaining
TTL), then compute. A miss computes once per key across every process:
in-process single flight, then a lock across processes (Redis, or diskcache
without Redis) with a double check after acquiring it. With Redis a miss
costs three round trips: the lookup; the lock taken together with the double
check; the value stored together with the lock's release. The disk write
finishes behind (this process reads it from memory until it lands; other
processes find the value in Redis). Failures are never cached. A hit near
expiry may refresh in the background (XFetch), so hot keys never stampede.
Invalidation by key, tag or pattern is published on Redis so every process
drops the key from its L1.

Nothing a tier does wrong reaches the caller: unreachable or slow Redis opens
the circuit breaker and the cache serves from L1; bytes that do not decode are
a miss, counted ``corrupt`` and deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from time import perf_counter
from typing import Any

from vgkit.cache.base import (
    Entry,
    LocalTier,
    Lookup,
    SharedTier,
    Tier,
    build_key,
    kind_of,
    parse_key,
)
from vgkit.cache.codec import Codec, CorruptEntry
from vgkit.cache.counters import CacheStats, stats_for
from vgkit.cache.locks import KeyLock, LockConfig, SingleFlight
from vgkit.cache.policy import CachePolicy
from vgkit.config import DEFAULT_KEY_PREFIX
from vgkit.errors import CacheError
from vgkit.metrics import MetricsRegistry, default_registry
from vgkit.resource import AsyncResource

__all__ = ["POLICY_TTL", "LayeredCache"]

log = logging.getLogger("vgkit.cache")


class _PolicyTTL:
    def __repr__(self) -> str:
        return "POLICY_TTL"


#: Default ``ttl`` argument: take the TTL from the policy for the key's kind and platform.
POLICY_TTL: Any = _PolicyTTL()


class _Unread:
    """Marks an argument not given (None is a value there: "Redis has nothing")."""


_UNREAD = _Unread()


class LayeredCache(AsyncResource):
    """Get, set, invalidate and read-through over L1 (a local tier) and L2 (a shared one).

    Either tier may be absent: L1 only is the single-machine default, L2 only
    suits stateless workers. Keys are full keys (``cache.key(kind, platform,
    digest)`` builds them); values are anything JSON can hold. ``locks``
    configures the compute-once lock; ``clock`` is wall-clock seconds (expiry).
    """

    def __init__(
        self,
        *,
        l1: LocalTier | None = None,
        l2: SharedTier | None = None,
        policy: CachePolicy | None = None,
        prefix: str = DEFAULT_KEY_PREFIX,
        locks: LockConfig | None = None,
        metrics: MetricsRegistry | None = None,
        codec: Codec | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.l1 = l1
        self.l2 = l2
        self.policy = policy or CachePolicy()
        self.prefix = prefix
        self.codec = codec or Codec(self.policy.codec)
        self.metrics = metrics if metrics is not None else default_registry()
        self.stats: CacheStats = stats_for(self.metrics)
        self.clock = clock
        self.origin = uuid.uuid4().hex
        self.locks = KeyLock(local=l1, shared=l2, prefix=prefix, config=locks)
        self._flights: SingleFlight[Lookup] = SingleFlight()
        self._refreshing: set[str] = set()
        self._background: set[asyncio.Future[Any]] = set()
        # L1 bytes of values computed here whose disk write is still queued
        # (written behind once Redis has them): lookups here see them at once.
        self._unflushed: dict[str, bytes] = {}
        self._started = False
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to invalidations (done on first use anyway)."""
        if self._started:
            return
        self._started = True
        if self.l2 is not None:
            await self.l2.subscribe(self._on_invalidation)

    async def aclose(self) -> None:
        """Finish background writes, stop listening, close the tiers."""
        if self._closed:
            return
        self._closed = True
        for task in list(self._background):
            if isinstance(task, asyncio.Task) and task.get_name().startswith("vgkit-refresh"):
                task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self.l2 is not None:
            await self.l2.aclose()
        if self.l1 is not None:
            await self.l1.aclose()

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for background promotions and refreshes (for tests and shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # -- keys ----------------------------------------------------------------------

    def key(self, kind: str, platform: str | None, digest: str) -> str:
        """The full key ``{prefix}v1:{kind}:{platform}:{digest}``."""
        return build_key(self.prefix, kind, platform, digest)

    def full(self, key_or_pattern: str) -> str:
        """``key_or_pattern`` with the prefix, added when missing."""
        if key_or_pattern.startswith(self.prefix):
            return key_or_pattern
        return self.prefix + key_or_pattern

    def ttl_for(self, key: str) -> float | None:
        kind, platform = parse_key(self.prefix, key)
        return self.policy.ttl(kind, platform)

    # -- reads ---------------------------------------------------------------------

    def _decode(self, tier: Tier, key: str, kind: str, data: bytes) -> Entry | None:
        try:
            entry = self.codec.decode(data)
        except CorruptEntry as exc:
            self.stats.add("corrupt", tier.name, kind)
            log.warning("%s entry %s is corrupt (%s); deleted", tier.name, key, exc)
            self._spawn(tier.delete([key]), "vgkit-delete")
            return None
        if entry.expires_at is not None and entry.expires_at <= self.clock():
            return None
        return entry

    async def lookup(
        self, key: str, *, count: bool = True, l2_data: bytes | _Unread | None = _UNREAD
    ) -> tuple[Entry, str] | None:
        """The live entry for ``key`` and the tier that had it, or None.

        ``count=False`` leaves hits and misses uncounted (polling while another
        process computes the value). ``l2_data``: what Redis holds for the key,
        when the caller has just read it (no second round trip).
        """
        if not self._started:
            await self.start()
        kind = kind_of(self.prefix, key)
        stats = self.stats
        l1 = self.l1
        if l1 is not None:
            start = perf_counter()
            data = self._unflushed.get(key)
            if data is None:
                data = l1.get_now(key)
            entry = None if data is None else self._decode(l1, key, kind, data)
            if count:
                stats.lookup("l1", kind, entry is not None, perf_counter() - start)
            if entry is not None:
                return entry, "l1"
        l2 = self.l2
        if l2 is not None:
            start = perf_counter()
            data = await l2.get(key) if isinstance(l2_data, _Unread) else l2_data
            entry = None if data is None else self._decode(l2, key, kind, data)
            if count:
                stats.lookup("l2", kind, entry is not None, perf_counter() - start)
            if entry is not None:
                self._promote(key, data, entry)  # type: ignore[arg-type]
                return entry, "l2"
        return None

    def _promote(self, key: str, data: bytes, entry: Entry) -> None:
        """Copy an L2 hit into L1 with its remaining TTL (in the background)."""
        if self.l1 is None:
            return
        ttl = entry.ttl(self.clock())
        if ttl is not None and ttl <= 0:
            return
        local = self.codec.localize(data, entry)
        self._spawn(self.l1.set(key, local, ttl=ttl), "vgkit-promote")

    async def get(self, key: str, default: Any = None) -> Any:
        """The cached value of ``key``, or ``default``."""
        found = await self.lookup(key)
        return found[0].value if found is not None else default

    async def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        """Values of the keys that are cached (absent keys are left out)."""
        if not self._started:
            await self.start()
        out: dict[str, Any] = {}
        missing: list[str] = []
        l1 = self.l1
        for key in keys:
            kind = kind_of(self.prefix, key)
            data = await l1.get(key) if l1 is not None else None
            entry = None if l1 is None or data is None else self._decode(l1, key, kind, data)
            if entry is not None:
                self.stats.add("hits", "l1", kind)
                out[key] = entry.value
            else:
                if self.l1 is not None:
                    self.stats.add("misses", "l1", kind)
                missing.append(key)
        if missing and self.l2 is not None:
            for key, data in zip(missing, await self.l2.get_many(missing), strict=True):
                kind = kind_of(self.prefix, key)
                entry = self._decode(self.l2, key, kind, data) if data is not None else None
                if entry is None:
                    self.stats.add("misses", "l2", kind)
                    continue
                self.stats.add("hits", "l2", kind)
                self._promote(key, data, entry)  # type: ignore[arg-type]
                out[key] = entry.value
        return out

    # -- writes --------------------------------------------------------------------

    def _encode(
        self, key: str, value: Any, ttl: Any, cost: float
    ) -> tuple[bytes, bytes, float | None]:
        """``(L1 bytes, L2 bytes, TTL seconds)`` for a value, counted as sets."""
        seconds = self.ttl_for(key) if ttl is POLICY_TTL else ttl
        expires = self.clock() + seconds if seconds is not None else None
        kind = kind_of(self.prefix, key)
        local, shared, raw = self.codec.encode_tiers(
            value, kind=kind, expires_at=expires, cost=cost
        )
        for tier, data in (("l1", local), ("l2", shared)):
            if getattr(self, tier) is not None:
                self.stats.add("sets", tier, kind)
                self.stats.add("raw_bytes", tier, kind, raw)
                self.stats.add("stored_bytes", tier, kind, len(data))
        return local, shared, seconds

    async def set(
        self,
        key: str,
        value: Any,
        *,
        ttl: float | None = POLICY_TTL,
        tags: Iterable[str] = (),
        cost: float = 0.0,
        notify: bool = False,
    ) -> None:
        """Store ``value`` in both tiers. ``ttl`` defaults to the policy's for the key;
        ``cost`` is what computing it took (every later hit counts it as saved).

        ``notify``: the key is mutable shared state (not content-addressed), so
        drop the old value from every other process's L1 as well.
        """
        await self._store(key, value, ttl, tuple(tags), cost)
        if notify and self.l2 is not None:
            await self.l2.publish({"o": self.origin, "keys": [key]})

    async def _store(
        self,
        key: str,
        value: Any,
        ttl: Any,
        tags: tuple[str, ...],
        cost: float,
        *,
        unlock: tuple[str, str] | None = None,
        behind: bool = False,
    ) -> bool:
        """Write both tiers; True when ``unlock`` (a shared lock) was released with the write.

        Redis first: it indexes the tags of what it holds (invalidating a tag
        reads the members there and deletes them from every L1 by key), so the
        disk write keeps its own tag index only for what Redis did not take.
        ``behind``: once Redis holds the value, return without waiting for the
        disk write (queued in order, seen by lookups here at once, finished by
        ``drain``/``aclose``). Without Redis, or when its write fails, the disk
        write is awaited: then L1 is where other processes find the value.
        """
        local, shared, seconds = self._encode(key, value, ttl, cost)
        stored = False
        if self.l2 is not None:
            stored = await self.l2.set(key, shared, ttl=seconds, tags=tags, unlock=unlock)
        if self.l1 is not None:
            disk = self.l1.set_soon(key, local, ttl=seconds, tags=() if stored else tags)
            if behind and stored:
                self._unflushed[key] = local
                disk.add_done_callback(lambda _: self._flushed(key, local))
                self._background.add(disk)
                disk.add_done_callback(self._background.discard)
            else:
                await disk
        return stored and unlock is not None

    def _flushed(self, key: str, local: bytes) -> None:
        if self._unflushed.get(key) is local:
            del self._unflushed[key]

    async def set_many(
        self,
        items: Mapping[str, Any],
        *,
        ttl: float | None = POLICY_TTL,
        tags: Iterable[str] = (),
        cost: float = 0.0,
    ) -> None:
        """Store several values (one Redis round trip)."""
        tag_list = tuple(tags)
        encoded = [(key, *self._encode(key, value, ttl, cost)) for key, value in items.items()]
        writes = []
        if self.l2 is not None:
            shared = [(k, remote, s) for k, _, remote, s in encoded]
            writes.append(self.l2.set_many(shared, tags=tag_list))
        if self.l1 is not None:
            l1 = self.l1
            writes.extend(l1.set(k, local, ttl=s, tags=tag_list) for k, local, _, s in encoded)
        await asyncio.gather(*writes)

    async def delete(self, key: str) -> int:
        """Remove ``key`` from both tiers and from every other process's L1."""
        return await self.invalidate(key=key)

    # -- read-through ----------------------------------------------------------------

    async def get_or_compute(
        self,
        key: str,
        fn: Callable[[], Awaitable[Any]],
        *,
        ttl: float | None = POLICY_TTL,
        tags: Iterable[str] = (),
    ) -> Lookup:
        """The cached value of ``key``, or ``fn()``'s, computed once across processes.

        ``fn`` returns a JSON-able value; if it raises, nothing is cached and
        every caller waiting on it gets the exception.
        """
        found = await self.lookup(key)
        if found is not None:
            entry, tier = found
            self._maybe_refresh(key, entry, fn, ttl, tags)
            return self._hit(key, entry, tier)
        lookup, leader = await self._flights.run(key, lambda: self._fill(key, fn, ttl, tuple(tags)))
        if leader:
            return lookup
        # Shared an in-process computation: not a hit on stored data, nothing saved.
        return Lookup(lookup.value, hit=True, tier="flight", seconds_saved=0.0)

    def _hit(self, key: str, entry: Entry, tier: str) -> Lookup:
        self.stats.save(kind_of(self.prefix, key), entry.cost)
        return Lookup(entry.value, hit=True, tier=tier, seconds_saved=entry.cost)

    async def _fill(
        self, key: str, fn: Callable[[], Awaitable[Any]], ttl: Any, tags: tuple[str, ...]
    ) -> Lookup:
        deadline = time.monotonic() + self.locks.config.wait
        while True:
            # Taking a Redis lock also reads the key (the double check, same round trip).
            held, l2_data, peeked = await self.locks.try_acquire_peek(key)
            if held is None and l2_data is not None:
                # Stored since the lookup: Redis answered with the value, not the lock.
                found = await self.lookup(key, l2_data=l2_data)
                if found is not None:
                    return self._hit(key, *found)
            if held is None and time.monotonic() < deadline:
                # Another process computes it: wait for its value to appear.
                value, _ = await self.locks.wait_for(key, lambda: self.lookup(key, count=False))
                if value is not None:
                    return Lookup(value[0].value, hit=True, tier="wait", seconds_saved=0.0)
                continue
            released = False
            try:
                if held is not None:
                    found = await self.lookup(key, l2_data=l2_data if peeked else _UNREAD)
                    if found is not None:
                        return self._hit(key, *found)
                async with self.locks.kept(key, held):
                    start = time.perf_counter()
                    value = await fn()
                    cost = time.perf_counter() - start
                    # Store and release in one Redis round trip; the disk write
                    # finishes behind (waiters elsewhere read Redis).
                    unlock = self.locks.shared_unlock(key, held)
                    released = await self._store(
                        key, value, ttl, tags, cost, unlock=unlock, behind=True
                    )
                    return Lookup(value, hit=False, tier=None)
            finally:
                if held is not None and not released:
                    await self.locks.release(key, held)

    async def _compute(
        self, key: str, fn: Callable[[], Awaitable[Any]], ttl: Any, tags: tuple[str, ...]
    ) -> Lookup:
        start = time.perf_counter()
        value = await fn()
        cost = time.perf_counter() - start
        await self._store(key, value, ttl, tags, cost)
        return Lookup(value, hit=False, tier=None)

    def _maybe_refresh(
        self,
        key: str,
        entry: Entry,
        fn: Callable[[], Awaitable[Any]],
        ttl: Any,
        tags: Iterable[str],
    ) -> None:
        """XFetch: recompute early with a probability that rises as expiry nears."""
        beta = self.policy.early_refresh
        if beta <= 0 or entry.expires_at is None or key in self._refreshing:
            return
        gap = -entry.cost * beta * math.log(1.0 - random.random())
        if self.clock() + gap < entry.expires_at:
            return
        self._refreshing.add(key)
        tag_list = tuple(tags)

        async def refresh() -> None:
            try:
                await self._flights.run(key, lambda: self._compute(key, fn, ttl, tag_list))
            except Exception as exc:  # a failed refresh leaves the old entry in place
                log.warning("early refresh of %s failed: %s", key, exc)
            finally:
                self._refreshing.discard(key)

        self._spawn(refresh(), "vgkit-refresh")

    # -- invalidation --------------------------------------------------------------

    async def invalidate(
        self, *, key: str | None = None, tag: str | None = None, pattern: str | None = None
    ) -> int:
        """Remove entries by key, tag or glob pattern from both tiers and every L1.

        Returns how many distinct keys were removed here.
        """
        if sum(x is not None for x in (key, tag, pattern)) != 1:
            raise CacheError("invalidate takes exactly one of key, tag or pattern")
        if not self._started:
            await self.start()
        removed: set[str] = set()
        message: dict[str, Any] = {"o": self.origin}
        # Writes behind are queued ahead of the deletes below; stop serving them from memory.
        self._unflushed.clear()
        if key is not None:
            full = self.full(key)
            message["keys"] = [full]
            for tier in (self.l2, self.l1):
                if tier is not None and await tier.delete([full]):
                    removed.add(full)
        elif tag is not None:
            message["tag"] = tag
            members: list[str] = []
            if self.l2 is not None:
                members, gone = await self.l2.delete_tag_members(tag)
                removed.update(gone)
                message["keys"] = members
            if self.l1 is not None:
                # L1 indexes only what Redis did not take (written while it was out);
                # the rest, promoted entries included, goes by the members Redis listed.
                removed.update(await self.l1.delete_tag(tag))
                if members:
                    removed.update(await self.l1.remove(members))
        else:
            assert pattern is not None
            full = self.full(pattern)
            message["pattern"] = full
            for tier in (self.l2, self.l1):
                if tier is not None:
                    removed.update(await tier.delete_pattern(full))
        if self.l2 is not None:
            await self.l2.publish(message)
        return len(removed)

    def _on_invalidation(self, message: dict[str, Any]) -> None:
        """Drop what another process invalidated from this process's L1."""
        if message.get("o") == self.origin or self.l1 is None:
            return
        keys = [str(k) for k in message.get("keys") or []]
        if keys:
            self.l1.delete_now(keys)
            queued = [k for k in keys if self._unflushed.pop(k, None) is not None]
            if queued:  # a write behind is still queued: delete again after it
                self._spawn(self.l1.delete(queued), "vgkit-invalidate")
        if message.get("tag") or message.get("pattern"):
            self._unflushed.clear()  # the deletes below queue behind the writes
        if message.get("tag"):
            self._spawn(self.l1.delete_tag(str(message["tag"])), "vgkit-invalidate")
        if message.get("pattern"):
            self._spawn(self.l1.delete_pattern(str(message["pattern"])), "vgkit-invalidate")

    async def clear(self) -> int:
        """Remove every entry under this cache's prefix, here and in every L1."""
        return await self.invalidate(pattern=self.prefix + "*")

    # -- introspection ---------------------------------------------------------------

    async def info(self) -> dict[str, Any]:
        """Tiers, entry counts, breaker state and this process's counters."""
        out: dict[str, Any] = {"prefix": self.prefix}
        if self.l1 is not None:
            out["l1"] = await asyncio.get_running_loop().run_in_executor(None, self.l1.info)
        if self.l2 is not None:
            out["l2"] = await self.l2.info()
        return out

    async def entry_sizes(self) -> dict[str, dict[str, int]]:
        """Per tier and kind: how many entries and how many stored bytes (a scan)."""
        out: dict[str, dict[str, int]] = {}
        for tier in (self.l1, self.l2):
            if tier is None:
                continue
            keys = await tier.keys(f"{self.prefix}v1:*")
            sizes: dict[str, int] = {}
            for key, data in zip(keys, await tier.get_many(keys), strict=True):
                kind = kind_of(self.prefix, key)
                sizes[f"{kind}.entries"] = sizes.get(f"{kind}.entries", 0) + 1
                sizes[f"{kind}.bytes"] = sizes.get(f"{kind}.bytes", 0) + len(data or b"")
            out[tier.name] = sizes
        return out

    @contextlib.asynccontextmanager
    async def locked(self, key: str) -> Any:
        """Hold the cross-process lock of ``key`` (for read-modify-write of shared state)."""
        deadline = time.monotonic() + self.locks.config.wait
        held = await self.locks.try_acquire(key)
        while held is None and time.monotonic() < deadline:
            await asyncio.sleep(self.locks.config.poll_min)
            held = await self.locks.try_acquire(key)
        try:
            async with self.locks.kept(key, held):
                yield
        finally:
            if held is not None:
                await self.locks.release(key, held)
