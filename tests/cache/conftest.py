"""Fixtures for the cache tests: layered caches on real temp directories and the real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from vgkit.breaker import BreakerConfig
from vgkit.cache import DiskOptions, DiskTier, LayeredCache, RedisOptions, RedisTier
from vgkit.cache.policy import CachePolicy
from vgkit.metrics import MetricsRegistry

MakeCache = Callable[..., LayeredCache]


@pytest.fixture
async def make_cache(tmp_path: Path) -> AsyncIterator[MakeCache]:
    """Build layered caches (own L1 directory each, own metrics); closed afterwards."""
    made: list[LayeredCache] = []

    def build(
        *,
        redis: str | None = None,
        prefix: str = "vgkit-test:",
        l1: bool = True,
        policy: CachePolicy | None = None,
        breaker: BreakerConfig | None = None,
        **redis_options: Any,
    ) -> LayeredCache:
        registry = MetricsRegistry()
        cache = LayeredCache(prefix=prefix, policy=policy, metrics=registry)
        if l1:
            directory = tmp_path / f"l1-{len(made)}"
            cache.l1 = DiskTier(DiskOptions(directory=directory), stats=cache.stats, prefix=prefix)
        if redis is not None:
            if breaker is not None:
                redis_options["breaker"] = breaker
            options = RedisOptions(url=redis, **redis_options)
            cache.l2 = RedisTier(options, stats=cache.stats, prefix=prefix)
        cache.locks.l1, cache.locks.l2 = cache.l1, cache.l2
        made.append(cache)
        return cache

    yield build
    for cache in made:
        await cache.aclose()
