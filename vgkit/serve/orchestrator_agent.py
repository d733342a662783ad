"""The orchestrator agent: what a person types into any A2A client becomes video plans.

Input: a text part with the topic (``"How solar panels work"``), optionally a
data part with request fields (``{"platforms": ["tiktok"], "style": "viral",
"seed": 3}``; a ``topic`` there wins over the text). The whole pipeline runs
through an ``Orchestrator`` (embedded agents, or the other agent servers over
A2A when ``vgkit serve`` starts them together). Output: one artifact per
platform named ``plan-<platform>`` with the plan's JSON as a data part and its
Markdown production notes as a text part. When the client streams, every
progress event of the run (node started/finished, progress, artifacts) arrives
as a ``working`` status update whose data part is the event's JSON
(``vgkit.events.parse_event`` reads it back).
"""

from __future__ import annotations

from typing import Any

from vgkit.a2a.cards import AgentInfo, Skill
from vgkit.a2a.protocol import INVALID_PARAMS, Message, TaskState
from vgkit.agents.catalog import ORCHESTRATOR
from vgkit.errors import GenerationError, InvalidRequestError, RpcError
from vgkit.events import NodeFinished, PlanReady, Progress, RunFinished, RunStarted
from vgkit.models import VideoRequest
from vgkit.orchestrator import Orchestrator
from vgkit.pipeline import make_request
from vgkit.serve.agents import Job, artifact_of, traced
from vgkit.serve.tasks import TaskContext

__all__ = ["ORCHESTRATOR_NAME", "OrchestratorAgent"]

ORCHESTRATOR_NAME = ORCHESTRATOR
ORCHESTRATOR_VERSION = "1.0.0"

_INFO = AgentInfo(
    name=ORCHESTRATOR_NAME,
    description=(
        "Plans complete short videos: send a topic as text (and optional request fields "
        "as a data part: platforms, style, tone, audience, duration, seed); get a plan per "
        "platform (JSON and Markdown)."
    ),
    version=ORCHESTRATOR_VERSION,
    skills=(
        Skill(
            id="video-planning",
            name="Video planning",
            description="Script, storyboard, timing, hooks, shots, transitions, CTAs and "
            "captions for YouTube, TikTok and Instagram Reels.",
            tags=("video", "planning", "youtube", "tiktok", "instagram_reels"),
            examples=(
                "How solar panels turn sunlight into electricity",
                "Sourdough for beginners",
            ),
        ),
    ),
)


def _describe(event: Any) -> str:
    if isinstance(event, RunStarted):
        return f"planning {event.topic!r}: {event.nodes} agent calls"
    if isinstance(event, NodeFinished):
        return f"{event.node} {event.status}"
    if isinstance(event, Progress):
        return f"{event.percent:g}% ({event.done}/{event.total})"
    return str(event.type).replace("_", " ")


class OrchestratorAgent:
    """Serves the whole pipeline as one A2A agent (see the module docstring)."""

    def __init__(self, orchestrator: Orchestrator | None = None) -> None:
        self.orchestrator = orchestrator if orchestrator is not None else Orchestrator()
        backend = self.orchestrator.backend
        self.info = AgentInfo(
            name=_INFO.name,
            description=_INFO.description,
            version=_INFO.version,
            skills=_INFO.skills,
            backend={"name": backend.name, "fingerprint": backend.fingerprint()},
        )

    def prepare(self, message: Message, *, trusted: bool = False) -> Job:
        # The orchestrator agent is where a user's request comes in: it is
        # validated here whoever sends it (``trusted`` changes nothing).
        fields: dict[str, Any] = {}
        for value in message.data():
            if not isinstance(value, dict):
                raise RpcError(INVALID_PARAMS, "the data part must be an object of request fields")
            fields.update(value)
        topic = " ".join(t.strip() for t in message.texts() if t.strip())
        if topic and "topic" not in fields:
            fields["topic"] = topic
        if "topic" not in fields:
            raise RpcError(INVALID_PARAMS, "send the video topic as a text part")
        try:
            request = make_request(**fields)
        except InvalidRequestError as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from None
        except TypeError as exc:
            raise RpcError(INVALID_PARAMS, f"invalid request fields: {exc}") from None

        async def job(ctx: TaskContext) -> None:
            # A traced call: the run continues the caller's trace, in its session
            # (the message's contextId), and its spans go back with the task.
            with traced(ctx, "orchestrator", agent=ORCHESTRATOR_NAME):
                await self._run(ctx, request)

        return job

    async def _run(self, ctx: TaskContext, request: VideoRequest) -> None:
        finished: RunFinished | None = None
        async for event in self.orchestrator.stream(request):
            if isinstance(event, PlanReady):
                ctx.artifact(
                    artifact_of(
                        f"plan-{event.platform.value}",
                        event.plan.model_dump(mode="json"),
                        type_name="VideoPlan",
                        text=event.plan.to_markdown(),
                    )
                )
            elif isinstance(event, RunFinished):
                finished = event
            if ctx.listeners:
                ctx.status(TaskState.WORKING, _describe(event), data=event.model_dump(mode="json"))
        if finished is not None and not finished.ok:
            reasons = "; ".join(f"{n}: {r}" for n, r in finished.failures.items())
            raise GenerationError(f"the run produced no complete plan ({reasons})")

    async def aclose(self) -> None:
        await self.orchestrator.aclose()
