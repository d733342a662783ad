"""Cache-policy tuning: the simulator against the real cache, and the recommendation's gain.

- Speed: requests per second through the simulator against the same requests
  through the real cache (``replay``: the orchestrator, the template agents and a
  diskcache L1 on a simulated clock). The search tries a few hundred
  configurations on thousands of requests, which only the simulator makes
  practical; the target is a factor of 100.
- Fidelity: the hit ratio of both on those requests, for an unbounded and a
  size-limited L1 (informational: the tests bound the difference).
- The recommendation (issue 6's done-when): compute seconds saved on the
  held-out days of the bundled week by the recommended configuration against
  the original TTL matrix, both with the same 32 MiB L1 budget.
"""

from __future__ import annotations

from benchmarks._common import Row, row
from vgkit.tuning import Candidate, compare, default_profile, load_trace, recommend

TITLE = "Cache-policy tuning (simulator against the real cache; recommendation gain)"
BUDGET = 32 << 20


async def run(quick: bool) -> list[Row]:
    profile = default_profile()
    week = load_trace()
    prefix = 100 if quick else 300
    rows: list[Row] = []
    configs = [
        Candidate.original(name="unbounded"),
        Candidate.original(name="bounded", l1_size=2 << 20).changed(eviction="least-recently-used"),
    ]
    for config in configs:
        # Both modes on the same prefix; the simulator is timed warm (expanded trace).
        compare(week, [config], limit=prefix, profile=profile)
        sim, real = compare(week, [config], mode="both", limit=prefix, profile=profile)
        if config.name == "unbounded":
            rows.append(
                row(
                    f"requests/s, simulator vs real cache, first {prefix} requests",
                    sim.requests / sim.elapsed,
                    real.requests / real.elapsed,
                    "req/s",
                    target=100,
                    higher_is_better=True,
                )
            )
        rows.append(
            row(
                f"hit ratio, simulator vs real cache ({config.name} L1)",
                sim.hit_ratio,
                real.hit_ratio,
                "ratio",
                notes=f"{sim.hits} vs {real.hits} hits of {sim.lookups} vs {real.lookups} lookups",
            )
        )
    trace = week.between(0, 3 * 86400) if quick else week
    rec = recommend(trace, budget=BUDGET, passes=1 if quick else 2, profile=profile)
    gain = rec.gain("held_out")
    rows.append(
        row(
            f"held-out seconds saved, recommended vs original TTLs ({BUDGET >> 20} MiB L1)",
            gain["recommended_seconds_saved"],
            gain["original_seconds_saved"],
            "s",
            target=1.0,
            higher_is_better=True,
            notes=f"fit part: {rec.gain('fit')['ratio']:.2f}x; {len(rec.steps)} configurations "
            f"tried; recommended L1 {rec.recommended.l1_size}, {rec.recommended.eviction}, "
            f"{rec.recommended.codec}",
        )
    )
    return rows
