"""The shared tier (L2): Redis through ``redis.asyncio``.

Short operation timeouts and no client-side retries: a failing or slow Redis
is reported to a :class:`CircuitBreaker`, which then refuses calls at once
until a probe succeeds, so callers fall back to L1 without waiting. Nothing
here raises on a Redis failure; it is counted (``errors``) and answered as a
miss or a no-op.

Concurrent ``get`` calls are batched: while one request is in flight, new
gets queue up and go out together as one ``MGET`` when it returns (no added
delay for a lone caller, one round trip for many).

Tags are Redis sets (``{prefix}tag:{tag}``); locks are ``SET NX PX`` with a
random token, released by a compare-and-delete script; invalidations are
published on ``{prefix}invalidate`` for every process's L1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from vgkit._tasks import stop
from vgkit.breaker import BreakerConfig, CircuitBreaker
from vgkit.cache.base import parse_key
from vgkit.cache.counters import CacheStats
from vgkit.errors import CacheError

__all__ = ["REDIS_BREAKER", "RedisConfig", "RedisTier"]

log = logging.getLogger("vgkit.cache")
T = TypeVar("T")

_ERRORS = (RedisError, OSError, TimeoutError)

#: The Redis tier gives up sooner and probes again sooner than the HTTP client:
#: every cache call waits on it, and L1 answers in the meantime.
REDIS_BREAKER = BreakerConfig(failure_threshold=3, reset_timeout=1.0)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_DELETE_TAG = """
local members = redis.call('SMEMBERS', KEYS[1])
local removed = {}
for _, key in ipairs(members) do
  if redis.call('DEL', key) == 1 then table.insert(removed, key) end
end
redis.call('DEL', KEYS[1])
return {members, removed}
"""
# KEYS: the lock, the value. ARGV: token, lock lease in ms. The value when there
# is one (the lock is not taken), else 1 when this caller took the lock, 0 when
# another holds it.
_LOCK_OR_GET = """
local value = redis.call('GET', KEYS[2])
if value then return {value} end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
# KEYS: the value, the lock, then tag sets. ARGV: data, ttl in ms (0: none), token.
# Stores the value, indexes it under its tags (a tag set lives as long as its
# longest-lived member) and releases the lock if this caller still holds it.
_STORE_AND_RELEASE = """
local px = tonumber(ARGV[2])
if px > 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', px)
else redis.call('SET', KEYS[1], ARGV[1]) end
for i = 3, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[1])
  if px > 0 then
    redis.call('PEXPIRE', KEYS[i], px, 'GT')
    redis.call('PEXPIRE', KEYS[i], px, 'NX')
  else redis.call('PERSIST', KEYS[i]) end
end
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisConfig:
    """How to reach Redis and how long to wait for it."""

    url: str
    op_timeout: float = 0.25
    """Seconds one operation may take before it counts as a failure."""
    connect_timeout: float = 0.25
    max_connections: int = 64
    max_batch: int = 256
    """Most keys in one batched MGET."""
    max_inflight: int = 2
    """Batched gets in flight at once; more callers queue for the next batch."""
    breaker: BreakerConfig = REDIS_BREAKER
    """A Redis that failed this many times in a row is left alone this long (then probed)."""

    def __post_init__(self) -> None:
        if not self.url.startswith(("redis://", "rediss://", "unix://")):
            raise CacheError(
                f"Redis URL must start with redis://, rediss:// or unix://, not {self.url!r}"
            )
        if self.op_timeout <= 0 or self.connect_timeout <= 0:
            raise CacheError("Redis timeouts must be positive seconds")
        if self.max_connections < 1 or self.max_batch < 1 or self.max_inflight < 1:
            raise CacheError("max_connections, max_batch and max_inflight must be at least 1")


class RedisTier:
    """L2: a byte store on Redis (see the module docstring)."""

    name = "l2"

    def __init__(self, config: RedisConfig, *, stats: CacheStats, prefix: str) -> None:
        self.config = config
        self.stats = stats
        self.prefix = prefix
        self.channel = f"{prefix}invalidate"
        self.breaker = CircuitBreaker(config.breaker)
        no_retry = Retry(NoBackoff(), 0)
        try:
            pool = aioredis.ConnectionPool.from_url(
                config.url,
                max_connections=config.max_connections,
                socket_timeout=config.op_timeout,
                socket_connect_timeout=config.connect_timeout,
                retry=no_retry,
            )
        except ValueError as exc:
            raise CacheError(f"invalid Redis URL {config.url!r}: {exc}") from exc
        self.client = aioredis.Redis(connection_pool=pool)
        self._url = config.url
        self._release = self.client.register_script(_RELEASE)
        self._renew = self.client.register_script(_RENEW)
        self._delete_tag = self.client.register_script(_DELETE_TAG)
        self._lock_or_get = self.client.register_script(_LOCK_OR_GET)
        self._store_and_release = self.client.register_script(_STORE_AND_RELEASE)
        self._pending: list[tuple[str, asyncio.Future[bytes | None]]] = []
        self._inflight = 0
        self._listener: asyncio.Task[None] | None = None

    # -- the guarded call --------------------------------------------------------

    async def _call(self, op: str, kind: str, fn: Callable[[], Awaitable[T]], fallback: T) -> T:
        """Run one Redis operation through the breaker; failures become ``fallback``.

        The socket timeout (``op_timeout``) bounds every read, so a slow Redis
        fails the call instead of stalling it.
        """
        if not self.breaker.allow():
            return fallback
        try:
            result = await fn()
        except _ERRORS as exc:
            self._failed(op, kind, exc)
            return fallback
        except BaseException:
            self.breaker.record_failure()
            raise
        self.breaker.record_success()
        return result

    def _failed(self, op: str, kind: str, exc: BaseException) -> None:
        self.breaker.record_failure()
        self.stats.add("errors", self.name, kind)
        log.debug("l2 %s failed: %r", op, exc)

    def _kind(self, key: str) -> str:
        return parse_key(self.prefix, key)[0]

    @property
    def available(self) -> bool:
        """Whether calls go to Redis now (the breaker is closed)."""
        return not self.breaker.is_open

    # -- reads -------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        if self._inflight < self.config.max_inflight and not self._pending:
            self._inflight += 1
            try:
                return (await self._mget([key]))[0]
            finally:
                self._inflight -= 1
                self._drain()
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._pending.append((key, future))
        return await future

    def _drain(self) -> None:
        while self._pending and self._inflight < self.config.max_inflight:
            batch = self._pending[: self.config.max_batch]
            del self._pending[: self.config.max_batch]
            self._inflight += 1
            asyncio.get_running_loop().create_task(self._run_batch(batch))

    async def _run_batch(self, batch: list[tuple[str, asyncio.Future[bytes | None]]]) -> None:
        try:
            values = await self._mget([key for key, _ in batch])
        except BaseException:
            values = [None] * len(batch)
        finally:
            self._inflight -= 1
        for (_, future), value in zip(batch, values, strict=True):
            if not future.done():
                future.set_result(value)
        self._drain()

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        if not self.breaker.allow():
            return [None] * len(keys)
        try:
            if len(keys) == 1:
                values: list[Any] = [await self.client.get(keys[0])]
            else:
                values = list(await self.client.mget(keys))
        except _ERRORS as exc:
            self._failed("get", self._kind(keys[0]), exc)
            return [None] * len(keys)
        except BaseException:
            self.breaker.record_failure()
            raise
        self.breaker.record_success()
        return values

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        out: list[bytes | None] = []
        for start in range(0, len(keys), self.config.max_batch):
            out.extend(await self._mget(list(keys[start : start + self.config.max_batch])))
        return out

    async def keys(self, pattern: str = "*") -> list[str]:
        async def scan() -> list[str]:
            return [k.decode() async for k in self.client.scan_iter(match=pattern, count=1000)]

        return await self._call("scan", "all", scan, [])

    async def pttl(self, key: str) -> float | None:
        """Seconds ``key`` has left in Redis (None: no expiry or absent)."""
        ms = await self._call("pttl", self._kind(key), lambda: self.client.pttl(key), -2)
        return ms / 1000 if ms >= 0 else None

    # -- writes ------------------------------------------------------------------

    async def set(
        self,
        key: str,
        data: bytes,
        *,
        ttl: float | None,
        tags: Iterable[str] = (),
        unlock: tuple[str, str] | None = None,
    ) -> bool:
        return await self.set_many([(key, data, ttl)], tags=tags, unlock=unlock)

    async def set_many(
        self,
        items: Sequence[tuple[str, bytes, float | None]],
        *,
        tags: Iterable[str] = (),
        unlock: tuple[str, str] | None = None,
    ) -> bool:
        """Store the items and index them under ``tags``, in one round trip.

        ``unlock``: ``(lock key, token)`` of a lock to release after the
        writes, in the same round trip (a computation that stores its result
        and lets waiters in). True when everything, the release included, went
        through; on False the caller still holds the lock and must release it.
        """
        tag_keys = [f"{self.prefix}tag:{tag}" for tag in tags]
        if unlock is not None and len(items) == 1:
            # One script, one command: the hot path of a computed miss.
            (key, data, ttl), (lock_key, token) = items[0], unlock
            px = max(1, int(ttl * 1000)) if ttl is not None else 0

            async def store() -> bool:
                await self._store_and_release(
                    keys=[key, lock_key, *tag_keys], args=[data, px, token]
                )
                return True

            return await self._call("set", self._kind(key), store, False)

        async def write() -> bool:
            pipe = self.client.pipeline(transaction=False)
            for key, data, ttl in items:
                px = max(1, int(ttl * 1000)) if ttl is not None else None
                pipe.set(key, data, px=px)
                for tag_key in tag_keys:
                    pipe.sadd(tag_key, key)
                    if px is None:
                        pipe.persist(tag_key)
                    else:
                        # A tag set lives as long as its longest-lived member.
                        pipe.pexpire(tag_key, px, gt=True)
                        pipe.pexpire(tag_key, px, nx=True)
            if unlock is not None:
                pipe.eval(_RELEASE, 1, *unlock)
            await pipe.execute()
            return True

        kind = self._kind(items[0][0]) if items else "all"
        return await self._call("set", kind, write, False)

    async def delete(self, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        removed = await self._call("delete", "all", lambda: self.client.delete(*keys), 0)
        self.stats.add("evictions", self.name, "all", removed)
        return int(removed)

    async def delete_tag(self, tag: str) -> list[str]:
        return (await self.delete_tag_members(tag))[1]

    async def delete_tag_members(self, tag: str) -> tuple[list[str], list[str]]:
        """Delete every key tagged ``tag``: ``(all members, the keys that were still here)``."""

        async def run() -> tuple[list[str], list[str]]:
            members, removed = await self._delete_tag(keys=[f"{self.prefix}tag:{tag}"])
            return [m.decode() for m in members], [m.decode() for m in removed]

        empty: tuple[list[str], list[str]] = ([], [])
        members, removed = await self._call("delete_tag", "all", run, empty)
        self.stats.add("evictions", self.name, "all", len(removed))
        return members, removed

    async def delete_pattern(self, pattern: str) -> list[str]:
        keys = await self.keys(pattern)
        for start in range(0, len(keys), 500):
            await self.delete(keys[start : start + 500])
        return keys

    async def clear(self) -> int:
        return len(await self.delete_pattern(f"{self.prefix}*"))

    # -- the distributed lock ----------------------------------------------------

    async def acquire(self, key: str, token: str, ttl: float) -> bool | None:
        """SET NX PX: True when acquired, False when held elsewhere, None when Redis is out."""
        result = await self._call(
            "lock", "lock", lambda: self.client.set(key, token, nx=True, px=int(ttl * 1000)), None
        )
        if result is None and not self.available:
            return None
        return bool(result)

    async def acquire_and_get(
        self, key: str, token: str, ttl: float, peek: str
    ) -> tuple[bool | None, bytes | None]:
        """Take the lock ``key`` unless ``peek`` has a value, in one command (a script).

        ``(False, value)`` when ``peek`` has a value (the lock is not taken),
        ``(True, None)`` when this caller took the lock, ``(False, None)`` when
        another holds it, ``(None, None)`` when Redis is out. So the double
        check after taking a lock costs no round trip of its own.
        """

        async def run() -> tuple[bool, bytes | None]:
            result = await self._lock_or_get(keys=[key, peek], args=[token, int(ttl * 1000)])
            if isinstance(result, list):
                return False, result[0]
            return result == 1, None

        result = await self._call("lock", "lock", run, None)
        if result is None:
            return None, None
        return result

    async def release(self, key: str, token: str) -> bool:
        return bool(
            await self._call("unlock", "lock", lambda: self._release(keys=[key], args=[token]), 0)
        )

    async def renew(self, key: str, token: str, ttl: float) -> bool:
        """Compare-and-PEXPIRE: extend a lock only while it still holds ``token``."""
        return bool(
            await self._call(
                "renew",
                "lock",
                lambda: self._renew(keys=[key], args=[token, int(ttl * 1000)]),
                0,
            )
        )

    async def exists(self, key: str) -> bool | None:
        result = await self._call("exists", "lock", lambda: self.client.exists(key), None)
        return None if result is None else bool(result)

    # -- invalidation messages ---------------------------------------------------

    async def publish(self, message: dict[str, Any]) -> None:
        data = orjson.dumps(message)
        await self._call("publish", "all", lambda: self.client.publish(self.channel, data), 0)

    async def subscribe(self, handler: Callable[[dict[str, Any]], None]) -> None:
        """Call ``handler`` for every invalidation message; returns once subscribed."""
        if self._listener is not None:
            return
        ready = asyncio.Event()
        self._listener = asyncio.get_running_loop().create_task(self._listen(handler, ready))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(1.0, 4 * self.config.connect_timeout)):
                await ready.wait()

    async def _listen(
        self, handler: Callable[[dict[str, Any]], None], ready: asyncio.Event
    ) -> None:
        # A connection of its own without a read timeout: it idles between messages.
        client = aioredis.Redis.from_url(
            self._url,
            socket_timeout=None,
            socket_connect_timeout=self.config.connect_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        delay = 0.05
        try:
            while True:
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                try:
                    await pubsub.subscribe(self.channel)
                    ready.set()
                    delay = 0.05
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            try:
                                handler(orjson.loads(message["data"]))
                            except (orjson.JSONDecodeError, TypeError, KeyError) as exc:
                                log.warning("ignored a malformed invalidation message: %s", exc)
                except _ERRORS as exc:
                    log.debug("invalidation listener lost Redis: %r", exc)
                finally:
                    with contextlib.suppress(*_ERRORS):
                        await pubsub.aclose()
                await asyncio.sleep(delay)
                delay = min(1.0, delay * 2)
        finally:
            with contextlib.suppress(*_ERRORS):
                await client.aclose()

    async def info(self) -> dict[str, Any]:
        keys = await self.keys(f"{self.prefix}v1:*")
        return {
            "url": self._url.split("@")[-1],
            "entries": len(keys),
            "breaker": self.breaker.state.value,
            "available": self.available,
        }

    async def aclose(self) -> None:
        if self._listener is not None:
            await stop(self._listener)
            self._listener = None
        with contextlib.suppress(*_ERRORS):
            await self.client.aclose()
            await self.client.connection_pool.disconnect()
