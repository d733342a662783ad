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
        assert plan["platform"] == platform
        checks = ("coherence", "engagement", "feasibility", "platform_compliance")
        quality = plan["quality"]  # may fail: some of the library's writers are worse
        assert quality["passed"] is all(quality[c]["passed"] for c in checks)
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


# -- papercuts: outputs checked first, closed pipes, warnings a user needs ---------------


def test_an_unwritable_out_folder_fails_before_generating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", TOPIC, "-p", "tiktok", "--out", "/proc/nope"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "vgkit: error: --out /proc/nope: cannot create the folder (No such file or directory); "
        "choose a folder you can write to\n"
    )
    assert captured.out == ""  # nothing was generated first
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["generate", TOPIC, "-p", "tiktok", "--out", str(blocker)]) == 2
    assert "a file is in the way" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("/nonexistent/dir/g.png", "the folder /nonexistent/dir does not exist"),
        ("{tmp}/g.xyz", "unknown file type '.xyz'; use one of"),
        ("{tmp}", "that is a folder"),
    ],
)
def test_plan_draw_to_a_bad_place_is_one_line(
    target: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["plan", TOPIC, "-p", "tiktok", "--draw", target.format(tmp=tmp_path)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and fragment in captured.err


def _closed_pipe_run(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """Run ``vgkit ARGV`` with stdout on a pipe whose reader has already gone (`| head`)."""
    exe = Path(sys.executable).with_name("vgkit")
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([str(exe), *argv], stdout=write, stderr=subprocess.PIPE,
                              timeout=timeout)  # fmt: skip
    finally:
        os.close(write)


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", TOPIC, "-p", "tiktok"],
        ["plan", TOPIC],
        ["cache", "stats"],
        ["report", "--list"],
        ["loadtest", "--target", "noop", "-n", "20", "--no-progress"],
        ["--help"],
        ["--version"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_a_reader_that_goes_away_stops_the_command_quietly(argv: list[str]) -> None:
    done = _closed_pipe_run(*argv)
    assert done.stderr == b"", done.stderr.decode()  # no BrokenPipeError traceback
    # 141: what a shell reports for a writer killed by SIGPIPE; argparse's own --help and
    # --version end the process before anything reaches the pipe.
    assert done.returncode == (0 if argv[0].startswith("--") else 141)


@pytest.mark.redis
def test_queue_commands_stop_quietly_on_a_closed_pipe(redis_url: str, key_prefix: str) -> None:
    where = ["--redis", redis_url, "--key-prefix", key_prefix]
    for argv in (["submit", "How tides work", *where], ["jobs", *where], ["dlq", "list", *where]):
        done = _closed_pipe_run(*argv)
        assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr, argv
        assert done.returncode in (0, 141), (argv, done.stderr)


def test_an_unreachable_shared_tier_is_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    assert main(["generate", TOPIC, "-p", "tiktok", "--redis", url, "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        f"vgkit: warning: the shared cache tier at {url} is unreachable (connection refused); "
        "this run uses the local tier only\n"
    )
    assert "cache: 0 hits, 10 misses" in captured.out  # the local tier took the run
    assert (tmp_path / "tiktok.json").exists()


def test_tone_and_audience_say_what_they_do(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--tone TONE the voice of the script and captions" in text
    assert "--audience AUDIENCE who the video is for" in text


def test_out_says_where_the_plans_are_and_a_cached_run_writes_no_zero_timings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    argv = ["generate", TOPIC, "-p", "tiktok", "-p", "youtube", "--out", str(tmp_path)]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert f"wrote 7 files to {tmp_path}/:" in first
    assert "tiktok.json  tiktok.md  tiktok.srt" in first and "timings.csv" in first
    computed = pd.read_csv(tmp_path / "timings.csv")
    assert (computed["status"] == "ok").all() and computed["duration"].sum() > 0

    assert main(argv) == 0  # answered whole from the local cache
    second = capsys.readouterr().out
    assert "served whole from the cache: no agent ran" in second
    cached = pd.read_csv(tmp_path / "timings.csv")
    assert (cached["status"] == "cached").all() and cached["duration"].isna().all()
    assert sorted(cached["node"]) == sorted(computed["node"])


def test_generate_writes_the_trace_of_a_remote_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    from vgkit.serve import ServeProcess

    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with ServeProcess(loop="asyncio") as serve:
        agents = tmp_path / "agents.json"
        table = {k: v for k, v in serve.endpoints().items() if k != "orchestrator"}
        agents.write_text(json.dumps(table))
        argv = ["generate", TOPIC, "-p", "tiktok", "--agents", str(agents), "--no-cache"]
        argv += ["--trace", str(tmp_path / "t.csv"), "--trace", str(tmp_path / "t.png")]
        assert main([*argv, "--traceparent", parent]) == 0
        child = serve.pid
    out = capsys.readouterr().out
    assert (
        f"trace 4bf92f3577b34da6a3ce929d0e0e4736: 31 spans (1 host, 2 processes) -> {tmp_path}"
        in out
    )
    frame = pd.read_csv(tmp_path / "t.csv")
    assert set(frame["trace_id"]) == {"4bf92f3577b34da6a3ce929d0e0e4736"}
    assert set(frame["pid"]) == {os.getpid(), child}
    assert frame.loc[frame["kind"] == "run", "parent_id"].tolist() == ["00f067aa0ba902b7"]
    assert (tmp_path / "t.png").stat().st_size > 10_000
    assert main(["generate", TOPIC, "--trace", str(tmp_path / "t.txt")]) == 2
    assert "unknown file type '.txt'" in capsys.readouterr().err
