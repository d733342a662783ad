"""The local language model: vgkit's pooled path against bare aiohttp, and what a hit saves.

(a) One agent call's chat completion (the hook creator's, TikTok, the exact request
the llm backend sends: its prompt, its JSON Schema, temperature 0 so every answer is
the same tokens) sent to SmolLM2-135M behind ``vgkit llm serve`` through the llm
backend's request path (``PooledClient``, the body built and the answer parsed as in
a run) and with a bare ``aiohttp.ClientSession`` to the same server, alternating,
one at a time. Tokens per second of each call's wall time; the ratio is vgkit's over
aiohttp's (target >= 0.97).

(b) A complete result generated with real model calls (TikTok; the quick run asks
the model for the hook and the call to action, the full run for every generative
agent) through the layered cache, then the same request again: the seconds the hit
saved are the wall seconds of the computation it avoided, measured; the hit's own
wall time is timed beside it (target: the hit <= 1% of the computation).

Both print the load average: the model shares 2 cores with everything else.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import Row, row

TITLE = "Local model: pooled llm backend vs bare aiohttp; seconds a complete-result hit saves"
TOPIC = "Why cats purr"


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


async def _hook_request(backend: Any) -> tuple[Any, list[dict[str, Any]], dict[str, Any], int]:
    """The hook creator's call for TikTok, its chat and schema, as the backend builds them."""
    from vgkit.agents import SPECS
    from vgkit.agents.base import AgentCall
    from vgkit.agents.drafts import DRAFTS, draft_schema, token_budget
    from vgkit.agents.prompts import messages
    from vgkit.agents.template import TemplateBackend
    from vgkit.models import VideoRequest
    from vgkit.pipeline import narrow
    from vgkit.platforms import Platform

    template = TemplateBackend()
    request = VideoRequest(topic=TOPIC, platforms=[Platform.TIKTOK], seed=1)
    analysis = await template.run(AgentCall(SPECS["topic_analysis"], request))
    spec = SPECS["hook_creator"]
    call = AgentCall(
        spec, narrow(request, spec, Platform.TIKTOK), Platform.TIKTOK, {"topic_analysis": analysis}
    )
    skeleton = await template.run(call)
    schema = draft_schema(DRAFTS["hook_creator"], skeleton.model_dump(mode="json"))
    return call, messages(call, skeleton, schema), schema, min(token_budget(schema), 96)


async def _pool_vs_aiohttp(server: Any, rounds: int) -> list[Row]:
    import aiohttp

    backend = server.backend(temperature=0.0)
    call, chat, schema, budget = await _hook_request(backend)
    body = {
        "model": server.model,
        "messages": chat,
        "temperature": 0.0,
        "seed": call.request.seed,
        "max_tokens": budget,
        "response_format": backend._response_format("hook_creator", schema),
    }
    seconds: dict[str, list[float]] = {"vgkit": [], "aiohttp": []}
    tokens: dict[str, list[int]] = {"vgkit": [], "aiohttp": []}
    async with aiohttp.ClientSession() as session:

        async def bare() -> int:
            async with session.post(f"{server.base_url}/chat/completions", json=body) as resp:
                data = await resp.json()
            return int(data["usage"]["completion_tokens"])

        async def pooled() -> int:
            answer = await backend._complete(call, chat, schema, budget)
            return int(answer.completion_tokens)

        await bare(), await pooled()  # warm both connections and the model
        for i in range(rounds):
            order = [("vgkit", pooled), ("aiohttp", bare)]
            for name, fn in order if i % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                count = await fn()
                seconds[name].append(time.perf_counter() - started)
                tokens[name].append(count)
    await backend.aclose()
    rate = {k: statistics.median(t / s for t, s in zip(tokens[k], seconds[k], strict=True))
            for k in seconds}  # fmt: skip
    latency = {k: statistics.median(v) for k, v in seconds.items()}
    same = tokens["vgkit"] == tokens["aiohttp"] and len(set(tokens["vgkit"])) == 1
    note = (
        f"median of {rounds} alternating calls, {tokens['vgkit'][0]} completion tokens each "
        f"({'identical answers' if same else 'answers differed'}); {_load()}"
    )
    return [
        row("completion tokens/s of one agent call (pooled vs aiohttp)", rate["vgkit"],
            rate["aiohttp"], "tok/s", target=0.97, higher_is_better=True, notes=note),
        row("latency of one agent call (pooled vs aiohttp)", latency["vgkit"],
            latency["aiohttp"], "s", notes=note),
    ]  # fmt: skip


async def _hit_vs_computation(server: Any, quick: bool, hits: int) -> list[Row]:
    from vgkit.agents.llm import LLMBackend
    from vgkit.metrics import MetricsRegistry
    from vgkit.orchestrator import Orchestrator
    from vgkit.plan_cache import CacheIntegration

    agents = frozenset({"hook_creator", "cta_generator"}) if quick else None
    backend = LLMBackend(server.llm_config(agents=agents), metrics=MetricsRegistry())
    fields: dict[str, Any] = {"topic": TOPIC, "platforms": ["tiktok"], "seed": 2}
    with tempfile.TemporaryDirectory(prefix="vgkit-bench-llm-") as tmp:
        cache = CacheIntegration.from_settings(
            use_redis=False, directory=Path(tmp), metrics=MetricsRegistry()
        )
        async with cache:
            orch = Orchestrator(backend=backend, cache=cache, metrics=MetricsRegistry())
            started = time.perf_counter()
            cold = await orch.run(**fields)
            computation = time.perf_counter() - started
            assert cold.ok, cold.failures
            walls = []
            for _ in range(hits):
                started = time.perf_counter()
                hit = await orch.run(**fields)
                walls.append(time.perf_counter() - started)
                assert "request" in hit.cache_hits
    totals = backend.totals()
    await backend.aclose()
    hit_wall = statistics.median(walls)
    written = "hook, CTA" if quick else "all 7 generative agents"
    note = (
        f"TikTok, the model writes {written}: {totals.model_calls} completions, "
        f"{totals.completion_tokens} tokens, {totals.repairs} repairs, {totals.fallbacks} "
        f"fallbacks; hit = median of {hits}; {_load()}"
    )
    return [
        row("complete-result hit vs the computation it replaces", hit_wall, computation, "s",
            target=0.01, notes=note, seconds_saved=computation - hit_wall),
    ]  # fmt: skip


async def run(quick: bool) -> list[Row]:
    from vgkit.llm import ModelServer, require_extra

    require_extra()
    async with ModelServer(startup_timeout=300) as server:
        rows = await _pool_vs_aiohttp(server, 6 if quick else 20)
        rows += await _hit_vs_computation(server, quick, 5 if quick else 20)
    return rows
