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

The ``measured`` profile replaces those assumed means with latencies recorded
from real calls (:func:`measured_profile`, from ``LLMBackend.latencies``; ``vgkit
llm record`` or ``vgkit generate --record-costs FILE``): per agent, every wall
second a call took. Saved as JSON (:meth:`CostProfile.save`, never pickle) and
loaded back (:meth:`CostProfile.load`, ``--cost measured:FILE``), it replays the
recorded distribution: each call draws one of its agent's samples, seeded by
the call as for the other profiles, times ``time_scale``.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from vgkit.agents.base import AgentCall, Backend
from vgkit.agents.catalog import SPECS
from vgkit.errors import ConfigError
from vgkit.models import Model

__all__ = [
    "COST_PROFILES",
    "MEASURED_PREFIX",
    "CostModel",
    "CostProfile",
    "cost_profile",
    "measured_profile",
]

#: ``--cost measured:FILE``: a profile recorded from real calls, loaded from FILE.
MEASURED_PREFIX = "measured:"
#: What a saved profile's ``format`` says.
PROFILE_FORMAT = "vgkit-cost-profile"


@dataclass(frozen=True, slots=True, kw_only=True)
class CostProfile:
    """Mean latency per agent (seconds) and the spread around it."""

    name: str
    mean_seconds: Mapping[str, float]
    sigma: float = 0.5
    default_seconds: float = 1.0
    description: str = ""
    samples: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    """Recorded latencies per agent (a measured profile): a call draws one of them
    instead of a log-normal around the mean."""
    source: Mapping[str, Any] = field(default_factory=dict)
    """Where a measured profile came from (endpoint, model, when, how many calls)."""

    def mean(self, agent: str) -> float:
        return self.mean_seconds.get(agent, self.default_seconds)

    @property
    def assumed(self) -> bool:
        """Whether the latencies are configured (seed, flat), not recorded."""
        return not self.samples

    def to_json(self) -> dict[str, Any]:
        agents = {
            agent: {
                "mean": self.mean(agent),
                **_summary(self.samples.get(agent, ())),
                "samples": list(self.samples.get(agent, ())),
            }
            for agent in sorted(set(self.mean_seconds) | set(self.samples))
        }
        return {
            "format": PROFILE_FORMAT,
            "version": 1,
            "name": self.name,
            "description": self.description,
            "sigma": self.sigma,
            "default_seconds": self.default_seconds,
            "source": dict(self.source),
            "agents": agents,
        }

    def save(self, path: str | Path) -> Path:
        """Write the profile as JSON (``load`` reads it back)."""
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(orjson.dumps(self.to_json(), option=orjson.OPT_INDENT_2))
        except OSError as exc:
            raise ConfigError(
                f"cannot write the cost profile {target} ({exc.strerror or exc})"
            ) from None
        return target

    @classmethod
    def load(cls, path: str | Path) -> CostProfile:
        """A profile saved by :meth:`save` (a ``ConfigError`` in one line if it is not one)."""
        source = Path(path)
        try:
            data = orjson.loads(source.read_bytes())
        except FileNotFoundError:
            raise ConfigError(
                f"no cost profile at {source}: record one with `vgkit llm record --out {source}`"
            ) from None
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ConfigError(f"{source} is not a cost profile (not JSON: {exc})") from None
        return cls.from_json(data, where=str(source))

    @classmethod
    def from_json(cls, data: Any, *, where: str = "the profile") -> CostProfile:
        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
            raise ConfigError(f'{where} is not a cost profile (no "format": "{PROFILE_FORMAT}")')
        agents = data.get("agents")
        if not isinstance(agents, dict):
            raise ConfigError(f'{where}: "agents" must map agent names to their latencies')
        means: dict[str, float] = {}
        samples: dict[str, tuple[float, ...]] = {}
        for agent, entry in agents.items():
            try:
                values = tuple(float(v) for v in entry.get("samples") or ())
                means[agent] = float(entry["mean"]) if "mean" in entry else statistics.fmean(values)
            except (TypeError, ValueError, KeyError, AttributeError, statistics.StatisticsError):
                raise ConfigError(
                    f'{where}: agent {agent!r} needs a "mean" or "samples" in seconds'
                ) from None
            if any(not (v >= 0 and math.isfinite(v)) for v in (*values, means[agent])):
                raise ConfigError(f"{where}: agent {agent!r} has a negative or infinite latency")
            if values:
                samples[agent] = values
        return cls(
            name=str(data.get("name") or "measured"),
            mean_seconds=MappingProxyType(means),
            sigma=float(data.get("sigma") or 0.0),
            default_seconds=float(data.get("default_seconds") or 0.0),
            description=str(data.get("description") or ""),
            samples=MappingProxyType(samples),
            source=MappingProxyType(dict(data.get("source") or {})),
        )


def _summary(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "calls": len(ordered),
        "p50": ordered[len(ordered) // 2],
        "p90": ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)],
        "max": ordered[-1],
    }


def measured_profile(
    latencies: Mapping[str, Sequence[float]],
    *,
    name: str = "measured",
    description: str = "",
    source: Mapping[str, Any] | None = None,
) -> CostProfile:
    """A profile from recorded wall seconds per agent (``LLMBackend.latencies``).

    Agents with no samples cost nothing (``default_seconds`` 0): the profile says only
    what was measured.
    """
    samples = {a: tuple(float(v) for v in vs) for a, vs in latencies.items() if vs}
    if not samples:
        raise ConfigError("no latencies recorded: run at least one generation first")
    info = {"recorded": datetime.now(UTC).isoformat(timespec="seconds"), **(source or {})}
    info.setdefault("calls", sum(len(v) for v in samples.values()))
    return CostProfile(
        name=name,
        mean_seconds=MappingProxyType({a: statistics.fmean(v) for a, v in samples.items()}),
        sigma=0.0,
        default_seconds=0.0,
        description=description or "Latencies recorded from real model calls.",
        samples=MappingProxyType(samples),
        source=MappingProxyType(info),
    )


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

#: Named profiles for the CLI's ``--cost NAME`` (and ``measured:FILE``).
COST_PROFILES: Mapping[str, CostProfile] = MappingProxyType(
    {p.name: p for p in (SEED_PROFILE, FLAT_PROFILE)}
)


def cost_profile(profile: CostProfile | str) -> CostProfile:
    """The profile a name means: ``seed``, ``flat`` or ``measured:FILE`` (one-line
    ``ConfigError`` otherwise)."""
    if isinstance(profile, CostProfile):
        return profile
    if profile.startswith(MEASURED_PREFIX):
        return CostProfile.load(profile.removeprefix(MEASURED_PREFIX))
    try:
        return COST_PROFILES[profile]
    except KeyError:
        names = ", ".join([*COST_PROFILES, f"{MEASURED_PREFIX}FILE"])
        raise ConfigError(f"unknown cost profile {profile!r}; choose from {names}") from None


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
        self.profile = cost_profile(self.profile)
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
        recorded = profile.samples.get(call.spec.name)
        if recorded:  # a measured profile: one of the recorded latencies, seeded by the call
            return self._rng(call).choice(recorded) * self.time_scale
        mean = profile.mean(call.spec.name) * self.time_scale
        if mean <= 0:
            return 0.0
        if profile.sigma <= 0:
            return mean
        rng = self._rng(call)
        sigma = profile.sigma
        return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)

    def _rng(self, call: AgentCall) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}:".encode() + call.canonical()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    async def run(self, call: AgentCall) -> Model:
        result = await self.inner.run(call)
        delay = self.latency(call)
        self.spent[call.spec.name] = self.spent.get(call.spec.name, 0.0) + delay
        if delay > 0:
            await asyncio.sleep(delay)
        return result

    async def aclose(self) -> None:
        await self.inner.aclose()
