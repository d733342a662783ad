"""`vgkit serve` against an a2a-sdk server hosting the same agent function.

Both servers run in their own process on 127.0.0.1 and host the topic-analysis
agent: the message's data part is an ``AgentCall`` payload, the template
backend computes the artifact, which goes back as a data part. vgkit serves it
with aiohttp and its own A2A layer; the baseline is the official a2a-sdk 1.x
(Starlette routes, ``DefaultRequestHandler``, in-memory task store) under
uvicorn with httptools. The same PooledClient sends the same ``SendMessage``
to each, closed-loop at concurrency 1, 10 and 50, rounds interleaved.
"""

from __future__ import annotations

import orjson

from benchmarks._common import Row, row
from benchmarks._load import HEADERS, Load, Send, compare
from benchmarks._servers import (
    AGENT,
    agent_call,
    send_body,
    start_sdk_server,
    start_vgkit_serve,
)
from tests.conftest import free_port
from vgkit.agents import TemplateBackend
from vgkit.client import PoolConfig, PooledClient
from vgkit.metrics import MetricsRegistry

TITLE = "vgkit serve vs an a2a-sdk server hosting the same agent (A2A SendMessage)"
CONCURRENCY = (1, 10, 50)


async def run(quick: bool) -> list[Row]:
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
