"""Reports: papermill runs into a folder with HTML, results and provenance."""

# nbformat has no type hints.
# mypy: disable-error-code="no-untyped-call,no-any-return"

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import vgkit
from vgkit.cli import main
from vgkit.cli.report import parse_value
from vgkit.errors import ReportError
from vgkit.reports import (
    kernel_name,
    notebook_path,
    portable_path,
    provenance,
    run_report,
    save_result,
)

ROOT = Path(__file__).resolve().parents[2]


def _notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    book = new_notebook(cells=list(cells))
    book.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return book


def _cell(source: str, *tags: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    """A notebooks folder with one small report notebook and one that fails."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    ok = _notebook(
        new_markdown_cell("# Tiny report\n\nIntro."),
        _cell("n = 3\nlabel = 'x'\nseed = 0\nreport_dir = None", "parameters"),
        _cell("import pandas as pd\nfrom vgkit.reports import save_result", "hide-input"),
        _cell("print('SECRET-CELL')", "remove-cell"),
        _cell("print('HIDDEN-SOURCE-MARK' * 0 + 'VISIBLE-OUTPUT')", "hide-input"),
        new_markdown_cell("## Results"),
        _cell(
            "frame = pd.DataFrame({'i': range(n), 'label': [label] * n, 'seed': seed})\n"
            "saved = save_result('table', frame, report_dir)\n"
            "saved += save_result('figures', {'n': n, 'label': label}, report_dir)\n"
            "print(len(saved))"
        ),
    )
    nbformat.write(ok, folder / "tiny.ipynb")
    bad = _notebook(_cell("report_dir = None", "parameters"), _cell("1 / 0"))
    nbformat.write(bad, folder / "broken.ipynb")
    return folder


def test_a_report_has_its_notebook_html_results_and_provenance(
    notebooks: Path, tmp_path: Path
) -> None:
    report = run_report(
        "tiny", {"n": 4, "label": "grid", "seed": 9}, tmp_path / "out", notebooks_dir=notebooks
    )
    assert report.folder.parent == tmp_path / "out"
    assert report.folder.name.startswith("tiny-")
    table = pd.read_csv(report.folder / "results" / "table.csv")
    assert list(table["i"]) == [0, 1, 2, 3] and set(table["label"]) == {"grid"}
    assert json.loads((report.folder / "results" / "figures.json").read_text()) == {
        "n": 4,
        "label": "grid",
    }
    assert {p.name for p in report.results} == {
        "table.csv", "table.json", "figures.csv", "figures.json",
    }  # fmt: skip

    html = report.html.read_text()
    assert "VISIBLE-OUTPUT" in html  # a hide-input cell keeps its output...
    assert "HIDDEN-SOURCE-MARK" not in html  # ...but not its source
    assert "SECRET-CELL" not in html  # a remove-cell cell is gone

    executed = nbformat.read(report.notebook, as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "n = 4" in injected[0].source and 'report_dir = "."' in injected[0].source

    prov = json.loads(report.provenance.read_text())
    assert prov["status"] == "ok" and prov["report"] == "tiny"
    assert prov["parameters"] == {"n": 4, "label": "grid", "seed": 9}
    assert prov["seeds"] == {"seed": 9}
    assert prov["sections"] == ["Tiny report", "Results"]
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert prov["git"] is None  # the tmp notebooks folder is not in a git work tree
    assert provenance({}, folder=ROOT)["git"]["commit"] == head
    assert prov["packages"]["vgkit"] == vgkit.__version__
    assert prov["packages"]["pandas"] == pd.__version__
    assert prov["python"]["executable"] == portable_path(sys.executable)
    assert not Path(prov["python"]["executable"]).is_absolute()  # .venv/bin/python, not /work/...
    assert prov["notebook"].endswith("tiny.ipynb")
    assert prov["machine"]["load_average"]["1m"] >= 0
    assert prov["machine"]["cpu_count"] >= 1
    assert prov["redis"] is None


def test_a_failing_cell_fails_the_report_but_keeps_the_evidence(
    notebooks: Path, tmp_path: Path
) -> None:
    with pytest.raises(
        ReportError, match=r"report broken failed: cell In \[3\] raised ZeroDivisionError"
    ):
        run_report("broken", out_dir=tmp_path / "out", notebooks_dir=notebooks)
    (folder,) = (tmp_path / "out").iterdir()
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["status"] == "failed" and "ZeroDivisionError" in prov["error"]
    assert (folder / "broken.ipynb").exists() and (folder / "broken.html").exists()


def test_unknown_reports_and_parameters_are_clear_errors(notebooks: Path) -> None:
    with pytest.raises(
        ReportError, match="no report named 'nope'; available reports: broken, tiny"
    ):
        notebook_path("nope", notebooks)
    with pytest.raises(
        ReportError, match="report tiny has no parameter colour; it takes: n, label, seed"
    ):
        run_report("tiny", {"colour": "red"}, notebooks_dir=notebooks)
    with pytest.raises(ReportError, match="set by the report runner"):
        run_report("tiny", {"report_dir": "/tmp"}, notebooks_dir=notebooks)


def test_save_result_outside_a_report_saves_nothing(tmp_path: Path) -> None:
    assert save_result("x", {"a": 1}, None) == []
    with pytest.raises(ReportError, match="result names"):
        save_result("../escape", {"a": 1}, tmp_path)
    nested = save_result("nested", {"a": [1, 2], "b": {"c": None}}, tmp_path)
    assert [p.name for p in nested] == ["nested.json"]  # not flat: no CSV


@pytest.mark.redis
def test_provenance_records_the_redis_version(redis_url: str) -> None:
    record = provenance({"redis_url": redis_url})
    assert record["redis"]["url"] == redis_url
    assert record["redis"]["version"].count(".") >= 1
    down = provenance({"redis_url": "redis://127.0.0.1:1/0"})
    assert down["redis"]["version"] is None and down["redis"]["error"]


def test_the_kernel_runs_this_python() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(kernel_name())
    assert spec.argv[0] in {"python", "python3", sys.executable}


def test_cli_values_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_value("3") == 3
    assert parse_value("0.5") == 0.5
    assert parse_value("[10, 20]") == [10, 20]
    assert parse_value("true") is True and parse_value("None") is None
    assert parse_value("How solar panels work") == "How solar panels work"
    assert parse_value("42", "str") == "42"
    assert parse_value("3", "float") == 3
    with pytest.raises(ReportError, match="parameter rate takes a number"):
        parse_value("fast", "float", "rate")
    assert main(["report", "no-such-report"]) == 2
    err = capsys.readouterr().err
    assert "no report named 'no-such-report'; available reports:" in err
    assert "load-test" in err and "generation-experiments" in err


def test_cli_lists_reports_with_their_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--list"]) == 0
    out = capsys.readouterr().out
    assert "load-test:" in out and "  rate = 40.0" in out
    assert "report_dir" not in out


def test_cli_runs_a_report(
    notebooks: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VGKIT_NOTEBOOKS_DIR", str(notebooks))
    monkeypatch.chdir(tmp_path)
    code = main(["report", "tiny", "-p", "n", "2", "-p", "label", "7", "--out", "r"])
    assert code == 0
    out = capsys.readouterr().out
    (folder,) = (tmp_path / "r").iterdir()
    # Every file the report wrote, relative to the folder, the folder relative to here.
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert out.splitlines()[0] == f"report tiny -> r/{folder.name}/ ({len(files)} files)"
    assert sorted(line.strip() for line in out.splitlines()[1:]) == files
    assert {"tiny.html", "tiny.ipynb", "provenance.json", "results/table.csv"} <= set(files)
    table = pd.read_csv(folder / "results" / "table.csv", dtype={"label": str})
    assert list(table["label"]) == ["7", "7"]  # a text parameter stays text


def test_the_page_hides_code_unless_asked_and_names_no_absolute_path(
    notebooks: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    hidden = run_report("tiny", {"n": 2}, tmp_path / "out", notebooks_dir=notebooks)
    page = hidden.html.read_text()
    assert "VISIBLE-OUTPUT" in page
    assert "save_result" not in page and "In&nbsp;[" not in page  # no code, no prompts
    assert str(tmp_path) not in page and "report_dir" not in page
    assert 'id="vgkit-report"' in page  # the stylesheet: tables scroll and wrap
    # The kernel talks over IPC sockets: no "running over TCP without encryption" warning.
    assert "without encryption" not in capfd.readouterr().err

    shown = run_report("tiny", {"n": 2}, tmp_path / "out", notebooks_dir=notebooks, show_code=True)
    page = shown.html.read_text()
    assert "save_result" in page and "VISIBLE-OUTPUT" in page
    assert "HIDDEN-SOURCE-MARK" not in page  # a hide-input tag still hides its cell's code
    assert "report_dir" in page and str(tmp_path) not in page
    assert json.loads(shown.provenance.read_text())["show_code"] is True


def test_stderr_stays_in_the_notebook_and_out_of_the_page(tmp_path: Path) -> None:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    book = _notebook(
        _cell("report_dir = None", "parameters"),
        _cell("import sys\nprint('TO-STDERR', file=sys.stderr)\nprint('TO-STDOUT')"),
    )
    nbformat.write(book, folder / "noisy.ipynb")
    report = run_report("noisy", out_dir=tmp_path / "out", notebooks_dir=folder)
    page = report.html.read_text()
    assert "TO-STDOUT" in page and "TO-STDERR" not in page
    assert "TO-STDERR" in report.notebook.read_text()


def test_report_summary_lists_every_file(notebooks: Path, tmp_path: Path) -> None:
    report = run_report("tiny", out_dir=tmp_path / "out", notebooks_dir=notebooks)
    listed = report.summary().splitlines()[1:]
    assert listed[:2] == ["  tiny.html", "  tiny.ipynb"] and listed[-1] == "  provenance.json"
    on_disk = {p.relative_to(report.folder).as_posix() for p in report.folder.rglob("*")
               if p.is_file()}  # fmt: skip
    assert {line.strip() for line in listed} == on_disk
