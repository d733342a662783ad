"""HTTP and A2A clients: the pooled client, its configuration and resilience rules, the A2A client.

``PooledClient`` keeps keep-alive connections per origin and measures them
(configured by ``PoolConfig``); ``A2AClient`` sends A2A messages to agents by
name through it. The wire format it speaks is ``vgkit.a2a``, shared with the
servers in ``vgkit.serve``; the circuit breaker is ``vgkit.breaker``, shared
with the cache.
"""

from __future__ import annotations

from vgkit.a2a.protocol import Dialect
from vgkit.breaker import BreakerConfig, CircuitBreaker
from vgkit.client.a2a import A2AClient
from vgkit.client.config import DEFAULT_POOL_CONFIG, AdaptiveSizing, PoolConfig
from vgkit.client.pool import PooledClient, Response
from vgkit.client.resilience import RetryPolicy

__all__ = [
    "DEFAULT_POOL_CONFIG",
    "A2AClient",
    "AdaptiveSizing",
    "BreakerConfig",
    "CircuitBreaker",
    "Dialect",
    "PoolConfig",
    "PooledClient",
    "Response",
    "RetryPolicy",
]
