"""The local tier (L1): a ``diskcache.Cache`` directory, persistent across runs.

Reads run on the event loop (a SQLite lookup in WAL mode takes tens of
microseconds and never waits for writers); writes, deletes and culls run on a
one-thread executor so a slow fsync never stalls the loop; writes queued while
it is busy go out together in one transaction. Eviction is
diskcache's own (size limit and policy configurable); automatic culling is
switched off and done here after writes instead, so the tier can count what it
evicted.

Tags live beside the entries under reserved keys (``\\0tag:{tag}`` -> JSON list
of keys), updated in a diskcache transaction, so several processes sharing one
directory keep them consistent.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import diskcache
import orjson

from vgkit.cache.base import parse_key
from vgkit.cache.counters import CacheStats
from vgkit.errors import CacheError

__all__ = ["DEFAULT_EVICTION_POLICY", "DiskConfig", "DiskTier"]

log = logging.getLogger("vgkit.cache")
T = TypeVar("T")

DEFAULT_EVICTION_POLICY = "least-recently-stored"
#: Cull (and count evictions) after this many writes.
CULL_EVERY = 64
_TAG = "\0tag:"
_RESERVED = "\0"
_ERRORS = (sqlite3.Error, diskcache.Timeout, OSError)


@dataclass(frozen=True, slots=True, kw_only=True)
class DiskConfig:
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


class _Write(NamedTuple):
    key: str
    data: bytes
    ttl: float | None
    tags: tuple[str, ...]
    future: asyncio.Future[bool]


def _resolve(writes: list[_Write], results: list[bool | BaseException]) -> None:
    for w, result in zip(writes, results, strict=True):
        if w.future.done():
            continue
        if isinstance(result, BaseException):
            w.future.set_exception(result)
        else:
            w.future.set_result(result)


class DiskTier:
    """L1: a byte store on ``diskcache`` (see the module docstring)."""

    name = "l1"

    def __init__(self, config: DiskConfig, *, stats: CacheStats, prefix: str = "") -> None:
        self.config = config
        self.stats = stats
        self.prefix = prefix
        try:
            config.directory.mkdir(parents=True, exist_ok=True)
            self.cache = diskcache.Cache(
                str(config.directory),
                size_limit=config.size_limit,
                eviction_policy=config.eviction_policy,
                cull_limit=0,
            )
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(
                f"cannot open the cache directory {config.directory}: {exc}; "
                "set VGKIT_CACHE_DIR to a writable directory"
            ) from exc
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vgkit-l1")
        self._writes = 0
        # Writes waiting for the executor, written together (see ``set_soon``).
        self._batch: list[_Write] | None = None
        self._batch_lock = threading.Lock()

    @property
    def directory(self) -> Path:
        return self.config.directory

    def _kind(self, key: str) -> str:
        return parse_key(self.prefix, key)[0]

    async def _offload(self, fn: Callable[[], T]) -> T:
        self._close_batch()  # writes queued after this operation must run after it
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _error(self, op: str, key: str, exc: BaseException) -> None:
        self.stats.add("errors", self.name, self._kind(key))
        log.warning("l1 %s %s failed: %s", op, key, exc)

    # -- reads (on the loop) -------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        return self.get_now(key)

    def get_now(self, key: str) -> bytes | None:
        """``get`` without the coroutine (the layered cache's hot path)."""
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
        Writes queued while the executor is busy go out together, in one SQLite
        transaction: a commit per write was half of what a new key cost.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        write = _Write(key, data, ttl, tuple(tags), future)
        with self._batch_lock:
            batch = self._batch
            if batch is None:
                batch = self._batch = []
                self._executor.submit(self._write_batch, batch, loop)
            batch.append(write)
        return future

    def _close_batch(self) -> None:
        """Writes queued from now on go after whatever is submitted next."""
        with self._batch_lock:
            self._batch = None

    def _write_batch(self, batch: list[_Write], loop: asyncio.AbstractEventLoop) -> None:
        """On the executor: store ``batch`` (one transaction) and resolve its futures."""
        with self._batch_lock:  # nothing joins the batch once it is being written
            if self._batch is batch:
                self._batch = None
            writes = list(batch)
        results: list[bool | BaseException]
        try:
            try:
                with self.cache.transact(retry=True):
                    for w in writes:
                        self._write_one(w)
                results = [True] * len(writes)
            except _ERRORS:
                # One bad write must not sink the others: write them one by one.
                results = [self._write_alone(w) for w in writes]
        except Exception as exc:  # a bug, not a disk error: every waiter hears of it
            results = [exc] * len(writes)
        self._writes += len(writes)
        if self._writes // CULL_EVERY != (self._writes - len(writes)) // CULL_EVERY:
            try:  # before the writers hear back: whoever waited sees the tier culled
                self._cull()
            except _ERRORS as exc:  # the writes stand; the next cull tries again
                log.warning("l1 cull failed: %s", exc)
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(_resolve, writes, results)

    def _write_one(self, w: _Write) -> None:
        self.cache.set(w.key, w.data, expire=w.ttl, retry=True)
        for tag in w.tags:
            self._tag_add(tag, w.key, w.ttl)

    def _write_alone(self, w: _Write) -> bool:
        try:
            with self.cache.transact(retry=True):
                self._write_one(w)
        except _ERRORS as exc:
            self._error("set", w.key, exc)
            return False
        return True

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
            "size_limit": self.config.size_limit,
            "eviction_policy": self.config.eviction_policy,
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
