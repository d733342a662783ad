"""Endpoints of a service and how the pool chooses among them.

A service (an agent name) has one or more endpoints (base URLs of replicas).
Each request goes to the endpoint with the fewest requests in flight among
those that are healthy and whose circuit allows a call; ties rotate so equal
replicas share the load. An endpoint that just failed is avoided by the retry
of the same request (failover) as long as another one is available.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from vgkit.breaker import BreakerConfig, CircuitBreaker
from vgkit.errors import ConfigError
from vgkit.metrics import LatencyHistogram

__all__ = ["Endpoint", "Origin", "normalise_url", "origin_of", "pick"]

Origin = tuple[str, str, int]
"""(scheme, host, port): what one session and connector serve."""


def normalise_url(url: str) -> str:
    """A base URL without a trailing slash; ConfigError if it is not http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"endpoint {url!r} must be an absolute http:// or https:// URL")
    return url.rstrip("/")


def origin_of(url: str) -> Origin:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return (parts.scheme, parts.hostname or "", port)


@dataclass(slots=True, eq=False)
class Endpoint:
    """One replica: its base URL, load, health and breaker, and its figures."""

    url: str
    breaker: CircuitBreaker
    origin: Origin = ("", "", 0)
    outstanding: int = 0
    healthy: bool = True
    requests: int = 0
    failures: int = 0
    retries: int = 0
    health_checks: int = 0
    health_failures: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    @classmethod
    def create(cls, url: str, breaker: BreakerConfig) -> Endpoint:
        base = normalise_url(url)
        return cls(url=base, breaker=CircuitBreaker(breaker), origin=origin_of(base))

    def available(self) -> bool:
        return self.healthy and self.breaker.would_allow()


_rotation = itertools.count()


def pick(endpoints: Iterable[Endpoint], avoid: set[str]) -> Endpoint | None:
    """Least outstanding requests among available endpoints not in ``avoid``.

    Falls back to avoided endpoints, then to unhealthy ones whose breaker
    allows a call (a health check may lag behind a recovery), so a request is
    refused only when every circuit is open.
    """
    pool = list(endpoints)
    for stage in range(3):
        if stage == 0:
            candidates = [e for e in pool if e.available() and e.url not in avoid]
        elif stage == 1:
            candidates = [e for e in pool if e.available()]
        else:
            candidates = [e for e in pool if e.breaker.would_allow()]
        if candidates:
            low = min(e.outstanding for e in candidates)
            best = [e for e in candidates if e.outstanding == low]
            return best[next(_rotation) % len(best)] if len(best) > 1 else best[0]
    return None
