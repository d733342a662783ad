"""The reference analysis's claims, each re-measured next to a baseline.

The original system's performance analysis (shared/seeds/000_9902f09b393e2431.txt)
states figures without measurements: 60% less connection overhead, 80-95%
connection reuse, up to 60% less execution time from parallel execution, ~45 s
saved per complete-result cache hit (~15 s per script, ~20 s per storyboard),
near-instant template application, concurrent session isolation, a missing event
queue, comprehensive metrics; and it grades itself A (92/100).

Each ``measure_*`` coroutine here re-measures one section against a baseline run
in the same call and returns :class:`Measurement` rows; :func:`compliance`
rebuilds the compliance table from them and :func:`grade` recomputes the grade.
The flagship notebook (``notebooks/performance-report.ipynb``) only calls these
and plots. Costs use the ``seed`` cost profile times ``time_scale``, so "model
seconds" below are wall seconds divided by ``time_scale``.
"""

from vgkit.claims.base import (
    ORIGINAL_COMPLIANCE,
    ORIGINAL_GRADE,
    SECTIONS,
    TOPIC,
    Measurement,
    compliance,
    grade,
    plot,
    to_frame,
    verdict,
)
from vgkit.claims.caching import measure_cache
from vgkit.claims.events import measure_events
from vgkit.claims.observability import EXPECTED_FAMILIES, measure_observability
from vgkit.claims.parallel import measure_parallel
from vgkit.claims.pool import measure_pool
from vgkit.claims.runtime import measure_async, measure_sessions

__all__ = [
    "EXPECTED_FAMILIES",
    "ORIGINAL_COMPLIANCE",
    "ORIGINAL_GRADE",
    "SECTIONS",
    "TOPIC",
    "Measurement",
    "compliance",
    "grade",
    "measure_async",
    "measure_cache",
    "measure_events",
    "measure_observability",
    "measure_parallel",
    "measure_pool",
    "measure_sessions",
    "plot",
    "to_frame",
    "verdict",
]
