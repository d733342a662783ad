"""``vgkit render`` and ``vgkit generate --render`` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.video.conftest import decode, plan_for, truncate
from vgkit.cli import main

pytestmark = pytest.mark.timeout(300)


def test_render_a_directory_of_plans(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for platform in ("tiktok", "instagram_reels"):
        plan = truncate(plan_for(platform), 3.0)
        (tmp_path / f"{platform}.json").write_text(plan.to_json())
    (tmp_path / "timings.json").write_text("{}")  # not a plan: skipped
    code = main(["render", str(tmp_path), "--preview", "--no-voice", "--jobs", "2"])
    out = capsys.readouterr().out
    assert code == 0
    for platform in ("tiktok", "instagram_reels"):
        video = tmp_path / f"{platform}.mp4"
        assert f"open {video}" in out
        assert len(decode(video, keep_frames=False).frame_times) == 90
        assert (tmp_path / f"{platform}.srt").exists()
    code = main(["render", str(tmp_path), "-o", str(tmp_path / "one.mp4")])
    assert code == 2 and "cannot share the file" in capsys.readouterr().err


def test_generate_with_render_replaces_the_estimated_srt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    code = main(
        [
            "generate",
            "Sourdough for beginners",
            "-p",
            "tiktok",
            "--duration",
            "15",
            "--out",
            str(out),
            "--render",
            "--preview",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "video 540x960 · 450 frames" in text and f"open {out / 'tiktok.mp4'}" in text
    assert "-> mux:tiktok)" in text  # the render nodes are in the run's critical path
    srt = (out / "tiktok.srt").read_text()
    # The plan's estimated captions start at 0,000; the spoken ones after the voice's lead-in.
    assert srt.startswith("1\n00:00:00,040 --> ")
    assert (out / "tiktok.poster.png").exists() and (out / "tiktok.contact.png").exists()


def test_list_voices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--list-voices"]) == 0
    out = capsys.readouterr().out
    assert "en-us" in out and "English (America)" in out and len(out.splitlines()) > 50
