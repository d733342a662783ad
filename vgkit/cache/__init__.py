"""The layered cache (diskcache, then Redis), the template cache and their integration.

Quick start::

    from vgkit.cache import CacheIntegration, open_cache
    import vgkit

    cache = CacheIntegration(open_cache())          # L1 at VGKIT_CACHE_DIR (+ Redis if set)
    vgkit.generate("How tides work", cache=cache)   # computed
    vgkit.generate("How tides work", cache=cache)   # served from the cache

Modules: ``base`` (tier protocol, entries, keys), ``codec`` (JSON behind a
one-byte header; zlib or zstd with trained dictionaries), ``disk`` (L1),
``redis`` (L2, batching, pub/sub, behind a :class:`vgkit.breaker.CircuitBreaker`),
``locks`` (single flight and cross-process locks), ``policy`` (TTL matrix),
``layered`` (:class:`LayeredCache`), ``templates`` (:class:`TemplateCache`),
``warming`` (:class:`TopicLog`), ``stats`` (metrics) and ``integration`` (the orchestrator's cache).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vgkit.breaker import BreakerConfig, CircuitBreaker
from vgkit.cache.base import Entry, Lookup, Tier, build_key, parse_key
from vgkit.cache.codec import Codec, CodecOptions
from vgkit.cache.disk import DiskOptions, DiskTier
from vgkit.cache.integration import CacheIntegration, WarmReport, plan_template_ids
from vgkit.cache.layered import POLICY_TTL, LayeredCache
from vgkit.cache.locks import LockOptions
from vgkit.cache.policy import DEFAULT_TTLS, CachePolicy
from vgkit.cache.redis import RedisOptions, RedisTier
from vgkit.cache.stats import CacheStats
from vgkit.cache.templates import TemplateCache, TemplateChoice, TemplateScore
from vgkit.cache.warming import TopicLog, TopicStat

__all__ = [
    "DEFAULT_TTLS",
    "POLICY_TTL",
    "BreakerConfig",
    "CacheIntegration",
    "CachePolicy",
    "CacheStats",
    "CircuitBreaker",
    "Codec",
    "CodecOptions",
    "DiskOptions",
    "DiskTier",
    "Entry",
    "LayeredCache",
    "LockOptions",
    "Lookup",
    "RedisOptions",
    "RedisTier",
    "TemplateCache",
    "TemplateChoice",
    "TemplateScore",
    "Tier",
    "TopicLog",
    "TopicStat",
    "WarmReport",
    "build_key",
    "open_cache",
    "parse_key",
    "plan_template_ids",
]


def open_cache(
    *,
    redis_url: str | None = None,
    use_redis: bool = True,
    directory: str | Path | None = None,
    **kwargs: Any,
) -> LayeredCache:
    """A :class:`LayeredCache` from settings: L1 at ``VGKIT_CACHE_DIR``, plus Redis at
    ``redis_url`` or ``VGKIT_REDIS_URL`` when either is set and ``use_redis``."""
    return LayeredCache.from_settings(
        redis_url=redis_url, use_redis=use_redis, directory=directory, **kwargs
    )
