"""The reference analysis's claims, each re-measured next to a baseline.

The original system's performance analysis (shared/seeds/000_9902f09b393e2431.txt)
states figures without measurements: 60% less connection overhead, 80-95%
connection reuse, up to 60% less execution time from parallel execution, ~45 s
saved per complete-result cache hit (~15 s per script, ~20 s per storyboard),
near-instant template application, concurrent session isolation, a missing event
queue, comprehensive metrics; and it grades itself A (92/100).

Each ``measure_*`` coroutine here re-measures one section against a baseline run
in the same call and returns :class:`Measurement` rows; :func:`compliance`
rebuilds the compliance table from them and :func:`grade` recomputes the grade.
The flagship notebook (``notebooks/performance-report.ipynb``) only calls these
and plots. Costs use the ``seed`` cost profile times ``time_scale``, so "model
seconds" below are wall seconds divided by ``time_scale``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from vgkit.agents import AgentCall, TemplateBackend
from vgkit.agents.cost import CostModel
from vgkit.dag import DAG
from vgkit.errors import ServeError
from vgkit.metrics import MetricsRegistry
from vgkit.models import Model, VideoRequest
from vgkit.orchestrator import GenerationResult, Orchestrator
from vgkit.sessions import current_session_id

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "ORIGINAL_COMPLIANCE",
    "ORIGINAL_GRADE",
    "SECTIONS",
    "Measurement",
    "compliance",
    "grade",
    "measure_async",
    "measure_cache",
    "measure_events",
    "measure_observability",
    "measure_parallel",
    "measure_pool",
    "measure_sessions",
    "plot",
    "serve_agent",
    "to_frame",
    "verdict",
]

TOPIC = "How solar panels turn sunlight into electricity"

#: The rows of the reference's compliance table, in its order.
SECTIONS: tuple[str, ...] = (
    "Connection Pooling",
    "Parallel Execution",
    "Resource Optimization",
    "Caching",
    "Async Execution",
    "Session Isolation",
    "Event Architecture",
    "Observability",
)
#: The reference's own verdicts (✅ implemented, ⚠️ partial) and grade.
ORIGINAL_COMPLIANCE: dict[str, str] = dict.fromkeys(SECTIONS, "✅") | {"Event Architecture": "⚠️"}
ORIGINAL_GRADE = 92


@dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """One claim of the reference, measured, with its baseline and verdict."""

    section: str
    claim: str
    metric: str
    measured: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""
    met: bool | None = None
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.measured / self.baseline

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        return out


def to_frame(measurements: Sequence[Measurement]) -> pd.DataFrame:
    """Measurements as a table (one row each)."""
    import pandas as pd

    columns = [
        "section", "claim", "metric", "measured", "unit", "baseline", "baseline_label",
        "ratio", "target", "met", "notes",
    ]  # fmt: skip
    return pd.DataFrame([m.as_dict() for m in measurements], columns=columns)


def _cost(time_scale: float, seed: int) -> CostModel:
    return CostModel(TemplateBackend(), "seed", time_scale=time_scale, seed=seed)


# -- Connection pooling -------------------------------------------------------------------------


@contextlib.contextmanager
def serve_agent(agent: str = "topic_analysis") -> Iterator[str]:
    """``vgkit serve --agent AGENT`` on a free loopback port in its own process;
    yields the agent's base URL and stops the server afterwards."""
    with tempfile.TemporaryDirectory(prefix="vgkit-serve-") as tmp:
        agents_file = Path(tmp) / "agents.json"
        argv = [sys.executable, "-c", "from vgkit.cli import run; run()", "serve",
                "--agent", agent, "--free-ports", "--write-agents", str(agents_file)]  # fmt: skip
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while not agents_file.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise ServeError(f"vgkit serve did not start: {err.strip()[-300:]}")
                time.sleep(0.05)
            yield str(json.loads(agents_file.read_text())["agents"][agent][0])
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _send_body(payload: dict[str, Any]) -> bytes:
    message = {"messageId": "m1", "role": "ROLE_USER", "parts": [{"data": payload}]}
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}}
    return orjson.dumps(rpc)


async def measure_pool(*, requests: int = 300, concurrency: int = 10) -> list[Measurement]:
    """PooledClient against a new TCP connection per request, to a real ``vgkit serve``.

    Both send the same A2A SendMessage (a real topic-analysis call) closed-loop
    with ``concurrency`` users; connections are counted from the sockets the
    pool really opened.
    """
    import aiohttp

    from vgkit.agents import SPECS
    from vgkit.client import PoolConfig, PooledClient
    from vgkit.loadtest import FunctionTarget, LoadTest

    call = AgentCall(SPECS["topic_analysis"], VideoRequest(topic=TOPIC))
    body = _send_body(call.payload())
    headers = {"Content-Type": "application/json"}
    load = LoadTest(mode="closed", users=concurrency, max_requests=requests, duration=120)
    defaults = PoolConfig()
    with serve_agent() as url:
        services = {"topic_analysis": url}
        async with PooledClient(defaults, services=services, metrics=MetricsRegistry()) as pool:

            async def pooled(_: Any) -> None:
                response = await pool.post("topic_analysis", data=body, headers=headers)
                response.json()

            await LoadTest(mode="closed", users=concurrency, max_requests=50).run(
                FunctionTarget("warm-up", pooled), metrics=MetricsRegistry()
            )
            pool.reset_stats()
            with_pool = await load.run(FunctionTarget("pooled", pooled), metrics=MetricsRegistry())
            totals = pool.stats()["totals"]
            started = time.perf_counter()
            healthy = await pool.check_health()
            health_check = time.perf_counter() - started
        connector = aiohttp.TCPConnector(force_close=True, limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def fresh(_: Any) -> None:
                async with session.post(url, data=body, headers=headers) as response:
                    orjson.loads(await response.read())

            without = await load.run(FunctionTarget("new", fresh), metrics=MetricsRegistry())
    reuse = float(totals["reuse_rate"])
    opened_per_request = totals["created"] / max(1, with_pool.ok)
    latency_pooled = with_pool.summary()["latency_ms"]["mean"] or 0.0
    latency_new = without.summary()["latency_ms"]["mean"] or 0.0
    section = "Connection Pooling"
    improvement = with_pool.throughput / without.throughput if without.throughput else 0.0
    interval = defaults.health_check_interval or 300.0
    return [
        Measurement(
            section=section,
            claim="60% performance improvement via connection pooling",
            metric=f"requests/s, pooled vs a new connection per request (c={concurrency})",
            measured=with_pool.throughput,
            unit="req/s",
            baseline=without.throughput,
            baseline_label="a new TCP connection per request",
            target="ratio >= 1.6 (the claim); the issue asks >= 2",
            met=improvement >= 1.6,
        ),
        Measurement(
            section=section,
            claim="Reduced connection overhead: ~60% as claimed",
            metric="TCP connections opened per request after warm-up",
            measured=opened_per_request,
            unit="conn/req",
            baseline=1.0,
            baseline_label="one per request without a pool",
            target="overhead cut by >= 60% (ratio <= 0.4)",
            met=opened_per_request <= 0.4,
            notes=(
                f"mean latency {latency_pooled:.2f} ms vs {latency_new:.2f} ms "
                f"({100 * (1 - latency_pooled / latency_new):.0f}% lower)"
                if latency_new
                else ""
            ),
        ),
        Measurement(
            section=section,
            claim="Connection reuse rate: typically 80-95% after warmup",
            metric="true TCP reuse rate after warm-up",
            measured=reuse,
            unit="fraction",
            target=">= 0.8 (the claim); vgkit aims >= 0.95",
            met=reuse >= 0.8,
            notes=f"{int(totals['created'])} connections opened for {with_pool.ok} requests",
        ),
        Measurement(
            section=section,
            claim="Health check overhead: minimal (5-minute intervals)",
            metric="share of time spent in health checks at the default interval",
            measured=health_check / interval,
            unit="fraction",
            target="< 0.1%",
            met=health_check / interval < 0.001 and all(healthy.values()),
            notes=(
                f"one check of {len(healthy)} endpoint's agent card took "
                f"{health_check * 1000:.2f} ms"
            ),
        ),
        Measurement(
            section=section,
            claim="Defaults: 10 connections per host, 30 s keep-alive, 5-minute health checks",
            metric="PoolConfig defaults match the original",
            measured=float(
                (defaults.limit_per_host, defaults.keepalive_timeout, interval) == (10, 30, 300)
            ),
            unit="bool",
            target="1",
            met=(defaults.limit_per_host, defaults.keepalive_timeout, interval) == (10, 30, 300),
        ),
    ]


# -- Parallel execution and resource optimisation -----------------------------------------


async def measure_parallel(
    *, time_scale: float = 0.005, runs: int = 4, concurrency: int = 4
) -> list[Measurement]:
    """Eager vs the original level-by-level scheduler vs serial, same seeded costs."""
    spans: dict[str, list[float]] = {"eager": [], "levels": [], "serial": []}
    limited: dict[str, list[float]] = {"eager": [], "levels": []}
    graph: DAG | None = None
    for seed in range(runs):
        request = VideoRequest(topic=TOPIC, seed=seed)
        for executor in spans:
            orch = Orchestrator(backend=_cost(time_scale, seed), executor=executor)
            result = await orch.run(request)
            spans[executor].append(result.makespan)
            graph = result.graph
        for executor in limited:
            orch = Orchestrator(
                backend=_cost(time_scale, seed), executor=executor, concurrency=concurrency
            )
            limited[executor].append((await orch.run(request)).makespan)
    mean = {k: statistics.fmean(v) for k, v in spans.items()}
    assert graph is not None
    levels = graph.levels()
    reduction_levels = 1 - mean["levels"] / mean["serial"]
    reduction_eager = 1 - mean["eager"] / mean["serial"]
    capped = {k: statistics.fmean(v) for k, v in limited.items()}
    section = "Parallel Execution"
    return [
        Measurement(
            section=section,
            claim="Automatic detection of parallelizable tasks (BFS levels)",
            metric="levels found in the 3-platform graph",
            measured=len(levels),
            unit="levels",
            target="graph of 28 agent nodes split into dependency levels",
            met=sum(len(level) for level in levels) == len(graph) == 28,
            notes="widest level: " + str(max(len(level) for level in levels)) + " nodes",
        ),
        Measurement(
            section=section,
            claim="Execution time reduction: up to 60% for multi-agent workflows",
            metric="time reduction of the original level-by-level scheduler vs serial",
            measured=reduction_levels,
            unit="fraction",
            baseline=0.60,
            baseline_label="claimed 60%",
            target=">= 0.8 x the claim (it says 'up to')",
            met=reduction_levels >= 0.48,
            notes=f"mean makespan {mean['levels']:.3f} s vs serial {mean['serial']:.3f} s",
        ),
        Measurement(
            section=section,
            claim="Execution time reduction: up to 60% for multi-agent workflows",
            metric="time reduction of vgkit's eager scheduler vs serial",
            measured=reduction_eager,
            unit="fraction",
            baseline=reduction_levels,
            baseline_label="level-by-level reduction, same run",
            target="beats level-by-level",
            met=reduction_eager > reduction_levels,
            notes=f"mean makespan {mean['eager']:.3f} s over {runs} seeded runs",
        ),
        Measurement(
            section=section,
            claim="(vgkit) eager scheduling beats level barriers",
            metric="eager makespan / level-by-level makespan",
            measured=mean["eager"],
            unit="s",
            baseline=mean["levels"],
            baseline_label="level-by-level makespan",
            target="ratio <= 0.85",
            met=mean["eager"] / mean["levels"] <= 0.85,
        ),
        Measurement(
            section="Resource Optimization",
            claim="Task batching via parallel workflow",
            metric=f"makespan, {concurrency} agent calls in flight, eager (critical path first)",
            measured=capped["eager"],
            unit="s",
            baseline=capped["levels"],
            baseline_label=f"level-by-level, same cap of {concurrency}",
            target="ratio < 1",
            met=capped["eager"] < capped["levels"],
        ),
    ]


# -- Caching --------------------------------------------------------------------------------


async def measure_cache(
    *,
    time_scale: float = 0.005,
    samples: int = 8,
    redis_url: str | None = None,
    directory: str | Path | None = None,
) -> list[Measurement]:
    """Average seconds saved per cache hit (complete result, script, storyboard),
    over ``samples`` seeded requests, and what a hit costs instead."""
    from vgkit.cache import CacheIntegration

    saved: dict[str, list[float]] = {"result": [], "script": [], "storyboard": []}
    hit_wall: dict[str, list[float]] = {"result": [], "script": []}
    computed_script: list[float] = []
    node_hits: list[int] = []
    with tempfile.TemporaryDirectory(prefix="vgkit-claims-") as tmp:
        where = Path(directory) if directory is not None else Path(tmp)
        cache = CacheIntegration.from_settings(
            redis_url=redis_url, use_redis=redis_url is not None, directory=where,
            metrics=MetricsRegistry(),
        )  # fmt: skip
        async with cache:
            cost = CostModel(cache.backend(), "seed", time_scale=time_scale)
            orch = Orchestrator(backend=cost, cache=cache, metrics=MetricsRegistry())
            for seed in range(samples):
                fields: dict[str, Any] = {"topic": f"{TOPIC} ({seed})", "seed": seed}
                first = await orch.run(platforms=["tiktok"], **fields)
                # The same TikTok work inside a bigger request: per-node hits.
                second = await orch.run(platforms=["tiktok", "youtube"], **fields)
                started = time.perf_counter()
                third = await orch.run(platforms=["tiktok"], **fields)
                hit_wall["result"].append(time.perf_counter() - started)
                computed, hits = _durations(first), _durations(second)
                saved["script"].append(computed["script:tiktok"] / time_scale)
                saved["storyboard"].append(
                    (computed["scenes:tiktok"] + computed["shots:tiktok"]) / time_scale
                )
                saved["result"].append(third.seconds_saved / time_scale)
                computed_script.append(computed["script:tiktok"])
                hit_wall["script"].append(hits["script:tiktok"])
                node_hits.append(sum(second.cache_hits.values()))
    mean = {k: statistics.fmean(v) for k, v in saved.items()}
    script_hit = statistics.fmean(hit_wall["script"])
    script_compute = statistics.fmean(computed_script)
    section = "Caching"
    note = f"mean of {samples} seeded requests (seed cost profile, time_scale {time_scale})"

    def near(value: float, claim: float) -> bool:
        return abs(value - claim) <= 0.25 * claim

    return [
        Measurement(
            section=section,
            claim="Average time saved per cache hit: ~45 seconds for complete results",
            metric="model seconds saved by a whole-request hit",
            measured=mean["result"],
            unit="model s",
            baseline=45.0,
            baseline_label="claimed ~45 s",
            target="within 25% of the claim",
            met=near(mean["result"], 45.0),
            notes=f"{note}; the hit took {statistics.fmean(hit_wall['result']) * 1000:.1f} ms",
        ),
        Measurement(
            section=section,
            claim="Script generation cache hit: ~15 seconds saved",
            metric="model seconds saved by a script hit",
            measured=mean["script"],
            unit="model s",
            baseline=15.0,
            baseline_label="claimed ~15 s",
            target="within 25% of the claim",
            met=near(mean["script"], 15.0),
            notes=f"{note}; the hit took {script_hit * 1000:.2f} ms",
        ),
        Measurement(
            section=section,
            claim="Storyboard cache hit: ~20 seconds saved",
            metric="model seconds saved by a storyboard hit (scenes + shots)",
            measured=mean["storyboard"],
            unit="model s",
            baseline=20.0,
            baseline_label="claimed ~20 s",
            target="within 25% of the claim",
            met=near(mean["storyboard"], 20.0),
            notes=note,
        ),
        Measurement(
            section=section,
            claim="(vgkit) a hit costs a tiny fraction of a computation",
            metric="wall time of a script hit",
            measured=script_hit,
            unit="s",
            baseline=script_compute,
            baseline_label="computing the script (seed cost x time_scale)",
            target="ratio <= 0.05",
            met=script_hit <= 0.05 * script_compute,
        ),
        Measurement(
            section=section,
            claim="(vgkit) per-node hits inside a different request",
            metric="agent nodes served from the cache when TikTok work reappears",
            measured=statistics.fmean(node_hits),
            unit="nodes",
            baseline=19,
            baseline_label="nodes in the two-platform run",
            target="every TikTok node and the shared topic analysis (10)",
            met=all(n == 10 for n in node_hits),
        ),
        *await _measure_templates(),
    ]


def _durations(result: GenerationResult) -> dict[str, float]:
    return {node: record.duration or 0.0 for node, record in result.schedule.records.items()}


async def _measure_templates() -> list[Measurement]:
    """Template application: choice from memory, and a whole hook-creator call."""
    import random

    from vgkit.agents import SPECS
    from vgkit.cache import TemplateCache

    templates = TemplateCache()
    rng = random.Random(0)
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        templates.choose("hook", rng, platform="tiktok", style="viral")
    choice = (time.perf_counter() - started) / rounds
    backend = TemplateBackend(templates=templates)
    request = VideoRequest(topic=TOPIC)
    topic_call = AgentCall(SPECS["topic_analysis"], request)
    analysis = await backend.run(topic_call)
    hook_request = request.model_copy(update={"platforms": (request.platforms[1],)})
    call = AgentCall(
        SPECS["hook_creator"], hook_request, request.platforms[1], {"topic_analysis": analysis}
    )
    started = time.perf_counter()
    for _ in range(50):
        await backend.run(call)
    agent = (time.perf_counter() - started) / 50
    return [
        Measurement(
            section="Caching",
            claim="Template application: near-instant (< 100ms)",
            metric="template choice from the in-memory index",
            measured=choice,
            unit="s",
            baseline=0.1,
            baseline_label="claimed bound, 100 ms",
            target="< 100 us (the issue's bound)",
            met=choice < 100e-6,
        ),
        Measurement(
            section="Caching",
            claim="Template application: near-instant (< 100ms)",
            metric="a whole hook-creator call through the template cache",
            measured=agent,
            unit="s",
            baseline=0.1,
            baseline_label="claimed bound, 100 ms",
            target="< 100 ms",
            met=agent < 0.1,
        ),
    ]


# -- Sessions and async execution -------------------------------------------------------------


class _Recorder(TemplateBackend):
    """Records which topics each session's agents saw (isolation evidence)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, set[str]] = {}

    async def run(self, call: AgentCall) -> Model:
        sid = current_session_id() or "-"
        self.seen.setdefault(sid, set()).add(call.request.topic)
        await asyncio.sleep(0)
        return await super().run(call)


async def measure_sessions(*, sessions: int = 50, time_scale: float = 0.002) -> list[Measurement]:
    """Concurrent runs: no state mixes between sessions, and they overlap in time."""
    recorder = _Recorder()
    orch = Orchestrator(backend=CostModel(recorder, "seed", time_scale=time_scale))
    topics = [f"Session {i}: growing tomatoes on a balcony" for i in range(sessions)]
    started = time.perf_counter()
    results = await asyncio.gather(*(orch.run(topic=t, platforms=["tiktok"]) for t in topics))
    concurrent = time.perf_counter() - started
    mixed = sum(
        1
        for topic, result in zip(topics, results, strict=True)
        if recorder.seen.get(result.session_id) != {topic}
        or result.plan("tiktok").topic.topic != topic
    )
    started = time.perf_counter()
    for topic in topics[:5]:
        await orch.run(topic=topic, platforms=["tiktok"])
    sequential = (time.perf_counter() - started) / 5 * sessions
    section = "Session Isolation"
    return [
        Measurement(
            section=section,
            claim="Unique session IDs for workflow isolation; state tracking per session",
            metric=f"runs whose agents saw another session's state, of {sessions} concurrent",
            measured=mixed,
            unit="runs",
            target="0",
            met=mixed == 0 and len({r.session_id for r in results}) == sessions,
        ),
        Measurement(
            section=section,
            claim="Concurrent workflow support",
            metric=f"wall time of {sessions} concurrent runs",
            measured=concurrent,
            unit="s",
            baseline=sequential,
            baseline_label="the same runs one after another (extrapolated from 5)",
            target="ratio <= 0.2",
            met=concurrent <= 0.2 * sequential,
        ),
    ]


async def measure_async(*, time_scale: float = 0.01, tick: float = 0.005) -> list[Measurement]:
    """Event-loop lag while a three-platform run goes: non-blocking I/O, measured."""
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(tick)
            lags.append(time.perf_counter() - before - tick)

    task = asyncio.create_task(ticker())
    result = await Orchestrator(backend=_cost(time_scale, 0)).run(topic=TOPIC)
    stop.set()
    await task
    lags.sort()
    p99 = lags[int(0.99 * (len(lags) - 1))] if lags else 0.0
    return [
        Measurement(
            section="Async Execution",
            claim="All agents async; non-blocking I/O; concurrent task execution",
            metric="p99 event-loop lag during a 3-platform run",
            measured=p99,
            unit="s",
            baseline=result.makespan,
            baseline_label="the run's makespan",
            target="p99 lag < 20 ms",
            met=p99 < 0.02,
            notes=(
                f"{len(lags)} ticks of {tick * 1000:g} ms; "
                f"max lag {max(lags, default=0) * 1000:.1f} ms"
            ),
        )
    ]


# -- Event architecture ------------------------------------------------------------------------


async def measure_events(*, jobs: int = 30) -> list[Measurement]:
    """The event queue the reference lists as missing: priorities, dead letters, events."""
    from vgkit.queue import LocalJobQueue, Priority, QueueConfig, Worker, WorkerConfig

    async with LocalJobQueue(config=QueueConfig(max_attempts=2, backoff=0.01)) as queue:
        priorities = [Priority.LOW, Priority.NORMAL, Priority.HIGH]
        ids = {
            await queue.submit(
                VideoRequest(topic=f"Queued topic {i}", platforms=["tiktok"]),
                priority=priorities[i % 3],
            ): priorities[i % 3]
            for i in range(jobs)
        }
        worker = Worker(
            queue, config=WorkerConfig(concurrency=1, max_jobs=jobs), metrics=MetricsRegistry()
        )
        await worker.run()
        waits: dict[Priority, list[float]] = {p: [] for p in priorities}
        events = 0
        for job_id, priority in ids.items():
            wait = (await queue.status(job_id)).wait_seconds
            if wait is not None:
                waits[priority].append(wait)
        async for _ in queue.follow(next(iter(ids))):
            events += 1
        medians = {p: statistics.median(w) for p, w in waits.items() if w}
        dead = await _dead_letter_demo()
    section = "Event Architecture"
    ordered = medians[Priority.HIGH] < medians[Priority.NORMAL] < medians[Priority.LOW]
    return [
        Measurement(
            section=section,
            claim="Missing: priority queuing",
            metric="median wait of high-priority jobs",
            measured=medians[Priority.HIGH],
            unit="s",
            baseline=medians[Priority.LOW],
            baseline_label="median wait of low-priority jobs",
            target="high < normal < low",
            met=ordered,
            notes=f"normal {medians[Priority.NORMAL]:.3f} s; {jobs} jobs, one worker",
        ),
        Measurement(
            section=section,
            claim="Missing: dead letter handling",
            metric="jobs in the dead-letter list after max_attempts of an always-failing agent",
            measured=dead,
            unit="jobs",
            target="1",
            met=dead == 1,
        ),
        Measurement(
            section=section,
            claim="Missing: dedicated event queue (progress events per job)",
            metric="events a follower read for one finished job",
            measured=events,
            unit="events",
            target="> 0",
            met=events > 0,
        ),
    ]


class _Broken(TemplateBackend):
    async def run(self, call: AgentCall) -> Model:
        if call.spec.name == "script_writer":
            raise RuntimeError("script writer is down")
        return await super().run(call)


async def _dead_letter_demo() -> int:
    from vgkit.queue import LocalJobQueue, QueueConfig, Worker, WorkerConfig

    async with LocalJobQueue(config=QueueConfig(max_attempts=2, backoff=0.01)) as queue:
        await queue.submit(VideoRequest(topic="Doomed", platforms=["tiktok"]))
        worker = Worker(
            queue,
            orchestrator=lambda: Orchestrator(backend=_Broken(), metrics=MetricsRegistry()),
            config=WorkerConfig(concurrency=1, max_jobs=2),
            metrics=MetricsRegistry(),
        )
        await worker.run()
        return len(await queue.dead_letters())


# -- Observability ------------------------------------------------------------------------------

#: Metric families the reference says it tracks, as vgkit names them.
EXPECTED_FAMILIES: dict[str, str] = {
    "agent performance (requests)": "vgkit_agent_requests",
    "agent performance (duration)": "vgkit_agent_duration_seconds",
    "agent performance (errors)": "vgkit_agent_errors",
    "quality scores": "vgkit_quality_score",
    "cache hits and misses": "vgkit_cache_hits",
    "queue depth": "vgkit_queue_depth",
}


async def measure_observability(registry: MetricsRegistry | None = None) -> list[Measurement]:
    """Which of the reference's metric families a real run exports, and that they parse."""
    from prometheus_client.parser import text_string_to_metric_families

    from vgkit.cache import CacheIntegration

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


# -- The table and the grade -------------------------------------------------------------------


def compliance(measurements: Sequence[Measurement]) -> pd.DataFrame:
    """The reference's compliance table, recomputed: a row per section."""
    import pandas as pd

    rows = []
    for section in SECTIONS:
        mine = [m for m in measurements if m.section == section and m.met is not None]
        met = sum(1 for m in mine if m.met)
        if not mine:
            status = "not measured"
        elif met == len(mine):
            status = "✅"
        elif met:
            status = "⚠️"
        else:
            status = "❌"
        rows.append(
            {
                "feature": section,
                "original": ORIGINAL_COMPLIANCE[section],
                "measured": status,
                "claims met": f"{met}/{len(mine)}",
                "evidence": "; ".join(f"{m.metric}: {_fmt(m)}" for m in mine),
            }
        )
    return pd.DataFrame(rows)


def grade(measurements: Sequence[Measurement]) -> tuple[float, str]:
    """Score out of 100 (each section weighs the same; a section scores the share of
    its claims met; unmeasured sections score 0) and its letter."""
    per_section = 100 / len(SECTIONS)
    score = 0.0
    for section in SECTIONS:
        mine = [m for m in measurements if m.section == section and m.met is not None]
        if mine:
            score += per_section * sum(1 for m in mine if m.met) / len(mine)
    letter = "A" if score >= 90 else "B" if score >= 80 else "C" if score >= 70 else "D"
    return round(score, 1), letter


def _fmt(m: Measurement) -> str:
    value = f"{m.measured:.3g} {m.unit}"
    if m.ratio is not None:
        value += f" (ratio {m.ratio:.3g} vs {m.baseline_label})"
    return value + ("" if m.met else " NOT MET")


def plot(measurements: Sequence[Measurement], title: str = "") -> Figure:
    """Measured over baseline for every row that has a baseline (log scale), green
    where the claim was met, red where not, grey where there is no verdict."""
    from matplotlib.figure import Figure

    rows = [m for m in measurements if m.ratio is not None]
    fig = Figure(figsize=(8, 0.5 + 0.45 * max(1, len(rows))), layout="constrained")
    ax = fig.add_subplot()
    if not rows:
        ax.text(0.5, 0.5, "no row has a baseline", ha="center", va="center")
        ax.set_axis_off()
        return fig
    colours = {True: "#2a9d8f", False: "#e63946", None: "#8d99ae"}
    labels = [m.metric if len(m.metric) <= 60 else m.metric[:57] + "..." for m in rows]
    ratios = [abs(m.ratio or 0) or 1e-9 for m in rows]
    ax.barh(range(len(rows)), ratios, color=[colours[m.met] for m in rows])
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("measured / baseline (log scale)")
    for i, m in enumerate(rows):
        ax.annotate(f"{m.ratio:.3g}", (ratios[i], i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8)  # fmt: skip
    if title:
        ax.set_title(title)
    return fig


def verdict(measurements: Sequence[Measurement]) -> str:
    """A Markdown paragraph: the recomputed grade next to the reference's own."""
    score, letter = grade(measurements)
    judged = [m for m in measurements if m.met is not None]
    met = sum(1 for m in judged if m.met)
    missed = [m for m in judged if not m.met]
    text = (
        f"**Recomputed grade: {letter} ({score:g}/100)** against the reference's own "
        f"A ({ORIGINAL_GRADE}/100): {met} of {len(judged)} measured claims met."
    )
    if missed:
        text += " Not met: " + "; ".join(f"{m.metric} ({_fmt(m)})" for m in missed) + "."
    return text


MeasureFn = Callable[..., Awaitable[list[Measurement]]]
