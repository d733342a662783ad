"""The dashboard's data preparation and refresh task, without a browser."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from vgkit import Orchestrator, VideoRequest
from vgkit.agents import SPECS, A2ABackend
from vgkit.cache import LayeredCache
from vgkit.cache.counters import stats_for
from vgkit.cache.disk import DiskConfig, DiskTier
from vgkit.cache.redis import RedisConfig, RedisTier
from vgkit.client import A2AClient
from vgkit.dashboard import PANELS, Dashboard, draw, panel_frames, read_figures
from vgkit.loadtest import LoadProgress, LoadTest, NoopTarget, Workload
from vgkit.metrics import MetricsRegistry
from vgkit.plan_cache import CacheIntegration
from vgkit.queue import LocalJobQueue, Worker, WorkerConfig
from vgkit.serve import ServeConfig, start_cluster

PNG = b"\x89PNG"


def _texts(figure: Figure) -> list[str]:
    return [t.get_text() for ax in figure.axes for t in ax.texts]


def test_an_empty_registry_shows_no_data_yet_everywhere() -> None:
    registry = MetricsRegistry()
    assert read_figures(registry.to_frame()) == {}
    assert panel_frames(pd.DataFrame()) == dict.fromkeys(PANELS)
    figure = draw(pd.DataFrame())
    assert _texts(figure).count("no data yet") == len(PANELS)


async def test_runs_and_load_tests_feed_throughput_and_latency() -> None:
    registry = MetricsRegistry()
    dash = Dashboard(registry)
    dash.snapshot()
    async with Orchestrator(metrics=registry) as orchestrator:
        for seed in range(3):
            await orchestrator.run(topic="Composting at home", platforms=["tiktok"], seed=seed)
    await LoadTest(rate=500, max_requests=50).run(
        NoopTarget(delay=0.002), Workload.from_csv(), metrics=registry
    )
    figures = dash.snapshot()
    assert figures["runs"] == 3
    assert figures["loadtest_answers"] == 50
    assert 0.002 <= figures["latency_p50"] <= figures["latency_p99"] < 0.1
    assert "cache_hits" not in figures  # no cache in play: its panel says so
    panels = panel_frames(dash.history())
    assert panels["throughput"] is not None
    assert list(panels["throughput"].columns) == ["t", "runs/s", "load-test answers/s"]
    assert panels["cache hit rate"] is None and panels["queue depth"] is None
    assert _texts(dash.figure()).count("no data yet") == 3


def test_cache_pool_and_queue_families_are_recognised() -> None:
    registry = MetricsRegistry()
    registry.counter("vgkit_cache_hits", "hits", ("tier",)).labels("l1").inc(3)
    registry.counter("vgkit_cache_misses", "misses", ("tier",)).labels("l1").inc(1)
    registry.counter("vgkit_pool_connections_created", "created").inc(2)
    registry.counter("vgkit_pool_connections_reused", "reused").inc(18)
    registry.gauge("vgkit_queue_depth", "waiting", ("stream",)).labels("high").set(5)
    figures = read_figures(registry.to_frame())
    assert figures == {
        "cache_hits": 3,
        "cache_misses": 1,
        "pool_created": 2,
        "pool_reused": 18,
        "queue_depth": 5,
    }
    history = pd.DataFrame([{"t": 0.0, **figures}, {"t": 1.0, **figures, "cache_hits": 7}])
    panels = panel_frames(history)
    cache, pool, queue = panels["cache hit rate"], panels["pool reuse"], panels["queue depth"]
    assert cache is not None and pool is not None and queue is not None
    assert cache["overall"].tolist() == [0.75, 7 / 8]
    assert cache["since last"].iloc[1] == 1.0
    assert pool["reuse rate"].iloc[0] == 0.9
    assert queue["jobs waiting"].iloc[0] == 5


async def test_makespan_buckets_stand_in_for_latency_without_a_load_test() -> None:
    registry = MetricsRegistry()
    histogram = registry.run_makespan().labels("eager")
    for seconds in [0.02] * 90 + [0.7] * 10:
        histogram.observe(seconds)
    figures = read_figures(registry.to_frame())
    assert 0.01 <= figures["latency_p50"] <= 0.025  # in the (0.01, 0.025] bucket
    assert 0.5 <= figures["latency_p99"] <= 1.0  # in the (0.5, 1.0] bucket


def test_without_a_running_loop_start_refreshes_once() -> None:
    dash = Dashboard(MetricsRegistry())
    assert dash.start() is False
    assert not dash.running
    assert len(dash.history()) == 1


async def test_the_refresh_task_runs_until_stopped_and_draws_a_png() -> None:
    dash = Dashboard(MetricsRegistry(), interval=0.05)
    assert dash.widget is not None  # ipywidgets is installed with the notebooks extra
    assert dash.start() is True
    assert dash.start() is True  # idempotent: still one task
    # Refreshes keep coming while it runs (polling: a draw takes ~0.1 s, more when busy).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while len(dash.history()) < 3 and loop.time() < deadline:
        await asyncio.sleep(0.02)
    assert len(dash.history()) >= 3
    assert dash.running
    dash.stop()
    count = len(dash.history())
    await asyncio.sleep(0.12)
    assert len(dash.history()) == count  # stopped: no more snapshots
    assert bytes(dash._image.value).startswith(PNG)
    assert "stopped" in dash._status.value


async def test_progress_hook_refreshes_at_most_once_per_interval() -> None:
    dash = Dashboard(MetricsRegistry(), interval=10)
    dash.widget  # noqa: B018 - builds the panel, so refreshes draw
    snapshots: list[int] = []

    def hook(progress: LoadProgress) -> None:
        dash.on_progress(progress)
        snapshots.append(len(dash.history()))

    await LoadTest(rate=200, duration=0.5, max_requests=60).run(
        NoopTarget(), Workload.from_csv(), on_progress=hook
    )
    assert len(snapshots) >= 2
    assert len(dash.history()) == 2  # the first progress report, and the final one


def test_bad_interval() -> None:
    with pytest.raises(ValueError, match="interval"):
        Dashboard(interval=0)


async def test_a_real_cache_pool_and_queue_workload_feeds_every_panel(tmp_path: Path) -> None:
    # One registry for everything: the queue and its worker, the worker's orchestrator,
    # its layered cache (L1 on disk), and the pooled A2A client it calls the agents with.
    registry = MetricsRegistry()
    queue = LocalJobQueue(metrics=registry)
    cache = CacheIntegration.from_settings(
        directory=tmp_path, use_redis=False, learn_templates=False, metrics=registry
    )
    async with await start_cluster(
        [*SPECS], free_ports=True, config=ServeConfig(metrics=MetricsRegistry())
    ) as cluster:
        client = A2AClient(
            {name: server.url for name, server in cluster.servers.items()}, metrics=registry
        )
        worker = Worker(
            queue,
            orchestrator=lambda: Orchestrator(
                backend=A2ABackend(client=client), cache=cache, metrics=registry
            ),
            config=WorkerConfig(concurrency=2, max_jobs=8),
            metrics=registry,
        )
        dash = Dashboard(registry, before_refresh=worker.refresh_metrics)
        for i in range(8):  # four topics, each asked twice: the second is a cache hit
            await queue.submit(
                VideoRequest(topic=f"Garden pests, part {i % 4}", platforms=["tiktok"])
            )
        await worker.refresh_metrics()
        waiting = dash.snapshot()
        async with cache:
            await worker.run()
        await worker.refresh_metrics()
        done = dash.snapshot()
        await client.aclose()
    assert waiting["queue_depth"] == 8 and done["queue_depth"] == 0
    assert done["runs"] == 8
    # The cache saw lookups of whole requests and of agent nodes; four requests were repeats.
    assert done["cache_hits"] >= 4 and done["cache_misses"] > 0
    assert done["a2a_messages"] == 4 * len(SPECS)  # only the first run of a topic calls agents
    # Real TCP connections: at most two per agent server (two jobs at a time), then reused.
    assert len(SPECS) <= done["pool_created"] <= 2 * len(SPECS)
    assert done["pool_created"] + done["pool_reused"] == done["a2a_messages"]
    assert 0 < done["latency_p50"] <= done["latency_p99"]
    panels = panel_frames(dash.history())
    for name, data in panels.items():
        assert data is not None, name
        assert data.drop(columns="t").notna().any().any(), name
    assert list(panels["throughput"].columns) == ["t", "runs/s", "A2A messages/s"]  # type: ignore[union-attr]
    assert _texts(dash.figure()).count("no data yet") == 0


@pytest.mark.redis
async def test_an_l2_hit_after_an_l1_miss_counts_as_one_hit(
    tmp_path: Path, redis_url: str, key_prefix: str
) -> None:
    registry = MetricsRegistry()

    def layered(directory: Path) -> LayeredCache:
        stats = stats_for(registry)
        return LayeredCache(
            l1=DiskTier(DiskConfig(directory=directory), stats=stats, prefix=key_prefix),
            l2=RedisTier(RedisConfig(url=redis_url), stats=stats, prefix=key_prefix),
            prefix=key_prefix,
            metrics=registry,
        )

    # Two processes' caches: A writes, B (an empty L1, the same Redis) reads.
    async with layered(tmp_path / "a") as a, layered(tmp_path / "b") as b:
        keys = [a.key("script", "tiktok", f"{n:064x}") for n in range(10)]
        for key in keys:
            await a.set(key, {"n": key}, ttl=60)
        for key in keys:
            assert await b.get(key) == {"n": key}  # L1 miss, L2 hit (promoted to B's L1)
        await b.drain()
        for key in keys:
            assert await b.get(key) == {"n": key}  # now an L1 hit
        assert await b.get(a.key("script", "tiktok", "f" * 64)) is None  # missed everywhere
    figures = read_figures(registry.to_frame())
    assert (figures["cache_hits"], figures["cache_misses"]) == (20, 1)


async def test_the_refresh_task_reads_io_figures_before_each_refresh() -> None:
    registry = MetricsRegistry()
    depth = registry.queue_depth()
    reads = 0

    async def read_depth() -> None:  # what Worker.refresh_metrics does with Redis
        nonlocal reads
        reads += 1
        depth.labels("high").set(10 * reads)

    dash = Dashboard(registry, interval=0.01, before_refresh=read_depth)
    dash.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while len(dash.history()) < 3 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    dash.stop()
    history = dash.history()
    assert history["queue_depth"].iloc[:3].tolist() == [10.0, 20.0, 30.0]
