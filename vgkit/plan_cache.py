"""The plan-level cache: the orchestrator's cache, on top of the generic layered cache.

:class:`CacheIntegration` is the orchestrator's cache (``Orchestrator(cache=...)``,
``vgkit.generate(..., cache=...)``). It lives beside the orchestrator because it
is the one module that knows both sides: agents, plans and runs above,
:mod:`vgkit.cache` (which knows nothing of agents or the graph) below.

* Every agent node is looked up before it runs, under
  ``{prefix}v1:{kind}:{platform}:{hash}``, the hash covering agent name and
  version, backend fingerprint and canonical inputs. So scripts are cached by
  content hash, storyboards (scenes, shots, transitions) by their script (whose
  id is a content hash) and platform, and the assembled plan likewise.
* Complete results are cached by request hash (kind ``request``): an identical
  request is answered before the graph is built.
* TTLs follow the policy; entries are tagged ``topic:{topic}`` for invalidation.
* After a computed run, each plan's quality score is credited to the templates
  it used (hook, structure, scenes, shots, transitions, CTAs) in the
  :class:`TemplateCache`, whose effectiveness then steers later choices.
* Requested topics go to a :class:`TopicLog`; :meth:`warm` pre-generates given
  topics, :meth:`warm_predictive` the most requested lately, and
  :meth:`warm_when_idle` does that whenever no request came for a while.
* Every request is also given to a recorder when one is set (or a
  :func:`recording` block is active): :class:`vgkit.tuning.trace.TraceRecorder`
  appends it to the trace that ``vgkit cache tune`` replays
  (``vgkit.tuning.record_trace`` opens such a block).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from vgkit.agents import AgentCall, Backend, TemplateBackend
from vgkit.agents.notes import WRITTEN, CallNote, current_note
from vgkit.cache.factory import open_cache
from vgkit.cache.layered import LayeredCache
from vgkit.cache.templates import TemplateCache
from vgkit.cache.warming import TopicLog
from vgkit.config import Settings
from vgkit.generation import GenerationResult
from vgkit.metrics import MetricsRegistry
from vgkit.models import Model, VideoPlan, VideoRequest, canonical_json
from vgkit.orchestrator import CachedRun, CacheOutcome, Orchestrator
from vgkit.platforms import Platform
from vgkit.resource import AsyncResource

__all__ = [
    "CacheIntegration",
    "RequestRecorder",
    "WarmReport",
    "active_recorder",
    "plan_template_ids",
    "recording",
]

log = logging.getLogger("vgkit.cache")

_warming: contextvars.ContextVar[bool] = contextvars.ContextVar("vgkit_warming", default=False)


class RequestRecorder(Protocol):
    """Whatever keeps the requests the cache sees (a trace file: ``TraceRecorder``)."""

    def record(self, request: VideoRequest) -> None: ...


_recorder: contextvars.ContextVar[RequestRecorder | None] = contextvars.ContextVar(
    "vgkit_trace_recorder", default=None
)


def active_recorder() -> RequestRecorder | None:
    """The recorder of the enclosing :func:`recording` block, if any."""
    return _recorder.get()


@contextlib.contextmanager
def recording(recorder: RequestRecorder | None) -> Iterator[None]:
    """Give every request any :class:`CacheIntegration` sees inside the block to
    ``recorder`` (None: record nothing, even inside an outer block)."""
    token = _recorder.set(recorder)
    try:
        yield
    finally:
        _recorder.reset(token)


#: Request fields that shape a plan besides its platforms (what the topic log keeps).
_REQUEST_FIELDS = ("topic", "style", "tone", "audience", "duration", "seed")


@dataclass(frozen=True, slots=True)
class WarmReport:
    """What a warming pass did."""

    requests: int
    computed_nodes: int
    cached_nodes: int
    seconds: float


def plan_template_ids(plan: VideoPlan) -> list[str]:
    """Every template a plan used (what its quality score is credited to)."""
    ids = [plan.hooks.primary.template_id, plan.script.structure_id]
    ids += [scene.template_id for scene in plan.storyboard.scenes]
    ids += [shot.template_id for shot in plan.storyboard.shots]
    ids += [t.template_id for t in plan.transitions.transitions]
    ids += [c.template_id for c in (plan.cta.primary, *plan.cta.secondary)]
    return list(dict.fromkeys(ids))


#: The key beside an artifact's fields under which a cached entry keeps how a model
#: made it (the call's note: source, repairs, parts, fallback), so a plan served from
#: the cache has the provenance, and so the quality score, of the run that made it.
NOTE_KEY = "_vgkit_note"
_KEPT = ("source", "repairs", "parts", "fallback")


def note_of(note: CallNote | None) -> dict[str, Any] | None:
    """What a cached entry keeps of a call's note: None unless a model wrote the
    artifact or was asked and fell back (template artifacts carry nothing)."""
    if note is None or note.source not in WRITTEN:
        return None
    return {name: getattr(note, name) for name in _KEPT}


def _restore_note(value: Any) -> Any:
    """The artifact's fields of a cached entry; its note, if it has one, goes to the
    call's note (how the artifact was made; no model calls or tokens in this run)."""
    if not isinstance(value, dict) or NOTE_KEY not in value:
        return value
    value = dict(value)
    kept = value.pop(NOTE_KEY)
    note = current_note()
    if note is not None and isinstance(kept, dict) and kept.get("source") in WRITTEN:
        note.source = kept["source"]
        note.repairs = _count(kept.get("repairs"))
        note.parts = _count(kept.get("parts"))
        fallback = kept.get("fallback")
        note.fallback = fallback if isinstance(fallback, str) else None
    return value


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


class CacheIntegration(AsyncResource):
    """The orchestrator's cache over a :class:`LayeredCache` (see the module docstring).

    ``templates``: the template cache agents choose from (None: the packaged
    library, no learning). ``topics``: the topic log for predictive warming.
    ``backend``: what warming runs (default: the template backend over
    ``templates``, which is also what :meth:`backend` gives callers).
    ``recorder``: where every request goes (default: the one of an enclosing
    :func:`recording` block, if any; ``vgkit.tuning.record_trace`` opens one).
    ``start`` (or entering ``async with``) reads the persisted state; the first
    lookup does it otherwise.
    """

    def __init__(
        self,
        cache: LayeredCache,
        *,
        templates: TemplateCache | None = None,
        topics: TopicLog | None = None,
        backend: Callable[[], Backend] | None = None,
        recorder: RequestRecorder | None = None,
    ) -> None:
        self.cache = cache
        self.templates = templates
        self.topics = topics if topics is not None else TopicLog()
        self.recorder = recorder
        self._backend_factory = backend
        self._loaded = False

    @classmethod
    def from_settings(
        cls,
        config: Settings | None = None,
        *,
        redis_url: str | None = None,
        use_redis: bool = True,
        directory: str | Path | None = None,
        learn_templates: bool = True,
        metrics: MetricsRegistry | None = None,
    ) -> CacheIntegration:
        """A layered cache from settings (see :func:`vgkit.cache.open_cache`), with a
        template cache that learns from quality scores when ``learn_templates``."""
        cache = open_cache(
            config, redis_url=redis_url, use_redis=use_redis, directory=directory, metrics=metrics
        )
        templates = TemplateCache(store=cache) if learn_templates else None
        return cls(cache, templates=templates)

    def backend(self) -> Backend:
        """A backend whose agents choose from this integration's templates."""
        if self._backend_factory is not None:
            return self._backend_factory()
        return TemplateBackend(templates=self.templates)

    async def start(self) -> None:
        """Start the cache and read the persisted template scores and topic log."""
        if self._loaded:
            return
        self._loaded = True
        await self.cache.start()
        if self.templates is not None:
            await self.templates.load()
        await self.topics.load(self.cache)

    async def flush(self) -> None:
        """Persist template scores and the topic log (done at close too)."""
        if self.templates is not None:
            await self.templates.flush()
        await self.topics.flush(self.cache)

    async def aclose(self) -> None:
        try:
            await self.flush()
        finally:
            await self.cache.aclose()

    # -- the orchestrator's AgentCache ---------------------------------------------------

    async def get_or_compute(
        self,
        call: AgentCall,
        fingerprint: str,
        compute: Callable[[], Awaitable[Model]],
    ) -> CacheOutcome:
        platform = call.platform.value if call.platform is not None else None
        key = self.cache.key(call.spec.content_kind, platform, call.digest(fingerprint))
        produced: list[Model] = []

        async def fn() -> Any:
            artifact = await compute()
            produced.append(artifact)
            value = artifact.model_dump(mode="json")
            made = note_of(current_note())
            if made is not None:  # a model wrote it (or fell back): how goes with it
                value[NOTE_KEY] = made
            return value

        tags = (_topic_tag(call.request.topic),)
        lookup = await self.cache.get_or_compute(key, fn, tags=tags)
        if produced:
            return CacheOutcome(produced[0], hit=False)
        try:
            artifact = call.spec.output.model_validate(_restore_note(lookup.value))
        except ValidationError as exc:
            # Stored under the right key but not a valid artifact (a model changed
            # without a version bump): drop it and compute.
            log.warning("cached %s for %s is invalid, recomputing: %s", call.agent, key, exc)
            await self.cache.invalidate(key=key)
            lookup = await self.cache.get_or_compute(key, fn, tags=tags)
            if produced:
                return CacheOutcome(produced[0], hit=False)
            artifact = call.spec.output.model_validate(_restore_note(lookup.value))
        return CacheOutcome(artifact, lookup.hit, lookup.seconds_saved, lookup.tier)

    # -- the orchestrator's RunCache (complete results) ----------------------------------

    def request_key(self, request: VideoRequest, fingerprint: str) -> str:
        """The complete-result key: the request and the backend, not learned weights.

        A complete result answers the same question again. Learned template scores
        steer *new* plans (they are in every node's key, through the backend's
        fingerprint), but they do not invalidate answers already given: the TTL does.
        Otherwise repeating a request would miss whenever the last run taught the
        template cache something.
        """
        if self.templates is not None:
            fingerprint = fingerprint.replace(
                self.templates.fingerprint(), self.templates.library_fingerprint()
            )
        digest = hashlib.sha256(fingerprint.encode() + b"\0" + canonical_json(request))
        platforms = "+".join(p.value for p in request.platforms)
        return self.cache.key("request", platforms, digest.hexdigest())

    async def lookup_run(self, request: VideoRequest, fingerprint: str) -> CachedRun | None:
        if not self._loaded:
            await self.start()
        if not _warming.get():
            fields = request.model_dump(mode="json", include=set(_REQUEST_FIELDS))
            self.topics.record(fields, [p.value for p in request.platforms])
            recorder = self.recorder or active_recorder()
            if recorder is not None:
                recorder.record(request)
        found = await self.cache.lookup(self.request_key(request, fingerprint))
        if found is None:
            return None
        entry, tier = found
        try:
            plans = {Platform(p): VideoPlan.model_validate(v) for p, v in entry.value.items()}
        except (ValidationError, ValueError, AttributeError) as exc:
            log.warning("cached result for %s is invalid, recomputing: %s", request.topic, exc)
            return None
        self.cache.stats.save("request", entry.cost)
        return CachedRun(plans=plans, seconds_saved=entry.cost, tier=tier)

    async def store_run(self, result: GenerationResult, fingerprint: str) -> None:
        if not result.ok:
            return  # failures are not cached
        if "request" not in result.cache_hits:
            value = {p.value: plan.model_dump(mode="json") for p, plan in result.plans.items()}
            await self.cache.set(
                self.request_key(result.request, fingerprint),
                value,
                tags=(_topic_tag(result.request.topic),),
                cost=result.makespan,
            )
        if self.templates is None:
            return
        for platform, plan in result.plans.items():
            quality_node = f"quality:{platform.value}"
            if plan.quality is not None and quality_node not in result.cache_tiers:
                self.templates.record(plan_template_ids(plan), plan.quality.overall)

    # -- warming ------------------------------------------------------------------------

    async def warm(
        self,
        platforms: Sequence[Platform | str],
        topics: Iterable[str],
        **fields: Any,
    ) -> WarmReport:
        """Generate (and so cache) plans for ``topics`` on ``platforms``."""
        requests = [
            VideoRequest(topic=topic, platforms=tuple(platforms), **fields) for topic in topics
        ]
        return await self._warm(requests)

    async def warm_predictive(self, top_k: int = 5) -> WarmReport:
        """Pre-generate the ``top_k`` most requested request shapes lately, on the
        platforms they were requested for."""
        requests = [
            VideoRequest(platforms=stat.platforms, **stat.fields) for stat in self.topics.top(top_k)
        ]
        return await self._warm(requests)

    async def _warm(self, requests: Sequence[VideoRequest]) -> WarmReport:
        if not self._loaded:
            await self.start()
        start = time.perf_counter()
        computed = cached = 0
        token = _warming.set(True)
        try:
            async with Orchestrator(backend=self.backend(), cache=self) as orchestrator:
                for request in requests:
                    result = await orchestrator.run(request)
                    computed += sum(result.cache_misses.values())
                    cached += len(result.cache_tiers)
        finally:
            _warming.reset(token)
        return WarmReport(len(requests), computed, cached, time.perf_counter() - start)

    async def warm_when_idle(
        self, *, top_k: int = 5, idle: float = 30.0, interval: float = 60.0
    ) -> None:
        """Run forever (as a task): warm predictively whenever no request came for
        ``idle`` seconds, at most once per ``interval``. Cancel it to stop."""
        while True:
            quiet = self.topics.clock() - self.topics.last_request
            if quiet < idle:
                await asyncio.sleep(idle - quiet)
                continue
            try:
                report = await self.warm_predictive(top_k)
                log.info("idle warming: %d requests in %.2f s", report.requests, report.seconds)
            except Exception as exc:  # warming is best effort; the next pass retries
                log.warning("idle warming failed: %s", exc)
            await asyncio.sleep(interval)


def _topic_tag(topic: str) -> str:
    return f"topic:{topic.strip().lower()}"
