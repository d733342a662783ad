"""The orchestrator: builds the pipeline graph for a request and runs it.

The graph comes from :mod:`vgkit.pipeline`; each node is an agent call that
goes to a backend (embedded template agents by default, remote A2A agents, or
an LLM), optionally through a cache; the scheduler runs the graph eagerly,
level by level, or serially; :class:`vgkit.generation.GenerationResult` holds what
a run produced.

Every run is a trace (:mod:`vgkit.tracing`): a ``run`` span, child of the
caller's span when there is one (an agent server's, a queued job's, the
``traceparent`` argument), with a ``node`` span per agent call (its cache
outcome included) under it; remote agents' spans join it, and the result
holds them all (``result.trace_frame()``, ``result.waterfall()``). The run's
session id is the caller's when the caller has one.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from vgkit import tracing
from vgkit.agents import STEPS, AgentCall, AgentSpec, Backend, TemplateBackend
from vgkit.agents.cost import SEED_PROFILE, CostModel, CostProfile
from vgkit.agents.notes import CallNote, note_scope, provenance
from vgkit.dag import DAG
from vgkit.errors import ExecutorError, VgkitError
from vgkit.events import (
    ArtifactReady,
    Event,
    NodeFinished,
    NodeStarted,
    PlanReady,
    Progress,
    QualityReady,
    RunFinished,
    RunStarted,
    VideoReady,
)
from vgkit.executors import executor as executor_named
from vgkit.generation import GenerationResult
from vgkit.metrics import MetricsRegistry, default_registry
from vgkit.models import Model, Provenance, QualityReport, VideoPlan, VideoRequest
from vgkit.pipeline import build_graph, make_request, narrow
from vgkit.platforms import Platform
from vgkit.resource import AsyncResource
from vgkit.scheduler import NodeRecord, ScheduleResult, run_graph
from vgkit.sessions import Session, new_session_id, session_scope

if TYPE_CHECKING:
    from vgkit.video import RenderConfig, RenderSession, VideoOutput

__all__ = [
    "AgentCache",
    "CacheOutcome",
    "CachedRun",
    "Orchestrator",
    "RunCache",
]

log = logging.getLogger("vgkit.orchestrator")


@dataclass(frozen=True, slots=True)
class CacheOutcome:
    """What the cache did for one agent call."""

    artifact: Model
    hit: bool
    seconds_saved: float = 0.0
    tier: str | None = None


@runtime_checkable
class AgentCache(Protocol):
    """What the orchestrator needs from a cache (``vgkit.cache`` provides one)."""

    async def get_or_compute(
        self,
        call: AgentCall,
        fingerprint: str,
        compute: Callable[[], Awaitable[Model]],
    ) -> CacheOutcome: ...


@dataclass(frozen=True, slots=True)
class CachedRun:
    """A whole run served from the cache: the plans, what they cost, and where they were."""

    plans: Mapping[Platform, VideoPlan]
    seconds_saved: float
    tier: str | None = None


@runtime_checkable
class RunCache(AgentCache, Protocol):
    """A cache that also keeps complete results by request hash.

    The orchestrator asks ``lookup_run`` before it builds the graph (a hit skips
    the whole run) and hands every finished run to ``store_run`` (which may keep
    it, and learn from its quality scores).
    """

    async def lookup_run(self, request: VideoRequest, fingerprint: str) -> CachedRun | None: ...

    async def store_run(self, result: GenerationResult, fingerprint: str) -> None: ...


@dataclass
class _RunState:
    """Per-run bookkeeping shared by the node function and the callbacks."""

    session: Session
    nodes: dict[str, tuple[AgentSpec, Platform | None]]
    emit: Callable[[Event], None] | None
    total: int
    done: int = 0
    hits: dict[str, int] = field(default_factory=dict)
    misses: dict[str, int] = field(default_factory=dict)
    seconds_saved: float = 0.0
    hit_nodes: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, Model] = field(default_factory=dict)
    notes: dict[str, CallNote] = field(default_factory=dict)
    provenance: dict[Platform, Provenance] = field(default_factory=dict)
    render: RenderSession | None = None
    render_records: list[NodeRecord] = field(default_factory=list)
    render_nodes: dict[str, Platform] = field(default_factory=dict)
    render_deps: dict[str, list[str]] = field(default_factory=dict)
    videos: dict[Platform, VideoOutput] = field(default_factory=dict)
    render_errors: dict[Platform, BaseException] = field(default_factory=dict)
    t0: float = 0.0


class Orchestrator(AsyncResource):
    """Runs the agent graph for video requests.

    ``backend``: who produces artifacts (default: the embedded template agents).
    ``executor``: ``eager`` (default), ``levels`` (the original, a barrier per
    level), ``serial``, or any other name in :data:`vgkit.executors.EXECUTORS`.
    ``concurrency`` caps agent calls in flight per run.
    ``cost`` (a profile name, a ``CostProfile`` or a ``CostModel``) adds seeded
    latency for experiments, scaled by ``time_scale``. ``cache`` is consulted
    before every agent call. ``metrics`` receives agent, run and quality figures
    (default: the process registry served at ``/metrics``). ``render`` (a
    :class:`vgkit.video.RenderConfig`) renders every plan into
    ``render.out_dir/PLATFORM.mp4`` as part of the run: each platform's render
    graph (narration, one node per shot and transition, soundtrack, mux) starts
    as soon as its plan is assembled, and its nodes are in the result's
    schedule, graph and Gantt chart and on the event stream.
    """

    def __init__(
        self,
        *,
        backend: Backend | None = None,
        executor: str = "eager",
        concurrency: int | None = None,
        cost: CostModel | CostProfile | str | None = None,
        time_scale: float = 1.0,
        cache: AgentCache | None = None,
        metrics: MetricsRegistry | None = None,
        render: RenderConfig | None = None,
    ) -> None:
        executor_named(executor)  # an unknown name fails here, not at the first run
        if concurrency is not None and concurrency < 1:
            raise ExecutorError(f"concurrency must be at least 1, not {concurrency}")
        inner: Backend = backend if backend is not None else TemplateBackend()
        if isinstance(cost, CostModel):
            self.backend: Backend = cost
        elif cost is not None:
            self.backend = CostModel(inner, cost, time_scale=time_scale)
        else:
            self.backend = inner
        self.executor = executor
        self.concurrency = concurrency
        self.cache = cache
        self.render = render
        self.metrics = metrics if metrics is not None else default_registry()
        self._requests = self.metrics.agent_requests()
        self._durations = self.metrics.agent_duration()
        self._errors = self.metrics.agent_errors()

    async def aclose(self) -> None:
        await self.backend.aclose()

    def with_render(self, render: RenderConfig | None) -> Orchestrator:
        """This orchestrator (the same backend, cache and metrics) rendering with ``render``.

        For runs that render differently from the others (a queue worker's render
        jobs); close the original, not the copy: they share the backend.
        """
        other = copy.copy(self)
        other.render = render
        return other

    def graph(self, request: VideoRequest) -> DAG:
        """The execution graph for ``request`` (for ``vgkit plan`` and drawings)."""
        return build_graph(request, costs=self._profile())[0]

    def _profile(self) -> CostProfile:
        if isinstance(self.backend, CostModel) and isinstance(self.backend.profile, CostProfile):
            return self.backend.profile
        return SEED_PROFILE

    async def run(
        self,
        request: VideoRequest | None = None,
        /,
        *,
        on_event: Callable[[Event], None] | None = None,
        traceparent: str | tracing.TraceContext | None = None,
        session_id: str | None = None,
        **fields: Any,
    ) -> GenerationResult:
        """Generate plans for ``request`` (or a request built from ``fields``).

        ``traceparent`` (a W3C value or a ``TraceContext``) makes the run a child
        of that span (default: the current span, if any; a malformed value starts
        a new trace); ``session_id`` is the run's session (default: the parent's,
        else a new one).
        """
        parent = tracing.remote_parent(traceparent) if isinstance(traceparent, str) else traceparent
        return await self._run(make_request(request, **fields), on_event, parent, session_id)

    async def stream(
        self, request: VideoRequest | None = None, /, **fields: Any
    ) -> AsyncIterator[Event]:
        """Run and yield progress events as they happen; the last is RunFinished.

        Leaving the loop early cancels the run.
        """
        req = make_request(request, **fields)
        queue: asyncio.Queue[Event | None] = asyncio.Queue()

        async def produce() -> GenerationResult:
            try:
                return await self._run(req, queue.put_nowait)
            finally:
                queue.put_nowait(None)

        task = asyncio.create_task(produce())
        try:
            while (event := await queue.get()) is not None:
                yield event
            await task
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _run(
        self,
        request: VideoRequest,
        emit: Callable[[Event], None] | None,
        parent: tracing.TraceContext | None = None,
        session_id: str | None = None,
    ) -> GenerationResult:
        parent = parent if parent is not None else tracing.current()
        session = Session(
            id=session_id
            or (parent.session_id if parent is not None else None)
            or new_session_id(),
            request_id=request.request_id,
        )
        with tracing.collect() as spans, tracing.span(
            "generate", kind="run", registry=self.metrics, parent=parent,
            session_id=session.id,
        ) as run_span:  # fmt: skip
            result = await self._run_traced(request, emit, session)
            if "request" in result.cache_hits:
                run_span.cache = "hit"
            run_span.status = "ok" if result.ok else "incomplete"
        return replace(result, spans=tuple(spans), trace_id=run_span.trace_id)

    async def _run_traced(
        self, request: VideoRequest, emit: Callable[[Event], None] | None, session: Session
    ) -> GenerationResult:
        # A rendering run goes through the graph even when the whole result is cached:
        # its render nodes hang off the assemble nodes (which the cache answers at once).
        if isinstance(self.cache, RunCache) and self.render is None:
            start = time.perf_counter()
            cached = await self.cache.lookup_run(request, self.backend.fingerprint())
            if cached is not None:
                return self._served(request, cached, time.perf_counter() - start, emit, session)
        result = await self._run_graph(request, emit, session)
        if isinstance(self.cache, RunCache):
            await self.cache.store_run(result, self.backend.fingerprint())
        return result

    def _served(
        self,
        request: VideoRequest,
        cached: CachedRun,
        elapsed: float,
        emit: Callable[[Event], None] | None,
        session: Session,
    ) -> GenerationResult:
        """A result for a run answered whole from the cache (no agent ran)."""
        dag, _ = build_graph(request, costs=self._profile())
        plans = {p: cached.plans[p] for p in request.platforms if p in cached.plans}
        results: dict[str, Any] = {}
        for platform, plan in plans.items():
            results[STEPS["assemble"].node_id(platform)] = plan
            if plan.quality is not None:
                results[STEPS["quality"].node_id(platform)] = plan.quality
        levels = {n: depth for depth, members in enumerate(dag.levels()) for n in members}
        records = {
            n: NodeRecord(n, "ok", levels[n], 0.0, 0.0, 0.0, None) for n in dag.topological_order()
        }
        schedule = ScheduleResult(self.executor, results, records, {}, elapsed, dag)
        result = GenerationResult(
            session_id=session.id,
            request=request,
            executor=self.executor,
            plans=plans,
            schedule=schedule,
            graph=dag,
            cache_hits={"request": 1},
            seconds_saved=round(cached.seconds_saved, 6),
            cache_tiers=dict.fromkeys(records, "request"),
        )
        log.info("run %s: served whole from the cache (%s)", session.id, cached.tier)
        self.metrics.runs().labels(self.executor, str(result.ok).lower()).inc()
        if emit:
            with session_scope(session):
                self._started(emit, session, request, len(dag))
                self._finished(emit, session, result)
        return result

    def _started(
        self, emit: Callable[[Event], None], session: Session, request: VideoRequest, nodes: int
    ) -> None:
        emit(
            RunStarted(
                session_id=session.id,
                request_id=session.request_id,
                topic=request.topic,
                platforms=request.platforms,
                executor=self.executor,
                nodes=nodes,
            )
        )

    @staticmethod
    def _finished(
        emit: Callable[[Event], None], session: Session, result: GenerationResult
    ) -> None:
        for platform, plan in result.plans.items():
            emit(PlanReady(session_id=session.id, platform=platform, plan=plan))
        emit(
            RunFinished(
                session_id=session.id,
                ok=result.ok,
                makespan=result.makespan,
                plans=tuple(result.plans),
                failures=result.failures,
            )
        )

    async def _run_graph(
        self, request: VideoRequest, emit: Callable[[Event], None] | None, session: Session
    ) -> GenerationResult:
        dag, nodes = build_graph(request, costs=self._profile())
        state = _RunState(session=session, nodes=nodes, emit=emit, total=len(dag))
        drivers: dict[str, Platform] = {}
        if self.render is not None:
            # Checked before any agent runs: the voice, music, assets and output directory.
            from vgkit.video import RenderSession
            from vgkit.video.graph import check_writable

            check_writable(self.render.out_dir)
            state.render = await RenderSession.open(self.render)
            for platform in request.platforms:
                driver = f"video:{platform.value}"
                dag.add(driver, [STEPS["assemble"].node_id(platform)], group=platform.value)
                drivers[driver] = platform
        try:
            with session_scope(session):
                if emit:
                    self._started(emit, session, request, len(dag))
                log.info("run %s: %d nodes, executor %s", session.id, len(dag), self.executor)

                async def node_fn(node: str, parents: Mapping[str, Any]) -> Any:
                    if node in drivers:
                        return await self._render_plan(state, drivers[node], parents)
                    spec, platform = nodes[node]
                    inputs = {nodes[parent][0].step: value for parent, value in parents.items()}
                    if spec.step == "quality" and platform is not None:
                        inputs = self._noted(state, platform, inputs)
                    call = AgentCall(spec, narrow(request, spec, platform), platform, inputs)
                    with tracing.span(
                        node, kind="node", registry=self.metrics, agent=spec.name, node=node
                    ) as span:
                        artifact = await self._invoke(call, state, node)
                        span.cache = (
                            "off"
                            if self.cache is None
                            else ("hit" if node in state.hit_nodes else "miss")
                        )
                    state.artifacts[node] = artifact
                    return artifact

                state.t0 = time.perf_counter()
                schedule = await run_graph(
                    dag,
                    node_fn,
                    executor=self.executor,
                    concurrency=self.concurrency,
                    on_start=(lambda node: self._on_start(state, node)) if emit else None,
                    on_finish=lambda record: self._on_finish(state, record),
                )
        except BaseException:
            if state.render is not None:
                await state.render.aclose(kill=True)
            raise
        if state.render is not None:
            await state.render.aclose()
            dag, schedule = _with_render_nodes(dag, schedule, state, drivers)
        with session_scope(session):
            plans = self._collect_plans(request, schedule, state.provenance)
            self._record_run(schedule, plans)
            result = GenerationResult(
                session_id=session.id,
                request=request,
                executor=self.executor,
                plans=plans,
                schedule=schedule,
                graph=dag,
                cache_hits=state.hits,
                cache_misses=state.misses,
                seconds_saved=round(state.seconds_saved, 6),
                cache_tiers=dict(state.hit_nodes),
                notes=dict(state.notes),
                videos=dict(state.videos),
                render_cache_hits=tuple(state.render.hits) if state.render is not None else (),
                render_errors=dict(state.render_errors),
            )
            if emit:
                self._finished(emit, session, result)
            return result

    async def _render_plan(
        self, state: _RunState, platform: Platform, parents: Mapping[str, Any]
    ) -> str:
        """Render one assembled plan: its render graph, its nodes' events forwarded."""
        assert state.render is not None and self.render is not None
        plan = parents[STEPS["assemble"].node_id(platform)]
        assert isinstance(plan, VideoPlan)
        render = state.render
        job = render.add(plan, self.render.out_dir / f"{platform.value}.mp4")
        sub, _ = render.dag([job])
        state.total += len(sub)
        assemble = STEPS["assemble"].node_id(platform)
        for node in sub:
            state.render_nodes[node] = platform
            extra = [assemble] if node.startswith(("narration:", "shot:")) else []
            state.render_deps[node] = [*extra, *sub.parents(node)]
        offset = time.perf_counter() - state.t0

        def started(node: str) -> None:
            if state.emit is not None:
                state.emit(
                    NodeStarted(
                        session_id=state.session.id, node=node, agent="render", platform=platform
                    )
                )

        def finished(record: NodeRecord) -> None:
            start = None if record.start is None else record.start + offset
            end = None if record.end is None else record.end + offset
            state.render_records.append(record._replace(start=start, end=end))
            state.done += 1
            if state.emit is None:
                return
            state.emit(
                NodeFinished(
                    session_id=state.session.id,
                    node=record.node,
                    agent="render",
                    platform=platform,
                    status=record.status,
                    duration=record.duration,
                    cache_hit=record.node in render.hits,
                    error=record.error,
                )
            )
            self._emit_progress(state)

        try:
            await render.run([job], on_start=started, on_finish=finished)
        except VgkitError as exc:
            state.render_errors[platform] = exc
            raise
        video = render.output(job)
        state.videos[platform] = video
        if state.emit is not None:
            prefix = f":{platform.value}"
            state.emit(
                VideoReady(
                    session_id=state.session.id,
                    platform=platform,
                    path=str(video.path),
                    duration=video.duration,
                    frames=video.frames,
                    width=video.width,
                    height=video.height,
                    cached_nodes=sum(1 for n in render.hits if prefix in n),
                    rendered_nodes=sum(1 for n in render.rendered if prefix in n),
                )
            )
        return str(video.path)

    async def _invoke(self, call: AgentCall, state: _RunState, node: str) -> Model:
        # The backend notes how it answered (model, repairs, fallback) in this scope.
        with note_scope() as note:
            try:
                return await self._call(call, state, node)
            finally:
                if note.source:
                    state.notes[node] = note

    async def _call(self, call: AgentCall, state: _RunState, node: str) -> Model:
        if self.cache is None:
            return await self.backend.run(call)
        outcome = await self.cache.get_or_compute(
            call, self.backend.fingerprint(), lambda: self.backend.run(call)
        )
        kind = call.spec.content_kind
        counter = state.hits if outcome.hit else state.misses
        counter[kind] = counter.get(kind, 0) + 1
        if outcome.hit:
            state.hit_nodes[node] = outcome.tier or "hit"
            state.seconds_saved += outcome.seconds_saved
        return outcome.artifact

    def _on_start(self, state: _RunState, node: str) -> None:
        assert state.emit is not None
        if node not in state.nodes:  # a platform's render: its own nodes report themselves
            return
        spec, platform = state.nodes[node]
        state.emit(
            NodeStarted(session_id=state.session.id, node=node, agent=spec.name, platform=platform)
        )

    def _on_finish(self, state: _RunState, record: NodeRecord) -> None:
        if record.node not in state.nodes:  # a platform's render driver (see _render_plan)
            return
        state.done += 1
        spec, platform = state.nodes[record.node]
        self._requests.labels(spec.name, platform.value if platform else "", record.status).inc()
        if record.status == "ok" and record.duration is not None:
            cache = (
                "off"
                if self.cache is None
                else ("hit" if record.node in state.hit_nodes else "miss")
            )
            self._durations.labels(spec.name, cache).observe(record.duration)
        elif record.status == "failed":
            error = (record.error or "").split(":", 1)[0] or "unknown"
            self._errors.labels(spec.name, error).inc()
        if state.emit is None:
            return
        sid = state.session.id
        note = state.notes.get(record.node)
        state.emit(
            NodeFinished(
                session_id=sid,
                node=record.node,
                agent=spec.name,
                platform=platform,
                status=record.status,
                duration=record.duration,
                cache_hit=(record.node in state.hit_nodes) if self.cache is not None else None,
                error=record.error,
                source=note.source if note is not None else None,
                model_calls=note.model_calls if note is not None else 0,
                repairs=note.repairs if note is not None else 0,
                fallback=note.fallback if note is not None else None,
            )
        )
        artifact = state.artifacts.get(record.node)
        if record.status == "ok" and artifact is not None:
            state.emit(
                ArtifactReady(
                    session_id=sid,
                    node=record.node,
                    step=spec.step,
                    platform=platform,
                    artifact_type=type(artifact).__name__,
                    summary=_summarise(artifact),
                )
            )
            if isinstance(artifact, QualityReport):
                state.emit(
                    QualityReady(session_id=sid, platform=artifact.platform, report=artifact)
                )
        self._emit_progress(state)

    @staticmethod
    def _emit_progress(state: _RunState) -> None:
        assert state.emit is not None
        state.emit(
            Progress(
                session_id=state.session.id,
                done=state.done,
                total=state.total,
                percent=round(100 * state.done / state.total, 1),
            )
        )

    def _record_run(self, schedule: ScheduleResult, plans: dict[Platform, VideoPlan]) -> None:
        ok = all(p.quality is not None for p in plans.values()) and schedule.ok
        self.metrics.runs().labels(self.executor, str(ok).lower()).inc()
        self.metrics.run_makespan().labels(self.executor).observe(schedule.makespan)
        scores = self.metrics.quality_score()
        for platform, plan in plans.items():
            if plan.quality is not None:
                for check in plan.quality.checks():
                    scores.labels(platform.value, check.name).observe(check.score)
                scores.labels(platform.value, "overall").observe(plan.quality.overall)

    def _noted(
        self, state: _RunState, platform: Platform, inputs: dict[str, Any]
    ) -> dict[str, Any]:
        """The quality check's inputs with the plan's provenance: what the model did
        for it in this run (its calls, repairs, fallbacks), which the check scores."""
        plan = inputs.get(STEPS["assemble"].step)
        made = provenance(state.notes, platform.value, self.backend.name)
        if made is None or not isinstance(plan, VideoPlan):
            return inputs
        state.provenance[platform] = made
        return {**inputs, STEPS["assemble"].step: plan.model_copy(update={"provenance": made})}

    @staticmethod
    def _collect_plans(
        request: VideoRequest,
        schedule: ScheduleResult,
        provenance: Mapping[Platform, Provenance] | None = None,
    ) -> dict[Platform, VideoPlan]:
        plans: dict[Platform, VideoPlan] = {}
        for platform in request.platforms:
            plan = schedule.results.get(STEPS["assemble"].node_id(platform))
            if not isinstance(plan, VideoPlan):
                continue
            made = (provenance or {}).get(platform)
            if made is not None:
                plan = plan.model_copy(update={"provenance": made})
            report = schedule.results.get(STEPS["quality"].node_id(platform))
            if isinstance(report, QualityReport):
                plan = plan.model_copy(update={"quality": report})
            plans[platform] = plan
        return plans


def _with_render_nodes(
    dag: DAG, schedule: ScheduleResult, state: _RunState, drivers: Mapping[str, Platform]
) -> tuple[DAG, ScheduleResult]:
    """The run's graph and schedule with each platform's render nodes in place of its driver.

    A platform's render ran as its own graph inside one node of the run; here
    its nodes join the run's graph with the edges of DESIGN.md (narration and
    shots after assemble, transitions after their shots, mux last) and their
    records, on the run's clock, join the run's records.
    """
    merged = DAG()
    for node_id, node in dag.nodes.items():
        if node_id not in drivers:
            merged.add(node_id, node.deps, cost=node.cost, label=node.label, group=node.group)
    for node_id, deps in state.render_deps.items():
        platform = state.render_nodes[node_id]
        merged.add(node_id, deps, label=node_id.split(":")[0], group=platform.value)
    levels = merged.level_of()
    records: dict[str, NodeRecord] = {
        n: r._replace(level=levels[n]) for n, r in schedule.records.items() if n not in drivers
    }
    for record in state.render_records:
        records[record.node] = record._replace(level=levels[record.node])
    for node_id in state.render_deps:  # nodes a failed render never reached
        if node_id not in records:
            records[node_id] = NodeRecord(
                node_id, "cancelled", levels[node_id], None, None, None, "the render stopped"
            )
    results = {n: v for n, v in schedule.results.items() if n not in drivers}
    errors = {n: e for n, e in schedule.errors.items() if n not in drivers}
    merged_schedule = ScheduleResult(
        schedule.executor, results, records, errors, schedule.makespan, merged
    )
    return merged, merged_schedule


def _summarise(artifact: Model) -> dict[str, Any]:
    """A few numbers about an artifact, small enough for a progress event."""
    summary: dict[str, Any] = {}
    for name in ("title", "duration", "pacing", "overall", "passed", "category"):
        value = getattr(artifact, name, None)
        if isinstance(value, str | int | float | bool):
            summary[name] = value
    for name in ("segments", "scenes", "shots", "transitions", "keywords", "captions"):
        value = getattr(artifact, name, None)
        if isinstance(value, tuple):
            summary[name] = len(value)
    return summary
