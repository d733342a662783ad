"""``vgkit generate`` and ``vgkit plan``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from vgkit.agents import Backend, TemplateBackend
from vgkit.agents.cost import COST_PROFILES, MEASURED_PREFIX, cost_profile
from vgkit.agents.llm import GENERATIVE_AGENTS, SCHEMA_STYLES
from vgkit.agents.remote import A2ABackend
from vgkit.cli.output import output_dir, output_file
from vgkit.cli.render import add_render_options, render_config
from vgkit.config import settings
from vgkit.endpoints import parse_agents
from vgkit.errors import ConfigError, OutputError
from vgkit.events import Event, NodeFinished
from vgkit.executors import EXECUTORS
from vgkit.generation import GenerationResult
from vgkit.models import Style, VideoPlan
from vgkit.orchestrator import Orchestrator
from vgkit.pipeline import make_request
from vgkit.plan_cache import CacheIntegration
from vgkit.platforms import Platform

if TYPE_CHECKING:
    from vgkit.agents.llm import LLMBackend
    from vgkit.llm.server import ModelServer


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
    parser.add_argument(
        "--tone",
        default="friendly",
        help="the voice of the script and captions, free text up to 60 characters "
        "(default: friendly; e.g. calm, playful, authoritative)",
    )
    parser.add_argument(
        "--audience",
        default="general viewers",
        help="who the video is for, free text up to 200 characters; the topic analysis and "
        "the script address it (default: general viewers)",
    )
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
        help=f"add seeded agent latency: {', '.join(COST_PROFILES)} (assumed, from the "
        f"reference), or {MEASURED_PREFIX}FILE (recorded from real model calls: vgkit llm record) "
        "(off by default)",
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
        "--llm-ctx",
        type=int,
        metavar="N",
        help="the model's context window in tokens; answers are sized to it (default: what "
        "the endpoint's /props says: `vgkit llm serve` and llama.cpp's server say it)",
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


async def llm_endpoint_from(args: argparse.Namespace) -> ModelServer:
    """The endpoint ``--llm-url`` (or VGKIT_LLM_BASE_URL) names, checked: it answers."""
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
    return endpoint


async def llm_backend_from(args: argparse.Namespace) -> LLMBackend:
    """The llm backend the arguments describe, its endpoint checked (one-line errors)."""
    from vgkit.agents.llm import LLMBackend, LLMConfig

    s = settings()
    endpoint = await llm_endpoint_from(args)
    config = LLMConfig(
        base_url=endpoint.base_url,
        model=endpoint.model,
        api_key=s.llm_api_key,
        max_tokens=args.llm_max_tokens,
        context=args.llm_ctx or endpoint.context,
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
    if "backend" not in extra:
        extra["backend"] = backend_from(args)
    return Orchestrator(
        executor=args.executor,
        concurrency=args.concurrency,
        cost=cost_profile(args.cost) if args.cost is not None else None,
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


def served_whole(result: GenerationResult) -> bool:
    """Whether the run was answered by a complete-result cache hit (no agent ran)."""
    return "request" in result.cache_hits


def timings_frame(result: GenerationResult) -> Any:
    """The node timings to write: measured ones, or, when the whole run came from the
    cache, every node marked ``cached`` with no times (it did not run: zeros would lie)."""
    frame = result.timings_frame()
    if served_whole(result):
        frame = frame.assign(status="cached", start=None, end=None, duration=None)
    return frame


def write_plans(
    plans: Mapping[Platform, VideoPlan], out: Path, *, rendered: Collection[Platform] = ()
) -> list[Path]:
    """JSON, Markdown and SRT per platform into ``out`` (created if need be); no SRT for
    the ``rendered`` platforms, whose render wrote the SRT of the spoken words."""
    output_dir(out)
    written: list[Path] = []
    try:
        for platform, plan in plans.items():
            documents = [("json", plan.to_json()), ("md", plan.to_markdown())]
            if platform not in rendered:
                documents.append(("srt", plan.to_srt()))
            for suffix, text in documents:
                path = out / f"{platform.value}.{suffix}"
                path.write_text(text, encoding="utf-8")
                written.append(path)
    except OSError as exc:
        raise OutputError(
            f"--out {out}: writing failed after {len(written)} files ({exc.strerror or exc}); "
            "free some space or choose another folder"
        ) from exc
    return written


def write_outputs(result: GenerationResult, out: Path) -> list[Path]:
    """JSON, Markdown and SRT per platform, plus the node timings as CSV."""
    written = write_plans(result.plans, out, rendered=result.videos)
    try:
        timings = out / "timings.csv"
        timings_frame(result).to_csv(timings, index=False)
    except OSError as exc:
        raise OutputError(
            f"--out {out}: writing failed after {len(written)} files ({exc.strerror or exc}); "
            "free some space or choose another folder"
        ) from exc
    written.append(timings)
    return written


def describe_outputs(result: GenerationResult, out: Path, written: list[Path]) -> str:
    """Where the files went, one platform a line (what ``vgkit generate --out`` prints)."""
    lines = [f"wrote {len(written)} files to {out}/:"]
    for platform in result.plans:
        names = "  ".join(p.name for p in written if p.stem == platform.value)
        lines.append(f"  {names}")
    lines.append("  (.md production notes, .json the whole plan, .srt captions)")
    note = (
        " (served whole from the cache: no agent ran, so the nodes are marked cached)"
        if served_whole(result)
        else ""
    )
    lines.append(f"  timings.csv: when each agent ran{note}")
    return "\n".join(lines)


def shared_tier_warning(url: str | None) -> str | None:
    """A one-line warning when the Redis of the shared cache tier does not answer (the
    run then uses the local tier only), else None."""
    if not url:
        return None
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        parts = urlsplit(url)
        shown = f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"
        text = str(exc)
        if "refused" in text.lower():
            reason = "connection refused"
        elif isinstance(exc, redis.TimeoutError) or "timed out" in text.lower():
            reason = "no answer within 1 s"
        else:
            reason = text.rstrip(".") or type(exc).__name__
        return (
            f"vgkit: warning: the shared cache tier at {shown} is unreachable ({reason}); "
            "this run uses the local tier only"
        )
    return None


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
    if args.render and not args.out:
        raise ConfigError("--render needs --out DIR: the videos are written beside the plans")
    out = output_dir(args.out) if args.out else None  # before the work, not after it
    traces = [trace_file(path) for path in args.trace or ()]
    render = render_config(args, out) if args.render and out is not None else None
    use_redis = True
    if not args.no_cache:
        warning = shared_tier_warning(args.redis or settings().redis_url)
        if warning is not None:
            print(warning, file=sys.stderr)
            use_redis = False

    if args.record_costs and args.backend != "llm":
        raise ConfigError(
            "--record-costs needs --backend llm: it records the model calls' wall seconds"
        )
    if args.backend == "llm" and (args.agents or settings().agents_file):
        raise ConfigError("--backend llm runs the agents here: drop --agents / VGKIT_AGENTS")

    async def go() -> GenerationResult:
        on_event = _print_event if args.verbose else None
        llm = await llm_backend_from(args) if args.backend == "llm" else None
        if args.no_cache:
            extra: dict[str, Any] = {"backend": llm} if llm is not None else {}
            async with orchestrator_from(args, render=render, **extra) as orchestrator:
                result = await orchestrator.run(
                    request, on_event=on_event, traceparent=args.traceparent
                )
        else:
            cache = CacheIntegration.from_settings(redis_url=args.redis, use_redis=use_redis)
            backend = llm if llm is not None else cached_backend(args, cache)
            async with (
                cache,
                orchestrator_from(args, backend=backend, cache=cache, render=render) as orch,
            ):
                result = await orch.run(request, on_event=on_event, traceparent=args.traceparent)
        if args.record_costs and llm is not None:
            record_costs_of(llm, args.record_costs)
        return result

    result = asyncio.run(go())
    print(result.summary())
    for path in traces:
        print(write_trace(result.trace_frame(), result.trace_id, path))
    if out is not None:
        print(describe_outputs(result, out, write_outputs(result, out)))
    for error in result.render_errors.values():
        raise error  # a video could not be made: one line, exit 2
    for video in result.videos.values():
        print(f"open {video.path}")
    return 0 if result.ok else 1


TRACE_TABLES = frozenset({"csv", "json"})


def trace_file(path: str) -> Path:
    """``--trace FILE``: a table (.csv, .json) or a waterfall drawing (.png, .svg, .pdf ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    drawings = frozenset(FigureCanvasBase.get_supported_filetypes())
    return output_file(path, "--trace", suffixes=TRACE_TABLES | drawings)


def write_trace(frame: Any, trace_id: str, path: Path) -> str:
    """Write a trace (``trace_frame()``) to ``path`` by its suffix; the line the CLI prints."""
    from vgkit.plots import waterfall

    kind = path.suffix.lower().lstrip(".")
    try:
        if kind == "csv":
            frame.to_csv(path, index=False)
        elif kind == "json":
            path.write_bytes(orjson.dumps(frame.to_dict(orient="records")))
        else:
            waterfall(frame).savefig(path, dpi=110, bbox_inches="tight")
    except OSError as exc:
        raise OutputError(f"--trace {path}: cannot write the trace ({exc})") from exc
    hosts = frame["host"].nunique()
    processes = len(frame[["host", "pid"]].drop_duplicates())
    what = "waterfall" if kind not in TRACE_TABLES else f"{len(frame)} spans"
    return (
        f"trace {trace_id}: {what} ({hosts} host{'s' if hosts != 1 else ''}, "
        f"{processes} process{'es' if processes != 1 else ''}) -> {path}"
    )


def record_costs_of(llm: LLMBackend, path: str) -> None:
    """``--record-costs FILE``: the run's agent calls as a measured cost profile."""
    if not llm.latencies:
        print(
            "vgkit: no agent call was made (served from the cache): nothing to record; "
            "add --no-cache",
            file=sys.stderr,
        )
        return
    saved = llm.cost_profile().save(path)
    calls = sum(len(v) for v in llm.latencies.values())
    print(f"recorded {calls} agent calls' latencies to {saved}")


def cmd_plan(args: argparse.Namespace) -> int:
    request = request_from(args)
    if args.agents:
        parse_agents(args.agents)  # validate the configuration; the plan needs no network
    target = None
    if args.draw:  # checked before anything is printed or drawn
        from matplotlib.backend_bases import FigureCanvasBase

        formats = frozenset(FigureCanvasBase.get_supported_filetypes())
        target = output_file(args.draw, "--draw", suffixes=formats)
    orchestrator = orchestrator_from(args, backend=None)
    dag = orchestrator.graph(request)
    print(dag.to_text())
    if target is not None:
        figure = dag.draw(
            title=f"{request.topic} ({', '.join(p.value for p in request.platforms)})"
        )
        try:
            figure.savefig(target, dpi=120, bbox_inches="tight")
        except OSError as exc:
            raise OutputError(f"--draw {args.draw}: cannot write the drawing ({exc})") from exc
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
    gen.add_argument(
        "--record-costs",
        metavar="FILE.json",
        help="with --backend llm: write every agent call's wall seconds as a measured cost "
        "profile (replay: --cost measured:FILE)",
    )
    gen.add_argument(
        "--trace",
        metavar="FILE",
        action="append",
        help="write the run's trace: spans as .csv or .json, a waterfall as .png or .svg "
        "(repeat for several)",
    )
    gen.add_argument(
        "--traceparent",
        metavar="VALUE",
        help="continue this W3C trace (00-<trace id>-<span id>-<flags>); malformed: a new trace",
    )
    add_render_options(gen, with_input=False)
    gen.set_defaults(handler=cmd_generate)

    plan = sub.add_parser("plan", help="print the execution plan (levels, critical path)")
    add_request_arguments(plan)
    add_run_arguments(plan)
    plan.add_argument("--draw", metavar="FILE.png", help="also draw the graph to an image")
    plan.set_defaults(handler=cmd_plan)
