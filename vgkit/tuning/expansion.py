"""A trace expanded into the cache lookups the real orchestrator makes.

For each request the orchestrator first looks up the complete result (kind
``request``, keyed by the whole request); on a miss it runs the graph, and every
node looks up its own entry, keyed by agent, version and the request narrowed
to what the agent sees (:func:`vgkit.pipeline.narrow`). With a
deterministic backend the upstream artifacts follow from that narrowed request,
so two calls share a key exactly when agent and narrowed request are equal:
that is how a TikTok request shares its topic analysis and TikTok nodes with a
later TikTok + Reels request for the same topic, and nothing with another style.

:func:`expand` turns a trace into integer key ids, per-key content kind,
platform and compute seconds, and per platform set the graph (lookup order and
parents) that gives a run's makespan: what a complete-result entry records as
its cost, so a later hit on it saves that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vgkit.agents import SPECS
from vgkit.cache.base import NO_PLATFORM
from vgkit.models import VideoRequest, canonical_json
from vgkit.pipeline import build_graph, narrow
from vgkit.platforms import Platform
from vgkit.tuning.profile import EntryProfile, set_name
from vgkit.tuning.trace import Trace

__all__ = ["KINDS", "REQUEST", "Expanded", "Shape", "expand", "shape_for"]

REQUEST = "request"
#: Content kinds in pipeline order, then complete results.
KINDS: tuple[str, ...] = (*dict.fromkeys(s.content_kind for s in SPECS.values()), REQUEST)
_KIND_INDEX = {kind: i for i, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Shape:
    """The graph of one platform set: nodes in lookup order (level by level, as the
    eager scheduler starts them) and each node's parents, as indices."""

    platforms: tuple[Platform, ...]
    nodes: tuple[tuple[str, Platform | None], ...]
    """(agent name, platform) per node."""
    parents: tuple[tuple[int, ...], ...]

    def makespan(self, seconds: Sequence[float]) -> float:
        """The run's makespan when node ``i`` takes ``seconds[i]`` (a hit: 0)."""
        finish: list[float] = []
        longest = 0.0
        for parents, took in zip(self.parents, seconds, strict=True):
            start = 0.0
            for p in parents:
                if finish[p] > start:
                    start = finish[p]
            end = start + took
            finish.append(end)
            if end > longest:
                longest = end
        return longest


def shape_for(platforms: tuple[Platform, ...]) -> Shape:
    """The graph the orchestrator builds for a request on ``platforms``."""
    dag, nodes = build_graph(VideoRequest(topic="shape", platforms=platforms))
    order = [n for level in dag.levels() for n in level]
    index = {n: i for i, n in enumerate(order)}
    return Shape(
        platforms=platforms,
        nodes=tuple((nodes[n][0].name, nodes[n][1]) for n in order),
        parents=tuple(tuple(sorted(index[p] for p in dag.parents(n))) for n in order),
    )


@dataclass
class Expanded:
    """A trace as integer cache keys (see the module docstring).

    Per record: time, request key, shape and node keys (in the shape's order).
    Per key: content kind (index into :data:`KINDS`), policy platform segment,
    the profile entry it weighs like, and its agent (empty for request keys,
    whose cost is the makespan of the run that stores them).
    """

    times: list[float]
    request_keys: list[int]
    shape_ids: list[int]
    node_keys: list[tuple[int, ...]]
    shapes: list[Shape]
    key_kind: list[int] = field(default_factory=list)
    key_platform: list[str] = field(default_factory=list)
    key_entry: list[str] = field(default_factory=list)
    key_agent: list[str] = field(default_factory=list)
    key_group: list[int] = field(default_factory=list)
    """Index into :attr:`groups`: the (kind index, platform segment) the TTL policy reads."""
    groups: list[tuple[int, str]] = field(default_factory=list)
    _tables: dict[Any, tuple[EntryProfile, list[float]]] = field(default_factory=dict, repr=False)

    @property
    def keys(self) -> int:
        return len(self.key_kind)

    def sizes(self, profile: EntryProfile, codec: str) -> list[float]:
        """L1 bytes of every key's entry under ``codec``."""
        return self._table(("sizes", codec), profile, lambda: _sizes(self, profile, codec))

    def seconds(self, profile: EntryProfile) -> list[float]:
        """Compute seconds of every key's entry (0 for request keys)."""
        return self._table(
            ("seconds",),
            profile,
            lambda: [profile.seconds[a] if a else 0.0 for a in self.key_agent],
        )

    def _table(
        self, name: tuple[str, ...], profile: EntryProfile, build: Callable[[], list[float]]
    ) -> list[float]:
        # Keyed by the profile's identity; holding the profile keeps that identity unique.
        memo = (*name, id(profile))
        if memo not in self._tables:
            self._tables[memo] = (profile, build())
        return self._tables[memo][1]


def _sizes(expanded: Expanded, profile: EntryProfile, codec: str) -> list[float]:
    table = {**profile.node_bytes[codec], **profile.request_bytes[codec]}
    return [table[name] for name in expanded.key_entry]


def expand(trace: Trace) -> Expanded:
    """The trace's cache lookups (built once per trace)."""
    expanded: Expanded = trace.memo("expanded", lambda: _expand(trace))
    return expanded


def _expand(trace: Trace) -> Expanded:
    out = Expanded(times=[], request_keys=[], shape_ids=[], node_keys=[], shapes=[])
    ids: dict[tuple[str, bytes], int] = {}
    shape_ids: dict[tuple[Platform, ...], int] = {}
    by_request: dict[bytes, tuple[int, tuple[int, ...]]] = {}
    specs = SPECS

    groups: dict[tuple[int, str], int] = {}

    def intern(ident: tuple[str, bytes], kind: str, platform: str, entry: str, agent: str) -> int:
        key = ids.get(ident)
        if key is None:
            key = ids[ident] = len(out.key_kind)
            group = (_KIND_INDEX[kind], platform)
            if group not in groups:
                groups[group] = len(out.groups)
                out.groups.append(group)
            out.key_kind.append(group[0])
            out.key_platform.append(platform)
            out.key_entry.append(entry)
            out.key_agent.append(agent)
            out.key_group.append(groups[group])
        return key

    for record in trace:
        request = record.request
        platforms = request.platforms
        shape_id = shape_ids.get(platforms)
        if shape_id is None:
            shape_id = shape_ids[platforms] = len(out.shapes)
            out.shapes.append(shape_for(platforms))
        whole = canonical_json(request)
        known = by_request.get(whole)
        if known is None:
            name = set_name(platforms)
            request_key = intern((REQUEST, whole), REQUEST, name, name, "")
            narrowed: dict[Platform | None, bytes] = {}
            keys = []
            for agent, platform in out.shapes[shape_id].nodes:
                spec = specs[agent]
                if platform not in narrowed:
                    narrowed[platform] = canonical_json(narrow(request, spec, platform))
                segment = platform.value if platform is not None else NO_PLATFORM
                keys.append(
                    intern(
                        (f"{spec.name}/{spec.version}", narrowed[platform]),
                        spec.content_kind,
                        segment,
                        f"{agent}:{segment}",
                        agent,
                    )
                )
            known = by_request[whole] = (request_key, tuple(keys))
        out.times.append(record.t)
        out.request_keys.append(known[0])
        out.shape_ids.append(shape_id)
        out.node_keys.append(known[1])
    return out
