"""``vgkit cache tune`` and ``vgkit cache trace``: cache-policy tuning from the shell."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from vgkit.errors import TuningError

__all__ = ["parse_bytes", "register"]

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
RECORD_HINT = (
    "record your own trace: vgkit cache trace --record trace.jsonl -- generate 'How tides work' "
    "-p tiktok (any vgkit command that uses the cache), then vgkit cache tune --trace trace.jsonl"
)


def parse_bytes(text: str) -> int | None:
    """``32MiB``, ``64MB``, ``1GiB``, ``1048576`` -> bytes; ``none``/``unlimited`` -> None."""
    if text.strip().lower() in ("none", "unlimited"):
        return None
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: use bytes or a unit (KiB, MiB, GiB, KB, MB, GB), or none"
        )
    size = int(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise argparse.ArgumentTypeError(f"a size must be positive, not {text!r}")
    return size


def cmd_tune(args: argparse.Namespace) -> int:
    from vgkit.tuning import Candidate, compare, load_trace, recommend

    trace = load_trace(args.trace)
    steps = [0]

    def progress(_: Any) -> None:
        steps[0] += 1
        if sys.stderr.isatty() and steps[0] % 10 == 0:
            print(f"\rsearching: {steps[0]} configurations tried", end="", file=sys.stderr)

    freshness = _freshness(args)
    rec = recommend(
        trace,
        budget=args.budget,
        fit_fraction=args.fit_fraction,
        max_ttl=args.max_ttl,
        passes=args.passes,
        on_step=progress,
        stale_budget=args.stale_budget,
        staleness_weight=args.staleness_weight,
        freshness=freshness,
    )
    if sys.stderr.isatty():
        print("\r", end="", file=sys.stderr)
    print(rec.summary())
    doc = rec.to_json()
    if args.stale_budget is not None:
        table = rec.compare_at([args.stale_budget])
        row = table.iloc[0]
        print(
            f"\nheld out at a {args.stale_budget:.1%} stale budget (weight "
            f"{args.staleness_weight:g}): original net {row['original_net_seconds']:,.0f} s "
            f"({row['original_stale_fraction']:.1%} stale), recommended net "
            f"{row['recommended_net_seconds']:,.0f} s ({row['recommended_stale_fraction']:.1%} "
            f"stale), {row['net_ratio']:.2f}x"
        )
        doc["held_out_at_budget"] = table.to_dict(orient="records")
    if args.plot:
        _save_plot(args.plot, rec)
        print(f"wrote the seconds-saved-against-staleness plot to {args.plot}")
    if args.mode == "real":
        configs = [
            rec.baseline,
            Candidate(name="vgkit default", l1_size=args.budget),
            rec.recommended,
        ]
        results = compare(trace, configs, mode="both", limit=args.limit)
        print(
            f"\nvalidation: the first {results[1].requests} requests, simulated and through "
            "the real cache"
        )
        print(
            f"{'configuration':<16} {'mode':<5} {'hit ratio':>9} {'saved (s)':>11} "
            f"{'peak MiB':>9} {'seconds':>8}"
        )
        for r in results:
            print(
                f"{r.config.name:<16} {r.mode:<5} {r.hit_ratio:>9.3f} {r.seconds_saved:>11,.0f} "
                f"{r.peak_bytes / 2**20:>9.2f} {r.elapsed:>8.2f}"
            )
        doc["validation"] = [r.to_json() for r in results]
    if args.write_policy:
        _write(args.write_policy, rec.policy_dict())
        print(f"\nwrote the recommended TTLs to {args.write_policy} (set VGKIT_CACHE_POLICY to it)")
    if args.json:
        _write(args.json, doc)
    print(f"\n{RECORD_HINT}")
    return 0


def _freshness(args: argparse.Namespace) -> Any:
    from vgkit.tuning import DEFAULT_FRESHNESS, Freshness

    freshness = DEFAULT_FRESHNESS
    if args.news_age is not None:
        ages = {kind: {"*": args.news_age} for kind in ("*", "topic")}
        ages["template"] = {"*": None}
        freshness = Freshness(
            max_age=ages,
            versioned=freshness.versioned,
            release_every=freshness.release_every,
        )
    if args.release_every is not None:
        every = None if args.release_every.lower() in ("none", "never") else _seconds(args)
        freshness = Freshness(
            max_age=freshness.max_age, versioned=freshness.versioned, release_every=every
        )
    return freshness


def _seconds(args: argparse.Namespace) -> float:
    try:
        value = float(args.release_every)
    except ValueError:
        raise TuningError(
            f"--release-every takes seconds or none, not {args.release_every!r}"
        ) from None
    return value


def _save_plot(path: str, rec: Any) -> None:
    try:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        rec.plot_front().savefig(target, dpi=100)
    except OSError as exc:
        raise TuningError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _share(text: str) -> float | None:
    if text.strip().lower() in ("none", "off"):
        return None
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a share: use 0.05 or 5%, or none"
        ) from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a stale budget lies in 0..1 (or 0-100%), not {text!r}")
    return value


def _write(path: str, doc: Any) -> None:
    try:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    except OSError as exc:
        raise TuningError(f"cannot write {path}: {exc.strerror or exc}") from exc


def cmd_trace(args: argparse.Namespace) -> int:
    from vgkit.tuning.trace import load_trace, record_trace

    if args.record:
        command = list(args.command)
        if command and command[0] == "--":
            command = command[1:]
        if not command:
            raise TuningError(
                "give the vgkit command to record after --, e.g. "
                "vgkit cache trace --record t.jsonl -- generate 'How tides work'"
            )
        if command[:2] == ["cache", "trace"]:
            raise TuningError("vgkit cache trace cannot record itself")
        from vgkit.cli import main

        with record_trace(args.record) as recorder:
            code = main(command)
        print(f"recorded {recorder.count} requests to {args.record}", file=sys.stderr)
        return code
    if args.generate:
        if args.command:
            raise TuningError("--generate FILE takes no other file or command")
        from vgkit.tuning import generate_trace

        trace = generate_trace(days=args.days, requests_per_day=args.rate, seed=args.seed)
        trace.save(args.generate)
        print(
            f"wrote {len(trace)} requests over {trace.duration / 86400:.2f} days to {args.generate}"
        )
        return 0
    if len(args.command) > 1:
        raise TuningError("give one trace file to describe (a command goes with --record FILE)")
    info = load_trace(args.command[0] if args.command else None).describe()
    print(json.dumps(info, indent=2))
    return 0


def register(commands: Any) -> None:
    """Add ``tune`` and ``trace`` to the ``vgkit cache`` subcommands."""
    tune = commands.add_parser(
        "tune",
        help="replay a request trace through cache configurations and recommend TTLs and size",
        description="Search TTLs per kind and platform, L1 size, eviction policy and codec "
        "on a request trace (fit on its first part, evaluated on the rest) for the most "
        "compute seconds saved net of staleness within a stale budget, and compare the "
        "recommendation with the original TTL matrix.",
    )
    tune.add_argument(
        "--trace", metavar="FILE", help="JSON Lines trace (default: the bundled week)"
    )
    tune.add_argument(
        "--budget",
        type=parse_bytes,
        default="32MiB",
        metavar="BYTES",
        help="L1 storage budget, e.g. 32MiB, 1GiB, none (default 32MiB)",
    )
    tune.add_argument(
        "--mode",
        choices=("sim", "real"),
        default="sim",
        help="sim: simulator only; real: also replay the compared "
        "configurations through the real cache (first --limit requests)",
    )
    tune.add_argument(
        "--limit",
        type=int,
        default=300,
        metavar="N",
        help="requests the real mode replays (default 300)",
    )
    tune.add_argument(
        "--fit-fraction",
        type=float,
        default=4 / 7,
        metavar="F",
        help="share of the trace's time span to fit on (default 4/7)",
    )
    tune.add_argument(
        "--max-ttl",
        type=float,
        metavar="SECONDS",
        help="longest TTL the search may recommend (default 7 days)",
    )
    tune.add_argument("--passes", type=int, default=2, help="coordinate-descent passes (default 2)")
    tune.add_argument(
        "--stale-budget",
        type=_share,
        default=0.05,
        metavar="SHARE",
        help="largest share of requests that may be served something stale: 0.05 or 5%%, "
        "none for no limit (default 5%%)",
    )
    tune.add_argument(
        "--staleness-weight",
        type=float,
        default=1.0,
        metavar="W",
        help="what a stale hit costs as a multiple of the seconds it saved: 1 (default) "
        "counts it as saving nothing, 2 as costing what it saved, 0 ignores staleness",
    )
    tune.add_argument(
        "--news-age",
        type=float,
        metavar="SECONDS",
        help="how old any content may get before it is stale (default: 6 h, TikTok and Reels 2 h)",
    )
    tune.add_argument(
        "--release-every",
        metavar="SECONDS",
        help="a new template library ships every SECONDS (content made before it is stale "
        "after it); none: never (default 3 days)",
    )
    tune.add_argument("--plot", metavar="PNG", help="save seconds saved against staleness")
    tune.add_argument("--json", metavar="OUT", help="write everything as JSON")
    tune.add_argument(
        "--write-policy",
        metavar="FILE",
        help="write the recommended TTLs as a VGKIT_CACHE_POLICY file",
    )
    tune.set_defaults(handler=cmd_tune)

    trace = commands.add_parser(
        "trace",
        help="describe, record or generate a request trace",
        description="vgkit cache trace [FILE] describes a trace; --record FILE -- COMMAND runs "
        "a vgkit command recording every request its cache sees; --generate FILE writes a "
        "synthetic trace (the bundled one is the default: 7 days, 700 requests a day, seed 0).",
    )
    trace.add_argument("--record", metavar="FILE", help="append the requests of COMMAND to FILE")
    trace.add_argument("--generate", metavar="FILE", help="write a synthetic trace to FILE")
    trace.add_argument("--days", type=float, default=7.0)
    trace.add_argument("--rate", type=float, default=700.0, help="mean requests per day")
    trace.add_argument("--seed", type=int, default=0)
    trace.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        metavar="FILE | -- COMMAND",
        help="a trace to describe (default: the bundled one), or with --record: -- a vgkit command",
    )
    trace.set_defaults(handler=cmd_trace)
