"""What replaying a trace through one cache configuration gave: per kind and in total.

Seconds saved are compute (agent-) seconds avoided compared with running without
a cache: a node hit saves what computing that node costs, a complete-result hit
what every node of the run costs, so ``seconds_saved + compute_seconds`` is the
same for every configuration of one trace. (The live cache metric
``vgkit_cache_saved_seconds`` counts a complete-result hit as the stored run's
makespan instead: a wall-clock figure.) ``wall_seconds_saved`` is what users did
not wait: per request, the makespan without a cache minus the makespan with it,
hit nodes taking no time, both along the graph's critical path.

Bytes: ``peak_bytes`` and ``mean_bytes`` are what the L1 occupies as
diskcache measures it (its volume: entries, per-entry overhead and the empty
database; mean over time), ``written_bytes`` what vgkit wrote, and per kind
``held_bytes`` the mean entry bytes held (simulation only).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vgkit.tuning.candidate import Candidate

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_STALENESS_WEIGHT", "KindStats", "SimulationResult", "results_frame"]

#: What a stale hit costs, as a multiple of the seconds it saved: 1 (the default) counts
#: a stale hit as saving nothing, so net seconds are the seconds saved by fresh hits; 2
#: makes serving stale content as bad as the computing it avoided was good; 0 ignores
#: staleness.
DEFAULT_STALENESS_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class KindStats:
    """Lookups, hits, seconds and bytes of one content kind."""

    lookups: int = 0
    hits: int = 0
    seconds_saved: float = 0.0
    compute_seconds: float = 0.0
    written_bytes: float = 0.0
    held_bytes: float = math.nan
    stale_hits: int = 0
    """Hits that served a value older than its freshness budget."""
    stale_seconds: float = 0.0
    """Compute seconds those stale hits stood for."""

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.lookups if self.lookups else 0.0


@dataclass(frozen=True)
class SimulationResult:
    """One configuration replayed over (a window of) a trace, in ``mode`` sim or real."""

    config: Candidate
    mode: str
    trace: str
    requests: int
    request_hits: int
    window: tuple[float, float]
    kinds: Mapping[str, KindStats]
    peak_bytes: float
    mean_bytes: float
    wall_seconds_saved: float
    evictions: int
    expirations: int
    elapsed: float
    """Wall seconds the replay took."""
    stale_requests: int = 0
    """Requests answered with a stale complete result or at least one stale node."""

    @property
    def lookups(self) -> int:
        return sum(k.lookups for k in self.kinds.values())

    @property
    def hits(self) -> int:
        return sum(k.hits for k in self.kinds.values())

    @property
    def hit_ratio(self) -> float:
        """Hits over lookups, complete results and nodes together."""
        return self.hits / self.lookups if self.lookups else 0.0

    @property
    def request_hit_ratio(self) -> float:
        """Requests answered whole from the cache."""
        return self.request_hits / self.requests if self.requests else 0.0

    @property
    def seconds_saved(self) -> float:
        return sum(k.seconds_saved for k in self.kinds.values())

    @property
    def stale_seconds(self) -> float:
        """Compute seconds that stale hits stood for."""
        return sum(k.stale_seconds for k in self.kinds.values())

    @property
    def stale_fraction(self) -> float:
        """Share of requests that were served something stale."""
        return self.stale_requests / self.requests if self.requests else 0.0

    def net_seconds(self, weight: float = DEFAULT_STALENESS_WEIGHT) -> float:
        """Seconds saved net of staleness: ``seconds_saved - weight * stale_seconds``
        (see :data:`DEFAULT_STALENESS_WEIGHT`)."""
        return self.seconds_saved - weight * self.stale_seconds

    @property
    def compute_seconds(self) -> float:
        """Agent-seconds spent computing what the cache did not have."""
        return sum(k.compute_seconds for k in self.kinds.values())

    @property
    def written_bytes(self) -> float:
        return sum(k.written_bytes for k in self.kinds.values())

    def summary(self) -> dict[str, Any]:
        """One flat row: the configuration and the totals."""
        return {
            "config": self.config.name,
            "mode": self.mode,
            "requests": self.requests,
            "lookups": self.lookups,
            "hit_ratio": self.hit_ratio,
            "request_hit_ratio": self.request_hit_ratio,
            "seconds_saved": self.seconds_saved,
            "compute_seconds": self.compute_seconds,
            "wall_seconds_saved": self.wall_seconds_saved,
            "stale_seconds": self.stale_seconds,
            "net_seconds": self.net_seconds(),
            "stale_fraction": self.stale_fraction,
            "peak_bytes": self.peak_bytes,
            "mean_bytes": self.mean_bytes,
            "written_bytes": self.written_bytes,
            "evictions": self.evictions,
            "expirations": self.expirations,
            "l1_size": self.config.l1_size,
            "eviction": self.config.eviction,
            "codec": self.config.codec,
            "elapsed_s": self.elapsed,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per content kind: lookups, hits, hit ratio, seconds and bytes."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "config": self.config.name,
                    "kind": kind,
                    "lookups": s.lookups,
                    "hits": s.hits,
                    "hit_ratio": s.hit_ratio,
                    "seconds_saved": s.seconds_saved,
                    "compute_seconds": s.compute_seconds,
                    "written_bytes": s.written_bytes,
                    "held_bytes": s.held_bytes,
                }
                for kind, s in self.kinds.items()
            ]
        )

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-able data (the configuration in full)."""
        return {
            **self.summary(),
            "window": list(self.window),
            "config_detail": self.config.describe(),
            "kinds": {
                kind: {
                    "lookups": s.lookups,
                    "hits": s.hits,
                    "seconds_saved": s.seconds_saved,
                    "compute_seconds": s.compute_seconds,
                    "written_bytes": s.written_bytes,
                    "held_bytes": None if math.isnan(s.held_bytes) else s.held_bytes,
                    "stale_hits": s.stale_hits,
                    "stale_seconds": s.stale_seconds,
                }
                for kind, s in self.kinds.items()
            },
        }


def results_frame(results: Iterable[SimulationResult], **columns: Any) -> pd.DataFrame:
    """One row per result (:meth:`SimulationResult.summary`), plus constant ``columns``."""
    import pandas as pd

    return pd.DataFrame([{**columns, **r.summary()} for r in results])
