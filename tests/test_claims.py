"""The reference's claims, re-measured: the measurement functions and the grade."""

from __future__ import annotations

from vgkit import claims
from vgkit.claims import Measurement, compliance, grade


async def test_sessions_are_isolated_and_overlap() -> None:
    rows = await claims.measure_sessions(sessions=20, time_scale=0.001)
    isolation, overlap = rows
    assert isolation.measured == 0 and isolation.met
    assert overlap.baseline is not None and overlap.measured < overlap.baseline


async def test_event_queue_claims_are_met() -> None:
    rows = await claims.measure_events(jobs=12)
    assert [m.met for m in rows] == [True, True, True]
    priority = rows[0]
    assert priority.baseline is not None and priority.measured < priority.baseline


async def test_observability_finds_every_family() -> None:
    [row] = await claims.measure_observability()
    assert row.met, row.notes
    assert row.measured == len(claims.EXPECTED_FAMILIES)


async def test_cache_claims_measure_hits_not_recomputation() -> None:
    rows = await claims.measure_cache(time_scale=0.001, samples=2)
    by_metric = {m.metric: m for m in rows}
    nodes = by_metric["agent nodes served from the cache when TikTok work reappears"]
    assert nodes.measured == 10 and nodes.met
    whole = by_metric["model seconds saved by a whole-request hit"]
    assert whole.measured > 10  # a real run's makespan, in model seconds
    assert by_metric["template choice from the in-memory index"].measured < 100e-6


async def test_parallel_rows_report_levels_and_reductions() -> None:
    rows = await claims.measure_parallel(time_scale=0.001, runs=1)
    levels = rows[0]
    assert levels.measured == 7 and levels.met
    assert {m.section for m in rows} == {"Parallel Execution", "Resource Optimization"}
    for m in rows[1:3]:
        assert 0 < m.measured < 1  # a time reduction, as a fraction


def test_compliance_and_grade_follow_the_measurements() -> None:
    def m(section: str, met: bool) -> Measurement:
        return Measurement(section=section, claim="c", metric="x", measured=1, unit="u", met=met)

    rows = [m(s, True) for s in claims.SECTIONS]
    assert grade(rows) == (100.0, "A")
    table = compliance(rows)
    assert list(table["measured"]) == ["✅"] * len(claims.SECTIONS)
    half = [*rows[1:], m("Connection Pooling", False), m("Connection Pooling", True)]
    table = compliance(half)
    assert table.loc[0, "measured"] == "⚠️" and table.loc[0, "claims met"] == "1/2"
    score, letter = grade(half)
    assert score == round(100 - 100 / len(claims.SECTIONS) / 2, 1) and letter == "A"
    missing = [r for r in rows if r.section != "Observability"]
    assert grade(missing)[0] == 87.5
    assert compliance(missing).loc[7, "measured"] == "not measured"


async def test_pool_reuses_connections_of_a_real_server() -> None:
    rows = await claims.measure_pool(requests=60, concurrency=4)
    by_claim = {m.claim: m for m in rows}
    reuse = by_claim["Connection reuse rate: typically 80-95% after warmup"]
    assert reuse.measured >= 0.95 and reuse.met
    opened = by_claim["Reduced connection overhead: ~60% as claimed"]
    assert opened.measured <= 0.1
    throughput = rows[0]
    assert throughput.measured > 0 and throughput.baseline is not None and throughput.baseline > 0
    assert by_claim["Health check overhead: minimal (5-minute intervals)"].met
