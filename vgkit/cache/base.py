"""What every cache tier provides, and the entry and key types the layers share.

A tier stores opaque bytes (already encoded by :mod:`vgkit.cache.codec`) under
full keys (``{prefix}v1:{kind}:{platform}:{hash}``). The layered cache decodes,
counts and promotes; tiers only move bytes, and never raise on a backend
failure (they count it and answer as if the key were absent).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from vgkit.errors import CacheError

__all__ = [
    "KEY_VERSION",
    "NO_PLATFORM",
    "Entry",
    "Lookup",
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
