"""A separate process for the multi-process cache tests: ``python -m tests.cache._worker``.

Takes one JSON argument ({"mode": ..., ...}) and prints one JSON line with what
it saw. Each worker has its own L1 directory, like a separate machine, and
shares only Redis with the others. No pickle crosses the process boundary.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis

from vgkit.breaker import BreakerConfig
from vgkit.cache import LayeredCache, RedisTier, open_cache
from vgkit.config import Settings
from vgkit.metrics import MetricsRegistry
from vgkit.plan_cache import CacheIntegration


def _cache(args: dict[str, Any], **redis_options: Any) -> LayeredCache:
    config = Settings(cache_dir=Path(args["l1"]), key_prefix=args["prefix"])
    return open_cache(
        config, redis_url=args["redis"], metrics=MetricsRegistry(), redis_config=redis_options
    )


async def compute_once(args: dict[str, Any]) -> dict[str, Any]:
    """32 concurrent callers miss the same key; the compute counts itself in Redis."""
    prefix = args["prefix"]
    control = aioredis.Redis.from_url(args["redis"])
    async with _cache(args, op_timeout=2.0) as cache:
        key = cache.key("script", "tiktok", "shared")

        async def compute() -> dict[str, Any]:
            await control.incr(f"{prefix}test:computed")
            await asyncio.sleep(args["sleep"])
            return {"by": args["worker"]}

        await control.incr(f"{prefix}test:ready")
        while not await control.exists(f"{prefix}test:go"):
            await asyncio.sleep(0.005)
        results = await asyncio.gather(
            *(cache.get_or_compute(key, compute) for _ in range(args["callers"]))
        )
    await control.aclose()
    return {
        "values": sorted({r.value["by"] for r in results}),
        "tiers": sorted({str(r.tier) for r in results}),
        "count": len(results),
    }


async def watch_invalidation(args: dict[str, Any]) -> dict[str, Any]:
    """Read a key into this process's L1, then report when an invalidation removed it."""
    control = aioredis.Redis.from_url(args["redis"])
    async with _cache(args) as cache:
        key = args["key"]
        assert await cache.get(key) is not None
        await cache.drain()
        assert cache.l1 is not None and cache.l1.contains(key)
        await control.set(f"{args['prefix']}test:watching", b"1")
        deadline = time.monotonic() + args.get("patience", 5)
        while cache.l1.contains(key) and time.monotonic() < deadline:
            await asyncio.sleep(0.0005)
        gone_at = time.time() if not cache.l1.contains(key) else None
    await control.aclose()
    return {"gone_at": gone_at}


async def generate_through_outage(args: dict[str, Any]) -> dict[str, Any]:
    """Generate plans, one after another, until the stop file appears."""
    cache = _cache(
        args,
        op_timeout=0.1,
        connect_timeout=0.1,
        breaker=BreakerConfig(failure_threshold=2, reset_timeout=0.2),
    )
    integration = CacheIntegration(cache)
    errors: list[str] = []
    runs = ok = 0
    stop = Path(args["stop"])
    progress = Path(args["progress"])
    states: list[str] = []
    assert isinstance(cache.l2, RedisTier)
    cache.l2.breaker.on_change = states.append
    async with integration:
        while not stop.exists() or runs < 3:  # noqa: ASYNC240 - a cheap stat per plan
            try:
                result = await integration_run(integration, f"{args['topic']} {runs}")
                ok += result
            except Exception as exc:  # the test asserts there are none
                errors.append(repr(exc))
            runs += 1
            done = progress.with_suffix(".tmp")
            done.write_text(str(runs))
            done.replace(progress)  # the test reads whole counts only
        breaker = cache.l2.breaker
        report = {"runs": runs, "ok": ok, "errors": errors, "opens": breaker.times_opened}
        report.update(closes=breaker.times_closed, state=breaker.state.value, states=states)
    return report


async def integration_run(integration: CacheIntegration, topic: str) -> int:
    from vgkit.orchestrator import Orchestrator

    async with Orchestrator(
        backend=integration.backend(), cache=integration, cost="seed", time_scale=0.002
    ) as orchestrator:
        result = await orchestrator.run(topic=topic, platforms=["tiktok"])
    return int(result.ok)


MODES = {
    "compute_once": compute_once,
    "watch_invalidation": watch_invalidation,
    "generate_through_outage": generate_through_outage,
}


def main() -> None:
    args = orjson.loads(sys.argv[1])
    report = asyncio.run(MODES[args["mode"]](args))
    sys.stdout.write(orjson.dumps(report).decode() + "\n")


if __name__ == "__main__":
    main()
