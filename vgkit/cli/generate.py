"""``vgkit generate`` and ``vgkit plan``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vgkit.agents import Backend, TemplateBackend
from vgkit.agents.cost import COST_PROFILES
from vgkit.agents.llm import GENERATIVE_AGENTS, SCHEMA_STYLES
from vgkit.agents.remote import A2ABackend
from vgkit.cli.render import add_render_options, render_options
from vgkit.config import settings
from vgkit.endpoints import parse_agents
from vgkit.errors import ConfigError
from vgkit.events import Event, NodeFinished
from vgkit.executors import EXECUTORS
from vgkit.generation import GenerationResult
from vgkit.models import Style
from vgkit.orchestrator import Orchestrator
from vgkit.pipeline import make_request
from vgkit.plan_cache import CacheIntegration
from vgkit.platforms import Platform

if TYPE_CHECKING:
    from vgkit.agents.llm import LLMBackend


def add_request_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments that describe a VideoRequest (shared by commands that take one)."""
    parser.add_argument("topic", help="what the video is about (1-500 characters)")
    parser.add_argument(
        "-p",
        "--platform",
        dest="platforms",
        action="append",
        metavar="PLATFORM",
        help=f"repeat for several: {', '.join(p.value for p in Platform)} (default: all three)",
    )
    parser.add_argument(
        "--style", default="educational", help=f"one of {', '.join(s.value for s in Style)}"
    )
    parser.add_argument("--tone", default="friendly")
    parser.add_argument("--audience", default="general viewers")
    parser.add_argument("--duration", type=float, help="target seconds for every platform")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same plan")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--executor", default="eager", help=f"{' | '.join(EXECUTORS)} (default: eager)"
    )
    parser.add_argument("--concurrency", type=int, help="max agent calls in flight")
    parser.add_argument(
        "--cost",
        metavar="PROFILE",
        help=f"add seeded agent latency: {', '.join(COST_PROFILES)} (off by default)",
    )
    parser.add_argument(
        "--time-scale", type=float, default=0.01, help="multiplier for --cost latencies"
    )
    add_llm_arguments(parser)
    parser.add_argument(
        "--agents",
        action="append",
        metavar="SPEC",
        help="run the agents remotely over A2A: an agents file (TOML/JSON), NAME=URL (repeat), "
        "or 'local[:BASE]' for `vgkit serve` on this machine (default: $VGKIT_AGENTS, else "
        "the embedded agents)",
    )


def add_llm_arguments(parser: argparse.ArgumentParser) -> None:
    """``--backend`` and the llm backend's options (generate, serve)."""
    parser.add_argument(
        "--backend",
        choices=("template", "llm"),
        default="template",
        help="who writes the agents' text: the template agents (default) or a language model "
        "(--llm-url; start the local one with `vgkit llm serve`)",
    )
    parser.add_argument(
        "--llm-url",
        metavar="URL",
        help="API root of an OpenAI-compatible endpoint, such as http://127.0.0.1:10400/v1 "
        "(default $VGKIT_LLM_BASE_URL)",
    )
    parser.add_argument(
        "--llm-model", metavar="NAME", help="model name (default $VGKIT_LLM_MODEL, else the "
        "endpoint's first model)",
    )  # fmt: skip
    parser.add_argument(
        "--llm-agents",
        metavar="A,B",
        help="only these agents go to the model, the others are computed (default: all seven "
        f"generative agents: {', '.join(GENERATIVE_AGENTS)})",
    )
    parser.add_argument(
        "--llm-max-tokens", type=int, metavar="N", help="cap on completion tokens per answer"
    )
    parser.add_argument(
        "--llm-schema",
        choices=SCHEMA_STYLES,
        default="llama-cpp",
        help="how the answer's JSON Schema is sent: llama-cpp (llama-cpp-python's server, "
        "default), openai (json_schema: OpenAI, vLLM, Ollama) or json (prompt only)",
    )


def llm_agents(text: str | None) -> frozenset[str] | None:
    if not text:
        return None
    return frozenset(a.strip() for a in text.split(",") if a.strip())


async def llm_backend_from(args: argparse.Namespace) -> LLMBackend:
    """The llm backend the arguments describe, its endpoint checked (one-line errors)."""
    from vgkit.agents.llm import LLMBackend, LLMConfig
    from vgkit.llm.server import ModelServer, ModelServerConfig

    s = settings()
    url = args.llm_url or s.llm_base_url
    if not url:
        raise ConfigError(
            "--backend llm needs --llm-url (or VGKIT_LLM_BASE_URL): start the local model "
            "with `vgkit llm serve` and pass the URL it prints"
        )
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--llm-url {url!r} must start with http:// or https://")
    endpoint = ModelServer(ModelServerConfig(model=url, alias=args.llm_model or s.llm_model))
    await endpoint.start()  # a URL that does not answer fails here, in one line
    config = LLMConfig(
        base_url=endpoint.base_url,
        model=endpoint.model,
        api_key=s.llm_api_key,
        max_tokens=args.llm_max_tokens,
        agents=llm_agents(args.llm_agents),
        schema_style=args.llm_schema,
    )
    return LLMBackend(config)


def request_from(args: argparse.Namespace) -> Any:
    fields: dict[str, Any] = {
        "topic": args.topic,
        "style": args.style,
        "tone": args.tone,
        "audience": args.audience,
        "seed": args.seed,
    }
    if args.platforms:
        fields["platforms"] = args.platforms
    if args.duration is not None:
        fields["duration"] = args.duration
    return make_request(**fields)


def orchestrator_from(args: argparse.Namespace, **extra: Any) -> Orchestrator:
    if args.cost is not None and args.cost not in COST_PROFILES:
        raise ConfigError(
            f"unknown cost profile {args.cost!r}; choose from {', '.join(COST_PROFILES)}"
        )
    if "backend" not in extra:
        extra["backend"] = backend_from(args)
    return Orchestrator(
        executor=args.executor,
        concurrency=args.concurrency,
        cost=args.cost,
        time_scale=args.time_scale,
        **extra,
    )


def backend_from(args: argparse.Namespace) -> Backend | None:
    """An A2ABackend when ``--agents`` or ``VGKIT_AGENTS`` names endpoints, else None."""
    specs = getattr(args, "agents", None)
    if not specs:
        agents_file = settings().agents_file
        if agents_file is None:
            return None
        specs = [str(agents_file)]
    s = settings()
    return A2ABackend(
        parse_agents(specs),
        fallback=TemplateBackend(),
        auth_token=s.auth_token,
        hmac_secret=s.hmac_secret,
    )


def cached_backend(args: argparse.Namespace, cache: CacheIntegration) -> Backend:
    """Remote agents when configured (the cache then sits in front of them), else
    the template agents choosing from the cache's template cache."""
    remote = backend_from(args)
    return remote if remote is not None else cache.backend()


def write_outputs(result: GenerationResult, out: Path) -> list[Path]:
    """JSON, Markdown and SRT per platform, plus the node timings as CSV."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for platform, plan in result.plans.items():
        for suffix, text in (
            ("json", plan.to_json()),
            ("md", plan.to_markdown()),
            ("srt", plan.to_srt()),
        ):
            path = out / f"{platform.value}.{suffix}"
            path.write_text(text, encoding="utf-8")
            written.append(path)
    timings = out / "timings.csv"
    result.timings_frame().to_csv(timings, index=False)
    written.append(timings)
    return written


def _print_event(event: Event) -> None:
    if isinstance(event, NodeFinished):
        hit = " (cache)" if event.cache_hit else ""
        took = f"{event.duration:.3f} s" if event.duration is not None else "-"
        how = ""
        if event.source in ("model", "fallback"):
            how = f" {event.source}, {event.model_calls} completions, {event.repairs} repairs"
        print(f"  {event.status:<8} {event.node:<28} {took}{hit}{how}", file=sys.stderr)


def cmd_generate(args: argparse.Namespace) -> int:
    request = request_from(args)
    if args.no_cache and args.redis:
        raise ConfigError("--no-cache and --redis contradict each other; drop one")

    if args.backend == "llm" and (args.agents or settings().agents_file):
        raise ConfigError("--backend llm runs the agents here: drop --agents / VGKIT_AGENTS")

    async def go() -> GenerationResult:
        on_event = _print_event if args.verbose else None
        llm = await llm_backend_from(args) if args.backend == "llm" else None
        if args.no_cache:
            extra: dict[str, Any] = {"backend": llm} if llm is not None else {}
            async with orchestrator_from(args, **extra) as orchestrator:
                return await orchestrator.run(request, on_event=on_event)
        cache = CacheIntegration.from_settings(redis_url=args.redis)
        backend = llm if llm is not None else cached_backend(args, cache)
        async with cache, orchestrator_from(args, backend=backend, cache=cache) as orch:
            return await orch.run(request, on_event=on_event)

    options = render_options(args) if args.render else None
    if args.render and not args.out:
        raise ConfigError("--render needs --out DIR: the videos are written beside the plans")
    result = asyncio.run(go())
    print(result.summary())
    if args.out:
        written = write_outputs(result, Path(args.out))
        print(f"wrote {len(written)} files to {args.out}/")
    if options is not None and result.plans:
        rendered = result.render(Path(args.out), **options)
        print(rendered.summary())
        for v in rendered.videos.values():
            print(f"open {v.path}")
    return 0 if result.ok else 1


def cmd_plan(args: argparse.Namespace) -> int:
    request = request_from(args)
    if args.agents:
        parse_agents(args.agents)  # validate the configuration; the plan needs no network
    orchestrator = orchestrator_from(args, backend=None)
    dag = orchestrator.graph(request)
    print(dag.to_text())
    if args.draw:
        figure = dag.draw(
            title=f"{request.topic} ({', '.join(p.value for p in request.platforms)})"
        )
        figure.savefig(args.draw, dpi=120, bbox_inches="tight")
        print(f"wrote {args.draw}")
    return 0


def register(sub: Any) -> None:
    gen = sub.add_parser("generate", help="generate video plans for a topic")
    add_request_arguments(gen)
    add_run_arguments(gen)
    gen.add_argument("--out", metavar="DIR", help="write JSON, Markdown and SRT per platform here")
    gen.add_argument("-v", "--verbose", action="store_true", help="print every node as it finishes")
    gen.add_argument(
        "--no-cache", action="store_true", help="compute everything; read and write no cache"
    )
    gen.add_argument(
        "--redis",
        metavar="URL",
        help="shared cache tier (default: VGKIT_REDIS_URL; unset: L1 only)",
    )
    gen.add_argument(
        "--render", action="store_true", help="also render each plan into DIR/PLATFORM.mp4"
    )
    add_render_options(gen, with_input=False)
    gen.set_defaults(handler=cmd_generate)

    plan = sub.add_parser("plan", help="print the execution plan (levels, critical path)")
    add_request_arguments(plan)
    add_run_arguments(plan)
    plan.add_argument("--draw", metavar="FILE.png", help="also draw the graph to an image")
    plan.set_defaults(handler=cmd_plan)
