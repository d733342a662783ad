"""`vgkit serve` against an a2a-sdk server, a bare aiohttp handler, and the in-process run.

Both servers run in their own process on 127.0.0.1 and host the topic-analysis
agent: the message's data part is an ``AgentCall`` payload, the template
backend computes the artifact, which goes back as a data part. vgkit serves it
with aiohttp and its own A2A layer; the baseline is the official a2a-sdk 1.x
(Starlette routes, ``DefaultRequestHandler``, in-memory task store) under
uvicorn with httptools. The same PooledClient sends the same ``SendMessage``
to each, closed-loop at concurrency 1, 10 and 50, rounds interleaved.

The A2A layer's own cost: `vgkit serve`'s CPU per ``SendMessage`` (read from
/proc, server process only) against a bare aiohttp handler that runs the same
agent on the same call and answers the same bytes (``_bare_server.py``: HTTP
plus the agent's own time, nothing of A2A), over trusted hops
(``--trust-peers``) and untrusted ones, the same pooled client at c=10.

The remote pipeline: the same plan (three platforms) made by an orchestrator
whose agents all run on `vgkit serve` over A2A (pooled, trusted hops) against
the in-process orchestrator; makespans alternate run by run.
"""

from __future__ import annotations

import statistics
import time

import orjson

from benchmarks._common import Row, row
from benchmarks._load import HEADERS, Clients, Load, Send, closed_loop, compare, process_cpu
from benchmarks._servers import (
    AGENT,
    agent_call,
    load_average,
    send_body,
    start_bare_server,
    start_sdk_server,
    start_vgkit_serve,
)
from tests.conftest import free_port
from vgkit import Orchestrator, VideoRequest
from vgkit.agents import A2ABackend, TemplateBackend
from vgkit.client import PoolConfig, PooledClient
from vgkit.metrics import MetricsRegistry
from vgkit.serve import ServeProcess

TITLE = "vgkit serve vs an a2a-sdk server hosting the same agent (A2A SendMessage)"
CONCURRENCY = (1, 10, 50)


async def run(quick: bool) -> list[Row]:
    return [*await server_cpu(quick), *await remote_pipeline(quick), *await against_sdk(quick)]


async def server_cpu(quick: bool) -> list[Row]:
    """CPU per SendMessage: vgkit serve (trusted, untrusted) / bare aiohttp handler + agent."""
    total, rounds = (500, 3) if quick else (1500, 9)
    call = await agent_call()
    body = send_body(call)
    with (
        start_vgkit_serve() as plain,
        start_vgkit_serve(args=["--trust-peers"]) as trusted,
    ):
        clients = {"untrusted": Clients(plain.url(AGENT), body),
                   "trusted": Clients(trusted.url(AGENT), body)}  # fmt: skip
        pids = {"untrusted": plain.pid, "trusted": trusted.pid}
        answer = (await clients["untrusted"].pool.post(plain.url(AGENT), "/", data=body,
                                                        headers=HEADERS)).body  # fmt: skip
        with start_bare_server(free_port(), body, answer) as bare:
            clients["bare"] = Clients(bare.url, body)
            pids["bare"] = bare.proc.pid if bare.proc else None
            try:
                cpu: dict[str, list[float]] = {name: [] for name in clients}
                for c in clients.values():
                    await closed_loop(c.pooled, 10, 300)
                names = list(clients)
                for r in range(rounds):  # rotated, so bursts of other work hit all three
                    for name in names[r % 3 :] + names[: r % 3]:
                        load = await closed_loop(clients[name].pooled, 10, total, pids[name])
                        cpu[name].append(load.server_cpu)
            finally:
                for c in clients.values():
                    await c.aclose()
    median = {name: statistics.median(values) for name, values in cpu.items()}
    spread = {name: f"{min(v) * 1e6:.0f}-{max(v) * 1e6:.0f}" for name, v in cpu.items()}
    return [
        row(
            f"vgkit serve CPU per SendMessage, {label} / bare aiohttp + agent, c=10",
            median[name] * 1e6,
            median["bare"] * 1e6,
            "us",
            target=target,
            notes=f"server process CPU, median of {rounds} rounds of {total} (vgkit "
            f"{spread[name]} us, bare handler running the agent {spread['bare']} us); "
            f"{load_average()}",
        )
        for name, label, target in (
            ("trusted", "trusted hops (--trust-peers)", 1.5),
            ("untrusted", "untrusted (full validation)", None),
        )
    ]


async def remote_pipeline(quick: bool) -> list[Row]:
    """Makespan of the same plan: every agent over A2A (pooled, trusted) / in-process."""
    one = await _remote_makespan(quick, 1)
    return [*one, *(await _remote_makespan(quick, 2))[:2]]


async def _remote_makespan(quick: bool, workers: int) -> list[Row]:
    """The makespan rows (artifacts by reference, and by value), then (one server
    process) where the CPU of a remote run goes."""
    runs = 6 if quick else 30
    request = VideoRequest(
        topic="How solar panels turn sunlight into electricity", seed=5
    )  # all three platforms
    local = Orchestrator(metrics=MetricsRegistry())
    async with ServeProcess(workers=workers, args=["--trust-peers"]) as serve:
        by_ref = A2ABackend(serve.endpoints())
        by_value = A2ABackend(serve.endpoints(), by_reference=False)
        async with (
            Orchestrator(backend=by_ref, metrics=MetricsRegistry()) as remote,
            Orchestrator(backend=by_value, metrics=MetricsRegistry()) as plain,
        ):
            orchestrators = {"remote": remote, "by value": plain, "local": local}
            spans: dict[str, list[float]] = {name: [] for name in orchestrators}
            cpu: dict[str, list[float]] = {"remote": [], "server": [], "local": []}
            names = list(orchestrators)
            for i in range(runs + 3):
                for name in names[i % 3 :] + names[: i % 3]:  # rotated run by run
                    orch = orchestrators[name]
                    mine, server = time.process_time(), process_cpu(serve.pid)
                    result = await orch.run(request)
                    if i >= 3:  # warm-up: connections, template caches, the agents' stores
                        spans[name].append(result.makespan)
                        if name != "by value":
                            cpu[name].append(time.process_time() - mine)
                        if orch is remote:
                            cpu["server"].append(process_cpu(serve.pid) - server)
            sent = by_ref.refs.sent
            result = await remote.run(request)
            per_run = by_ref.refs.sent - sent
            plans = await local.run(request)
            for platform in request.platforms:  # the same plan, byte for byte
                assert result.plan(platform).to_json() == plans.plan(platform).to_json()
                assert (await plain.run(request)).plan(platform).to_json() == (
                    plans.plan(platform).to_json()
                )
    median = {k: statistics.median(v) for k, v in spans.items()}
    use = {k: statistics.median(v) * 1e3 for k, v in cpu.items() if v}
    servers = "one vgkit serve process" if workers == 1 else f"vgkit serve --workers {workers}"
    notes = (
        f"3 platforms, 28 agent calls, template backend (real work, no cost model), "
        f"pooled client, trusted hops; median of {runs} rotated runs; {load_average()}"
    )
    rows = [
        row(
            f"remote pipeline (all agents over A2A, {servers}) / in-process, makespan",
            median["remote"] * 1e3,
            median["local"] * 1e3,
            "ms",
            target=1.5 if workers == 1 else None,
            notes=f"upstream artifacts by reference ({per_run} references a run; "
            f"{by_ref.refs.missed_calls} calls sent again in full); {notes}",
        ),
        row(
            "  the same, every artifact sent in full (by_reference=False) / in-process",
            median["by value"] * 1e3,
            median["local"] * 1e3,
            "ms",
            notes=f"~270 KB of upstream artifacts a run sent to the agents; {notes}",
        ),
    ]
    if workers == 1 and use.get("server"):
        rows.append(
            row(
                "  CPU of a remote run (client + server) / in-process run",
                use["remote"] + use["server"],
                use["local"],
                "ms",
                notes=f"client {use['remote']:.1f} ms + server {use['server']:.1f} ms against "
                f"{use['local']:.1f} ms in one process: every agent's work moves to the "
                "server, and each of the 28 calls adds its A2A and HTTP work on both sides "
                "(artifacts by reference; ~250 KB of JSON comes back a run)",
            )
        )
    return rows


async def against_sdk(quick: bool) -> list[Row]:
    total, rounds = (100, 2) if quick else (300, 7)
    call = await agent_call()
    body = send_body(call)
    expected = (await TemplateBackend().run(call)).to_json()
    config = PoolConfig(limit_per_host=64, health_check_interval=None)
    results: dict[int, dict[str, Load]] = {}
    with start_vgkit_serve() as ours, start_sdk_server(free_port()) as sdk:
        async with PooledClient(config, metrics=MetricsRegistry()) as pool:
            urls = {"vgkit": ours.url(AGENT), "sdk": sdk.url}
            for url in urls.values():  # both must do the same work
                answer = (await pool.post(url, "/", data=body, headers=HEADERS)).json()
                data = answer["result"]["task"]["artifacts"][0]["parts"][0]["data"]
                assert call.spec.output.model_validate(data).to_json() == expected, url

            def sender(url: str) -> Send:
                async def send() -> None:
                    resp = await pool.request("POST", url, "/", data=body, headers=HEADERS,
                                              idempotent=True)  # fmt: skip
                    if resp.status != 200 or b'"result"' not in resp.body:
                        raise RuntimeError(orjson.loads(resp.body))

                return send

            for c in CONCURRENCY:
                results[c] = await compare(
                    {name: sender(url) for name, url in urls.items()}, c, total, rounds
                )
    return [
        row(
            f"vgkit serve / a2a-sdk server throughput, c={c}",
            results[c]["vgkit"].throughput,
            results[c]["sdk"].throughput,
            "req/s",
            target=1.0,
            higher_is_better=True,
            notes=f"mean latency {results[c]['vgkit'].mean_latency * 1e3:.2f} ms vs "
            f"{results[c]['sdk'].mean_latency * 1e3:.2f} ms",
        )
        for c in CONCURRENCY
    ]
