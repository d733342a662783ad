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
    rows = await claims.measure_parallel(time_scale=0.001, runs=2)
    levels = rows[0]
    assert levels.measured == 7 and levels.met and levels.kind == "fact"
    assert not levels.graded  # a node count is shown, not graded
    assert {m.section for m in rows} == {"Parallel Execution", "Resource Optimization"}
    for m in rows[1:3]:
        assert 0 < m.measured < 1  # a time reduction, as a fraction


def test_compliance_and_grade_follow_the_measurements() -> None:
    def m(section: str, met: bool) -> Measurement:
        return Measurement(section=section, claim="c", metric="x", measured=1, unit="u", met=met)

    rows = [m(s, True) for s in claims.SECTIONS]
    assert grade(rows) == (100.0, "A")
    table = compliance(rows)
    assert list(table["measured"]) == ["met"] * len(claims.SECTIONS)
    assert set(table["original"]) == {"implemented", "partial"}
    half = [*rows[1:], m("Connection Pooling", False), m("Connection Pooling", True)]
    table = compliance(half)
    assert table.loc[0, "measured"] == "partly met" and table.loc[0, "claims met"] == "1 of 2"
    score, letter = grade(half)
    assert score == round(100 - 100 / len(claims.SECTIONS) / 2, 1) and letter == "A"
    missing = [r for r in rows if r.section != "Observability"]
    assert grade(missing)[0] == 87.5
    assert compliance(missing).loc[7, "measured"] == "not measured"
    # A fact that does not hold costs nothing; a section the reference lacks adds a row
    # to the table but not to the grade.
    fact = Measurement(section="Observability", claim="c", metric="f", measured=0, unit="bool",
                       met=False, kind="fact")  # fmt: skip
    extra = m("Rendering", False)
    assert grade([*rows, fact, extra]) == (100.0, "A")
    table = compliance([*rows, fact, extra])
    assert list(table["feature"])[-1] == "Rendering"
    assert table.iloc[-1]["original"] == "not in the reference"
    assert table.iloc[-1]["measured"] == "not met"
    assert table.loc[7, "claims met"] == "1 of 1"


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


def test_every_section_is_registered_with_parameters_the_notebook_has() -> None:
    import nbformat

    from vgkit.reports import notebook_parameters, notebook_path

    assert list(claims.REGISTRY) and {s.key for s in claims.registry.sections()} == set(
        claims.REGISTRY
    )
    known = set(notebook_parameters(notebook_path("performance")))
    for section in claims.REGISTRY.values():
        assert set(section.parameters.values()) <= known, section.key
    # Each registered section has a cell of its own (the rest would show at the end).
    book = nbformat.read(notebook_path("performance"), as_version=4)  # type: ignore[no-untyped-call]
    source = "\n".join(c.source for c in book.cells)
    for key in claims.REGISTRY:
        assert f'claims.show(findings, "{key}")' in source, key


async def test_measure_all_runs_the_named_sections_with_report_parameters() -> None:
    seen: list[str] = []
    findings = await claims.measure_all(
        {"sessions": 6, "time_scale": 0.001, "queue_jobs": 6, "unrelated": 1},
        ["events", "sessions"],
        on_section=lambda s: seen.append(s.key),
    )
    assert seen == ["sessions", "events"]  # report order, not the order asked
    assert list(findings.by_section) == ["sessions", "events"]
    assert "of 6 concurrent" in findings.section("sessions")[0].metric
    frame = findings.to_frame()
    assert list(frame["report_section"]) == ["sessions"] * 2 + ["events"] * 3
    assert findings.unshown() == ["sessions", "events"]
    html = claims.summary(findings, {"commit": "abc", "cpu_count": 2, "machine": "Linux",
                                     "load_1m": 3.0, "busy": True})  # fmt: skip
    assert "Grade" in html and "a busy machine" in html and "commit abc" in html
    assert ">met<" in html and "✅" not in html


def test_a_zero_ratio_does_not_squash_the_chart() -> None:
    rows = [
        Measurement(section="s", claim="c", metric="zero", measured=0.0, unit="x",
                    baseline=1.0, met=True),
        Measurement(section="s", claim="c", metric="double", measured=2.0, unit="x",
                    baseline=1.0, met=True),
    ]  # fmt: skip
    fig = claims.plot(rows, "t")
    low, high = fig.axes[0].get_xlim()
    assert 0.1 < low < 1 < 2 < high < 10  # not stretched towards 1e-9 by the zero
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "0" in labels and "2×" in labels


def test_long_labels_that_differ_at_the_end_stay_apart_in_the_chart() -> None:
    stem = "requests/s, pooled vs a new connection per request (c=10), across a "
    rows = [
        Measurement(section="s", claim="c", metric=stem + tail, measured=2.0, unit="x",
                    baseline=1.0, met=True)
        for tail in ("1ms link, http", "1ms link, https", "10ms link, http", "10ms link, https")
    ]  # fmt: skip
    fig = claims.plot(rows, "t")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(set(labels)) == 4 and all(len(label) <= 60 for label in labels)
    assert labels[0].startswith("requests/s") and labels[3].endswith("10ms link, https")


def test_claims_quote_no_file_outside_the_repository() -> None:
    import inspect

    from vgkit.reports import notebook_path

    text = inspect.getsource(claims) + notebook_path("performance").read_text()
    for module in (claims.base, claims.pool, claims.caching, claims.parallel):
        text += inspect.getsource(module)
    assert "shared/seeds" not in text and "the issue" not in text
