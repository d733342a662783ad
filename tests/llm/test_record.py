"""``vgkit llm record``: bad input is one line before any model starts, and a real recording
writes a profile that ``CostProfile.load`` and ``vgkit generate --cost measured:FILE`` take.

Bounded: one short topic, TikTok, the model writes the hook only, 48 tokens an answer,
against the session's model (``local_model``), which ``--model URL`` checks, not restarts.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from tests.conftest import LocalModel, free_port
from vgkit.agents.cost import MEASURED_PREFIX, CostProfile
from vgkit.cli import main

TOPIC = "Why cats purr"


def _one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and err.startswith("vgkit: error: "), err
    assert "Traceback" not in err and captured.out == ""
    return err


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--topics", "0"], "--topics must be at least 1, not 0"),
        (["--out", "/proc/nope/costs.json"], "the folder /proc/nope does not exist"),
        (["--out", "{tmp}"], "that is a folder; name a file in it"),
        (["-p", "myspace"], "unknown platform 'myspace'"),
        (["--topic", ""], "topic is empty"),
        (["--seed", "-1"], "seed: Input should be greater than or equal to 0"),
        # Every case above names a URL nothing answers on: its error shows each was
        # caught before the model was asked. This one is the URL itself.
        ([], "no OpenAI-compatible endpoint answers at http://127.0.0.1:"),
    ],
)
def test_bad_input_is_one_line_before_any_model_and_writes_nothing(
    options: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    out = tmp_path / "costs.json"
    argv = ["llm", "record", "--model", url, "--topic", TOPIC, "--out", str(out)]
    argv += [o.format(tmp=tmp_path) for o in options]
    began = time.monotonic()
    assert fragment in _one_line(capsys, argv)
    assert time.monotonic() - began < 10  # nothing was generated first
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--llm-agents", "nobody"], "the model cannot write nobody"),
        (["--llm-max-tokens", "0"], "max_tokens must be at least 16, not 0"),
    ],
)
def test_bad_model_options_are_one_line_and_write_nothing(
    options: list[str],
    fragment: str,
    local_model: LocalModel,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["llm", "record", "--model", local_model.url, "--topic", TOPIC]
    argv += ["--out", str(tmp_path / "costs.json"), *options]
    assert fragment in _one_line(capsys, argv)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.timeout(600)
def test_a_recording_is_read_back_and_replayed_by_generate(
    local_model: LocalModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "costs.json"
    argv = ["llm", "record", "--model", local_model.url, "--topic", TOPIC, "-p", "tiktok"]
    argv += ["--llm-agents", "hook_creator", "--llm-max-tokens", "48", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}: replay it with --cost {MEASURED_PREFIX}{out}" in printed
    rows = {line.split()[0]: line.split()[1:] for line in printed.splitlines()[1:-1]}
    assert rows["hook_creator"][0] == "1"  # calls

    profile = CostProfile.load(out)
    hook = profile.samples["hook_creator"]
    assert len(hook) == 1 and hook[0] > 0.05  # a real completion
    assert max(profile.samples["timing_coordinator"]) < 0.05  # computed: no model call
    assert profile.source["model"] == local_model.model
    assert profile.source["base_url"] == local_model.url
    assert profile.source["max_tokens"] == 48 and profile.source["model_agents"] == ["hook_creator"]
    assert float(rows["hook_creator"][1]) == pytest.approx(hook[0], abs=1e-3)  # mean s

    plans = tmp_path / "plans"
    replay = ["generate", TOPIC, "-p", "tiktok", "--cost", f"{MEASURED_PREFIX}{out}"]
    assert main([*replay, "--time-scale", "0.5", "--out", str(plans)]) == 0
    capsys.readouterr()
    assert (plans / "tiktok.json").stat().st_size > 1000
    with (plans / "timings.csv").open() as f:
        timings = {row["node"]: row for row in csv.DictReader(f)}
    # The hook node waited the recorded seconds, scaled.
    assert float(timings["hooks:tiktok"]["duration"]) >= 0.5 * hook[0] * 0.9
