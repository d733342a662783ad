"""Record plans the local model writes, for the llm half of the quality grid.

Starts SmolLM2 (or ``--model``) on 127.0.0.1, generates bundled topics through the llm
backend (every generative agent asks the model; no cache), and appends each plan as one
JSON line to ``tests/data/llm_plans.jsonl.gz`` (a gzip member per topic, so an
interrupted run keeps what it finished; a topic's platforms that already have a plan in
the file are skipped, so ``-p youtube`` records the long format for topics the short grid
has).
Topics are taken every ``--step`` rows of data/topics.csv, styles rotating, so the
recording spreads over categories and styles.

    .venv/bin/python -m scripts.record_llm_plans --topics 10 --threads 1

Two platforms by default (TikTok, Reels: about 4-8 minutes per topic on 2 cores);
``-p youtube`` records the long format (2-10 minutes a plan there).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import sys
import time
from pathlib import Path

from vgkit.llm.server import ModelServer, ModelServerConfig
from vgkit.loadtest.workload import load_topics
from vgkit.metrics import MetricsRegistry
from vgkit.models import Style, VideoPlan, VideoRequest
from vgkit.orchestrator import Orchestrator

RECORDED = Path(__file__).resolve().parent.parent / "tests" / "data" / "llm_plans.jsonl.gz"
STYLES = tuple(Style)


def recorded(path: Path) -> set[tuple[str, str]]:
    """(topic, platform) of every plan in ``path``."""
    if not path.exists():
        return set()
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        plans = (VideoPlan.from_json(line) for line in lines if line.strip())
        return {(plan.request.topic, plan.platform.value) for plan in plans}


async def record(args: argparse.Namespace) -> int:
    done = recorded(args.out)
    rows = load_topics()[:: args.step]
    # Per topic, the asked platforms it has no plan for yet (a topic of the short grid
    # still needs its YouTube plan).
    todo = [
        (i, t.text, missing)
        for i, t in enumerate(rows)
        if (missing := [p for p in args.platforms if (t.text, p) not in done])
    ][: args.topics]
    config = ModelServerConfig(model=args.model, port=0, threads=args.threads)
    async with ModelServer(config) as server:
        backend = server.backend()
        orchestrator = Orchestrator(backend=backend, metrics=MetricsRegistry())
        try:
            for i, topic, platforms in todo:
                while args.pause_file and args.pause_file.exists():  # quiet for a benchmark
                    await asyncio.sleep(2)
                request = VideoRequest(
                    topic=topic, platforms=tuple(platforms), style=STYLES[i % len(STYLES)],
                    seed=i,
                )  # fmt: skip
                began = time.perf_counter()
                result = await orchestrator.run(request)
                took = time.perf_counter() - began
                if not result.ok:
                    print(f"{topic!r}: failed after {took:.0f} s: {result.failures}", flush=True)
                    continue
                with gzip.open(args.out, "at", encoding="utf-8") as out:
                    for platform in request.platforms:
                        out.write(result.plan(platform).model_dump_json() + "\n")
                scores = ", ".join(
                    f"{p}: {result.plan(p).quality.overall:.3f}"  # type: ignore[union-attr]
                    for p in request.platforms
                )
                print(f"{topic!r} ({request.style}): {took:.0f} s; {scores}", flush=True)
        finally:
            await backend.aclose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=10, help="topics to record (default 10)")
    parser.add_argument("--step", type=int, default=5, help="every STEP-th bundled topic")
    parser.add_argument(
        "-p", "--platform", dest="platforms", action="append",
        help="repeat for several (default: tiktok and instagram_reels)",
    )  # fmt: skip
    parser.add_argument("--model", help="a .gguf file or an OpenAI-compatible URL")
    parser.add_argument("--threads", type=int, help="model threads (default: half the cores)")
    parser.add_argument("--out", type=Path, default=RECORDED)
    parser.add_argument(
        "--pause-file", type=Path, help="while this file exists, start no new topic"
    )
    args = parser.parse_args(argv)
    args.platforms = args.platforms or ["tiktok", "instagram_reels"]
    return asyncio.run(record(args))


if __name__ == "__main__":
    sys.exit(main())
