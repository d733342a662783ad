"""Cache-policy tuning: replay request traces through candidate cache settings.

Quick start::

    from vgkit.tuning import Candidate, load_trace, recommend, replay, simulate

    trace = load_trace()                        # the bundled week (or a file you recorded)
    simulate(trace, Candidate.original(l1_size=32 << 20)).summary()
    rec = recommend(trace, budget=32 << 20, stale_budget=0.05)  # fit on 4 days, held out on 3
    print(rec.summary())                        # the table, the TTLs, the gain
    rec.front; rec.plot_front()                 # seconds saved against stale serves
    rec.compare_at([0.05, 0.01])                # held out: original vs the path at each budget
    replay(trace[:200], rec.recommended)        # the same through the real cache

Modules: ``candidate`` (:class:`Candidate`, codec presets), ``synthetic``
(:func:`generate_trace`, the bundled trace's generator), ``profile`` (entry
sizes and costs measured from real plans), ``freshness`` (how old a served value
may be before it is stale, per kind), ``expansion`` (a trace as the cache
keys the orchestrator uses), ``simulator`` (the fast mode: an exact model of the
diskcache L1), ``replay`` (the real mode), ``search`` (:func:`recommend`, size
and TTL curves), ``recommendation``, ``evaluation`` (:class:`SimulationResult`)
and ``plots``. Traces and their recording live in :mod:`vgkit.tuning.trace`.
"""

from vgkit.tuning.candidate import CODECS, EVICTION_POLICIES, Candidate
from vgkit.tuning.evaluation import KindStats, SimulationResult, results_frame
from vgkit.tuning.freshness import DEFAULT_FRESHNESS, Freshness
from vgkit.tuning.plots import plot_front, plot_gain, plot_size_curve, plot_ttl_curve
from vgkit.tuning.profile import EntryProfile, default_profile
from vgkit.tuning.recommendation import FrontPoint, Recommendation, Step
from vgkit.tuning.replay import areplay, replay
from vgkit.tuning.search import (
    DEFAULT_BUDGET,
    DEFAULT_STALENESS_WEIGHT,
    DEFAULT_TTL_LADDER,
    compare,
    recommend,
    size_curve,
    ttl_curve,
)
from vgkit.tuning.simulator import DiskModel, simulate
from vgkit.tuning.synthetic import TraceSpec, generate_trace
from vgkit.tuning.trace import (
    Trace,
    TraceRecord,
    TraceRecorder,
    bundled_trace_path,
    load_trace,
    record_trace,
)

__all__ = [
    "CODECS",
    "DEFAULT_BUDGET",
    "DEFAULT_FRESHNESS",
    "DEFAULT_STALENESS_WEIGHT",
    "DEFAULT_TTL_LADDER",
    "EVICTION_POLICIES",
    "Candidate",
    "DiskModel",
    "EntryProfile",
    "Freshness",
    "FrontPoint",
    "KindStats",
    "Recommendation",
    "SimulationResult",
    "Step",
    "Trace",
    "TraceRecord",
    "TraceRecorder",
    "TraceSpec",
    "areplay",
    "bundled_trace_path",
    "compare",
    "default_profile",
    "generate_trace",
    "load_trace",
    "plot_front",
    "plot_gain",
    "plot_size_curve",
    "plot_ttl_curve",
    "recommend",
    "record_trace",
    "replay",
    "results_frame",
    "simulate",
    "size_curve",
    "ttl_curve",
]
