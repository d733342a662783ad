"""Request figures of an agent server, kept as plain counters (hot path).

Exposed at scrape time as ``vgkit_serve_requests_total{agent, method,
outcome}``, ``vgkit_serve_errors_total{agent, method, code}`` and the
latency histogram ``vgkit_serve_request_duration_seconds{agent, method}``.
"""

from __future__ import annotations

from collections.abc import Iterator

from vgkit.metrics import LatencyHistogram, MetricsRegistry, Sample, register_source

__all__ = ["ServerStats"]


class ServerStats:
    """Requests, errors and latency of one agent server, by JSON-RPC method."""

    def __init__(self, agent: str, metrics: MetricsRegistry | None = None) -> None:
        self.agent = agent
        self.requests: dict[str, int] = {}
        self.errors: dict[tuple[str, int], int] = {}
        self.latency: dict[str, LatencyHistogram] = {}
        register_source(self, metrics)

    def ok(self, method: str, seconds: float) -> None:
        self.requests[method] = self.requests.get(method, 0) + 1
        hist = self.latency.get(method)
        if hist is None:
            hist = self.latency[method] = LatencyHistogram()
        hist.observe(seconds)

    def error(self, method: str, code: int) -> None:
        key = (method, code)
        self.errors[key] = self.errors.get(key, 0) + 1

    def error_count(self, code: int | None = None) -> int:
        return sum(n for (_, c), n in self.errors.items() if code is None or c == code)

    def metric_samples(self) -> Iterator[Sample]:
        for method, count in self.requests.items():
            labels = {"agent": self.agent, "method": method, "outcome": "ok"}
            yield Sample("vgkit_serve_requests", "counter", "JSON-RPC requests answered",
                         labels, count)  # fmt: skip
        for (method, code), count in self.errors.items():
            labels = {"agent": self.agent, "method": method, "code": str(code)}
            yield Sample("vgkit_serve_errors", "counter", "JSON-RPC error responses",
                         labels, count)  # fmt: skip
        for method, hist in self.latency.items():
            labels = {"agent": self.agent, "method": method}
            yield Sample("vgkit_serve_request_duration_seconds", "histogram",
                         "Time to answer a JSON-RPC request", labels, hist)  # fmt: skip
