"""``vgkit cache tune`` and ``vgkit cache trace``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vgkit.cache import CachePolicy
from vgkit.cli import main
from vgkit.tuning import Trace, load_trace


@pytest.fixture
def trace_file(small_trace: Trace, tmp_path: Path) -> Path:
    return small_trace.save(tmp_path / "small.jsonl")


def test_tune_prints_the_comparison_and_writes_json_and_a_policy(
    trace_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, policy = tmp_path / "out.json", tmp_path / "policy.json"
    argv = [
        "cache",
        "tune",
        "--trace",
        str(trace_file),
        "--budget",
        "2MiB",
        "--passes",
        "1",
        "--mode",
        "real",
        "--limit",
        "20",
        "--json",
        str(out),
        "--write-policy",
        str(policy),
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "L1 budget 2.0 MiB" in text and "gain on held out:" in text
    assert "validation: the first 20 requests" in text
    assert "vgkit cache trace --record" in text  # how to record your own
    rows = [line.split() for line in text.splitlines() if line.startswith("original ")]
    assert [r[1] for r in rows] == ["fit", "held", "sim", "real"]
    doc = json.loads(out.read_text())
    assert doc["budget"] == 2 << 20 and doc["recommended"]["l1_size"] <= 2 << 20
    assert [v["mode"] for v in doc["validation"]] == ["sim", "real"] * 3
    sim, real = doc["validation"][:2]
    assert sim["hit_ratio"] == real["hit_ratio"]
    loaded = CachePolicy.from_file(policy)
    assert loaded.ttl("request") == doc["recommended"]["ttl"]["request"]["*"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--trace", "missing.jsonl"], "cannot read the trace missing.jsonl"),
        (["--budget", "lots"], "'lots' is not a size"),
        (["--budget", "0"], "a size must be positive"),
        (["--mode", "guess"], "invalid choice: 'guess'"),
        (["--fit-fraction", "2"], "fit_fraction must be between 0 and 1"),
    ],
)
def test_tune_errors_are_one_line_and_status_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cache", "tune", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_trace_generates_and_describes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "day.jsonl"
    assert main(["cache", "trace", "--generate", str(path), "--days", "1", "--seed", "5"]) == 0
    assert f"to {path}" in capsys.readouterr().out
    assert main(["cache", "trace", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["requests"] == len(load_trace(path)) and info["days"] > 0.9


def test_trace_records_what_a_vgkit_command_asks_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rec.jsonl"
    for style in ("educational", "viral"):
        argv = [
            "cache",
            "trace",
            "--record",
            str(path),
            "--",
            "generate",
            "How tides work",
            "-p",
            "tiktok",
            "--style",
            style,
        ]
        assert main(argv) == 0
    assert "recorded 1 requests" in capsys.readouterr().err
    trace = load_trace(path)
    assert [r.request.style.value for r in trace] == ["educational", "viral"]
    assert main(["cache", "trace", "--record", str(path)]) == 2
    assert "give the vgkit command to record after --" in capsys.readouterr().err


def test_tune_takes_a_stale_budget_and_plots_the_front(
    trace_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png, out = tmp_path / "front.png", tmp_path / "tune.json"
    argv = ["cache", "tune", "--trace", str(trace_file), "--passes", "1"]
    argv += ["--stale-budget", "1%", "--news-age", "1800", "--release-every", "none"]
    argv += ["--plot", str(png), "--json", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "held out at a 1.0% stale budget (weight 1)" in text and "stale requests" in text
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    doc = json.loads(out.read_text())
    assert doc["stale_budget"] == 0.01 and doc["front"][0]["move"] == "unconstrained"
    assert doc["held_out_at_budget"][0]["stale_budget"] == 0.01
    assert doc["fit"]["recommended"]["stale_fraction"] <= 0.01
    for bad in (["--stale-budget", "150%"], ["--release-every", "soon"]):
        assert main(["cache", "tune", "--trace", str(trace_file), *bad]) == 2
        assert "Traceback" not in capsys.readouterr().err
