"""The reference analysis's claims, each re-measured next to a baseline.

The original system came with a performance analysis that states figures
without measuring them: "60% performance improvement via connection pooling",
"connection reuse rate: typically 80-95% after warmup", "execution time
reduction: up to 60% for multi-agent workflows", "average time saved per cache
hit: ~45 seconds for complete results" (~15 s per script, ~20 s per
storyboard), "template application: near-instant (< 100ms)", unique session IDs
and concurrent workflows, an event queue it lists as missing, Prometheus
metrics; and it grades itself A (92/100). Each claim is quoted where it is
measured (the ``claim`` of every :class:`Measurement`, and the flagship
notebook's section introductions).

Each ``measure_*`` coroutine re-measures one section against a baseline run in
the same call and returns :class:`Measurement` rows; it is registered as a
report section with :func:`claim_section`, and :func:`measure_all` runs every
registered section into :class:`Findings` (rows, grade, compliance table). The
flagship notebook (``notebooks/performance-report.ipynb``) calls
:func:`measure_all`, shows :func:`summary` first and each section with
:func:`show`. Costs use the ``seed`` cost profile times ``time_scale``, so
"model seconds" are wall seconds divided by ``time_scale``.
"""

from vgkit.claims.base import (
    MET,
    NOT_MEASURED,
    NOT_MET,
    ORIGINAL_COMPLIANCE,
    ORIGINAL_GRADE,
    PARTLY_MET,
    SECTIONS,
    TOPIC,
    Measurement,
    compliance,
    grade,
    relative_spread,
    to_frame,
    verdict,
)
from vgkit.claims.caching import measure_cache
from vgkit.claims.events import measure_events
from vgkit.claims.measured import measure_with_model, side_by_side
from vgkit.claims.observability import EXPECTED_FAMILIES, measure_observability
from vgkit.claims.parallel import measure_parallel
from vgkit.claims.pool import measure_pool
from vgkit.claims.pool_link import measure_pool_links
from vgkit.claims.presentation import (
    Html,
    compliance_table,
    plot,
    section_table,
    show,
    show_remaining,
    summary,
    summary_table,
)
from vgkit.claims.registry import REGISTRY, ClaimSection, Findings, claim_section, measure_all
from vgkit.claims.rendering import measure_rendering
from vgkit.claims.runtime import measure_async, measure_sessions

__all__ = [
    "EXPECTED_FAMILIES",
    "MET",
    "NOT_MEASURED",
    "NOT_MET",
    "ORIGINAL_COMPLIANCE",
    "ORIGINAL_GRADE",
    "PARTLY_MET",
    "REGISTRY",
    "SECTIONS",
    "TOPIC",
    "ClaimSection",
    "Findings",
    "Html",
    "Measurement",
    "claim_section",
    "compliance",
    "compliance_table",
    "grade",
    "measure_all",
    "measure_async",
    "measure_cache",
    "measure_events",
    "measure_observability",
    "measure_parallel",
    "measure_pool",
    "measure_pool_links",
    "measure_rendering",
    "measure_sessions",
    "measure_with_model",
    "plot",
    "relative_spread",
    "section_table",
    "show",
    "show_remaining",
    "side_by_side",
    "summary",
    "summary_table",
    "to_frame",
    "verdict",
]
