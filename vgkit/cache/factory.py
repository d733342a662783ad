"""The usual layered cache from settings: diskcache as L1, Redis as L2 when configured.

:class:`~vgkit.cache.layered.LayeredCache` takes any tiers; :func:`open_cache`
is the convenient way to the two vgkit ships, reading ``VGKIT_*`` settings
through :mod:`vgkit.config`::

    cache = open_cache()                                    # L1 at VGKIT_CACHE_DIR (+ Redis)
    cache = open_cache(redis_url="redis://127.0.0.1:6379/0", directory="/tmp/l1")
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vgkit.cache.counters import stats_for
from vgkit.cache.disk import DiskConfig, DiskTier
from vgkit.cache.layered import LayeredCache
from vgkit.cache.policy import CachePolicy
from vgkit.cache.redis import RedisConfig, RedisTier
from vgkit.config import Settings, settings
from vgkit.metrics import MetricsRegistry, default_registry

__all__ = ["open_cache"]


def open_cache(
    config: Settings | None = None,
    *,
    redis_url: str | None = None,
    use_redis: bool = True,
    directory: str | Path | None = None,
    policy: CachePolicy | None = None,
    metrics: MetricsRegistry | None = None,
    redis_config: Mapping[str, Any] | None = None,
) -> LayeredCache:
    """A :class:`LayeredCache` over a :class:`DiskTier` and, when asked, a :class:`RedisTier`.

    L1 at ``directory`` or ``VGKIT_CACHE_DIR`` (``VGKIT_CACHE_SIZE``); L2 at
    ``redis_url`` or ``VGKIT_REDIS_URL`` when either is set and ``use_redis``
    (``redis_config``: further :class:`RedisConfig` fields); keys under
    ``VGKIT_KEY_PREFIX``; the TTL policy from ``VGKIT_CACHE_POLICY`` when set.
    """
    cfg = config or settings()
    if policy is None:
        policy = CachePolicy.from_file(cfg.cache_policy) if cfg.cache_policy else CachePolicy()
    registry = metrics if metrics is not None else default_registry()
    stats = stats_for(registry)
    l1 = DiskTier(
        DiskConfig(directory=Path(directory or cfg.cache_dir), size_limit=cfg.cache_size),
        stats=stats,
        prefix=cfg.key_prefix,
    )
    url = redis_url or cfg.redis_url
    l2 = None
    if use_redis and url:
        l2 = RedisTier(
            RedisConfig(url=url, **dict(redis_config or {})), stats=stats, prefix=cfg.key_prefix
        )
    return LayeredCache(l1=l1, l2=l2, policy=policy, prefix=cfg.key_prefix, metrics=registry)
