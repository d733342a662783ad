"""The layered cache (a local tier, then a shared one) and the template cache.

Quick start::

    from vgkit.cache import open_cache

    async with open_cache() as cache:            # L1 at VGKIT_CACHE_DIR (+ Redis if set)
        found = await cache.get_or_compute(cache.key("script", "tiktok", digest), compute)

The orchestrator's cache (check a plan before generating it, TTL per platform,
time saved, warming) is built on this one in :mod:`vgkit.plan_cache`; this
package knows nothing of agents, plans or the pipeline graph.

Modules: ``base`` (the tier protocols :class:`Tier`, :class:`LocalTier` and
:class:`SharedTier`, entries, keys), ``codec`` (JSON behind a one-byte header;
zlib or zstd with trained dictionaries), ``dictionaries`` (loading the shipped
ones), ``disk`` (the local tier on diskcache), ``redis`` (the shared tier on
Redis: batching, pub/sub, behind a :class:`vgkit.breaker.CircuitBreaker`),
``locks`` (single flight and cross-process locks), ``policy`` (TTL matrix),
``layered`` (:class:`LayeredCache`), ``factory`` (:func:`open_cache`),
``templates`` (:class:`TemplateCache`), ``warming`` (:class:`TopicLog`) and
``counters`` (hit, miss and byte counters exposed as metrics).
"""

from __future__ import annotations

from vgkit.breaker import BreakerConfig, CircuitBreaker
from vgkit.cache.base import Entry, LocalTier, Lookup, SharedTier, Tier, build_key, parse_key
from vgkit.cache.codec import Codec, CodecConfig
from vgkit.cache.counters import CacheStats
from vgkit.cache.disk import DiskConfig, DiskTier
from vgkit.cache.factory import open_cache
from vgkit.cache.layered import POLICY_TTL, LayeredCache
from vgkit.cache.locks import LockConfig
from vgkit.cache.policy import DEFAULT_TTLS, CachePolicy
from vgkit.cache.redis import RedisConfig, RedisTier
from vgkit.cache.templates import TemplateCache, TemplateChoice, TemplateScore
from vgkit.cache.warming import TopicLog, TopicStat

__all__ = [
    "DEFAULT_TTLS",
    "POLICY_TTL",
    "BreakerConfig",
    "CachePolicy",
    "CacheStats",
    "CircuitBreaker",
    "Codec",
    "CodecConfig",
    "DiskConfig",
    "DiskTier",
    "Entry",
    "LayeredCache",
    "LocalTier",
    "LockConfig",
    "Lookup",
    "RedisConfig",
    "RedisTier",
    "SharedTier",
    "TemplateCache",
    "TemplateChoice",
    "TemplateScore",
    "Tier",
    "TopicLog",
    "TopicStat",
    "build_key",
    "open_cache",
    "parse_key",
]
