"""Cache-policy tuning: the simulator against the real cache, and the recommendation's gain.

- Speed: requests per second through the simulator against the same requests
  through the real cache (``replay``: the orchestrator, the template agents and a
  diskcache L1 on a simulated clock). The search tries a few hundred
  configurations on thousands of requests, which only the simulator makes
  practical; the target is a factor of 100.
- Fidelity: the hit ratio of both on those requests, for an unbounded and a
  size-limited L1 (informational: the tests bound the difference).
- The recommendation, staleness-aware (issue 12): compute seconds saved net of
  staleness (a stale hit saves nothing, weight 1; freshness: news ages in 6 h,
  TikTok and Reels in 2 h, a template release every 3 days) on the held-out
  days of the bundled week, the recommendation at a 5 % and at a 1 % stale
  budget against the original TTL matrix, both with the same 32 MiB L1 budget.
  The notes give each side's share of stale requests: the original's is far
  above either budget.
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
    rec = recommend(
        trace, budget=BUDGET, passes=1 if quick else 2, profile=profile, stale_budget=0.01
    )
    for _, r in rec.compare_at([0.05, 0.01]).iterrows():
        budget = float(r["stale_budget"])
        rows.append(
            row(
                f"held-out net seconds at a {budget:.0%} stale budget, recommended vs original",
                float(r["recommended_net_seconds"]),
                float(r["original_net_seconds"]),
                "s",
                target=1.0,
                higher_is_better=True,
                notes=f"stale requests {r['recommended_stale_fraction']:.1%} vs "
                f"{r['original_stale_fraction']:.1%}; seconds saved before staleness "
                f"{r['recommended_seconds_saved']:,.0f} vs {r['original_seconds_saved']:,.0f}; "
                f"TTLs {r['ttls']}",
            )
        )
    return rows
