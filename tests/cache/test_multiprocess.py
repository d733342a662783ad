"""Several real processes, each with its own L1, sharing one Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from tests.conftest import MakeCache, RedisProcess

pytestmark = [pytest.mark.redis, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def spawn(args: dict[str, Any]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.cache._worker", orjson.dumps(args).decode()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def report(proc: subprocess.Popen[str], timeout: float = 45) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    result: dict[str, Any] = orjson.loads(out.strip().splitlines()[-1])
    return result


def wait_for(client: redis.Redis, key: str, value: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = client.get(key)
        if raw is not None and int(raw) >= value:
            return
        time.sleep(0.01)
    raise AssertionError(f"{key} did not reach {value}")


def test_eight_processes_of_32_callers_compute_once(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(redis_url)
    workers = [
        spawn(
            {
                "mode": "compute_once",
                "redis": redis_url,
                "prefix": key_prefix,
                "l1": str(tmp_path / f"l1-{i}"),
                "worker": i,
                "callers": 32,
                "sleep": 0.3,
            }
        )
        for i in range(8)
    ]
    try:
        wait_for(client, f"{key_prefix}test:ready", 8)
        client.set(f"{key_prefix}test:go", 1)
        reports = [report(w) for w in workers]
    finally:
        for w in workers:
            w.kill()
        client.close()
    computed = int(redis.Redis.from_url(redis_url).get(f"{key_prefix}test:computed") or 0)
    assert computed == 1
    assert sum(r["count"] for r in reports) == 256
    assert len({v for r in reports for v in r["values"]}) == 1  # everyone got the same value


async def test_an_invalidation_leaves_another_process_l1_within_100_ms(
    make_cache: MakeCache, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    cache = make_cache(redis=redis_url, prefix=key_prefix)
    key = cache.key("storyboard", "youtube", "shared")
    await cache.set(key, {"scenes": 9})
    watcher = spawn(
        {
            "mode": "watch_invalidation",
            "redis": redis_url,
            "prefix": key_prefix,
            "l1": str(tmp_path / "other-l1"),
            "key": key,
        }
    )
    client = redis.Redis.from_url(redis_url)
    try:
        wait_for(client, f"{key_prefix}test:watching")
        invalidated_at = time.time()
        assert await cache.invalidate(key=key) == 1
        seen = report(watcher)
    finally:
        watcher.kill()
        client.close()
    assert seen["gone_at"] is not None
    assert seen["gone_at"] - invalidated_at < 0.1


def runs_done(progress: Path) -> int:
    """How many generations a worker has finished (0 before its first)."""
    try:
        return int(progress.read_text() or 0)
    except (OSError, ValueError):
        return 0


def wait_for_runs(progress: list[Path], at_least: list[int], timeout: float = 60) -> list[int]:
    """Wait until every worker has finished ``at_least`` generations; their counts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [runs_done(p) for p in progress]
        if all(d >= n for d, n in zip(done, at_least, strict=True)):
            return done
        time.sleep(0.02)
    raise AssertionError(f"workers finished {done} generations, not {at_least}")


def test_generations_survive_redis_dying_and_the_breaker_recovers(
    redis_process: RedisProcess, tmp_path: Path
) -> None:
    # Phases are driven by the workers' progress, not by sleeps: on a busy machine a
    # worker may still be importing when a fixed sleep ends, and never see the outage.
    stop = tmp_path / "stop"
    progress = [tmp_path / f"progress-{i}" for i in range(2)]
    workers = [
        spawn(
            {
                "mode": "generate_through_outage",
                "redis": redis_process.url,
                "prefix": "vgkit-outage:",
                "l1": str(tmp_path / f"l1-{i}"),
                "stop": str(stop),
                "progress": str(progress[i]),
                "topic": f"Tidal power worker {i}",
            }
        )
        for i in range(2)
    ]
    try:
        done = wait_for_runs(progress, [2, 2])  # both generate through Redis
        redis_process.kill()
        done = wait_for_runs(progress, [n + 2 for n in done])  # carry on while it is gone
        redis_process.start()
        time.sleep(0.3)  # past the breaker's reset_timeout: the next call is a probe
        wait_for_runs(progress, [n + 2 for n in done])  # and again through Redis
        stop.touch()
        reports = [report(w) for w in workers]
    finally:
        for w in workers:
            w.kill()
    for r in reports:
        assert r["errors"] == [] and r["runs"] == r["ok"] >= 6, r
        assert r["opens"] >= 1 and r["closes"] >= 1 and r["state"] == "closed", r
