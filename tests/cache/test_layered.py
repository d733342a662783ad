"""The layered cache against a real Redis and real diskcache directories."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from tests.conftest import MakeCache
from vgkit.cache import CachePolicy, DiskTier, RedisTier
from vgkit.cache.codec import is_entry
from vgkit.errors import CacheError

pytestmark = pytest.mark.redis


async def test_l2_hit_is_promoted_to_l1_with_its_remaining_ttl(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    writer = make_cache(redis=redis_url, prefix=key_prefix)
    reader = make_cache(redis=redis_url, prefix=key_prefix)
    key = writer.key("script", "tiktok", "abc")
    await writer.set(key, {"text": "hello"}, ttl=30)
    await asyncio.sleep(1.0)
    assert isinstance(reader.l1, DiskTier) and not reader.l1.contains(key)
    found = await reader.lookup(key)
    assert found is not None and found[1] == "l2" and found[0].value == {"text": "hello"}
    await reader.drain()
    assert reader.l1.contains(key)
    remaining = (await reader.l1.expire_time(key) or 0) - time.time()
    assert 27 < remaining < 29.5  # the remaining TTL, not a fresh 30 s
    again = await reader.lookup(key)
    assert again is not None and again[1] == "l1"
    assert reader.stats.total("hits", "l1") == 1 and reader.stats.total("hits", "l2") == 1


async def test_ttls_are_honoured_in_both_tiers(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    cache = make_cache(redis=redis_url, prefix=key_prefix)
    key = cache.key("timing", "youtube", "short")
    await cache.set(key, [1, 2, 3], ttl=0.4)
    assert isinstance(cache.l2, RedisTier) and cache.l1 is not None
    assert 0 < (await cache.l2.pttl(key) or 0) <= 0.4
    assert await cache.get(key) == [1, 2, 3]
    await asyncio.sleep(0.5)
    assert await cache.l1.get(key) is None and await cache.l2.get(key) is None
    assert await cache.get(key, "gone") == "gone"


async def test_policy_ttls_follow_kind_and_platform(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    cache = make_cache(redis=redis_url, prefix=key_prefix)
    assert isinstance(cache.l2, RedisTier)
    for kind, platform, ttl in (
        ("script", "youtube", 7200),
        ("script", "tiktok", 3600),
        ("timing", "tiktok", 1800),
        ("request", "tiktok", 86400),
    ):
        key = cache.key(kind, platform, "h")
        await cache.set(key, 1)
        assert ttl - 5 < (await cache.l2.pttl(key) or 0) <= ttl


def test_policy_overrides_and_bad_policies() -> None:
    policy = CachePolicy.from_dict({"ttl": {"script": {"tiktok": 60}, "timing": None}})
    assert policy.ttl("script", "tiktok") == 60 and policy.ttl("script", "youtube") == 7200
    assert policy.ttl("timing", "tiktok") is None and policy.ttl("hooks", "tiktok") == 3600
    with pytest.raises(CacheError, match="positive seconds"):
        CachePolicy.from_dict({"ttl": {"script": -1}})
    with pytest.raises(CacheError, match="unknown cache policy fields: ttls"):
        CachePolicy.from_dict({"ttls": {}})


async def test_get_or_compute_computes_once_and_counts_time_saved(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    cache = make_cache(redis=redis_url, prefix=key_prefix)
    key = cache.key("storyboard", "tiktok", "once")
    calls = 0

    async def compute() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)
        return {"shots": 12}

    results = await asyncio.gather(*(cache.get_or_compute(key, compute) for _ in range(50)))
    assert calls == 1
    assert {r.tier for r in results} == {None, "flight"}
    assert all(r.value == {"shots": 12} for r in results)
    hit = await cache.get_or_compute(key, compute)
    assert hit.hit and hit.tier == "l1" and 0.19 < hit.seconds_saved < 1.0
    assert cache.stats.saved["storyboard"] == pytest.approx(hit.seconds_saved)


async def test_failures_are_not_cached_and_reach_every_waiter(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    cache = make_cache(redis=redis_url, prefix=key_prefix)
    key = cache.key("script", "tiktok", "boom")

    async def fail() -> int:
        await asyncio.sleep(0.05)
        raise RuntimeError("model timed out")

    outcomes = await asyncio.gather(
        *(cache.get_or_compute(key, fail) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert await cache.get(key) is None
    assert cache.l2 is not None and await cache.l2.keys(f"{key_prefix}lock:*") == []

    async def ok() -> int:
        return 7

    assert (await cache.get_or_compute(key, ok)).value == 7


async def test_corrupt_bytes_are_a_miss_counted_and_deleted(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    cache = make_cache(redis=redis_url, prefix=key_prefix)
    assert cache.l1 is not None and cache.l2 is not None
    key = cache.key("script", "youtube", "bad")
    await cache.l2.set(key, b"\x80\x05garbage", ttl=60)
    await cache.l1.set(key, b"\xa3\x00\x00", ttl=60)
    assert await cache.get(key, "miss") == "miss"
    await cache.drain()
    assert await cache.l1.get(key) is None and await cache.l2.get(key) is None
    assert cache.stats.total("corrupt", "l1") == 1 and cache.stats.total("corrupt", "l2") == 1
    result = await cache.get_or_compute(key, _const({"fresh": True}))
    assert result.value == {"fresh": True} and not result.hit


def _const(value: object):
    async def fn() -> object:
        return value

    return fn


async def test_no_value_in_redis_is_a_pickle(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    cache = make_cache(redis=redis_url, prefix=key_prefix)
    for i, kind in enumerate(("script", "storyboard", "timing", "result", "hooks")):
        value = {"i": i, "text": "word " * (i * 300)}
        await cache.set(cache.key(kind, "tiktok", f"h{i}"), value, tags=["topic:x"])
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{key_prefix}v1:*")]
        assert len(keys) == 5
        for key in keys:
            data = await client.get(key)
            assert isinstance(data, bytes) and data[0] != 0x80 and is_entry(data), key
    finally:
        await client.aclose()


async def test_get_many_and_set_many(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    writer = make_cache(redis=redis_url, prefix=key_prefix)
    reader = make_cache(redis=redis_url, prefix=key_prefix)
    keys = [writer.key("cta", "tiktok", f"k{i}") for i in range(20)]
    await writer.set_many({k: {"n": i} for i, k in enumerate(keys)}, ttl=60)
    got = await reader.get_many([*keys, writer.key("cta", "tiktok", "absent")])
    assert got == {k: {"n": i} for i, k in enumerate(keys)}
    assert reader.stats.total("hits", "l2") == 20 and reader.stats.total("misses", "l2") == 1


async def test_concurrent_gets_are_batched_into_mget(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    cache = make_cache(redis=redis_url, prefix=key_prefix, l1=False)
    keys = [cache.key("script", "tiktok", f"b{i}") for i in range(64)]
    await cache.set_many({k: i for i, k in enumerate(keys)})
    assert isinstance(cache.l2, RedisTier)
    sent: list[int] = []
    original = cache.l2.client.mget

    async def counting_mget(*args, **kwargs):
        sent.append(len(args[0]))
        return await original(*args, **kwargs)

    cache.l2.client.mget = counting_mget  # type: ignore[method-assign]
    values = await asyncio.gather(*(cache.get(k) for k in keys))
    assert values == list(range(64))
    assert sum(sent) >= 60 and len(sent) <= 4  # at most two single GETs, the rest in MGETs


async def test_invalidate_by_key_tag_and_pattern(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    cache = make_cache(redis=redis_url, prefix=key_prefix)
    a, b, c = (cache.key("script", p, "x") for p in ("youtube", "tiktok", "instagram_reels"))
    d = cache.key("timing", "tiktok", "x")
    for key in (a, b, c, d):
        await cache.set(key, key, tags=["topic:tides"] if key in (a, b) else [])
    assert await cache.invalidate(key=a) == 1
    assert await cache.invalidate(tag="topic:tides") == 1  # b (a was gone already)
    assert await cache.invalidate(pattern="v1:script:*") == 1  # c, prefix added
    assert [await cache.get(k) for k in (a, b, c, d)] == [None, None, None, d]
    with pytest.raises(CacheError, match="exactly one"):
        await cache.invalidate(key=a, tag="t")


async def test_l1_only_cache_locks_on_disk(make_cache: MakeCache, tmp_path) -> None:
    cache = make_cache()
    key = cache.key("script", "tiktok", "local")
    lock = await cache.locks.try_acquire(key)
    assert lock is not None and lock[0] == "local"
    assert await cache.locks.try_acquire(key) is None
    await cache.locks.release(key, lock)
    assert (await cache.get_or_compute(key, _const(3))).value == 3
    assert (await cache.get_or_compute(key, _const(4))).value == 3


async def test_early_refresh_recomputes_a_hot_key_before_expiry(make_cache: MakeCache) -> None:
    cache = make_cache(policy=CachePolicy(early_refresh=1e9))
    key = cache.key("script", "tiktok", "hot")
    versions = iter(range(100))

    async def compute() -> int:
        await asyncio.sleep(0.01)
        return next(versions)

    assert (await cache.get_or_compute(key, compute, ttl=5)).value == 0
    # cost ~0.01 s x beta 1e9: the next hit is all but certain to refresh early.
    hit = await cache.get_or_compute(key, compute, ttl=5)
    assert hit.hit and hit.value == 0
    await cache.drain()
    assert await cache.get(key) == 1


async def test_a_long_computation_keeps_its_lease_and_a_dead_holder_loses_it(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    from vgkit.cache.locks import LockConfig

    lease = LockConfig(ttl=0.3, wait=5.0)
    first = make_cache(redis=redis_url, prefix=key_prefix)
    second = make_cache(redis=redis_url, prefix=key_prefix)
    first.locks.config = second.locks.config = lease
    key = first.key("script", "tiktok", "lease")
    calls: list[str] = []

    async def slow(name: str) -> dict[str, str]:
        calls.append(name)
        await asyncio.sleep(1.0)  # more than three leases long
        return {"by": name}

    a = asyncio.create_task(first.get_or_compute(key, lambda: slow("first"), ttl=60))
    await asyncio.sleep(0.1)
    b = await second.get_or_compute(key, lambda: slow("second"), ttl=60)
    assert (await a).value == {"by": "first"} and b.value == {"by": "first"}
    assert b.hit and calls == ["first"]  # the renewed lease kept the second process waiting

    # A holder that dies never renews: its lock is gone within one lease.
    dead = second.key("script", "tiktok", "dead")
    assert await first.locks.try_acquire(dead) is not None
    started = time.monotonic()
    value = await second.get_or_compute(dead, lambda: slow("survivor"), ttl=60)
    assert value.value == {"by": "survivor"} and not value.hit
    assert time.monotonic() - started < 0.3 + 1.0 + 0.5


async def _redis_has(redis_url: str, key: str) -> bool:
    raw = aioredis.from_url(redis_url)
    try:
        return bool(await raw.exists(key))
    finally:
        await raw.aclose()


def _count_round_trips(cache) -> list[int]:
    """Count the commands and pipelines sent on ``cache``'s Redis connections."""
    sent = [0]
    pool = cache.l2.client.connection_pool
    get_connection = pool.get_connection

    async def counting_get_connection(*args, **kwargs):
        conn = await get_connection(*args, **kwargs)
        if not getattr(conn, "_vgkit_counted", False):
            send = conn.send_packed_command

            async def counting_send(command, *a, **k):
                sent[0] += 1
                return await send(command, *a, **k)

            conn.send_packed_command = counting_send
            conn._vgkit_counted = True
        return conn

    pool.get_connection = counting_get_connection
    return sent


async def test_a_miss_with_redis_takes_three_round_trips_and_writes_l1_behind(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    cache = make_cache(redis=redis_url, prefix=key_prefix)
    # A first miss loads the scripts into Redis (EVALSHA, NOSCRIPT, SCRIPT LOAD once).
    await cache.get_or_compute(cache.key("script", "tiktok", "warm"), _const(0), tags=["t"])
    sent = _count_round_trips(cache)
    key = cache.key("script", "tiktok", "three")
    result = await cache.get_or_compute(key, _const({"n": 1}), tags=["topic:three"])
    # The lookup; the lock with the double check; the value, its tag and the release.
    assert not result.hit and sent[0] == 3
    assert not await _redis_has(redis_url, cache.locks.lock_key(key))  # released with the write
    raw = aioredis.from_url(redis_url)
    try:
        assert await raw.sismember(f"{key_prefix}tag:topic:three", key)
    finally:
        await raw.aclose()
    # Before the disk write lands, this process already reads its own value from L1.
    found = await cache.lookup(key)
    assert found is not None and found[1] == "l1" and found[0].value == {"n": 1}
    await cache.drain()
    assert cache.l1 is not None and cache.l1.contains(key) and not cache._unflushed
    # Redis holds the tag index, so invalidating the tag still reaches the L1 copy.
    assert await cache.invalidate(tag="topic:three") == 1
    assert not cache.l1.contains(key) and await cache.get(key) is None


async def test_when_redis_refuses_the_write_l1_is_written_before_the_answer(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    cache = make_cache(redis=redis_url, prefix=key_prefix)
    key = cache.key("script", "tiktok", "refused")
    assert cache.l2 is not None and cache.l1 is not None

    async def refuse(*args, **kwargs) -> bool:  # fault injection: the store fails
        return False

    cache.l2.set = refuse  # type: ignore[method-assign]
    result = await cache.get_or_compute(key, _const(7), tags=["topic:refused"])
    assert not result.hit and result.value == 7
    # No write behind: the value is on disk, tagged there, and the lock is released.
    assert cache.l1.contains(key) and not cache._unflushed
    assert not await _redis_has(redis_url, cache.locks.lock_key(key))
    assert await cache.l1.delete_tag("topic:refused") == [key]


async def test_the_lock_round_trip_answers_with_a_value_stored_meanwhile(
    make_cache: MakeCache, redis_url: str, key_prefix: str
) -> None:
    writer = make_cache(redis=redis_url, prefix=key_prefix)
    reader = make_cache(redis=redis_url, prefix=key_prefix)
    key = writer.key("script", "tiktok", "meanwhile")
    held, data, peeked = await reader.locks.try_acquire_peek(key)
    assert held is not None and held[0] == "shared" and data is None and peeked
    await reader.locks.release(key, held)
    await writer.set(key, {"v": 2})
    # Stored after the reader's lookup: the lock script returns the value instead of the lock.
    held, data, peeked = await reader.locks.try_acquire_peek(key)
    assert held is None and data is not None and peeked
    assert not await _redis_has(redis_url, reader.locks.lock_key(key))
    assert (await reader.get_or_compute(key, _const({"v": 3}))).value == {"v": 2}
