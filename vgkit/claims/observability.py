"""Observability: the metric families a real run exports."""

from __future__ import annotations

import tempfile

from vgkit.claims.base import TOPIC, Measurement
from vgkit.claims.registry import claim_section
from vgkit.metrics import MetricsRegistry
from vgkit.models import VideoRequest
from vgkit.orchestrator import Orchestrator

#: Metric families the reference says it tracks, as vgkit names them.
EXPECTED_FAMILIES: dict[str, str] = {
    "agent performance (requests)": "vgkit_agent_requests",
    "agent performance (duration)": "vgkit_agent_duration_seconds",
    "agent performance (errors)": "vgkit_agent_errors",
    "quality scores": "vgkit_quality_score",
    "cache hits and misses": "vgkit_cache_hits",
    "queue depth": "vgkit_queue_depth",
}


@claim_section("observability", "Metrics and monitoring", order=70)
async def measure_observability(registry: MetricsRegistry | None = None) -> list[Measurement]:
    """Which of the reference's metric families a real run exports, and that they parse."""
    from prometheus_client.parser import text_string_to_metric_families

    from vgkit.plan_cache import CacheIntegration

    reg = registry if registry is not None else MetricsRegistry()
    with tempfile.TemporaryDirectory(prefix="vgkit-claims-") as tmp:
        cache = CacheIntegration.from_settings(use_redis=False, directory=tmp, metrics=reg)
        async with cache:
            orch = Orchestrator(backend=cache.backend(), cache=cache, metrics=reg)
            await orch.run(topic=TOPIC, platforms=["tiktok"])
            await orch.run(topic=TOPIC, platforms=["tiktok"])
    await _queue_metrics(reg)
    parsed = {f.name for f in text_string_to_metric_families(reg.exposition().decode())}
    present = {label for label, name in EXPECTED_FAMILIES.items() if name in parsed}
    missing = sorted(set(EXPECTED_FAMILIES) - present)
    return [
        Measurement(
            section="Observability",
            claim="Prometheus metrics; agent, A2A, pool, cache and quality tracking",
            metric="expected metric families exported after a run",
            measured=len(present),
            unit="families",
            baseline=len(EXPECTED_FAMILIES),
            baseline_label="families the reference lists",
            target="all",
            met=not missing,
            better="higher",
            notes=("missing: " + ", ".join(missing)) if missing else f"{len(parsed)} families",
        )
    ]


async def _queue_metrics(registry: MetricsRegistry) -> None:
    from vgkit.queue import LocalJobQueue, Worker, WorkerConfig

    async with LocalJobQueue(metrics=registry) as queue:
        await queue.submit(VideoRequest(topic="Metrics", platforms=["tiktok"]))
        worker = Worker(queue, config=WorkerConfig(max_jobs=1), metrics=registry)
        await worker.run()
        await worker.refresh_metrics()
