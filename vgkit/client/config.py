"""How a PooledClient is configured: limits, deadlines, retries, breakers, TLS trust.

Kept apart from the pool itself so the pieces the pool is made of (the
per-origin connections, the balancer) read their settings from here without
importing the pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vgkit.breaker import DEFAULT_BREAKER, BreakerConfig
from vgkit.client.resilience import DEFAULT_RETRY, RetryPolicy
from vgkit.errors import ConfigError

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_HEALTH_CHECK_INTERVAL",
    "DEFAULT_HEALTH_PATH",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_KEEPALIVE_TIMEOUT",
    "DEFAULT_LIMIT",
    "DEFAULT_LIMIT_PER_HOST",
    "DEFAULT_POOL_CONFIG",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_REQUEST_TIMEOUT",
    "AdaptiveSizing",
    "PoolConfig",
]

DEFAULT_LIMIT_PER_HOST = 10
DEFAULT_LIMIT = 100
DEFAULT_KEEPALIVE_TIMEOUT = 30.0
DEFAULT_HEALTH_CHECK_INTERVAL = 300.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_HEALTH_PATH = "/.well-known/agent-card.json"


@dataclass(frozen=True, kw_only=True, slots=True)
class AdaptiveSizing:
    """Grow the per-host limit while requests queue, shrink it while it idles."""

    min_per_host: int = 2
    max_per_host: int = 64
    interval: float = 1.0
    """Seconds between adjustments."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PoolConfig:
    """Limits, deadlines and background work of a PooledClient."""

    limit_per_host: int = DEFAULT_LIMIT_PER_HOST
    limit: int = DEFAULT_LIMIT
    """Connections in use across every origin."""
    keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    """Longest TCP connect (waiting for a free connection counts against request_timeout)."""
    read_timeout: float = DEFAULT_READ_TIMEOUT
    """Longest silence while reading a response."""
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    """Deadline of one request, retries and backoff included."""
    health_check_interval: float | None = DEFAULT_HEALTH_CHECK_INTERVAL
    health_check_path: str = DEFAULT_HEALTH_PATH
    health_check_timeout: float = 5.0
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT
    """Close an origin's session after this many seconds without a request."""
    retry: RetryPolicy = DEFAULT_RETRY
    breaker: BreakerConfig = DEFAULT_BREAKER
    adaptive: AdaptiveSizing | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    ca_file: str | None = None
    """PEM file of extra CAs to trust for https endpoints, beside the system's
    (default ``VGKIT_CA_FILE``); a self-signed server certificate is its own CA."""
    verify_tls: bool = True
    """False accepts any server certificate: a test bench, never production."""

    def __post_init__(self) -> None:
        for name in ("limit_per_host", "limit"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")
        for name in ("keepalive_timeout", "connect_timeout", "read_timeout", "request_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, not {getattr(self, name)}")


DEFAULT_POOL_CONFIG = PoolConfig()
