"""The vgkit command: outputs on disk, one-line errors with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vgkit.cli import main

TOPIC = "How solar panels turn sunlight into electricity"


def test_generate_writes_json_markdown_and_srt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["generate", TOPIC, "-p", "tiktok", "-p", "youtube", "--seed", "3", "--out", str(tmp_path)]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "makespan" in out and "critical path" in out and "tiktok" in out and "youtube" in out
    for platform in ("tiktok", "youtube"):
        plan = json.loads((tmp_path / f"{platform}.json").read_text())
        assert plan["platform"] == platform and plan["quality"]["passed"] is True
        md = (tmp_path / f"{platform}.md").read_text()
        assert md.startswith("# ") and "## Storyboard" in md
        srt = (tmp_path / f"{platform}.srt").read_text()
        assert srt.startswith("1\n00:00:00,000 --> ")
    assert not (tmp_path / "instagram_reels.json").exists()
    assert "node" in (tmp_path / "timings.csv").read_text().splitlines()[0]


def test_plan_prints_levels_and_critical_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "graph.png"
    assert main(["plan", TOPIC, "--draw", str(image)]) == 0
    out = capsys.readouterr().out
    assert "level 0" in out and "level 6" in out and "critical path" in out
    assert image.stat().st_size > 1000


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["generate", ""], "topic is empty"),
        (["generate", "x" * 10_240], "the limit is 500"),
        (["generate", "t", "-p", "myspace"], "unknown platform 'myspace'"),
        (["generate", "t", "-p", "tiktok", "-p", "tiktok"], "listed twice"),
        (["generate", "t", "--duration", "45"], "outside YouTube's bounds"),
        (["generate", "t", "--style", "noir"], "unknown style 'noir'"),
        (["generate", "t", "--executor", "fast"], "unknown executor 'fast'"),
        (["generate", "t", "--cost", "cheap"], "unknown cost profile 'cheap'"),
        (["generate", "t", "--seed", "abc"], "invalid int value"),
        (["generate"], "required: topic"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("vgkit: error: ") and fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_console_script_exit_status_and_no_traceback() -> None:
    exe = Path(sys.executable).with_name("vgkit")
    proc = subprocess.run(
        [str(exe), "generate", "t", "-p", "tiktok", "--duration", "100"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "vgkit: error: invalid request: duration 100 s is outside TikTok's bounds (15-60 s)"
    )
    assert proc.stdout == ""
