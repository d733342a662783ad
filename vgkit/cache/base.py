"""What every cache tier provides, and the entry and key types the layers share.

A tier stores opaque bytes (already encoded by :mod:`vgkit.cache.codec`) under
full keys (``{prefix}v1:{kind}:{platform}:{hash}``). The layered cache decodes,
counts and promotes; tiers only move bytes, and never raise on a backend
failure (they count it and answer as if the key were absent).

Three protocols, the seam between :class:`~vgkit.cache.layered.LayeredCache`
and its storage:

* :class:`Tier`: what both tiers do (get, set, delete by key, tag or pattern).
* :class:`LocalTier` (L1, this machine; :class:`~vgkit.cache.disk.DiskTier`):
  reads without a coroutine on the hot path (``get_now``), writes queued in
  order (``set_soon``), deletes on the spot for invalidation messages, and the
  compute-once lock when there is no shared tier (``add`` / ``renew_if`` /
  ``remove_if``).
* :class:`SharedTier` (L2, every process; :class:`~vgkit.cache.redis.RedisTier`):
  a store that also releases a lock in the same write, tag members for
  invalidating every L1, invalidation messages (``publish`` / ``subscribe``)
  and the distributed lock (``acquire`` ... ``exists``, None when the tier is
  unreachable so the caller falls back to the local lock).

A new tier implements one of them (see the extension recipe in
``docs/cache.md``); a test builds a ``LayeredCache`` on a dictionary-backed
local tier written in the test itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from vgkit.errors import CacheError

__all__ = [
    "KEY_VERSION",
    "NO_PLATFORM",
    "Entry",
    "LocalTier",
    "Lookup",
    "SharedTier",
    "Tier",
    "build_key",
    "kind_of",
    "parse_key",
]

#: Version segment of the key schema; bump it when the stored format changes.
KEY_VERSION = "v1"
#: Platform segment of keys that belong to no single platform.
NO_PLATFORM = "all"


@dataclass(slots=True)
class Entry:
    """A decoded cache entry: the value and what the cache knows about it."""

    value: Any
    expires_at: float | None
    """Wall-clock epoch seconds after which the entry is stale (None: never)."""
    cost: float
    """Seconds it took to compute the value (what a hit saves)."""
    raw_bytes: int
    """Size of the value's JSON before compression."""
    stored_bytes: int
    """Size of the encoded entry as stored."""

    def ttl(self, now: float) -> float | None:
        """Seconds left before expiry at ``now`` (None: no expiry)."""
        return None if self.expires_at is None else self.expires_at - now


@dataclass(frozen=True, slots=True)
class Lookup:
    """The outcome of a read-through lookup."""

    value: Any
    hit: bool
    tier: str | None
    """``l1``, ``l2``, ``wait`` (another caller computed it) or None (computed here)."""
    seconds_saved: float = 0.0


def build_key(prefix: str, kind: str, platform: str | None, digest: str) -> str:
    """The full key ``{prefix}v1:{kind}:{platform}:{digest}``."""
    for name, part in (("kind", kind), ("platform", platform or NO_PLATFORM), ("hash", digest)):
        if not part or ":" in part or any(c in part for c in "*?[]"):
            raise CacheError(f"cache key {name} {part!r} must be non-empty, without : * ? [ ]")
    return f"{prefix}{KEY_VERSION}:{kind}:{platform or NO_PLATFORM}:{digest}"


def parse_key(prefix: str, key: str) -> tuple[str, str]:
    """``(kind, platform)`` of a full key; ``("other", "-")`` for keys outside the schema."""
    parts = key[len(prefix) :].split(":") if key.startswith(prefix) else ()
    if len(parts) == 4 and parts[0] == KEY_VERSION:
        return parts[1], parts[2]
    return "other", "-"


def kind_of(prefix: str, key: str) -> str:
    """The content kind of a full key (the hot-path half of :func:`parse_key`)."""
    start = len(prefix) + len(KEY_VERSION) + 1
    end = key.find(":", start)
    if end < 0 or not key.startswith(prefix):
        return "other"
    return key[start:end]


@runtime_checkable
class Tier(Protocol):
    """A byte store with TTLs, tags and invalidation (diskcache or Redis)."""

    name: str

    async def get(self, key: str) -> bytes | None: ...

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...

    async def set(
        self, key: str, data: bytes, *, ttl: float | None, tags: Iterable[str] = ()
    ) -> bool:
        """Store ``data``; False when the backend failed (counted, not raised)."""
        ...

    async def delete(self, keys: Sequence[str]) -> int: ...

    async def delete_tag(self, tag: str) -> list[str]:
        """Delete every key tagged ``tag``; the keys it removed."""
        ...

    async def delete_pattern(self, pattern: str) -> list[str]:
        """Delete every key matching a glob ``pattern``; the keys it removed."""
        ...

    async def clear(self) -> int: ...

    async def keys(self, pattern: str = "*") -> list[str]: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class LocalTier(Tier, Protocol):
    """L1: a tier on this machine, read on the event loop (diskcache; a dict in a test)."""

    def get_now(self, key: str) -> bytes | None:
        """``get`` without the coroutine (the layered cache's hot path: no await per hit)."""
        ...

    def set_soon(
        self, key: str, data: bytes, *, ttl: float | None, tags: Iterable[str] = ()
    ) -> asyncio.Future[bool]:
        """Queue the write now (in order with later deletes) and return its future."""
        ...

    def delete_now(self, keys: Sequence[str]) -> int:
        """Delete on the calling thread (an invalidation must not queue behind writes)."""
        ...

    async def remove(self, keys: Sequence[str]) -> list[str]:
        """Delete ``keys``; the ones that were here."""
        ...

    def contains(self, key: str) -> bool:
        """Whether the tier holds a live entry for ``key``."""
        ...

    def info(self) -> dict[str, Any]:
        """What ``vgkit cache stats`` shows (called on a worker thread)."""
        ...

    async def add(self, key: str, token: str, ttl: float) -> bool:
        """Store ``token`` under ``key`` only if absent (the local lock's acquire)."""
        ...

    async def renew_if(self, key: str, token: str, ttl: float) -> bool:
        """Extend ``key``'s expiry only while it still holds ``token`` (a lease renewal)."""
        ...

    async def remove_if(self, key: str, token: str) -> bool:
        """Delete ``key`` only while it still holds ``token`` (the local lock's release)."""
        ...


@runtime_checkable
class SharedTier(Tier, Protocol):
    """L2: a tier every process shares (Redis), with the lock and the invalidation channel."""

    async def set(
        self,
        key: str,
        data: bytes,
        *,
        ttl: float | None,
        tags: Iterable[str] = (),
        unlock: tuple[str, str] | None = None,
    ) -> bool:
        """Store ``data``; with ``unlock`` (lock key, token) release that lock in the same
        write. False when the backend failed (then the caller still holds the lock)."""
        ...

    async def set_many(
        self,
        items: Sequence[tuple[str, bytes, float | None]],
        *,
        tags: Iterable[str] = (),
        unlock: tuple[str, str] | None = None,
    ) -> bool:
        """Store ``(key, data, ttl)`` items together (one round trip)."""
        ...

    async def delete_tag_members(self, tag: str) -> tuple[list[str], list[str]]:
        """Delete every key tagged ``tag``: ``(all members, the keys that were still here)``."""
        ...

    async def publish(self, message: dict[str, Any]) -> None:
        """Send an invalidation message to every subscribed process."""
        ...

    async def subscribe(self, handler: Callable[[dict[str, Any]], None]) -> None:
        """Call ``handler`` for every invalidation message; returns once subscribed."""
        ...

    async def info(self) -> dict[str, Any]:
        """What ``vgkit cache stats`` shows (entries, availability)."""
        ...

    async def acquire(self, key: str, token: str, ttl: float) -> bool | None:
        """Take the lock ``key``: True, False when held elsewhere, None when unreachable."""
        ...

    async def acquire_and_get(
        self, key: str, token: str, ttl: float, peek: str
    ) -> tuple[bool | None, bytes | None]:
        """Take the lock ``key`` unless ``peek`` has a value, in one round trip:
        ``(False, value)``, ``(True, None)``, ``(False, None)`` (held elsewhere) or
        ``(None, None)`` (unreachable)."""
        ...

    async def release(self, key: str, token: str) -> bool:
        """Delete the lock ``key`` only while it holds ``token``."""
        ...

    async def renew(self, key: str, token: str, ttl: float) -> bool:
        """Extend the lock ``key`` only while it holds ``token``."""
        ...

    async def exists(self, key: str) -> bool | None:
        """Whether ``key`` exists (None when unreachable)."""
        ...
