"""``vgkit cache stats | clear | warm | invalidate | tune | trace``."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from vgkit.cli import tune
from vgkit.errors import CacheError
from vgkit.plan_cache import CacheIntegration
from vgkit.platforms import Platform
from vgkit.reports.tables import format_bytes

T = TypeVar("T")


def integration_from(args: argparse.Namespace) -> CacheIntegration:
    """The cache the command works on: L1 at VGKIT_CACHE_DIR, Redis from --redis or
    VGKIT_REDIS_URL."""
    return CacheIntegration.from_settings(redis_url=getattr(args, "redis", None))


def _run(args: argparse.Namespace, fn: Callable[[CacheIntegration], Awaitable[T]]) -> T:
    async def go() -> T:
        async with integration_from(args) as integration:
            return await fn(integration)

    return asyncio.run(go())


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def cmd_stats(args: argparse.Namespace) -> int:
    async def collect(integration: CacheIntegration) -> dict[str, Any]:
        cache = integration.cache
        info = await cache.info()
        info["entries_by_kind"] = await cache.entry_sizes()
        info["top_topics"] = [
            {"topic": s.fields.get("topic"), "platforms": list(s.platforms), "score": s.score}
            for s in integration.topics.top(5)
        ]
        info["ttl"] = cache.policy.matrix()
        return info

    info = _run(args, collect)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    l1 = info.get("l1")
    if l1:
        print(
            f"l1  {l1['directory']}: {_entries(l1['entries'])}, {format_bytes(l1['volume_bytes'])} "
            f"(limit {format_bytes(l1['size_limit'])}, {l1['eviction_policy']})"
        )
    l2 = info.get("l2")
    print(
        f"l2  {l2['url']}: {l2['entries']} entries, breaker {l2['breaker']}"
        if l2
        else "l2  off (set VGKIT_REDIS_URL or pass --redis URL)"
    )
    for tier, sizes in info["entries_by_kind"].items():
        kinds = sorted({k.split(".")[0] for k in sizes})
        for kind in kinds:
            print(
                f"    {tier} {kind:<12} {_entries(sizes[kind + '.entries']):>12} "
                f"{format_bytes(sizes[kind + '.bytes']):>10}"
            )
    for stat in info["top_topics"]:
        print(f"top {stat['score']:8.2f}  {stat['topic']} ({', '.join(stat['platforms'])})")
    return 0


def cmd_clear(args: argparse.Namespace) -> int:
    removed = _run(args, lambda integration: integration.cache.clear())
    print(f"cleared {removed} entries")
    return 0


def cmd_invalidate(args: argparse.Namespace) -> int:
    chosen = [
        (n, v) for n, v in (("key", args.key), ("tag", args.tag), ("pattern", args.pattern)) if v
    ]
    if len(chosen) != 1:
        raise CacheError("give exactly one of --key, --tag or --pattern")
    name, value = chosen[0]
    removed = _run(args, lambda integration: integration.cache.invalidate(**{name: value}))
    print(f"invalidated {removed} entries ({name} {value})")
    return 0


def cmd_warm(args: argparse.Namespace) -> int:
    platforms = [Platform(p) for p in args.platforms] if args.platforms else list(Platform)
    if not args.topics and args.predictive is None:
        raise CacheError("give topics to warm, or --predictive K for the most requested ones")
    if args.predictive is not None and args.predictive < 1:
        raise CacheError(f"--predictive needs a positive count, not {args.predictive}")

    async def warm(integration: CacheIntegration) -> list[str]:
        lines = []
        if args.topics:
            report = await integration.warm(
                platforms, args.topics, style=args.style, seed=args.seed
            )
            lines.append(
                f"warmed {report.requests} topics: {report.computed_nodes} nodes computed, "
                f"{report.cached_nodes} already cached, {report.seconds:.2f} s"
            )
        if args.predictive is not None:
            report = await integration.warm_predictive(args.predictive)
            lines.append(
                f"warmed the {report.requests} most requested: {report.computed_nodes} nodes "
                f"computed, {report.cached_nodes} already cached, {report.seconds:.2f} s"
            )
        return lines

    for line in _run(args, warm):
        print(line)
    return 0


def _platform(value: str) -> str:
    known = [p.value for p in Platform]
    if value not in known:
        raise argparse.ArgumentTypeError(
            f"unknown platform {value!r}; choose from {', '.join(known)}"
        )
    return value


def register(sub: Any) -> None:
    cache = sub.add_parser("cache", help="inspect, clear, warm, invalidate or tune the cache")
    commands = cache.add_subparsers(dest="cache_command", metavar="ACTION")
    commands.required = True

    def add(name: str, help_text: str, handler: Callable[[argparse.Namespace], int]) -> Any:
        parser = commands.add_parser(name, help=help_text)
        parser.add_argument("--redis", metavar="URL", help="Redis for the shared tier")
        parser.set_defaults(handler=handler)
        return parser

    stats = add("stats", "tiers, entries per kind, breaker, top topics", cmd_stats)
    stats.add_argument("--json", action="store_true", help="print JSON")
    add("clear", "remove every entry (this L1, Redis, and every process's L1)", cmd_clear)
    inv = add("invalidate", "remove entries by key, tag or pattern everywhere", cmd_invalidate)
    inv.add_argument("--key", help="a key (with or without the prefix)")
    inv.add_argument("--tag", help="a tag, e.g. 'topic:how tides work'")
    inv.add_argument("--pattern", help="a glob, e.g. 'v1:script:*'")
    warm = add("warm", "pre-generate plans so later requests hit the cache", cmd_warm)
    warm.add_argument("topics", nargs="*", help="topics to generate")
    warm.add_argument(
        "-p", "--platform", dest="platforms", action="append", type=_platform, metavar="PLATFORM"
    )
    warm.add_argument("--style", default="educational")
    warm.add_argument("--seed", type=int, default=0)
    warm.add_argument(
        "--predictive", type=int, metavar="K", help="also warm the K most requested lately"
    )
    tune.register(commands)
