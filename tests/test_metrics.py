"""The metrics registry: instruments, collectors, DataFrame, Prometheus text, /metrics."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import aiohttp
import pytest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from vgkit.agents import SPECS
from vgkit.errors import ConfigError
from vgkit.metrics import MetricsRegistry, MetricsServer
from vgkit.orchestrator import Orchestrator
from vgkit.serve import ServeProcess

#: Every family the pipeline and the queue register (the cache and the A2A client
#: add theirs as collectors).
FAMILIES = {
    "vgkit_agent_requests": "counter",
    "vgkit_agent_duration_seconds": "histogram",
    "vgkit_agent_errors": "counter",
    "vgkit_runs": "counter",
    "vgkit_run_makespan_seconds": "histogram",
    "vgkit_quality_score": "histogram",
    "vgkit_queue_depth": "gauge",
    "vgkit_queue_running": "gauge",
    "vgkit_queue_retrying": "gauge",
    "vgkit_queue_dead_letters": "gauge",
    "vgkit_queue_submitted": "counter",
    "vgkit_queue_jobs": "counter",
    "vgkit_queue_wait_seconds": "histogram",
    "vgkit_queue_run_seconds": "histogram",
}


#: What ``vgkit serve``'s /metrics has once the orchestrator agent ran a request: the
#: agent, run and quality families, the servers' own, and the A2A traffic and connection
#: pool of the client the orchestrator agent calls its sibling agents with.
SERVE_FAMILIES = {
    **{name: kind for name, kind in FAMILIES.items() if not name.startswith("vgkit_queue")},
    "vgkit_serve_requests": "counter",
    "vgkit_serve_request_duration_seconds": "histogram",
    "vgkit_a2a_messages": "counter",
    "vgkit_a2a_latency_seconds": "histogram",
    "vgkit_pool_connections_created": "counter",
    "vgkit_pool_connections_reused": "counter",
    "vgkit_pool_connections_closed": "counter",
    "vgkit_pool_connections_open": "gauge",
    "vgkit_pool_connection_reuse_ratio": "gauge",
    "vgkit_pool_requests_per_connection": "gauge",
    "vgkit_pool_connection_wait_seconds": "counter",
    "vgkit_pool_connection_waits": "counter",
    "vgkit_pool_request_duration_seconds": "histogram",
    "vgkit_pool_requests_in_flight": "gauge",
    "vgkit_pool_request_failures": "counter",
    "vgkit_pool_retries": "counter",
    "vgkit_pool_endpoint_healthy": "gauge",
    "vgkit_pool_circuit_open": "gauge",
    "vgkit_pool_health_checks": "counter",
}


class PoolCollector:
    """A component with a hot path: plain counters, families built at scrape time."""

    def __init__(self) -> None:
        self.reused = 0

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("vgkit_test_reused", "Reused connections")
        family.add_metric([], self.reused)
        yield family


def filled() -> MetricsRegistry:
    registry = MetricsRegistry()
    for name in ("queue_depth", "queue_running", "queue_retrying", "queue_dead_letters",
                 "queue_submitted", "queue_jobs", "queue_wait", "queue_run"):  # fmt: skip
        getattr(registry, name)()
    registry.queue_depth().labels("high").set(3)
    registry.queue_jobs().labels("high", "succeeded").inc(2)
    registry.queue_wait().labels("low").observe(0.2)
    return registry


async def test_a_run_and_the_queue_instruments_give_every_family() -> None:
    registry = filled()
    await Orchestrator(metrics=registry).run(topic="Composting at home", platforms=["tiktok"])
    families = {f.name: f for f in text_string_to_metric_families(registry.exposition().decode())}
    for name, kind in FAMILIES.items():
        assert name in families and families[name].type == kind, name
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in families.values() for s in f.samples}  # fmt: skip
    assert samples[("vgkit_queue_depth", (("priority", "high"),))] == 3
    assert (
        samples[("vgkit_queue_jobs_total", (("outcome", "succeeded"), ("priority", "high")))] == 2
    )
    assert samples[("vgkit_runs_total", (("executor", "eager"), ("ok", "true")))] == 1
    assert samples[("vgkit_queue_wait_seconds_count", (("priority", "low"),))] == 1


def test_instruments_are_idempotent_and_kinds_do_not_clash() -> None:
    registry = MetricsRegistry()
    assert registry.queue_jobs() is registry.queue_jobs()
    registry.counter("vgkit_thing", "a counter")
    with pytest.raises(ValueError, match="already exists as Counter"):
        registry.gauge("vgkit_thing", "now a gauge")


def test_to_frame_has_one_row_per_sample_and_a_column_per_label() -> None:
    registry = filled()
    collector = PoolCollector()
    registry.add_collector(collector)
    collector.reused = 7
    frame = registry.to_frame()
    depth = frame[frame["metric"] == "vgkit_queue_depth"]
    assert depth[["priority", "value"]].values.tolist() == [["high", 3.0]]
    reused = frame[frame["sample"] == "vgkit_test_reused_total"]
    assert reused["value"].tolist() == [7.0] and reused["type"].tolist() == ["counter"]
    registry.remove_collector(collector)
    assert "vgkit_test_reused_total" not in set(registry.to_frame()["sample"])
    assert list(MetricsRegistry().to_frame().columns) == ["metric", "type", "sample", "value"]


async def test_metrics_server_serves_prometheus_text_on_loopback() -> None:
    registry = filled()
    scrapes = 0

    async def before() -> None:
        nonlocal scrapes
        scrapes += 1
        registry.queue_running().set(scrapes)

    async with MetricsServer(registry, before_scrape=before) as server:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics" and server.port > 0
        async with aiohttp.ClientSession() as session:
            for expected in (1, 2):
                async with session.get(server.url) as response:
                    assert response.status == 200
                    assert response.headers["Content-Type"].startswith("text/plain; version=")
                    text = await response.text()
                families = {f.name: f for f in text_string_to_metric_families(text)}
                assert families["vgkit_queue_running"].samples[0].value == expected


async def test_metrics_server_on_a_busy_port_says_what_to_do() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(
            ConfigError, match=f"cannot serve /metrics on 127.0.0.1:{port}.*free port"
        ):
            await MetricsServer(MetricsRegistry(), port=port).start()


async def test_vgkit_serve_metrics_have_the_agent_a2a_and_pool_families() -> None:
    async with ServeProcess(loop="asyncio") as serve, aiohttp.ClientSession() as session:
        orchestrator = serve.url("orchestrator")
        parts = [{"text": "Beekeeping"}, {"data": {"platforms": ["tiktok"]}}]
        message = {"messageId": "m", "role": "ROLE_USER", "parts": parts}
        body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}}
        async with session.post(orchestrator + "/", json=body) as response:
            reply = await response.json()
        assert reply["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
        async with session.get(orchestrator + "/metrics") as response:
            assert response.status == 200
            text = await response.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name, kind in SERVE_FAMILIES.items():
        assert name in families and families[name].type == kind, name
    sent = {s.labels["agent"]: s.value for s in families["vgkit_a2a_messages"].samples
            if s.name == "vgkit_a2a_messages_total" and s.labels["outcome"] == "ok"}  # fmt: skip
    assert sent == dict.fromkeys(SPECS, 1)  # one run: one message to each pipeline agent
    opened = sum(s.value for s in families["vgkit_pool_connections_created"].samples)
    assert opened == len(SPECS)  # one TCP connection per agent server (origin)
    answered = {(s.labels["agent"], s.labels["method"]): s.value
                for s in families["vgkit_serve_requests"].samples}  # fmt: skip
    assert answered[("orchestrator", "SendMessage")] == 1
    assert all(answered[(agent, "SendMessage")] == 1 for agent in SPECS)
