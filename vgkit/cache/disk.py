"""The local tier (L1): a ``diskcache.Cache`` directory, persistent across runs.

Reads run on the event loop (a SQLite lookup in WAL mode takes tens of
microseconds and never waits for writers); writes, deletes and culls run on a
one-thread executor so a slow fsync never stalls the loop. Eviction is
diskcache's own (size limit and policy configurable); automatic culling is
switched off and done here after writes instead, so the tier can count what it
evicted.

Tags live beside the entries under reserved keys (``\\0tag:{tag}`` -> JSON list
of keys), updated in a diskcache transaction, so several processes sharing one
directory keep them consistent.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import diskcache
import orjson

from vgkit.cache.base import parse_key
from vgkit.cache.stats import CacheStats
from vgkit.errors import CacheError

__all__ = ["DEFAULT_EVICTION_POLICY", "DiskOptions", "DiskTier"]

log = logging.getLogger("vgkit.cache")
T = TypeVar("T")

DEFAULT_EVICTION_POLICY = "least-recently-stored"
#: Cull (and count evictions) after this many writes.
CULL_EVERY = 64
_TAG = "\0tag:"
_RESERVED = "\0"
_ERRORS = (sqlite3.Error, diskcache.Timeout, OSError)


@dataclass(frozen=True, slots=True, kw_only=True)
class DiskOptions:
    """Where and how big the local tier is."""

    directory: Path
    size_limit: int = 1 << 30
    eviction_policy: str = DEFAULT_EVICTION_POLICY

    def __post_init__(self) -> None:
        if self.eviction_policy not in diskcache.EVICTION_POLICY:
            raise CacheError(
                f"unknown eviction policy {self.eviction_policy!r}; choose from "
                + ", ".join(diskcache.EVICTION_POLICY)
            )
        if self.size_limit <= 0:
            raise CacheError(f"cache size limit must be positive bytes, not {self.size_limit}")


class DiskTier:
    """L1: a byte store on ``diskcache`` (see the module docstring)."""

    name = "l1"

    def __init__(self, options: DiskOptions, *, stats: CacheStats, prefix: str = "") -> None:
        self.options = options
        self.stats = stats
        self.prefix = prefix
        try:
            options.directory.mkdir(parents=True, exist_ok=True)
            self.cache = diskcache.Cache(
                str(options.directory),
                size_limit=options.size_limit,
                eviction_policy=options.eviction_policy,
                cull_limit=0,
            )
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(
                f"cannot open the cache directory {options.directory}: {exc}; "
                "set VGKIT_CACHE_DIR to a writable directory"
            ) from exc
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vgkit-l1")
        self._writes = 0

    @property
    def directory(self) -> Path:
        return self.options.directory

    def _kind(self, key: str) -> str:
        return parse_key(self.prefix, key)[0]

    async def _offload(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _error(self, op: str, key: str, exc: BaseException) -> None:
        self.stats.add("errors", self.name, self._kind(key))
        log.warning("l1 %s %s failed: %s", op, key, exc)

    # -- reads (on the loop) -------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        try:
            value = self.cache.get(key, default=None, retry=True)
        except _ERRORS as exc:
            self._error("get", key, exc)
            return None
        return value if isinstance(value, bytes) else None

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    def contains(self, key: str) -> bool:
        """Whether the tier holds a live entry for ``key`` (for tests and tools)."""
        try:
            return key in self.cache
        except _ERRORS:
            return False

    async def expire_time(self, key: str) -> float | None:
        """Epoch seconds at which ``key`` expires in this tier (None: never or absent)."""
        try:
            _, expires = self.cache.get(key, default=None, expire_time=True, retry=True)
        except _ERRORS:
            return None
        return float(expires) if expires is not None else None

    async def keys(self, pattern: str = "*") -> list[str]:
        return await self._offload(lambda: self._match(pattern))

    def _match(self, pattern: str) -> list[str]:
        return [
            k
            for k in self.cache.iterkeys()
            if isinstance(k, str)
            and not k.startswith(_RESERVED)
            and fnmatch.fnmatchcase(k, pattern)
        ]

    # -- writes (off the loop) -----------------------------------------------

    async def set(
        self, key: str, data: bytes, *, ttl: float | None, tags: Iterable[str] = ()
    ) -> bool:
        return await self.set_soon(key, data, ttl=ttl, tags=tags)

    def set_soon(
        self, key: str, data: bytes, *, ttl: float | None, tags: Iterable[str] = ()
    ) -> asyncio.Future[bool]:
        """Queue the write now and return its future (True when it was stored).

        The write is on the executor's queue when this returns, so a delete
        queued after it runs after it (writes in the background keep their order).
        """
        tag_list = tuple(tags)

        def write() -> bool:
            try:
                if tag_list:
                    with self.cache.transact(retry=True):
                        self.cache.set(key, data, expire=ttl, retry=True)
                        for tag in tag_list:
                            self._tag_add(tag, key, ttl)
                else:
                    self.cache.set(key, data, expire=ttl, retry=True)
                self._writes += 1
                if self._writes % CULL_EVERY == 0:
                    self._cull()
            except _ERRORS as exc:
                self._error("set", key, exc)
                return False
            return True

        return asyncio.get_running_loop().run_in_executor(self._executor, write)

    def _tag_add(self, tag: str, key: str, ttl: float | None) -> None:
        raw = self.cache.get(_TAG + tag, default=None, retry=True)
        members: list[str] = orjson.loads(raw) if isinstance(raw, bytes) else []
        if key not in members:
            members.append(key)
        # The index outlives its entries; stale members are harmless (deleting is idempotent).
        self.cache.set(_TAG + tag, orjson.dumps(members), retry=True)

    def _cull(self) -> None:
        removed = int(self.cache.cull(retry=True))
        if removed:
            self.stats.add("evictions", self.name, "all", removed)

    async def delete(self, keys: Sequence[str]) -> int:
        return len(await self.remove(keys))

    async def remove(self, keys: Sequence[str]) -> list[str]:
        """Delete ``keys``; the ones that were here."""

        def remove() -> list[str]:
            return [key for key in keys if self.cache.delete(key, retry=True)]

        try:
            removed = await self._offload(remove)
        except _ERRORS as exc:
            self._error("delete", keys[0] if keys else "", exc)
            return []
        for key in removed:
            self.stats.add("evictions", self.name, self._kind(key))
        return removed

    def delete_now(self, keys: Sequence[str]) -> int:
        """Delete on the calling thread (the invalidation listener must not queue behind writes)."""
        removed = 0
        for key in keys:
            try:
                if self.cache.delete(key, retry=True):
                    removed += 1
                    self.stats.add("evictions", self.name, self._kind(key))
            except _ERRORS as exc:
                self._error("delete", key, exc)
        return removed

    async def delete_tag(self, tag: str) -> list[str]:
        def remove() -> list[str]:
            with self.cache.transact(retry=True):
                raw = self.cache.pop(_TAG + tag, default=None, retry=True)
                members: list[str] = orjson.loads(raw) if isinstance(raw, bytes) else []
                return [key for key in members if self.cache.delete(key, retry=True)]

        try:
            removed = await self._offload(remove)
        except _ERRORS as exc:
            self._error("delete_tag", "", exc)
            return []
        self.stats.add("evictions", self.name, "all", len(removed))
        return removed

    async def delete_pattern(self, pattern: str) -> list[str]:
        def remove() -> list[str]:
            return [key for key in self._match(pattern) if self.cache.delete(key, retry=True)]

        try:
            removed = await self._offload(remove)
        except _ERRORS as exc:
            self._error("delete_pattern", "", exc)
            return []
        self.stats.add("evictions", self.name, "all", len(removed))
        return removed

    async def clear(self) -> int:
        try:
            return int(await self._offload(lambda: self.cache.clear(retry=True)))
        except _ERRORS as exc:
            self._error("clear", "", exc)
            return 0

    # -- the lock without Redis ------------------------------------------------

    async def add(self, key: str, token: str, ttl: float) -> bool:
        """Store ``token`` under ``key`` only if absent (the diskcache lock's acquire)."""
        try:
            return bool(
                await self._offload(lambda: self.cache.add(key, token, expire=ttl, retry=True))
            )
        except _ERRORS as exc:
            self._error("lock", key, exc)
            return False

    async def renew_if(self, key: str, token: str, ttl: float) -> bool:
        """Extend ``key``'s expiry only while it still holds ``token`` (a lease renewal)."""

        def renew() -> bool:
            with self.cache.transact(retry=True):
                if self.cache.get(key, default=None, retry=True) == token:
                    return bool(self.cache.touch(key, expire=ttl, retry=True))
                return False

        try:
            return await self._offload(renew)
        except _ERRORS as exc:
            self._error("lock", key, exc)
            return False

    async def remove_if(self, key: str, token: str) -> bool:
        """Delete ``key`` only while it still holds ``token`` (the lock's release)."""

        def release() -> bool:
            with self.cache.transact(retry=True):
                if self.cache.get(key, default=None, retry=True) == token:
                    return bool(self.cache.delete(key, retry=True))
                return False

        try:
            return await self._offload(release)
        except _ERRORS as exc:
            self._error("unlock", key, exc)
            return False

    # -- housekeeping ----------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Directory, entry count and bytes on disk (for ``vgkit cache stats``)."""
        return {
            "directory": str(self.directory),
            "entries": sum(1 for k in self.cache.iterkeys() if not str(k).startswith(_RESERVED)),
            "volume_bytes": self.cache.volume(),
            "size_limit": self.options.size_limit,
            "eviction_policy": self.options.eviction_policy,
        }

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)
        self.cache.close()

    def expire(self) -> int:
        """Remove expired entries now; how many (counted as evictions)."""
        removed = int(self.cache.expire(now=time.time(), retry=True))
        if removed:
            self.stats.add("evictions", self.name, "all", removed)
        return removed
