"""``vgkit generate`` with the cache, and ``vgkit cache ...``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vgkit.cli import main

TOPIC = "How solar panels turn sunlight into electricity"


def test_a_second_identical_generate_is_served_from_the_cache(
    private_cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["generate", TOPIC, "-p", "tiktok", "--cost", "seed", "--time-scale", "0.002"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "cache: 0 hits, 10 misses" in first
    assert main(argv) == 0
    second = capsys.readouterr().out
    line = next(x for x in second.splitlines() if x.startswith("cache:"))
    assert "served whole from the cache" in line
    assert float(line.split(", ")[1].split(" s saved")[0]) > 0.01
    assert any(private_cache_dir.iterdir())  # L1 lives where VGKIT_CACHE_DIR points


def test_repeating_make_demo_is_served_from_the_cache(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Three platforms credit the templates they used with three quality scores, enough to
    # move the learned effectiveness: the identical request must still be answered whole.
    argv = ["generate", TOPIC, "-p", "youtube", "-p", "tiktok", "-p", "instagram_reels"]
    for _ in range(3):
        assert main(argv) == 0
    runs = [x for x in capsys.readouterr().out.splitlines() if x.startswith("cache:")]
    assert "0 hits, 28 misses" in runs[0]
    assert all("served whole from the cache" in line for line in runs[1:]), runs


def test_no_cache_computes_and_writes_nothing(
    private_cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", TOPIC, "-p", "tiktok", "--no-cache"]) == 0
    assert main(["generate", TOPIC, "-p", "tiktok", "--no-cache"]) == 0
    assert "cache:" not in capsys.readouterr().out
    assert list(private_cache_dir.iterdir()) == []


@pytest.mark.redis
def test_generate_with_redis_then_stats_invalidate_clear(
    redis_url: str,
    key_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VGKIT_KEY_PREFIX", key_prefix)
    assert main(["generate", TOPIC, "-p", "tiktok", "--redis", redis_url]) == 0
    assert main(["cache", "stats", "--redis", redis_url, "--json"]) == 0
    capsys.readouterr()
    assert main(["cache", "stats", "--redis", redis_url, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["l2"]["entries"] >= 11 and info["l2"]["breaker"] == "closed"
    assert info["entries_by_kind"]["l2"]["storyboard.entries"] == 3
    assert info["top_topics"][0]["topic"] == TOPIC
    assert main(["cache", "invalidate", "--redis", redis_url, "--pattern", "v1:storyboard:*"]) == 0
    assert "invalidated 3 entries" in capsys.readouterr().out
    assert main(["cache", "clear", "--redis", redis_url]) == 0
    assert main(["cache", "stats", "--redis", redis_url]) == 0
    assert "l2  redis://" in capsys.readouterr().out


def test_warm_then_generate_hits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "warm", "Why cats purr", "-p", "youtube"]) == 0
    assert "warmed 1 topics: 10 nodes computed" in capsys.readouterr().out
    assert main(["generate", "Why cats purr", "-p", "youtube"]) == 0
    assert "served whole from the cache" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["cache", "invalidate"], "exactly one of --key, --tag or --pattern"),
        (["cache", "warm"], "give topics to warm"),
        (["cache", "warm", "x", "-p", "myspace"], "unknown platform 'myspace'"),
        (["cache", "stats", "--redis", "http://x"], "must start with redis://"),
        (["generate", "t", "--no-cache", "--redis", "redis://127.0.0.1:1/0"], "contradict"),
    ],
)
def test_bad_cache_commands_are_one_line_errors(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("vgkit: error: ") and fragment in err and err.count("\n") == 1


def test_cache_stats_prints_sizes_people_read(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", TOPIC, "-p", "tiktok"]) == 0
    capsys.readouterr()
    assert main(["cache", "stats"]) == 0
    out = capsys.readouterr().out
    l1 = out.splitlines()[0]
    assert "(limit 1 GiB, " in l1 and " KiB " in l1 and "bytes" not in l1
    storyboard = next(x for x in out.splitlines() if "l1 storyboard" in x)
    assert storyboard.split()[2:4] == ["3", "entries"] and storyboard.endswith("KiB")
    assert main(["cache", "stats", "--json"]) == 0
    raw = json.loads(capsys.readouterr().out)
    assert isinstance(raw["l1"]["volume_bytes"], int)  # --json keeps the raw counts
