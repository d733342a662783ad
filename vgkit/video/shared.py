"""The clip cache's shared tier: rendered pieces in Redis, for every machine to reuse.

The clip cache (:mod:`vgkit.video.cache`) keeps entries on this machine's disk.
With a shared tier (the layered cache's :class:`~vgkit.cache.redis.RedisTier`,
at the queue's Redis and key prefix) every entry under ``limit`` bytes is also
stored in Redis, so a second machine, or a second cache directory, finds a
clip another one rendered: a local miss asks Redis, and a hit there is written
into the local directory (the same checks, hashes and atomic rename as any
entry) before it is used.

An entry travels as one bundle of bytes, no pickle::

    b"VGC1" | 4-byte big-endian header length | header (JSON) | file bytes, in order

The header names each file with its size and SHA-256, and carries the entry's
JSON (word times, frame counts). A bundle that does not match its header is a
miss, counted and deleted from Redis.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import struct
from pathlib import Path
from typing import Any

import orjson

from vgkit.cache.base import build_key
from vgkit.cache.counters import stats_for
from vgkit.cache.redis import RedisConfig, RedisTier
from vgkit.metrics import MetricsRegistry, default_registry
from vgkit.video.cache import ClipCache, ClipEntry

__all__ = ["DEFAULT_SHARE_LIMIT", "DEFAULT_SHARE_TTL", "SharedClips", "pack", "unpack"]

log = logging.getLogger("vgkit.video")

#: Entries larger than this stay on the machine that rendered them (bytes).
DEFAULT_SHARE_LIMIT = 8 << 20
#: How long Redis keeps a shared entry (seconds).
DEFAULT_SHARE_TTL = 7 * 24 * 3600.0
#: Seconds a clip's transfer may take (a few MB; the cache's 0.25 s is for small values).
TRANSFER_TIMEOUT = 5.0

_MAGIC = b"VGC1"
_HEADER = struct.Struct(">I")


class CorruptBundle(ValueError):
    """A bundle whose bytes do not match its header."""


def pack(entry: ClipEntry) -> bytes:
    """One cache entry as a bundle of bytes (see the module docstring)."""
    files = []
    blobs = []
    for name, path in sorted(entry.files.items()):
        data = Path(path).read_bytes()
        files.append({"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        blobs.append(data)
    header = orjson.dumps({"key": entry.key, "files": files, "extra": entry.meta})
    return b"".join([_MAGIC, _HEADER.pack(len(header)), header, *blobs])


def unpack(data: bytes, key: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The files (name -> bytes) and JSON of a bundle for ``key``; CorruptBundle if it is not."""
    if data[:4] != _MAGIC or len(data) < 8:
        raise CorruptBundle("not a clip bundle")
    (size,) = _HEADER.unpack(data[4:8])
    try:
        header = orjson.loads(data[8 : 8 + size])
        if header["key"] != key:
            raise CorruptBundle(f"bundle of {header['key']}, not {key}")
        offset = 8 + size
        files = {}
        for info in header["files"]:
            blob = data[offset : offset + int(info["size"])]
            offset += int(info["size"])
            if len(blob) != info["size"] or hashlib.sha256(blob).hexdigest() != info["sha256"]:
                raise CorruptBundle(f"{info['name']} does not match its recorded hash")
            files[str(info["name"])] = blob
        extra = header.get("extra") or {}
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CorruptBundle(str(exc)) from None
    if offset != len(data):
        raise CorruptBundle("trailing bytes after the last file")
    return files, extra


class SharedClips:
    """Clip-cache entries in Redis under ``{prefix}v1:clip:all:{key}`` (see the module docstring).

    Never raises on a Redis failure: the tier's circuit breaker turns an
    unreachable or slow Redis into misses and skipped writes, and the render
    goes on with its local directory.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        limit: int = DEFAULT_SHARE_LIMIT,
        ttl: float = DEFAULT_SHARE_TTL,
        metrics: MetricsRegistry | None = None,
    ) -> None:
        self.prefix = prefix
        self.limit = limit
        self.ttl = ttl
        registry = metrics if metrics is not None else default_registry()
        self.tier = RedisTier(
            RedisConfig(url=url, op_timeout=TRANSFER_TIMEOUT, connect_timeout=2.0),
            stats=stats_for(registry),
            prefix=prefix,
        )
        self.fetched = 0
        """Entries found in Redis and written into a local directory."""
        self.stored = 0
        self.too_large = 0
        self.corrupt = 0

    def redis_key(self, key: str) -> str:
        return build_key(self.prefix, "clip", None, key)

    async def fetch(self, key: str, cache: ClipCache) -> ClipEntry | None:
        """The entry for ``key`` from Redis, written into ``cache``; None when Redis lacks it."""
        data = await self.tier.get(self.redis_key(key))
        if data is None:
            return None
        try:
            files, extra = unpack(data, key)
        except CorruptBundle as exc:
            self.corrupt += 1
            log.warning("shared clip %s is corrupt (%s): deleted", key[:12], exc)
            await self.tier.delete([self.redis_key(key)])
            return None
        staging = cache.scratch()
        paths = {}
        for name, blob in files.items():
            path = staging / name
            path.write_bytes(blob)
            paths[name] = path
        entry = cache.put(key, paths, extra)
        with contextlib.suppress(OSError):
            staging.rmdir()
        self.fetched += 1
        return entry

    async def store(self, entry: ClipEntry) -> bool:
        """Put ``entry`` in Redis unless it is over the limit; whether Redis has it now."""
        if entry.size > self.limit:
            self.too_large += 1
            return False
        stored = await self.tier.set(self.redis_key(entry.key), pack(entry), ttl=self.ttl)
        self.stored += int(stored)
        return stored

    async def contains(self, key: str) -> bool:
        return bool(await self.tier.exists(self.redis_key(key)))

    async def aclose(self) -> None:
        await self.tier.aclose()
