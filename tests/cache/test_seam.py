"""The tier seam is real: a LayeredCache over a local tier written here, a dict in memory.

Nothing below knows diskcache or Redis. If ``LayeredCache`` or ``KeyLock``
called anything :class:`LocalTier` does not promise, mypy would reject
``LayeredCache(l1=DictTier())`` and these tests would fail at run time.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Iterable, Sequence
from typing import Any

from vgkit.cache import LayeredCache, LocalTier, Tier
from vgkit.cache.codec import is_entry
from vgkit.metrics import MetricsRegistry


class DictTier:
    """A local tier in a dict: bytes, expiry times and tag sets, nothing else."""

    name = "l1"

    def __init__(self, clock: Any = time.time) -> None:
        self.clock = clock
        self.data: dict[str, tuple[bytes | str, float | None]] = {}
        self.tags: dict[str, set[str]] = {}
        self.calls: dict[str, int] = {}

    def _count(self, op: str) -> None:
        self.calls[op] = self.calls.get(op, 0) + 1

    def _live(self, key: str) -> bytes | str | None:
        item = self.data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and expires <= self.clock():
            del self.data[key]
            return None
        return value

    # -- Tier ---------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        return self.get_now(key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [self.get_now(key) for key in keys]

    async def set(
        self, key: str, data: bytes, *, ttl: float | None, tags: Iterable[str] = ()
    ) -> bool:
        self._count("set")
        self.data[key] = (data, None if ttl is None else self.clock() + ttl)
        for tag in tags:
            self.tags.setdefault(tag, set()).add(key)
        return True

    async def delete(self, keys: Sequence[str]) -> int:
        return self.delete_now(keys)

    async def delete_tag(self, tag: str) -> list[str]:
        return await self.remove(sorted(self.tags.pop(tag, set())))

    async def delete_pattern(self, pattern: str) -> list[str]:
        return await self.remove(await self.keys(pattern))

    async def clear(self) -> int:
        count = len(self.data)
        self.data.clear()
        return count

    async def keys(self, pattern: str = "*") -> list[str]:
        return [k for k in list(self.data) if fnmatch.fnmatchcase(k, pattern) and self._live(k)]

    async def aclose(self) -> None:
        self._count("aclose")

    # -- LocalTier ----------------------------------------------------------------

    def get_now(self, key: str) -> bytes | None:
        self._count("get")
        value = self._live(key)
        return value if isinstance(value, bytes) else None

    def set_soon(
        self, key: str, data: bytes, *, ttl: float | None, tags: Iterable[str] = ()
    ) -> asyncio.Future[bool]:
        # A dict write cannot fail or block: the future is done at once.
        self._count("set")
        self.data[key] = (data, None if ttl is None else self.clock() + ttl)
        for tag in tags:
            self.tags.setdefault(tag, set()).add(key)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        future.set_result(True)
        return future

    def delete_now(self, keys: Sequence[str]) -> int:
        return sum(self.data.pop(key, None) is not None for key in keys)

    async def remove(self, keys: Sequence[str]) -> list[str]:
        return [key for key in keys if self.data.pop(key, None) is not None]

    def contains(self, key: str) -> bool:
        return self._live(key) is not None

    def info(self) -> dict[str, Any]:
        return {"entries": len(self.data), "kind": "dict"}

    async def add(self, key: str, token: str, ttl: float) -> bool:
        self._count("lock")
        if self._live(key) is not None:
            return False
        self.data[key] = (token, self.clock() + ttl)
        return True

    async def renew_if(self, key: str, token: str, ttl: float) -> bool:
        if self._live(key) != token:
            return False
        self.data[key] = (token, self.clock() + ttl)
        return True

    async def remove_if(self, key: str, token: str) -> bool:
        self._count("unlock")
        if self._live(key) != token:
            return False
        del self.data[key]
        return True


def dict_cache(tier: DictTier | None = None) -> LayeredCache:
    return LayeredCache(l1=tier or DictTier(), prefix="seam:", metrics=MetricsRegistry())


def test_the_dict_tier_is_a_local_tier() -> None:
    tier = DictTier()
    assert isinstance(tier, LocalTier) and isinstance(tier, Tier)
    assert not isinstance(object(), LocalTier)


async def test_set_get_and_a_miss_go_through_the_tier() -> None:
    tier = DictTier()
    async with dict_cache(tier) as cache:
        key = cache.key("script", "tiktok", "abc")
        assert await cache.get(key, "absent") == "absent"
        await cache.set(key, {"text": "hello"}, ttl=30)
        stored, expires = tier.data[key]
        assert isinstance(stored, bytes) and is_entry(stored)  # the codec's bytes, not JSON
        assert expires is not None and 29 < expires - time.time() <= 30
        assert await cache.get(key) == {"text": "hello"}
        assert await cache.get_many([key, cache.key("script", "tiktok", "nope")]) == {
            key: {"text": "hello"}
        }
        assert (await cache.info())["l1"] == {"entries": 1, "kind": "dict"}
        assert await cache.entry_sizes() == {
            "l1": {"script.entries": 1, "script.bytes": len(stored)}
        }
    assert tier.calls["aclose"] == 1


async def test_compute_once_for_concurrent_callers_then_a_hit_with_the_time_saved() -> None:
    tier = DictTier()
    computed = 0

    async def compute() -> dict[str, int]:
        nonlocal computed
        computed += 1
        await asyncio.sleep(0.05)
        return {"n": computed}

    async with dict_cache(tier) as cache:
        key = cache.key("storyboard", "youtube", "once")
        first = await asyncio.gather(*(cache.get_or_compute(key, compute) for _ in range(20)))
        assert computed == 1 and {r.value["n"] for r in first} == {1}
        assert sum(not r.hit for r in first) == 1  # one computed, the others shared its flight
        assert tier.calls["lock"] == 1 and tier.calls["unlock"] == 1  # the tier's own lock
        assert not [k for k in tier.data if ":lock:" in k]  # released
        again = await cache.get_or_compute(key, compute)
        assert again.hit and again.tier == "l1" and computed == 1
        assert 0.04 < again.seconds_saved < 1.0


async def test_two_caches_sharing_the_tier_compute_once_through_its_lock() -> None:
    """Two caches on one tier are two processes on one directory: the tier's lock decides."""
    tier = DictTier()
    calls: list[str] = []

    def compute(who: str) -> Any:
        async def fn() -> str:
            calls.append(who)
            await asyncio.sleep(0.1)
            return who

        return fn

    async with dict_cache(tier) as a, dict_cache(tier) as b:
        key = a.key("script", "tiktok", "shared")
        first, second = await asyncio.gather(
            a.get_or_compute(key, compute("a")), b.get_or_compute(key, compute("b"))
        )
    assert len(calls) == 1 and first.value == second.value == calls[0]
    assert sorted([str(first.tier), str(second.tier)]) == ["None", "wait"]


async def test_invalidation_by_key_tag_and_pattern_reaches_the_tier() -> None:
    tier = DictTier()
    async with dict_cache(tier) as cache:
        a, b, c = (cache.key("script", "tiktok", h) for h in "abc")
        d = cache.key("hooks", "tiktok", "d")
        await cache.set(a, 1)
        await cache.set(b, 2, tags=["topic:tides"])
        await cache.set(c, 3)
        await cache.set(d, 4)
        assert await cache.invalidate(key=a) == 1
        assert await cache.invalidate(tag="topic:tides") == 1
        assert await cache.invalidate(pattern="v1:script:*") == 1  # c; the prefix is added
        assert [await cache.get(k) for k in (a, b, c, d)] == [None, None, None, 4]
        assert sorted(tier.data) == [d]
        assert await cache.clear() == 1 and not tier.data
