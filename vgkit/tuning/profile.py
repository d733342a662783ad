"""What each cache entry weighs and what it saves, measured from real plans.

:meth:`EntryProfile.measure` generates plans with the template backend for a
sample of topics x styles (all three platforms), encodes every artifact the way
the layered cache stores it in L1 (:meth:`Codec.encode_tiers`, the entry's
content kind choosing its dictionary) with each codec preset, and keeps the mean
size per agent x platform, and per platform set for complete results (kind
``request``: one plan per platform). It then writes those entries, with real
keys and topic tags, into a real diskcache-backed ``DiskTier`` and measures what
diskcache adds per entry on disk (rows, indexes, tag lists, page slack): the
simulator counts an L1 entry as its bytes plus that overhead, because the L1
size limit applies to diskcache's volume, not to the bytes vgkit wrote.

Compute seconds come from a cost profile (the ``seed`` profile: the reference
analysis's latencies), which is what a hit saves: the template backend answers
in microseconds, a real model in seconds.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vgkit._sync import run_sync
from vgkit.agents.cost import CostProfile, cost_profile
from vgkit.cache.base import NO_PLATFORM, build_key
from vgkit.cache.codec import Codec
from vgkit.cache.counters import stats_for
from vgkit.cache.disk import DiskConfig, DiskTier
from vgkit.errors import ConfigError, TuningError
from vgkit.loadtest.workload import load_topics
from vgkit.metrics import MetricsRegistry
from vgkit.models import Style, VideoRequest
from vgkit.orchestrator import Orchestrator
from vgkit.pipeline import build_graph
from vgkit.platforms import Platform
from vgkit.tuning.candidate import CODECS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_SAMPLE_STYLES",
    "DEFAULT_SAMPLE_TOPICS",
    "EntryProfile",
    "default_profile",
    "platform_sets",
]

#: How many topics of ``data/topics.csv`` (spread over the list) the sample uses.
DEFAULT_SAMPLE_TOPICS = 6
#: Styles of the sample (plan sizes vary far more by platform than by style).
DEFAULT_SAMPLE_STYLES: tuple[Style, ...] = (Style.EDUCATIONAL, Style.VIRAL, Style.STORYTELLING)
#: How many sampled entries per codec are written to a real diskcache to measure overhead.
DISK_SAMPLE = 400
_PREFIX = "vgkit:"


def platform_sets() -> list[tuple[Platform, ...]]:
    """Every non-empty set of platforms, in canonical order."""
    members = list(Platform)
    return [
        combo for n in range(1, len(members) + 1) for combo in itertools.combinations(members, n)
    ]


def set_name(platforms: Sequence[Platform]) -> str:
    return "+".join(p.value for p in platforms)


@dataclass(frozen=True)
class EntryProfile:
    """Mean L1 bytes per entry and compute seconds per agent (see the module docstring).

    ``node_bytes[codec]["agent:platform"]`` (``all`` for topic analysis) and
    ``request_bytes[codec]["youtube+tiktok"]`` are mean bytes as stored in L1;
    ``disk_overhead[codec]`` what diskcache adds per entry and ``disk_base`` the
    volume of an empty cache; ``seconds[agent]`` what computing it costs.
    """

    node_bytes: Mapping[str, Mapping[str, float]]
    request_bytes: Mapping[str, Mapping[str, float]]
    seconds: Mapping[str, float]
    disk_base: int
    disk_overhead: Mapping[str, float]
    samples: int
    cost_profile: str

    def node_size(self, codec: str, agent: str, platform: str | None) -> float:
        return self.node_bytes[codec][f"{agent}:{platform or NO_PLATFORM}"]

    def request_size(self, codec: str, platforms: Sequence[Platform]) -> float:
        return self.request_bytes[codec][set_name(platforms)]

    def to_frame(self) -> pd.DataFrame:
        """One row per entry type and codec: mean L1 bytes, disk overhead, compute seconds."""
        import pandas as pd

        rows: list[dict[str, Any]] = []
        for codec, sizes in self.node_bytes.items():
            for name, size in sizes.items():
                agent, platform = name.split(":")
                rows.append(
                    {
                        "entry": agent,
                        "platform": platform,
                        "codec": codec,
                        "l1_bytes": size,
                        "disk_overhead": self.disk_overhead[codec],
                        "seconds": self.seconds[agent],
                    }
                )
            for name, size in self.request_bytes[codec].items():
                rows.append(
                    {
                        "entry": "request",
                        "platform": name,
                        "codec": codec,
                        "l1_bytes": size,
                        "disk_overhead": self.disk_overhead[codec],
                        "seconds": float("nan"),
                    }
                )
        return pd.DataFrame(rows)

    @classmethod
    async def ameasure(
        cls,
        *,
        topics: int | Sequence[str] = DEFAULT_SAMPLE_TOPICS,
        styles: Sequence[Style | str] = DEFAULT_SAMPLE_STYLES,
        cost: CostProfile | str = "seed",
    ) -> EntryProfile:
        """Measure a profile from real plans (see the module docstring)."""
        profile = _cost_profile(cost)
        chosen = _sample_topics(topics)
        requests = [
            VideoRequest(topic=topic, style=Style(style)) for topic in chosen for style in styles
        ]
        if not requests:
            raise TuningError("measuring an entry profile needs at least one topic and style")
        codecs = {name: Codec(options) for name, options in CODECS.items()}
        node_sizes: dict[str, dict[str, list[int]]] = {c: {} for c in codecs}
        request_sizes: dict[str, dict[str, list[int]]] = {c: {} for c in codecs}
        written: dict[str, list[tuple[str, bytes, str]]] = {c: [] for c in codecs}
        async with Orchestrator() as orchestrator:
            for request in requests:
                result = await orchestrator.run(request)
                _, nodes = build_graph(request)
                tag = f"topic:{request.topic.lower()}"
                for node, artifact in result.schedule.results.items():
                    spec, platform = nodes[node]
                    value = artifact.model_dump(mode="json")
                    name = f"{spec.name}:{platform.value if platform else NO_PLATFORM}"
                    for codec_name, codec in codecs.items():
                        local, _, _ = codec.encode_tiers(value, kind=spec.content_kind)
                        node_sizes[codec_name].setdefault(name, []).append(len(local))
                        key = _key(
                            spec.content_kind, platform.value if platform else None, name, request
                        )
                        written[codec_name].append((key, local, tag))
                for combo in platform_sets():
                    value = {p.value: result.plans[p].model_dump(mode="json") for p in combo}
                    for codec_name, codec in codecs.items():
                        local, _, _ = codec.encode_tiers(value, kind="request")
                        request_sizes[codec_name].setdefault(set_name(combo), []).append(len(local))
                        key = _key("request", set_name(combo), set_name(combo), request)
                        written[codec_name].append((key, local, tag))
        base, overhead = await _disk_overhead(written)
        return cls(
            node_bytes={
                c: {n: _mean(v) for n, v in sizes.items()} for c, sizes in node_sizes.items()
            },
            request_bytes={
                c: {n: _mean(v) for n, v in s.items()} for c, s in request_sizes.items()
            },
            seconds={name: profile.mean(name) for name in _agents()},
            disk_base=base,
            disk_overhead=overhead,
            samples=len(requests),
            cost_profile=profile.name,
        )

    @classmethod
    def measure(cls, **options: Any) -> EntryProfile:
        """:meth:`ameasure` from sync code (also inside a running loop)."""
        return run_sync(lambda: cls.ameasure(**options))


def _cost_profile(cost: CostProfile | str) -> CostProfile:
    try:
        return cost_profile(cost)
    except ConfigError as exc:
        raise TuningError(str(exc)) from None


def _agents() -> list[str]:
    from vgkit.agents import SPECS

    return list(SPECS)


def _sample_topics(topics: int | Sequence[str]) -> list[str]:
    if not isinstance(topics, int):
        return list(topics)
    pool = load_topics()
    step = max(1, len(pool) // max(1, topics))
    return [t.text for t in pool[::step][:topics]]


def _key(kind: str, platform: str | None, name: str, request: VideoRequest) -> str:
    digest = hashlib.sha256(f"{name}\0{request.request_id}".encode()).hexdigest()
    return build_key(_PREFIX, kind, platform, digest)


def _mean(values: list[int]) -> float:
    return round(sum(values) / len(values), 1)


async def _disk_overhead(
    written: Mapping[str, list[tuple[str, bytes, str]]],
) -> tuple[int, dict[str, float]]:
    """Volume of an empty diskcache, and what it adds per entry, per codec (measured)."""
    stats = stats_for(MetricsRegistry())
    overhead: dict[str, float] = {}
    base = 0
    for codec, entries in written.items():
        sample = entries[:: max(1, len(entries) // DISK_SAMPLE)][:DISK_SAMPLE]
        with tempfile.TemporaryDirectory(prefix="vgkit-profile-") as folder:
            tier = DiskTier(
                DiskConfig(directory=Path(folder), size_limit=1 << 40), stats=stats, prefix=_PREFIX
            )
            try:
                base = tier.cache.volume()
                for key, data, tag in sample:
                    await tier.set(key, data, ttl=None, tags=(tag,))
                volume = tier.cache.volume()
            finally:
                await tier.aclose()
        stored = sum(len(data) for _, data, _ in sample)
        overhead[codec] = round(max(0.0, (volume - base - stored) / len(sample)), 1)
    return base, overhead


@functools.lru_cache(maxsize=4)
def default_profile(cost: str = "seed") -> EntryProfile:
    """The profile measured with the default sample (once per process)."""
    return EntryProfile.measure(cost=cost)


def measure_now() -> None:
    """Print the default profile (``python -m vgkit.tuning.profile``)."""
    profile = default_profile()
    print(profile.to_frame().to_string())
    print(f"disk base {profile.disk_base} bytes, overhead {dict(profile.disk_overhead)}")


if __name__ == "__main__":
    measure_now()
