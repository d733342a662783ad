"""Record a measured cost profile: real generations, every agent call's wall seconds.

::

    async with ModelServer() as model:
        profile = await record_costs(model.backend(max_tokens=128), ["Why cats purr"])
    profile.save("costs.json")          # vgkit generate ... --cost measured:costs.json

``vgkit llm record --out costs.json`` does the same from the command line. The
profile (``vgkit.agents.cost``) replays the recorded latencies per agent, scaled
by ``time_scale``, wherever the seed profile's assumed ones are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from vgkit.agents.cost import CostProfile
from vgkit.errors import ConfigError

if TYPE_CHECKING:
    from vgkit.agents.llm import LLMBackend

__all__ = ["record_costs"]


async def record_costs(
    backend: LLMBackend,
    topics: Sequence[str],
    *,
    platforms: Sequence[str] = ("tiktok",),
    seed: int = 0,
    name: str = "measured",
) -> CostProfile:
    """Generate each topic once through ``backend`` (no cache: every call is real) and
    return the measured profile of every agent call made. The backend stays open."""
    from vgkit.metrics import MetricsRegistry
    from vgkit.orchestrator import Orchestrator

    if not topics:
        raise ConfigError("recording costs needs at least one topic")
    # Not ``async with``: closing the orchestrator would close the caller's backend.
    orchestrator = Orchestrator(backend=backend, metrics=MetricsRegistry())
    backend.reset_stats()
    for i, topic in enumerate(topics):
        result = await orchestrator.run(topic=topic, platforms=tuple(platforms), seed=seed + i)
        if not result.ok:
            failed = "; ".join(f"{n}: {e}" for n, e in result.failures.items())
            raise ConfigError(f"a recording run failed ({failed[:300]})")
    return backend.cost_profile(name)
