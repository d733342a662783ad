"""Rendering across processes and machines: clips shared through Redis, shots as queue jobs.

Real Redis (a private key prefix per test), real ``vgkit worker`` processes, and
every result decoded with PyAV and compared frame for frame with a render made
in this process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import redis
from PIL import Image

from tests.queue.conftest import until
from tests.video.conftest import decode, plan_for, truncate
from vgkit.cli import main
from vgkit.errors import RenderError
from vgkit.models import VideoPlan
from vgkit.queue import JobStatus, QueueConfig, RedisJobQueue, Task
from vgkit.video import RenderConfig, render
from vgkit.video.cache import ClipCache
from vgkit.video.distributed import CLIP_TASK, render_queue, submit_render
from vgkit.video.shared import CorruptBundle, SharedClips, pack, unpack

pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]

FAST = QueueConfig(visibility_timeout=1.0, backoff=0.02, backoff_max=0.1, poll_interval=0.1)


@pytest.fixture(scope="module")
def short_plan() -> VideoPlan:
    """Four seconds of the TikTok plan: three shots and a transition at preview size."""
    return truncate(plan_for("tiktok", 15), 4.0)


@pytest.fixture(scope="module")
def reference(short_plan: VideoPlan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plan rendered in this process, alone: what every other render must equal."""
    base = tmp_path_factory.mktemp("reference")
    return render(short_plan, base / "v.mp4", preview=True, cache_dir=base / "cache", jobs=2).path


def _clip_nodes(nodes: tuple[str, ...] | list[str]) -> list[str]:
    return sorted(n for n in nodes if n.startswith(("shot:", "transition:")))


def test_a_second_cache_directory_over_the_same_redis_reuses_the_clips(
    short_plan: VideoPlan, reference: Path, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    shared = {"preview": True, "redis_url": redis_url, "key_prefix": key_prefix, "jobs": 2}
    first = render(short_plan, tmp_path / "a.mp4", cache_dir=tmp_path / "cache-a", **shared)
    assert _clip_nodes(first.rendered) and not _clip_nodes(first.cache_hits)
    raw = redis.Redis.from_url(redis_url)
    try:
        keys = list(raw.scan_iter(match=f"{key_prefix}v1:clip:*"))
        # Every clip, every speech segment and the soundtrack, one bundle each.
        assert len(keys) >= len(_clip_nodes(first.rendered)) + len(short_plan.script.segments)
    finally:
        raw.close()
    second = render(short_plan, tmp_path / "b.mp4", cache_dir=tmp_path / "cache-b", **shared)
    assert _clip_nodes(second.rendered) == []
    assert _clip_nodes(second.cache_hits) == _clip_nodes(first.rendered)
    assert "narration:tiktok" in second.cache_hits  # the speech came from Redis too
    assert list((tmp_path / "cache-b").rglob("clip.mp4"))  # written into the second directory
    assert decode(second.path).digest() == decode(first.path).digest() == decode(reference).digest()


def test_a_corrupt_shared_bundle_is_a_miss_and_rendered_again(
    short_plan: VideoPlan, reference: Path, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    """Redis holds the reference's entries; one is corrupted: that one clip is rendered
    again (and stored again, whole), every other entry is reused."""
    cache = ClipCache(reference.parent / "cache")

    async def share_all() -> None:
        shared = SharedClips(redis_url, prefix=key_prefix)
        try:
            for meta in sorted(cache.directory.rglob("meta.json")):
                entry = cache.get(meta.parent.name)
                assert entry is not None and await shared.store(entry)
        finally:
            await shared.aclose()

    asyncio.run(share_all())
    raw = redis.Redis.from_url(redis_url)
    try:
        sizes = {k: raw.strlen(k) for k in raw.scan_iter(match=f"{key_prefix}v1:clip:*")}
        victim = max(sizes, key=lambda k: sizes[k])  # a clip: the largest bundle
        data = bytearray(cast(bytes, raw.get(victim)))
        data[-100] ^= 0xFF
        raw.set(victim, bytes(data))
        again = render(
            short_plan, tmp_path / "v.mp4", preview=True, cache_dir=tmp_path / "cache",
            redis_url=redis_url, key_prefix=key_prefix, jobs=2,
        )  # fmt: skip
        assert len(_clip_nodes(again.rendered)) == 1
        assert "narration:tiktok" in again.cache_hits
        assert raw.get(victim) != bytes(data)  # stored again, whole
    finally:
        raw.close()
    assert decode(again.path).digest() == decode(reference).digest()


def test_a_distributed_render_without_workers_takes_its_own_clip_jobs(
    short_plan: VideoPlan, reference: Path, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    """``render(..., distributed=True)``: every clip a queue job; with no ``vgkit worker``
    around, the rendering process's helper takes them all."""
    result = render(
        short_plan,
        tmp_path / "v.mp4",
        preview=True,
        cache_dir=tmp_path / "cache",
        jobs=2,
        redis_url=redis_url,
        key_prefix=key_prefix,
        distributed=True,
    )
    assert sorted(result.clip_workers) == _clip_nodes(result.rendered)
    assert all("-helper-" in worker for worker in result.clip_workers.values())
    assert decode(result.path).digest() == decode(reference).digest()


def test_a_bundle_that_does_not_match_its_header_is_refused(tmp_path: Path) -> None:
    cache = ClipCache(tmp_path)
    src = tmp_path / "clip.mp4"
    src.write_bytes(b"\x00\x01" * 500)
    entry = cache.put("ab" * 32, {"clip.mp4": src}, {"frames": 12})
    data = pack(entry)
    files, extra = unpack(data, entry.key)
    assert files["clip.mp4"] == b"\x00\x01" * 500 and extra == {"frames": 12}
    flipped = data[:-1] + bytes([data[-1] ^ 1])
    for bad in (flipped, data[:-10], data + b"x", b"junk"):
        with pytest.raises(CorruptBundle):
            unpack(bad, entry.key)
    with pytest.raises(CorruptBundle):
        unpack(data, "cd" * 32)


def _spawn(
    redis_url: str, key_prefix: str, name: str, *args: str, videos: Path, cache: Path
) -> subprocess.Popen[str]:
    exe = Path(sys.executable).with_name("vgkit")
    argv = [str(exe), "worker", "--redis", redis_url, "--key-prefix", key_prefix, "--name", name]
    argv += ["--metrics-port", "0", "--visibility-timeout", "1", "--grace", "5"]
    argv += ["--videos", str(videos), *args]
    env = {**os.environ, "VGKIT_CACHE_DIR": str(cache)}
    # A session of its own, so the kill takes its render worker processes too.
    return subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )


async def test_a_worker_killed_mid_shot_loses_no_shot(
    short_plan: VideoPlan, reference: Path, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    """Three ``vgkit worker``s: one runs the render, one dies by SIGKILL while it renders a
    shot, a third reclaims that shot. The video decodes, frame for frame the reference."""
    procs: dict[str, subprocess.Popen[str]] = {}

    def start(name: str, *args: str) -> None:
        procs[name] = _spawn(
            redis_url, key_prefix, name, *args,
            videos=tmp_path / "videos", cache=tmp_path / f"cache-{name}",
        )  # fmt: skip

    jobs = RedisJobQueue(redis_url, key_prefix=key_prefix, config=FAST)
    clips = render_queue(redis_url, key_prefix, FAST)
    try:
        start("boss", "--render-jobs", "0")  # runs render jobs, leaves their clips to others
        start("victim")
        job_id = await submit_render(jobs, short_plan, preview=True)

        async def victim_renders_a_shot() -> bool:
            running = await clips.list(status="running")
            return any(
                j.worker == "victim-clips" and "shot:" in str(j.request.topic) for j in running
            )

        await until(victim_renders_a_shot, 60, "the victim to take a shot")
        victim_jobs = [j.id for j in await clips.list(status="running")]
        os.killpg(procs["victim"].pid, signal.SIGKILL)
        procs["victim"].wait(timeout=10)
        start("rescuer")
        job = await jobs.wait(job_id, timeout=60)
        assert job.status is JobStatus.SUCCEEDED, job.error
        result = await jobs.result(job_id)
        assert result is not None
        path = Path(result.videos["tiktok"])
        assert path.parent == tmp_path / "videos" / job_id

        # The shot the victim held: lost by it, then rendered by the rescuer.
        for clip_id in victim_jobs:
            held = await clips.status(clip_id)
            assert held.status is JobStatus.SUCCEEDED
            assert (held.history[0].worker, held.history[0].outcome) == ("victim-clips", "lost")
            assert held.history[-1].worker == "rescuer-clips"
        # One clip job per clip of the video, each succeeded once.
        assert result.output["clip_jobs"].keys() == set(_clip_nodes(result.output["rendered"]))
        for node, clip_id in result.output["clip_jobs"].items():
            clip_job = await clips.status(clip_id)
            assert isinstance(clip_job.request, Task) and clip_job.request.task == CLIP_TASK
            assert clip_job.status is JobStatus.SUCCEEDED, node
            assert [a.outcome for a in clip_job.history].count("succeeded") == 1
        assert set(result.output["clip_workers"].values()) <= {"victim-clips", "rescuer-clips"}
        assert "rescuer-clips" in result.output["clip_workers"].values()

        # Every shot, each once, in its place: the decoded frames equal the reference's.
        video = decode(path)
        assert len(video.frames) == round(short_plan.duration * 30)
        assert video.codecs == {"video": "h264", "audio": "aac"}
        assert video.digest() == decode(reference).digest()
        frame = video.frame_at(1.0)
        h, w = video.height, video.width
        Image.fromarray(frame[:h]).resize((w // 2, h // 2)).save(tmp_path / "frame.png")
        assert np.std(frame[:h]) > 10  # a picture, not a flat colour
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate(timeout=10)
        await jobs.aclose()
        await clips.aclose()


def test_submit_render_and_jobs_show_the_video(
    redis_url: str, key_prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``vgkit submit --render --preview``: generated, rendered by a worker, shown by jobs."""
    proc = _spawn(
        redis_url, key_prefix, "solo", videos=tmp_path / "videos", cache=tmp_path / "cache"
    )
    try:
        common = ["--redis", redis_url, "--key-prefix", key_prefix]
        code = main(
            ["submit", "Why bread rises", "-p", "tiktok", "--duration", "15", "--render",
             "--preview", "--no-voice", "--follow", *common]
        )  # fmt: skip
        out = capsys.readouterr().out
        assert code == 0, out
        job_id = out.splitlines()[0]
        assert "video:tiktok" in out or "shot:tiktok:0" in out  # the render's nodes, followed
        assert main(["jobs", job_id, *common]) == 0
        shown = capsys.readouterr().out
        assert "task      render" in shown and "topic     Why bread rises" in shown
        line = next(ln for ln in shown.splitlines() if ln.startswith("video "))
        path = Path(line.split()[2])
        assert path == tmp_path / "videos" / job_id / "tiktok.mp4"
        video = decode(path, keep_frames=False)
        assert (video.width, video.height) == (540, 960)
        assert abs(len(video.frame_times) - 15 * 30) <= 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_bad_input_is_one_line_before_anything_is_queued(
    short_plan: VideoPlan,
    redis_url: str,
    key_prefix: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    common = ["--redis", redis_url, "--key-prefix", key_prefix]
    for argv, fragment in [
        (["submit", "Bread", "--preview", *common], "need --render"),
        (["submit", "Bread", "--render", "--voice", "xx-nope", *common], "unknown voice 'xx-nope'"),
        (["submit", "Bread", "--render", "--voice", "de", "--no-voice", *common], "contradict"),
    ]:
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, err
    raw = redis.Redis.from_url(redis_url)
    try:
        assert list(raw.scan_iter(match=key_prefix + "*")) == []  # nothing was queued
    finally:
        raw.close()
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(short_plan.to_json())
    monkeypatch.delenv("VGKIT_REDIS_URL", raising=False)
    code = main(["render", str(plan_file), "--distributed", "-o", str(tmp_path / "v.mp4")])
    err = capsys.readouterr().err
    assert code == 2 and "--distributed needs --redis" in err and len(err.splitlines()) == 1
    with pytest.raises(RenderError, match="needs redis_url"):
        RenderConfig(distributed=True)
    with pytest.raises(RenderError, match="cannot use assets"):
        RenderConfig(distributed=True, redis_url=redis_url, assets=tmp_path)
    with pytest.raises(RenderError, match="must start with redis://"):
        RenderConfig(redis_url="http://127.0.0.1:6379")
