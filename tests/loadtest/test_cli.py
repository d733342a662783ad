"""``vgkit loadtest``: bounded runs, summaries, output files, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from vgkit.cli import main


def test_loadtest_prints_percentiles_and_writes_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    code = main(
        [
            "loadtest", "--target", "noop", "-o", "delay=0.001", "--rate", "200",
            "--arrivals", "constant", "-n", "40", "-d", "5", "--seed", "3",
            "--mix", "tiktok=1", "--json", str(out_json), "--csv", str(out_csv),
        ]
    )  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "target noop · open loop · rate 200/s, constant arrivals" in text
    assert "scheduled 40 · sent 40 · ok 40 · errors 0" in text
    assert "corrected" in text and "uncorrected" in text
    data = json.loads(out_json.read_text())
    assert data["summary"]["ok"] == 40
    assert data["summary"]["workload"]["platform_mix"] == {"tiktok": 1.0}
    frame = pd.read_csv(out_csv)
    assert len(frame) == 40 and set(frame["platform"]) == {"tiktok"}


def test_closed_loop_on_the_orchestrator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["loadtest", "--mode", "closed", "--users", "2", "-n", "6", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "target orchestrator · closed loop · users 2" in out
    assert "ok 6" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target", "warp"], "unknown target 'warp'"),
        (["--target", "http", "--url", "http://192.168.1.1/x"], "only target this machine"),
        (["--rate", "lots"], "cannot read rate 'lots'"),
        (["-o", "oops"], "key=value"),
        (["--mix", "tiktok=x"], "platform mix"),
        (["-n", "0"], "max_requests must be at least 1"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["loadtest", "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_agent_target_starts_vgkit_serve_for_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["loadtest", "--target", "agent", "-o", "loop=asyncio", "--rate", "200", "-n", "30",
            "-d", "10", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "target agent topic_analysis · open loop" in out
    assert "scheduled 30 · sent 30 · ok 30 · errors 0" in out


def test_cache_target_reports_hits_and_misses(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["loadtest", "--target", "cache", "--mode", "closed", "--users", "1", "-n", "50",
            "--zipf", "1.5", "--seed", "2", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ok 50 · errors 0" in out
    line = next(x for x in out.splitlines() if x.startswith("cache: "))
    hits, misses = int(line.split()[1]), int(line.split()[4])
    assert hits + misses == 50 and hits > 10


def test_serve_target_runs_from_a_folder_that_holds_a_decoy_vgkit(tmp_path: Path) -> None:
    """The child ``vgkit serve`` (and its workers) import the installed vgkit, never ./vgkit.

    Started with ``python -c`` (or ``-m``), a child puts its working directory
    first on sys.path, so a folder with a ``vgkit/`` directory (a checkout, a
    notebook folder) used to shadow the package and fail the run.
    """
    decoy = tmp_path / "vgkit"
    decoy.mkdir()
    (decoy / "__init__.py").write_text('raise ImportError("imported the decoy vgkit")\n')
    argv = ["loadtest", "--target", "serve", "-o", "workers=2", "-o", "loop=asyncio",
            "--rate", "50", "-n", "6", "-d", "30", "--no-progress"]  # fmt: skip
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("vgkit")), *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "decoy" not in proc.stderr
    assert "scheduled 6 · sent 6 · ok 6 · errors 0" in proc.stdout
