"""Plain counters of the connection pool, and its figures as data, a frame or samples.

The hot path only bumps integers; the pool registers itself as a metric
source (:func:`vgkit.metrics.register_source`), so its counters become the
``vgkit_pool_*`` families only when someone scrapes ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vgkit.breaker import BreakerState
from vgkit.client.balancer import Endpoint, Origin, origin_of
from vgkit.metrics import LatencyHistogram, Sample

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["OriginStats", "pool_samples", "pool_stats", "stats_frame"]


@dataclass(slots=True)
class OriginStats:
    """Real TCP connection figures of one origin, fed by the pool's connector.

    The counters only grow (Prometheus reads them); ``reset`` moves the
    baseline that ``snapshot`` subtracts, for measuring after a warm-up.
    Open connections are read from the live connector (in use plus idle
    keep-alive ones whose socket is still connected); closed = created - open.
    """

    origin: Origin
    created: int = 0
    reused: int = 0
    waits: int = 0
    wait_seconds: float = 0.0
    _base: dict[str, float] = field(default_factory=dict)
    connector: Any = None
    """The origin's live aiohttp connector (None while the origin is closed)."""

    def add_wait(self, seconds: float) -> None:
        self.waits += 1
        self.wait_seconds += seconds

    @property
    def open(self) -> int:
        connector = self.connector
        if connector is None or connector.closed:
            return 0
        # aiohttp keeps no public count: in-use protocols and idle (protocol, t) pairs.
        protocols = list(getattr(connector, "_acquired", ()))
        for idle in getattr(connector, "_conns", {}).values():
            protocols.extend(p for p, _ in idle)
        return sum(1 for p in protocols if p.is_connected())

    @property
    def closed(self) -> int:
        return max(0, self.created - self.open)

    def totals(self) -> dict[str, float]:
        return {
            "created": self.created,
            "reused": self.reused,
            "closed": self.closed,
            "waits": self.waits,
            "wait_seconds": self.wait_seconds,
        }

    def reset(self) -> None:
        self._base = self.totals()

    def snapshot(self) -> dict[str, Any]:
        """Figures since the last ``reset`` (open is always the current count)."""
        now = self.totals()
        delta = {k: v - self._base.get(k, 0) for k, v in now.items()}
        created, reused = int(delta["created"]), int(delta["reused"])
        used = created + reused
        return {
            "created": created,
            "reused": reused,
            "closed": int(delta["closed"]),
            "open": self.open,
            "requests": used,
            "reuse_rate": reused / used if used else 0.0,
            "requests_per_connection": used / created
            if created
            else (float("inf") if used else 0.0),
            "waits": int(delta["waits"]),
            "wait_seconds": delta["wait_seconds"],
        }

    @staticmethod
    def combine(snapshots: Iterable[dict[str, Any]]) -> dict[str, Any]:
        keys = ("created", "reused", "closed", "open", "requests", "waits", "wait_seconds")
        total: dict[str, Any] = dict.fromkeys(keys, 0)
        for snap in snapshots:
            for key in keys:
                total[key] += snap[key]
        used, created = total["requests"], total["created"]
        total["reuse_rate"] = total["reused"] / used if used else 0.0
        total["requests_per_connection"] = (
            used / created if created else (float("inf") if used else 0.0)
        )
        return total


#: Per-origin metric name (after ``vgkit_pool_``) -> (type, help).
ORIGIN_METRICS = {
    "connections_created": ("counter", "TCP connections opened"),
    "connections_reused": ("counter", "Requests sent on a kept-alive TCP connection"),
    "connections_closed": ("counter", "TCP connections opened and since closed"),
    "connections_open": ("gauge", "Connected TCP connections, active plus idle"),
    "connection_reuse_ratio": ("gauge", "Reused / all connection acquisitions"),
    "requests_per_connection": ("gauge", "Requests carried per TCP connection opened"),
    "connection_wait_seconds": ("counter", "Time requests waited for a free connection"),
    "connection_waits": ("counter", "Requests that waited for a free connection"),
}
#: Per-endpoint metric name -> (type, help).
ENDPOINT_METRICS = {
    "request_duration_seconds": ("histogram", "Latency of requests per endpoint"),
    "requests_in_flight": ("gauge", "Requests in flight per endpoint"),
    "request_failures": ("counter", "Transport failures per endpoint"),
    "retries": ("counter", "Retries after a safe-to-retry failure"),
    "endpoint_healthy": ("gauge", "1 while the endpoint is in rotation"),
    "circuit_open": ("gauge", "1 while the endpoint's circuit breaker is open"),
    "health_checks": ("counter", "Health checks (agent card fetches) performed"),
}


def _origin_key(origin: Origin) -> str:
    return f"{origin[0]}://{origin[1]}:{origin[2]}"


def pool_stats(
    name: str, origins: Mapping[Origin, OriginStats], endpoints: Mapping[str, Endpoint]
) -> dict[str, Any]:
    """A pool's figures as plain data: totals, per origin, per endpoint."""
    per_endpoint = {
        url: {
            "requests": e.requests,
            "failures": e.failures,
            "retries": e.retries,
            "outstanding": e.outstanding,
            "healthy": e.healthy,
            "circuit": e.breaker.state.value,
            "circuit_opened": e.breaker.times_opened,
            "health_checks": e.health_checks,
            "health_failures": e.health_failures,
            "latency_mean": e.latency.mean,
            "latency_p50": e.latency.quantile(0.5),
            "latency_p99": e.latency.quantile(0.99),
        }
        for url, e in endpoints.items()
    }
    return {
        "name": name,
        "totals": OriginStats.combine(s.snapshot() for s in origins.values()),
        "origins": {_origin_key(o): s.snapshot() for o, s in origins.items()},
        "endpoints": per_endpoint,
    }


def stats_frame(stats: Mapping[str, Any]) -> pd.DataFrame:
    """One row per endpoint, its origin's connection figures as ``conn_*`` columns."""
    import pandas as pd

    rows = []
    for url, e in stats["endpoints"].items():
        origin = stats["origins"].get(_origin_key(origin_of(url)), {})
        rows.append({"endpoint": url, **e, **{f"conn_{k}": v for k, v in origin.items()}})
    return pd.DataFrame(rows)


def pool_samples(
    name: str, origins: Mapping[Origin, OriginStats], endpoints: Mapping[str, Endpoint]
) -> Iterator[Sample]:
    """A pool's figures as metric samples (``vgkit_pool_*``)."""
    for origin, st in origins.items():
        labels = {"client": name, "origin": _origin_key(origin)}
        used = st.created + st.reused
        values = {
            "connections_created": st.created,
            "connections_reused": st.reused,
            "connections_closed": st.closed,
            "connections_open": st.open,
            "connection_reuse_ratio": st.reused / used if used else 0.0,
            "requests_per_connection": used / st.created if st.created else 0.0,
            "connection_wait_seconds": st.wait_seconds,
            "connection_waits": st.waits,
        }
        for key, value in values.items():
            kind, doc = ORIGIN_METRICS[key]
            yield Sample(f"vgkit_pool_{key}", kind, doc, labels, value)
    for url, e in endpoints.items():
        labels = {"client": name, "endpoint": url}
        figures: dict[str, float | LatencyHistogram] = {
            "request_duration_seconds": e.latency,
            "requests_in_flight": e.outstanding,
            "request_failures": e.failures,
            "retries": e.retries,
            "endpoint_healthy": float(e.healthy),
            "circuit_open": float(e.breaker.state is BreakerState.OPEN),
            "health_checks": e.health_checks,
        }
        for key, figure in figures.items():
            kind, doc = ENDPOINT_METRICS[key]
            yield Sample(f"vgkit_pool_{key}", kind, doc, labels, figure)
