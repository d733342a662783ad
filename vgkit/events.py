"""Progress events of a run, as JSON-ready models.

``Orchestrator.stream(request)`` yields these while a run goes; the job queue
publishes the same events for queued jobs so another process can follow them.
Every event carries the run's ``session_id`` and a ``type`` tag; ``parse_event``
turns JSON back into the right class.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from vgkit.models import Model, Platform, QualityReport, VideoPlan

__all__ = [
    "ArtifactReady",
    "Event",
    "NodeFinished",
    "NodeStarted",
    "PlanReady",
    "Progress",
    "QualityReady",
    "RunFinished",
    "RunStarted",
    "VideoReady",
    "parse_event",
]


class _Event(Model):
    session_id: str
    ts: float = Field(default_factory=time.time, description="wall-clock seconds since the epoch")


class RunStarted(_Event):
    type: Literal["run_started"] = "run_started"
    request_id: str
    topic: str
    platforms: tuple[Platform, ...]
    executor: str
    nodes: int


class NodeStarted(_Event):
    type: Literal["node_started"] = "node_started"
    node: str
    agent: str
    platform: Platform | None = None


class NodeFinished(_Event):
    type: Literal["node_finished"] = "node_finished"
    node: str
    agent: str
    platform: Platform | None = None
    status: Literal["ok", "failed", "skipped", "cancelled"]
    duration: float | None = None
    cache_hit: bool | None = None
    error: str | None = None
    source: str | None = None
    """How a model-backed backend answered: ``model``, ``fallback`` (the template
    agent's artifact after no valid model answer) or ``computed``; None otherwise."""
    model_calls: int = 0
    repairs: int = 0
    fallback: str | None = None
    """Why the fallback was used (the last problem with the model's answer)."""


class Progress(_Event):
    type: Literal["progress"] = "progress"
    done: int
    total: int
    percent: float


class ArtifactReady(_Event):
    """An agent produced an artifact (summary only; the plan comes in PlanReady)."""

    type: Literal["artifact"] = "artifact"
    node: str
    step: str
    platform: Platform | None = None
    artifact_type: str
    summary: dict[str, Any] = Field(default_factory=dict)


class QualityReady(_Event):
    type: Literal["quality"] = "quality"
    platform: Platform
    report: QualityReport


class PlanReady(_Event):
    type: Literal["plan"] = "plan"
    platform: Platform
    plan: VideoPlan


class VideoReady(_Event):
    """A plan was rendered (``Orchestrator(render=...)``): the file and its figures."""

    type: Literal["video"] = "video"
    platform: Platform
    path: str
    duration: float
    frames: int
    width: int
    height: int
    cached_nodes: int = 0
    rendered_nodes: int = 0


class RunFinished(_Event):
    type: Literal["run_finished"] = "run_finished"
    ok: bool
    makespan: float
    plans: tuple[Platform, ...]
    failures: dict[str, str] = Field(default_factory=dict)


Event = Annotated[
    RunStarted
    | NodeStarted
    | NodeFinished
    | Progress
    | ArtifactReady
    | QualityReady
    | PlanReady
    | VideoReady
    | RunFinished,
    Field(discriminator="type"),
]

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: str | bytes | dict[str, Any]) -> Event:
    """An event from JSON text or a dict (raises pydantic's ValidationError)."""
    if isinstance(data, dict):
        return _ADAPTER.validate_python(data)
    return _ADAPTER.validate_json(data)
