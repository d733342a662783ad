"""``vgkit loadtest``: load a target on this machine, print HDR percentiles."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from vgkit.errors import LoadTestError
from vgkit.loadtest import (
    TARGETS,
    BaseTarget,
    CacheTarget,
    LoadProgress,
    LoadTest,
    LoadTestResult,
    Workload,
    make_target,
)
from vgkit.loadtest.profile import SYNTAX
from vgkit.loadtest.progress import LoadProgressBar
from vgkit.loadtest.runner import DEFAULT_DRAIN_TIMEOUT, DEFAULT_MAX_IN_FLIGHT
from vgkit.loadtest.thresholds import Threshold, ThresholdReport, check_thresholds
from vgkit.loadtest.workload import DEFAULT_ZIPF


def _options(pairs: list[str] | None, url: str | None) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise LoadTestError(f"target options look like key=value, not {pair!r}")
        options[key.strip().replace("-", "_")] = value.strip()
    if url is not None:
        options["url"] = url
    return options


def _mix(text: str | None) -> dict[str, float] | None:
    if text is None:
        return None
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, sep, weight = part.partition("=")
        try:
            mix[name.strip()] = float(weight) if sep else 1.0
        except ValueError:
            raise LoadTestError(
                f"a platform mix looks like tiktok=0.5,youtube=0.3, not {text!r}"
            ) from None
    return mix


def _progress_bar(args: argparse.Namespace) -> tuple[Callable[[LoadProgress], None] | None, Any]:
    if args.no_progress:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=args.count, unit="req", file=sys.stderr, dynamic_ncols=True, leave=False)
    return LoadProgressBar(bar).update, bar


def format_summary(result: LoadTestResult) -> str:
    """The text ``vgkit loadtest`` prints: counts, rates and both latency rows."""
    s = result.summary()
    load = (
        f"rate {s['rate']}/s, {s['arrivals']} arrivals"
        if s["mode"] == "open"
        else (f"users {s['users']}")
    )
    lines = [
        f"target {s['target']} · {s['mode']} loop · {load} · {s['elapsed_s']:.2f} s",
        f"scheduled {s['scheduled']} · sent {s['sent']} · ok {s['ok']} · errors {s['errors']}"
        f" · dropped {s['dropped']} · abandoned {s['abandoned']} · late {s['late']}",
        f"throughput {s['throughput_rps']:.1f} req/s (offered {s['offered_rps']}) · "
        f"max in flight {s['max_in_flight']}",
    ]
    if s["error_kinds"]:
        causes = sorted(s["error_kinds"].items(), key=lambda kv: -kv[1])
        lines.append("errors by cause:")
        lines += [f"  {count:>6} x  {cause}" for cause, count in causes]
    header = f"{'latency (ms)':<14}" + "".join(f"{k:>10}" for k in s["latency_ms"])
    lines.append(header)
    rows = [("corrected", s["latency_ms"])]
    if s["mode"] == "open":
        rows.append(("uncorrected", s["latency_uncorrected_ms"]))
    for name, figures in rows:
        cells = "".join(f"{v:>10.3f}" if v is not None else f"{'-':>10}" for v in figures.values())
        lines.append(f"{name:<14}{cells}")
    return "\n".join(lines)


def cmd_loadtest(args: argparse.Namespace) -> int:
    thresholds = [Threshold.parse(text) for text in args.threshold or ()]
    test = LoadTest(
        mode=args.mode,
        rate=args.rate,
        arrivals=args.arrivals,
        users=args.users,
        think_time=args.think,
        max_requests=args.count,
        duration=args.duration,
        max_in_flight=args.max_in_flight,
        overflow="drop" if args.drop else "wait",
        timeout=args.timeout,
        drain_timeout=args.drain_timeout,
        seed=args.seed,
    )
    workload_options: dict[str, Any] = {"zipf": args.zipf, "seed": args.seed}
    if (mix := _mix(args.mix)) is not None:
        workload_options["platform_mix"] = mix
    workload = Workload.from_csv(args.topics, **workload_options)
    target = make_target(args.target, _options(args.option, args.url))
    on_progress, bar = _progress_bar(args)

    async def go() -> LoadTestResult:
        try:
            if isinstance(target, BaseTarget):
                # Servers, connections and precomputed inputs are ready before the clock starts.
                await target.start()
                await target.prepare(workload.sample(args.count))
            return await test.run(target, workload, on_progress=on_progress)
        finally:
            close = getattr(target, "aclose", None)
            if close is not None:
                await close()

    try:
        result = asyncio.run(go())
    finally:
        if bar is not None:
            bar.close()
    print(format_summary(result))
    if isinstance(target, CacheTarget):
        looked = target.hits + target.misses
        rate = f" ({target.hits / looked:.0%} hit rate)" if looked else ""
        print(f"cache: {target.hits} hits · {target.misses} misses{rate}")
    verdict = check_thresholds(result, thresholds)
    if thresholds:
        print(verdict.text())
    if args.json:
        data = result.as_dict(requests=args.requests)
        data["thresholds"] = verdict.as_dict()
        option = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY
        Path(args.json).write_bytes(orjson.dumps(data, option=option, default=str) + b"\n")
        print(f"wrote {args.json}")
    if args.csv:
        result.to_csv(Path(args.csv))
        print(f"wrote {args.csv}")
    return _exit_status(result, verdict)


def _exit_status(result: LoadTestResult, verdict: ThresholdReport) -> int:
    """1 when a threshold failed or no request succeeded (a run that only measured
    errors passed nothing), else 0; says why on stderr."""
    scheduled = len(result.records)
    if scheduled and result.ok == 0:
        print(f"vgkit: every request failed ({scheduled} of {scheduled}); see the causes above",
              file=sys.stderr)  # fmt: skip
        return 1
    if not verdict.passed:
        failed = ", ".join(r.threshold.text for r in verdict.failed)
        print(f"vgkit: threshold failed: {failed}", file=sys.stderr)
        return 1
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "loadtest",
        help="load a target on this machine (open or closed loop) and report HDR percentiles",
        description="Bounded load test against a target on 127.0.0.1: stops after --count "
        "requests or --duration seconds, whichever comes first.",
    )
    targets = "; ".join(f"{name}: {kind.help}" for name, kind in TARGETS.items())
    p.add_argument("--target", default="orchestrator", help=f"what to load ({targets})")
    p.add_argument(
        "--url",
        help="the URL of an http target, or the agent server of a serve or agent target "
        "(127.0.0.1 only; without it those start vgkit serve on free ports for the run)",
    )
    p.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="a target option, e.g. -o executor=levels -o cost=seed -o time_scale=0.001; "
        "serve, remote and agent take -o workers=N -o loop=uvloop for the vgkit serve they start",
    )
    p.add_argument("--mode", choices=("open", "closed"), default="open")
    p.add_argument("--rate", default="20", help=f"open loop: requests/s as {SYNTAX}")
    p.add_argument("--arrivals", choices=("poisson", "constant"), default="poisson")
    p.add_argument("--users", default="4", help="closed loop: concurrent users (a profile too)")
    p.add_argument("--think", type=float, default=0.0, help="closed loop: seconds between requests")
    p.add_argument("-n", "--count", type=int, default=200, help="stop after this many requests")
    p.add_argument("-d", "--duration", type=float, default=10.0, help="stop after this many s")
    p.add_argument("--timeout", type=float, help="seconds before one request counts as failed")
    p.add_argument("--max-in-flight", type=int, default=DEFAULT_MAX_IN_FLIGHT)
    p.add_argument("--drop", action="store_true", help="drop arrivals at --max-in-flight")
    p.add_argument("--drain-timeout", type=float, default=DEFAULT_DRAIN_TIMEOUT)
    p.add_argument("--seed", type=int, default=0, help="seeds the workload and arrivals")
    p.add_argument("--topics", help="topic CSV (topic,category; default data/topics.csv)")
    p.add_argument("--zipf", type=float, default=DEFAULT_ZIPF, help="topic popularity skew")
    p.add_argument(
        "--mix", help="platform weights, e.g. tiktok=0.5,youtube=0.3,instagram_reels=0.2"
    )
    p.add_argument("--json", metavar="FILE", help="write summary, settings and time series")
    p.add_argument("--requests", action="store_true", help="with --json: every request too")
    p.add_argument("--csv", metavar="FILE", help="write one row per request")
    p.add_argument(
        "--threshold",
        action="append",
        metavar="RULE",
        help="pass or fail, k6 style: p99<200ms, p95<=1s, errors<1%%, errors<=5, rps>=50 "
        "(repeat for several; exit status 1 when any fails)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_loadtest)
