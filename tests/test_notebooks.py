"""Every notebook runs with its small defaults (papermill, through the report runner)."""

# nbformat has no type hints.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from tests.reports.pages import check_page
from vgkit.reports import (
    Report,
    available_reports,
    notebook_parameters,
    notebook_path,
    run_report,
)

NOTEBOOKS = available_reports()


def test_there_are_notebooks() -> None:
    assert {"generation-experiments", "load-test"} <= set(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_are_committed_clean_with_parameters(name: str) -> None:
    book = nbformat.read(notebook_path(name), as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "report_dir" in notebook_parameters(notebook_path(name))


#: Report runs here check the page and its files; nbval (notebooks/conftest.py) already runs
#: every notebook with its defaults, so these skip what is slow and checked there.
REPORT_OVERRIDES: dict[str, dict[str, object]] = {"load-test": {"a2a": False}}


@pytest.mark.slow
@pytest.mark.timeout(180)  # generation-experiments renders a video (about 10 s idle)
@pytest.mark.parametrize("name", [n for n in NOTEBOOKS if n != "performance-report"])
def test_notebook_runs_as_a_report(name: str, tmp_path: Path) -> None:
    """Every notebook but the flagship (checked below) as a report: a clean page."""
    report = run_report(name, REPORT_OVERRIDES.get(name), out_dir=tmp_path)
    prov = json.loads(report.provenance.read_text())
    assert prov["status"] == "ok"
    assert len(prov["sections"]) >= 4
    assert report.html.stat().st_size > 10_000
    assert report.results, "the notebook saved its results"
    executed = nbformat.read(report.notebook, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    check_page(report.html.read_text(), str(tmp_path))


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_flagship_report_is_reproducible(tmp_path: Path) -> None:
    """Two runs with the same parameters: the same plans and the same sections."""
    small = {
        "pool_requests": 60, "parallel_runs": 1, "cache_samples": 2, "sessions": 10,
        "render_seconds": 0,  # the rendering section renders 6 times: its own tests cover it
        "llm_runs": 0,  # real model calls: tests/llm/test_measured.py covers that section
    }  # fmt: skip
    first = run_report("performance", small, out_dir=tmp_path / "a")
    second = run_report("performance", small, out_dir=tmp_path / "b")
    prov = [json.loads(r.provenance.read_text()) for r in (first, second)]
    assert prov[0]["sections"] == prov[1]["sections"]
    assert len(prov[0]["sections"]) >= 9
    assert prov[0]["parameters"] == prov[1]["parameters"]
    assert prov[0]["parameters"]["pool_requests"] == 60

    def plans(report: Report) -> object:
        return json.loads((report.folder / "results" / "plans.json").read_text())

    assert plans(first) == plans(second)
    executed = nbformat.read(first.notebook, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert first.html.stat().st_size > 10_000
    text = check_page(first.html.read_text(), str(tmp_path), "shared/seeds", "the issue")
    # The summary opens the page: the grade and the verdicts come before the first section.
    grade = text.index("Grade ")
    assert grade < text.index("1. Connection pooling") < text.index("Compliance summary")
    assert "req/s" in text[grade:] and " met " in text[grade:] and "commit " in text[grade:]
    assert "CPUs" in text[grade : text.index("1. Connection pooling")]
    measurements = json.loads((first.folder / "results" / "measurements.json").read_text())
    assert {m["section"] for m in measurements} >= {
        "Connection Pooling", "Parallel Execution", "Caching", "Async Execution",
        "Session Isolation", "Event Architecture", "Observability",
    }  # fmt: skip
