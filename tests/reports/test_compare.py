"""``vgkit report compare``: a regression planted in a copy of a report is flagged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from vgkit.cli import main
from vgkit.errors import ReportError
from vgkit.reports import compare_reports, example_report

POOLED = "requests/s, pooled vs a new connection per request (c=10)"
LAG = "p99 event-loop lag during a 3-platform run"


def _copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(example_report("performance"), folder)
    return folder


def _edit(folder: Path, metric: str, **changes: Any) -> None:
    path = folder / "results" / "measurements.json"
    rows = json.loads(path.read_text())
    (row,) = [r for r in rows if r["metric"] == metric]
    row.update({k: v(row[k]) if callable(v) else v for k, v in changes.items()})
    path.write_text(json.dumps(rows))


def test_the_example_report_is_the_default_baseline_and_compares_equal(tmp_path: Path) -> None:
    same = compare_reports(None, _copy(tmp_path, "same"))
    assert same.ok and same.regressions.empty
    assert set(same.frame["status"]) <= {"same"}
    assert len(same.frame) >= 20  # every measurement, and the grade
    assert "no regression" in same.text()


def test_a_planted_regression_is_flagged(tmp_path: Path) -> None:
    slower = _copy(tmp_path, "slower")
    # Half the pooled throughput, three times the event-loop lag, one claim lost.
    _edit(slower, POOLED, measured=lambda v: v / 2)
    _edit(slower, LAG, measured=lambda v: v * 3)
    _edit(slower, "true TCP reuse rate after warm-up", measured=0.5, met=False)
    # Noise inside the tolerance is not a regression; a faster row is an improvement.
    _edit(slower, "wall time of 30 concurrent runs", measured=lambda v: v * 1.05)
    _edit(slower, "median wait of high-priority jobs", measured=lambda v: v / 2)
    comparison = compare_reports(example_report(), slower)
    flagged = dict(zip(comparison.regressions["metric"], comparison.regressions["status"],
                       strict=True))  # fmt: skip
    assert flagged == {
        POOLED: "regressed",
        LAG: "regressed",
        "true TCP reuse rate after warm-up": "claim no longer met",
    }
    status = dict(zip(comparison.frame["metric"], comparison.frame["status"], strict=True))
    assert status["wall time of 30 concurrent runs"] == "within spread"
    assert status["median wait of high-priority jobs"] == "improved"
    row = comparison.frame.set_index("metric").loc[POOLED]
    assert row["change"] == pytest.approx(-0.5) and row["change_text"] == "-50%"
    assert not comparison.ok
    assert "3 of" in comparison.text() and POOLED[:40] in comparison.text()
    assert "regressed" in comparison._repr_html_()


def test_a_row_with_a_wide_spread_tolerates_more(tmp_path: Path) -> None:
    noisy = _copy(tmp_path, "noisy")
    _edit(noisy, POOLED, measured=lambda v: v * 0.7, spread=0.4)
    status = compare_reports(example_report(), noisy).frame.set_index("metric")["status"]
    assert status[POOLED] == "within spread"


def test_several_baselines_widen_the_tolerance(tmp_path: Path) -> None:
    runs = [_copy(tmp_path, f"run{i}") for i in range(3)]
    for run, factor in zip(runs, (0.8, 1.0, 1.25), strict=True):
        _edit(run, LAG, measured=lambda v, f=factor: v * f)
    candidate = _copy(tmp_path, "candidate")
    _edit(candidate, LAG, measured=lambda v: v * 1.2)
    comparison = compare_reports(runs, candidate)
    row = comparison.frame.set_index("metric").loc[LAG]
    assert row["status"] == "within spread" and row["tolerance"] >= 0.2


def test_cli_exit_status_follows_the_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = _copy(tmp_path, "same")
    assert main(["report", "compare", str(same)]) == 0
    assert "no regression" in capsys.readouterr().out
    slower = _copy(tmp_path, "slower")
    _edit(slower, POOLED, measured=lambda v: v / 3)
    out_json = tmp_path / "cmp.json"
    assert main(["report", "compare", str(example_report()), str(slower), "--json",
                 str(out_json)]) == 1  # fmt: skip
    out = capsys.readouterr().out
    assert "regressed" in out and "1 of" in out
    rows = json.loads(out_json.read_text())
    assert any(r["status"] == "regressed" and r["metric"] == POOLED for r in rows)


def test_bad_folders_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ReportError, match="no report folder at"):
        compare_reports(example_report(), tmp_path / "missing")
    assert main(["report", "compare", str(tmp_path), str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_notebook_compares_its_measurements_frame(tmp_path: Path) -> None:
    rows = json.loads((example_report() / "results" / "measurements.json").read_text())
    frame = pd.DataFrame(rows)
    frame.loc[frame["metric"] == POOLED, "measured"] /= 4
    comparison = compare_reports(example_report(), frame)
    assert list(comparison.regressions["metric"]) == [POOLED]
    assert "grade" not in set(comparison.frame["section"])  # measurements only
