"""The one-call entry points: ``generate`` (sync) and ``agenerate`` (async)."""

from __future__ import annotations

from typing import Any

from vgkit._sync import run_sync
from vgkit.agents.base import Backend
from vgkit.agents.cost import CostModel, CostProfile
from vgkit.generation import GenerationResult
from vgkit.models import VideoRequest
from vgkit.orchestrator import AgentCache, Orchestrator
from vgkit.pipeline import make_request

__all__ = ["agenerate", "generate"]


async def agenerate(
    topic: str | None = None,
    /,
    *,
    request: VideoRequest | None = None,
    executor: str = "eager",
    concurrency: int | None = None,
    cost: CostModel | CostProfile | str | None = None,
    time_scale: float = 1.0,
    backend: Backend | None = None,
    cache: AgentCache | None = None,
    **fields: Any,
) -> GenerationResult:
    """Generate video plans for a topic.

    ``fields`` are VideoRequest fields (``platforms``, ``style``, ``tone``,
    ``audience``, ``duration``, ``seed``); pass ``request=`` to reuse one.
    Invalid input raises ``InvalidRequestError`` before anything runs.
    """
    if topic is not None:
        fields["topic"] = topic
    req = make_request(request, **fields)
    orchestrator = Orchestrator(
        backend=backend,
        executor=executor,
        concurrency=concurrency,
        cost=cost,
        time_scale=time_scale,
        cache=cache,
    )
    async with orchestrator:
        return await orchestrator.run(req)


def generate(topic: str | None = None, /, **kwargs: Any) -> GenerationResult:
    """Synchronous ``agenerate``: works in scripts and inside a running Jupyter loop."""
    return run_sync(lambda: agenerate(topic, **kwargs))
