"""A compact log of requested topics, ranked by recent frequency (for predictive warming).

Each distinct request (topic and the other fields that shape a plan, without
platforms) keeps one decayed score: every request adds 1, and scores halve
every ``half_life`` seconds, so the ranking follows what people asked for
lately. Only the ``capacity`` best are kept. The log persists through a
:class:`LayeredCache` (shared via Redis): new requests are kept as pending
events and applied to the stored log under its lock at :meth:`TopicLog.flush`,
so processes never overwrite each other's counts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from vgkit.cache.layered import LayeredCache

__all__ = ["DEFAULT_HALF_LIFE", "TopicLog", "TopicStat"]

DEFAULT_HALF_LIFE = 6 * 3600.0
DEFAULT_CAPACITY = 500


@dataclass(frozen=True, slots=True)
class TopicStat:
    """One request shape, its platforms and its decayed frequency at ``at``."""

    fields: Mapping[str, Any]
    platforms: tuple[str, ...]
    score: float
    at: float


@dataclass
class TopicLog:
    """Decayed request counts (see the module docstring)."""

    half_life: float = DEFAULT_HALF_LIFE
    capacity: int = DEFAULT_CAPACITY
    clock: Callable[[], float] = time.time
    _stats: dict[str, TopicStat] = field(default_factory=dict, repr=False)
    _pending: list[tuple[str, Mapping[str, Any], tuple[str, ...], float]] = field(
        default_factory=list, repr=False
    )
    last_request: float = 0.0

    def _decayed(self, stat: TopicStat, now: float) -> float:
        return stat.score * math.pow(0.5, max(0.0, now - stat.at) / self.half_life)

    def record(self, fields: Mapping[str, Any], platforms: Iterable[str]) -> None:
        """Count one request (``fields``: the request without its platforms)."""
        now = self.clock()
        self.last_request = now
        event = (_ident(fields), dict(fields), tuple(platforms), now)
        self._pending.append(event)
        self._stats = self._apply(self._stats, [event])

    def _apply(
        self,
        stats: Mapping[str, TopicStat],
        events: Iterable[tuple[str, Mapping[str, Any], tuple[str, ...], float]],
    ) -> dict[str, TopicStat]:
        out = dict(stats)
        for ident, fields, platforms, at in events:
            old = out.get(ident)
            score = (self._decayed(old, at) if old else 0.0) + 1.0
            merged = tuple(dict.fromkeys((*(old.platforms if old else ()), *platforms)))
            out[ident] = TopicStat(fields=fields, platforms=merged, score=score, at=at)
        if len(out) > self.capacity:
            now = self.clock()
            keep = sorted(out, key=lambda k: -self._decayed(out[k], now))[: self.capacity]
            out = {k: out[k] for k in keep}
        return out

    def top(self, k: int) -> list[TopicStat]:
        """The ``k`` most requested request shapes lately, best first (scores as of now)."""
        now = self.clock()
        ranked = sorted(
            self._stats.values(), key=lambda s: (-self._decayed(s, now), _ident(s.fields))
        )
        return [
            TopicStat(s.fields, s.platforms, round(self._decayed(s, now), 6), now)
            for s in ranked[:k]
        ]

    def __len__(self) -> int:
        return len(self._stats)

    # -- persistence -------------------------------------------------------------

    @staticmethod
    def _key(store: LayeredCache) -> str:
        return store.key("topics", None, "log")

    async def load(self, store: LayeredCache) -> None:
        self._stats = _parse(await store.get(self._key(store)))

    async def flush(self, store: LayeredCache) -> None:
        """Apply this process's new requests to the stored log, and adopt the result."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        key = self._key(store)
        async with store.locked(key):
            stats = self._apply(_parse(await store.get(key)), pending)
            doc = [
                {
                    "fields": dict(s.fields),
                    "platforms": list(s.platforms),
                    "score": s.score,
                    "at": s.at,
                }
                for s in stats.values()
            ]
            await store.set(key, doc, ttl=None, notify=True)
        self._stats = stats


def _ident(fields: Mapping[str, Any]) -> str:
    return orjson.dumps(dict(fields), option=orjson.OPT_SORT_KEYS).decode()


def _parse(doc: Any) -> dict[str, TopicStat]:
    out: dict[str, TopicStat] = {}
    if not isinstance(doc, list):
        return out
    for raw in doc:
        try:
            stat = TopicStat(
                fields=dict(raw["fields"]),
                platforms=tuple(str(p) for p in raw["platforms"]),
                score=float(raw["score"]),
                at=float(raw["at"]),
            )
        except (KeyError, TypeError, ValueError):
            continue
        out[_ident(stat.fields)] = stat
    return out
