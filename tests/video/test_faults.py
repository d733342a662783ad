"""Bad input and faults: one-line errors before the work, nothing left behind, no lost shot."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.video.conftest import Rendered, decode, plan_for, truncate
from vgkit.cli import main
from vgkit.errors import AssetError, InvalidRequestError, RenderError, VoiceError
from vgkit.models import VideoPlan
from vgkit.video import arender, render

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def short_plan() -> VideoPlan:
    return truncate(plan_for("tiktok", 15), 4.0)


@pytest.fixture
def plan_file(short_plan: VideoPlan, tmp_path: Path) -> Path:
    path = tmp_path / "tiktok.json"
    path.write_text(short_plan.to_json())
    return path


def _workers_of(pid: int) -> list[int]:
    """Live render workers whose parent (or session leader) is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid, sid, state = int(stat[1]), int(stat[3]), stat[0]
        if b"vgkit.video.worker" in cmdline and pid in (ppid, sid) and state != "Z":
            found.append(int(entry.name))
    return found


def _leftovers(directory: Path) -> list[str]:
    return sorted(
        p.name for p in directory.rglob("*") if ".part" in p.name or p.name.startswith(".vgkit")
    )


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("not json at all", "is not a valid vgkit plan"),
        ('{"plan_id": "x"}', "is not a valid vgkit plan"),
        (None, "does not exist"),
    ],
)
def test_a_bad_plan_file_is_one_line_and_exit_2(
    content: str | None, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    code, err = _run_cli(["render", str(path), "-o", str(tmp_path / "v.mp4")], capsys)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "v.mp4").exists()


def test_checks_come_before_any_work(plan_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(VoiceError, match="unknown voice 'no-such-voice'"):
        render(plan_file, tmp_path / "v.mp4", voice="no-such-voice", cache_dir=cache)
    music = tmp_path / "music.mp3"
    music.write_bytes(b"\x00" * 4096)
    with pytest.raises(AssetError, match="cannot read music file"):
        render(plan_file, tmp_path / "v.mp4", music=music, cache_dir=cache)
    with pytest.raises(AssetError, match="does not exist"):
        render(plan_file, tmp_path / "v.mp4", music=tmp_path / "nope.wav", cache_dir=cache)
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "solar.jpg").write_bytes(b"garbage")
    with pytest.raises(AssetError, match=r"cannot read asset .*solar\.jpg"):
        render(plan_file, tmp_path / "v.mp4", assets=assets, cache_dir=cache)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(RenderError, match="cannot write to"):
        render(plan_file, blocker / "sub" / "v.mp4", cache_dir=cache)
    with pytest.raises(RenderError, match="jobs must be a positive number"):
        render(plan_file, tmp_path / "v.mp4", jobs=0, cache_dir=cache)
    with pytest.raises(InvalidRequestError, match="cannot render a int"):
        render(42, tmp_path / "v.mp4")
    # None of it started a worker or wrote a clip.
    assert not list(cache.rglob("clip.mp4")) and not (tmp_path / "v.mp4").exists()


def test_cli_errors_for_options(
    plan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "v.mp4")
    code, err = _run_cli(["render", str(plan_file), "-o", out, "--voice", "xx-nope"], capsys)
    assert code == 2 and "unknown voice 'xx-nope'" in err
    code, err = _run_cli(
        ["render", str(plan_file), "-o", out, "--voice", "de", "--no-voice"], capsys
    )
    assert code == 2 and "contradict" in err
    code, err = _run_cli(["render", str(plan_file), "-o", out, "--jobs", "0"], capsys)
    assert code == 2 and "jobs must be a positive number" in err
    code, err = _run_cli(["generate", "Solar", "-p", "tiktok", "--render"], capsys)
    assert code == 2 and "--render needs --out" in err


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1) for a private tmpfs")
def test_a_full_disk_is_one_line_and_leaves_nothing(plan_file: Path, tmp_path: Path) -> None:
    """A 96 KiB tmpfs as the output directory, in a private mount namespace."""
    out_dir = tmp_path / "small"
    out_dir.mkdir()
    vgkit = Path(sys.executable).with_name("vgkit")
    script = (
        'mount -t tmpfs -o size=96k tmpfs "$1" || exit 77; '
        '"$2" render "$3" -o "$1/v.mp4" --preview --no-voice; code=$?; '
        'echo "left: $(ls -A "$1")"; exit $code'
    )
    env = {**os.environ, "VGKIT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(out_dir), str(vgkit), str(plan_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if proc.returncode == 77 or "unshare failed" in proc.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    assert proc.returncode == 2, proc.stderr
    err = [line for line in proc.stderr.splitlines() if line.strip()]
    assert err[-1].startswith("vgkit: error: no space left on the device"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert "left: \n" in proc.stdout or proc.stdout.rstrip().endswith("left:"), proc.stdout


async def test_cancelling_stops_the_workers_and_removes_temporary_files(
    short_plan: VideoPlan, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    task = asyncio.create_task(
        arender(short_plan, out / "v.mp4", preview=True, cache_dir=tmp_path / "cache", jobs=2)
    )
    deadline = time.monotonic() + 60
    while not _workers_of(os.getpid()) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    workers = _workers_of(os.getpid())
    assert workers
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _workers_of(os.getpid()) == []
    gone = [pid for pid in workers if pid not in _workers_of(os.getpid())]
    assert gone == workers
    assert not (out / "v.mp4").exists() and _leftovers(out) == []
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []


def _as_in_a_terminal() -> None:
    """A terminal's foreground job takes SIGINT. Run from a background job (``cmd &``
    in a script, ``nohup``), pytest and everything it starts would inherit SIGINT
    ignored, and vgkit rightly keeps ignoring it (the render then finished, exit 0)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_in_the_terminal_stops_the_render(plan_file: Path, tmp_path: Path) -> None:
    vgkit = Path(sys.executable).with_name("vgkit")
    out = tmp_path / "out"
    env = {**os.environ, "VGKIT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [str(vgkit), "render", str(plan_file), "-o", str(out / "v.mp4"), "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
        preexec_fn=_as_in_a_terminal,
    )
    try:
        deadline = time.monotonic() + 60
        while not _workers_of(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _workers_of(proc.pid), "no worker started"
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    assert _workers_of(proc.pid) == []
    assert not (out / "v.mp4").exists() and _leftovers(out) == []


def test_a_killed_worker_loses_no_shot(short_plan: VideoPlan, tmp_path: Path) -> None:
    """SIGKILL the only worker mid-render: its node runs again on a new worker."""

    async def go() -> None:
        task = asyncio.create_task(
            arender(
                short_plan, tmp_path / "v.mp4", preview=True, cache_dir=tmp_path / "cache", jobs=1
            )
        )
        deadline = time.monotonic() + 120
        clips = tmp_path / "cache"
        # Wait until the worker is into the shots (a clip has been stored), then kill it.
        while not await asyncio.to_thread(lambda: list(clips.rglob("clip.mp4"))):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        victims = _workers_of(os.getpid())
        assert len(victims) == 1
        os.kill(victims[0], signal.SIGKILL)
        result = await task
        assert result.path.exists()

    asyncio.run(go())
    clean = render(short_plan, tmp_path / "clean.mp4", preview=True, cache_dir=tmp_path / "c2")
    assert decode(tmp_path / "v.mp4").digest() == decode(clean.path).digest()


def test_a_corrupt_cached_clip_is_rendered_again(tiktok_render: Rendered, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(tiktok_render.cache_dir, cache, ignore=shutil.ignore_patterns("tmp"))
    assert tiktok_render.clips
    victim = cache / tiktok_render.clips[0]  # a clip this plan's render reads
    victim.write_bytes(victim.read_bytes()[:100])
    result = render(tiktok_render.plan, tmp_path / "v.mp4", preview=True, cache_dir=cache, jobs=2)
    assert len([n for n in result.rendered if n.startswith(("shot:", "transition:"))]) == 1
    assert decode(result.path).digest() == decode(tiktok_render.path).digest()
