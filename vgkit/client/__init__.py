"""HTTP and A2A clients: the pooled client, its resilience rules, and the A2A client.

``PooledClient`` keeps keep-alive connections per origin and measures them;
``A2AClient`` sends A2A messages to agents by name through it; ``protocol``
holds the wire format shared with the servers in ``vgkit.serve``.
"""

from __future__ import annotations

from vgkit.client.a2a import A2AClient
from vgkit.client.pool import (
    DEFAULT_POOL_CONFIG,
    AdaptiveSizing,
    PoolConfig,
    PooledClient,
    Response,
)
from vgkit.client.protocol import Dialect
from vgkit.client.resilience import BreakerConfig, CircuitBreaker, RetryPolicy

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
