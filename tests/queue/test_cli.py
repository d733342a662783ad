"""The queue commands: what they print, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vgkit.cli import main
from vgkit.metrics import MetricsRegistry
from vgkit.queue import JobStatus, RedisJobQueue, Worker
from vgkit.queue.worker import WorkerConfig

pytestmark = pytest.mark.redis


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_submit_list_show_cancel_and_purge(
    redis_url: str, key_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ("--redis", redis_url, "--key-prefix", key_prefix)
    code, out, _ = run(capsys, "submit", "How tides work", "-p", "tiktok", "--priority", "high",
                       "--idempotency-key", "tides-1", *where)  # fmt: skip
    job_id = out.strip()
    assert code == 0 and job_id.startswith("j-")
    code, again, _ = run(capsys, "submit", "How tides work", "--idempotency-key", "tides-1", *where)
    assert again.strip() == job_id
    _, low, _ = run(capsys, "submit", "Why the sky is blue", "--priority", "low", *where)

    code, out, _ = run(capsys, "jobs", *where)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("waiting: high 1 · normal 0 · low 1 · running 0")
    assert (
        lines[1].startswith(low.strip()) and "low" in lines[1] and "Why the sky is blue" in lines[1]
    )
    assert lines[2].startswith(job_id) and "high" in lines[2] and "queued" in lines[2]

    code, out, _ = run(capsys, "jobs", job_id, "--json", *where)
    shown = json.loads(out)
    assert shown["status"] == "queued" and shown["request"]["platforms"] == ["tiktok"]
    assert shown["idempotency_key"] == "tides-1"

    assert run(capsys, "cancel", low.strip(), *where)[1] == f"job {low.strip()} cancelled\n"
    _, out, _ = run(capsys, "jobs", "--status", "cancelled", *where)
    assert low.strip() in out and job_id not in out
    assert "nothing to cancel" in run(capsys, "cancel", low.strip(), *where)[1]
    assert run(capsys, "dlq", "purge", *where)[1] == "purged 0 dead job(s)\n"


async def test_jobs_shows_history_and_the_result(
    redis_url: str, key_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from vgkit.models import VideoRequest

    queue = RedisJobQueue(redis_url, key_prefix=key_prefix)
    job_id = await queue.submit(VideoRequest(topic="Composting at home", platforms=["tiktok"]))
    await Worker(
        queue, config=WorkerConfig(max_jobs=1, name="w-1"), metrics=MetricsRegistry()
    ).run()
    assert (await queue.status(job_id)).status is JobStatus.SUCCEEDED
    await queue.aclose()
    code = await asyncio.to_thread(
        main, ["jobs", job_id, "--redis", redis_url, "--key-prefix", key_prefix]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert f"job       {job_id}" in out and "status    succeeded (attempts 1)" in out
    assert "  attempt 1 on w-1: succeeded" in out
    # The plan's quality score, whatever it is (it measures the plan since validator 2.0).
    assert "result    makespan" in out and "tiktok" in out and re.search(r"quality [01]\.\d\d", out)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["submit", "t", "--priority", "urgent"], "unknown priority 'urgent'"),
        (["submit", "", "--priority", "high"], "topic is empty"),
        (["submit", "t", "--idempotency-key", " "], "idempotency key must be 1-200 characters"),
        (["jobs", "j-nope"], "no job 'j-nope'"),
        (["jobs", "--status", "sleeping"], "invalid choice: 'sleeping'"),
        (["dlq", "retry"], "dlq retry needs a job id"),
        (["dlq", "retry", "j-nope"], "no job 'j-nope'"),
        (["dlq", "shred"], "invalid choice: 'shred'"),
        (["cancel", "j-nope"], "no job 'j-nope'"),
        (["worker", "--concurrency", "0"], "concurrency must be at least 1"),
        (["worker", "--visibility-timeout", "0"], "visibility_timeout must be positive"),
        (["worker", "--metrics-port", "-1"], "must not be negative"),
        (["worker", "--cost", "cheap"], "unknown cost profile 'cheap'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], fragment: str, redis_url: str, key_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    code, out, err = run(capsys, *argv, "--redis", redis_url, "--key-prefix", key_prefix)
    assert code == 2 and out == ""
    assert err.startswith("vgkit: error: ") and fragment in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_no_redis_configured_or_reachable_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("VGKIT_REDIS_URL", raising=False)
    code, _, err = run(capsys, "jobs")
    assert code == 2 and "pass --redis URL or set VGKIT_REDIS_URL" in err
    code, _, err = run(capsys, "worker", "--redis", "redis://127.0.0.1:1/0", "--metrics-port", "0")
    assert code == 2 and "Redis at redis://127.0.0.1:1/0 did not answer" in err
    code, _, err = run(capsys, "jobs", "--redis", "http://127.0.0.1:6379")
    assert code == 2 and "must start with redis://" in err


async def test_jobs_json_has_the_result_and_out_writes_the_plans(
    redis_url: str, key_prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from vgkit.models import VideoRequest

    where = ["--redis", redis_url, "--key-prefix", key_prefix]
    queue = RedisJobQueue(redis_url, key_prefix=key_prefix)
    waiting = await queue.submit(VideoRequest(topic="How tides work", platforms=["tiktok"]))
    # Not run yet: no result in the JSON, and nothing to write.
    assert await asyncio.to_thread(main, ["jobs", waiting, "--json", *where]) == 0
    assert json.loads(capsys.readouterr().out)["result"] is None
    assert await asyncio.to_thread(main, ["jobs", waiting, "--out", str(tmp_path), *where]) == 2
    assert "is queued and has no result to write" in capsys.readouterr().err
    assert not await asyncio.to_thread(lambda: list(tmp_path.iterdir()))

    await Worker(queue, config=WorkerConfig(max_jobs=1), metrics=MetricsRegistry()).run()
    await queue.aclose()
    assert await asyncio.to_thread(main, ["jobs", waiting, "--json", *where]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "succeeded" and shown["result"]["ok"] is True
    plan = shown["result"]["plans"]["tiktok"]
    assert plan["platform"] == "tiktok" and plan["quality"]["passed"] is True

    out = tmp_path / "plans"
    assert await asyncio.to_thread(main, ["jobs", waiting, "--out", str(out), *where]) == 0
    assert "wrote 3 files" in capsys.readouterr().out
    names = await asyncio.to_thread(lambda: {p.name for p in out.iterdir()})
    assert names == {"tiktok.json", "tiktok.md", "tiktok.srt"}
    written = await asyncio.to_thread((out / "tiktok.json").read_text)
    assert json.loads(written) == plan
