"""Cost models: seeded, realistic per-agent latency wrapped around any backend.

The template backend answers in microseconds; the original system's agents took
seconds (the reference analysis: a script ~15 s, a storyboard ~20 s, a complete
result ~45 s). Cache and scheduling experiments need those costs, so
:class:`CostModel` adds them, scaled by ``time_scale`` (0.01 turns 15 s into
150 ms) and drawn from a log-normal distribution seeded by the call, so the same
call always costs the same and a run is reproducible.

The ``seed`` profile's means are each agent's ``AgentSpec.seconds``; for the
pipeline's agents they reproduce the reference figures: script writer
15 s; scene designer 8 s + shot describer 12 s = a 20 s storyboard; one
platform's level-by-level critical path 3 + 4 + 15 + 8 + 12 + 0.5 + 1.5 = 44 s,
the ~45 s complete result. ``sigma`` 0.5 gives a p99/p50 of about 3.2, in line
with what hosted model APIs show.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from vgkit.agents.base import AgentCall, Backend
from vgkit.agents.catalog import SPECS
from vgkit.errors import ConfigError
from vgkit.models import Model

__all__ = ["COST_PROFILES", "CostModel", "CostProfile"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CostProfile:
    """Mean latency per agent (seconds) and the spread around it."""

    name: str
    mean_seconds: Mapping[str, float]
    sigma: float = 0.5
    default_seconds: float = 1.0
    description: str = ""

    def mean(self, agent: str) -> float:
        return self.mean_seconds.get(agent, self.default_seconds)


class SpecSeconds(Mapping[str, float]):
    """Agent name -> ``AgentSpec.seconds`` of every registered agent (a live view)."""

    def __getitem__(self, agent: str) -> float:
        return SPECS[agent].seconds

    def __iter__(self) -> Iterator[str]:
        return iter(SPECS)

    def __len__(self) -> int:
        return len(SPECS)

    def __repr__(self) -> str:
        return f"SpecSeconds({dict(self)!r})"


SEED_PROFILE = CostProfile(
    name="seed",
    mean_seconds=SpecSeconds(),
    sigma=0.5,
    description="The reference analysis: script ~15 s, storyboard ~20 s, result ~45 s.",
)

FLAT_PROFILE = CostProfile(
    name="flat",
    mean_seconds=MappingProxyType({}),
    sigma=0.0,
    default_seconds=1.0,
    description="Every agent takes exactly one second (times time_scale).",
)

#: Named profiles for the CLI's ``--cost NAME``.
COST_PROFILES: Mapping[str, CostProfile] = MappingProxyType(
    {p.name: p for p in (SEED_PROFILE, FLAT_PROFILE)}
)


@dataclass
class CostModel:
    """A backend wrapper that sleeps a seeded, per-call latency before answering.

    The latency never changes the artifact, so the fingerprint is the inner
    backend's: cached artifacts are shared with and without a cost model.
    """

    inner: Backend
    profile: CostProfile | str = "seed"
    time_scale: float = 1.0
    seed: int = 0
    spent: dict[str, float] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.profile, str):
            try:
                self.profile = COST_PROFILES[self.profile]
            except KeyError:
                names = ", ".join(COST_PROFILES)
                raise ConfigError(
                    f"unknown cost profile {self.profile!r}; choose from {names}"
                ) from None
        if not (self.time_scale >= 0 and math.isfinite(self.time_scale)):
            raise ConfigError(f"time_scale must be a finite number >= 0, not {self.time_scale}")

    @property
    def name(self) -> str:
        return self.inner.name

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def latency(self, call: AgentCall) -> float:
        """Seconds this call costs (already multiplied by ``time_scale``)."""
        profile = self.profile
        assert isinstance(profile, CostProfile)
        mean = profile.mean(call.spec.name) * self.time_scale
        if mean <= 0:
            return 0.0
        if profile.sigma <= 0:
            return mean
        digest = hashlib.sha256(f"{self.seed}:".encode() + call.canonical()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        sigma = profile.sigma
        return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)

    async def run(self, call: AgentCall) -> Model:
        result = await self.inner.run(call)
        delay = self.latency(call)
        self.spent[call.spec.name] = self.spent.get(call.spec.name, 0.0) + delay
        if delay > 0:
            await asyncio.sleep(delay)
        return result

    async def aclose(self) -> None:
        await self.inner.aclose()
