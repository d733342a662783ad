"""The cache target: complete results from a real layered cache (diskcache, then Redis)."""

from __future__ import annotations

import pytest
import redis

from vgkit.errors import LoadTestError
from vgkit.loadtest import CacheTarget, LoadTest, WorkItem, Workload, make_target
from vgkit.metrics import MetricsRegistry


def sample(count: int) -> list[WorkItem]:
    return list(Workload.from_csv(zipf=1.2, seed=5).sample(count))


def distinct(items: list[WorkItem]) -> int:
    return len({(i.topic, i.platform, i.style, i.seed) for i in items})


async def test_read_through_turns_repeated_requests_into_hits() -> None:
    items = sample(120)
    registry = MetricsRegistry()
    async with CacheTarget(metrics=registry) as target:
        # One user: a key's first request misses and stores it before anyone asks again.
        first = await LoadTest(mode="closed", users=1, max_requests=120, duration=30).run(
            target, items, metrics=MetricsRegistry()
        )
        assert first.ok == 120
        assert target.misses == distinct(items) and target.hits == 120 - distinct(items)
        again = await LoadTest(mode="closed", users=4, max_requests=120, duration=30).run(
            target, items, metrics=MetricsRegistry()
        )
        assert again.ok == 120 and target.hits == 240 - distinct(items)
        frame = registry.to_frame()
    hits = frame[(frame["sample"] == "vgkit_cache_hits_total") & (frame["kind"] == "request")]
    assert hits["value"].sum() == 240 - distinct(items)  # every hit answered by L1
    assert set(hits["tier"]) == {"l1"}


async def test_without_fill_every_lookup_misses() -> None:
    async with CacheTarget(fill=False, metrics=MetricsRegistry()) as target:
        await LoadTest(max_requests=30, rate=500, duration=10).run(
            target, sample(30), metrics=MetricsRegistry()
        )
    assert (target.hits, target.misses) == (0, 30)


@pytest.mark.redis
async def test_with_redis_the_entries_live_in_l2_and_are_removed_afterwards(
    redis_url: str, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VGKIT_KEY_PREFIX", key_prefix)
    raw = redis.Redis.from_url(redis_url)
    items = sample(40)
    target = make_target("cache", {"redis": redis_url})
    assert isinstance(target, CacheTarget)
    async with target:
        await LoadTest(mode="closed", users=1, max_requests=40, duration=30).run(
            target, items, metrics=MetricsRegistry()
        )
        assert target.cache is not None
        await target.cache.cache.drain()
        stored = [k for k in raw.scan_iter(match=f"{key_prefix}loadtest:*", count=1000)
                  if b":request:" in k]  # fmt: skip
        assert len(stored) == distinct(items)
    assert list(raw.scan_iter(match=f"{key_prefix}loadtest:*", count=1000)) == []
    raw.close()


def test_cache_options_are_checked() -> None:
    with pytest.raises(LoadTestError, match="fill must be true or false"):
        make_target("cache", {"fill": "maybe"})
