"""The load generator's own overhead: how fast it can drive a target that does nothing.

A load test can only measure a target slower than the generator itself. Each row
sends the same pre-built work items to the same target, which only yields to the
event loop once (``await asyncio.sleep(0)``: the least any I/O costs):

- open loop, every arrival already due: ``LoadTest(mode="open")`` (a schedule,
  a task per request, per-request records, HDR histograms, the result frame)
  against a bare loop that creates one task per call and gathers them;
- closed loop, 32 users: ``LoadTest(mode="closed")`` against 32 bare worker
  coroutines awaiting the calls one after another;
- a paced schedule: the send rate the generator keeps at a constant 5,000
  requests per second, against the rate asked for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from benchmarks._common import Row, row
from vgkit.loadtest import FunctionTarget, LoadTest, Target, WorkItem, Workload
from vgkit.metrics import MetricsRegistry

TITLE = "Load generator overhead (a target that only yields once)"
USERS = 32
PACED_RATE = 5000.0


async def bare_open(target: Target, items: Sequence[WorkItem]) -> float:
    started = time.perf_counter()
    tasks = [asyncio.create_task(target(item)) for item in items]
    await asyncio.gather(*tasks)
    return len(items) / (time.perf_counter() - started)


async def bare_closed(target: Target, items: Sequence[WorkItem]) -> float:
    started = time.perf_counter()
    cursor = iter(items)

    async def worker() -> None:
        for item in cursor:
            await target(item)

    await asyncio.gather(*(worker() for _ in range(USERS)))
    return len(items) / (time.perf_counter() - started)


async def vgkit_rate(test: LoadTest, target: Target, items: Sequence[WorkItem]) -> float:
    started = time.perf_counter()
    result = await test.run(target, items, metrics=MetricsRegistry())
    elapsed = time.perf_counter() - started
    assert result.ok == len(items), result.summary()
    return len(items) / elapsed


async def best(repeats: int, fn: Callable[[], Awaitable[float]]) -> float:
    """The highest rate of ``repeats`` runs (the least disturbed by other work)."""
    return max([await fn() for _ in range(repeats)])


async def run(quick: bool) -> list[Row]:
    n = 5_000 if quick else 50_000
    repeats = 2 if quick else 5
    items = list(Workload.from_csv(seed=1).sample(n))
    target = FunctionTarget("yield", lambda item: asyncio.sleep(0))
    burst = LoadTest(
        rate=1e9, arrivals="constant", max_requests=n, duration=600, max_in_flight=n + 1
    )
    closed = LoadTest(mode="closed", users=USERS, max_requests=n, duration=600)

    open_vgkit = await best(repeats, lambda: vgkit_rate(burst, target, items))
    open_bare = await best(repeats, lambda: bare_open(target, items))
    closed_vgkit = await best(repeats, lambda: vgkit_rate(closed, target, items))
    closed_bare = await best(repeats, lambda: bare_closed(target, items))

    seconds = 1.0 if quick else 3.0
    paced_n = int(PACED_RATE * seconds)
    paced = await LoadTest(
        rate=PACED_RATE, arrivals="constant", max_requests=paced_n, duration=seconds
    ).run(target, list(Workload.from_csv(seed=2).sample(paced_n)), metrics=MetricsRegistry())
    frame = paced.to_frame()
    sent_rate = (len(frame) - 1) / (frame["sent"].max() - frame["sent"].min())
    lag = (frame["sent"] - frame["intended"]).quantile(0.99) * 1e3

    def per_request(rate: float) -> str:
        return f"{1e6 / rate:.1f} µs"

    return [
        row(
            "open loop: requests/s, burst of due arrivals",
            open_vgkit,
            open_bare,
            "req/s",
            target=0.25,
            higher_is_better=True,
            notes=f"{n} requests; vgkit {per_request(open_vgkit)} per request, bare create_task "
            f"{per_request(open_bare)}; vgkit's side includes records, HDR and the result frame",
        ),
        row(
            f"closed loop: requests/s, {USERS} users",
            closed_vgkit,
            closed_bare,
            "req/s",
            target=0.25,
            higher_is_better=True,
            notes=f"vgkit {per_request(closed_vgkit)} per request, bare worker loop "
            f"{per_request(closed_bare)}",
        ),
        row(
            f"paced open loop: send rate at {PACED_RATE:g}/s asked",
            sent_rate,
            PACED_RATE,
            "req/s",
            target=0.95,
            higher_is_better=True,
            notes=f"{paced_n} constant arrivals; p99 send lag behind schedule {lag:.2f} ms; "
            f"late (> 10 ms) {paced.summary()['late']}",
        ),
    ]
