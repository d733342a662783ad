"""The local tier's writes: batched while the executor is busy, in order, failures isolated."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from vgkit.cache import DiskConfig, DiskTier
from vgkit.cache.counters import CacheStats


@pytest.fixture
async def tier(tmp_path: Path) -> AsyncIterator[DiskTier]:
    disk = DiskTier(DiskConfig(directory=tmp_path / "l1"), stats=CacheStats(), prefix="t:")
    yield disk
    await disk.aclose()


def _hold_executor(tier: DiskTier) -> threading.Event:
    """Occupy the tier's one executor thread until the returned event is set."""
    release = threading.Event()
    tier._executor.submit(release.wait, 10)
    return release


async def test_writes_queued_while_the_executor_is_busy_go_out_in_one_batch(
    tier: DiskTier,
) -> None:
    batches: list[int] = []
    write_batch = tier._write_batch

    def counting(batch: list[Any], loop: asyncio.AbstractEventLoop) -> None:
        batches.append(len(batch))
        write_batch(batch, loop)

    tier._write_batch = counting  # type: ignore[method-assign]
    release = _hold_executor(tier)
    futures = [tier.set_soon(f"t:k{i}", b"v%d" % i, ttl=60, tags=("a",)) for i in range(50)]
    release.set()
    assert await asyncio.gather(*futures) == [True] * 50
    assert batches == [50]
    assert [await tier.get(f"t:k{i}") for i in range(50)] == [b"v%d" % i for i in range(50)]
    assert sorted(await tier.delete_tag("a")) == sorted(f"t:k{i}" for i in range(50))


async def test_a_delete_between_writes_keeps_its_place(tier: DiskTier) -> None:
    release = _hold_executor(tier)
    first = tier.set_soon("t:x", b"1", ttl=60)
    deleted = asyncio.ensure_future(tier.delete(["t:x"]))
    await asyncio.sleep(0)  # the delete is on the queue now, after the first write
    second = tier.set_soon("t:y", b"2", ttl=60)
    gone = asyncio.ensure_future(tier.delete(["t:y"]))
    await asyncio.sleep(0)
    third = tier.set_soon("t:y", b"3", ttl=60)
    release.set()
    assert list(await asyncio.gather(first, second, third)) == [True, True, True]
    assert await deleted == 1 and await gone == 1
    # Each write landed where it was queued: x deleted after its write, y rewritten after
    # its delete.
    assert await tier.get("t:x") is None and await tier.get("t:y") == b"3"


async def test_one_failing_write_does_not_sink_its_batch(tier: DiskTier) -> None:
    write_one = tier._write_one

    def failing(w: Any) -> None:  # fault injection: a disk error for one key
        if w.key == "t:bad":
            raise sqlite3.OperationalError("disk I/O error")
        write_one(w)

    tier._write_one = failing  # type: ignore[method-assign]
    release = _hold_executor(tier)
    futures = [tier.set_soon(k, b"v", ttl=60) for k in ("t:a", "t:bad", "t:b")]
    release.set()
    assert await asyncio.gather(*futures) == [True, False, True]
    assert await tier.get("t:a") == b"v" and await tier.get("t:b") == b"v"
    assert await tier.get("t:bad") is None
    assert tier.stats.total("errors", "l1") == 1
