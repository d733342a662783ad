"""A bare aiohttp handler that runs the agent and answers with fixed bytes (the A2A baseline).

For every POST it reads the body, runs the agent on a call built once at start
(from the data part of ``REQUEST_FILE``, the request the benchmark sends) and
returns the bytes of ``RESPONSE_FILE`` (the answer `vgkit serve` gave to that
request) as ``application/json``: the HTTP layer's cost plus the agent's own
time, measured in the same conditions as the server's (same process layout,
same event loop: uvloop when installed, no access log). Nothing of A2A: no
JSON parsed, validated or written per request.
Usage: python benchmarks/_bare_server.py PORT REQUEST_FILE RESPONSE_FILE
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson
from aiohttp import web

from vgkit.agents import SPECS, AgentCall, TemplateBackend
from vgkit.serve.loops import loop_factory


def app(request_body: bytes, answer: bytes) -> web.Application:
    payload = orjson.loads(request_body)["params"]["message"]["parts"][0]["data"]
    call = AgentCall.from_payload(payload, SPECS)
    backend = TemplateBackend()

    async def rpc(request: web.Request) -> web.Response:
        await request.read()
        await backend.run(call)
        return web.Response(body=answer, content_type="application/json")

    async def card(_request: web.Request) -> web.Response:
        return web.Response(body=b"{}", content_type="application/json")

    application = web.Application()
    application.router.add_post("/", rpc)
    application.router.add_get("/.well-known/agent-card.json", card)
    return application


if __name__ == "__main__":
    port, request_file, response_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    loop = (loop_factory() or asyncio.new_event_loop)()
    web.run_app(
        app(Path(request_file).read_bytes(), Path(response_file).read_bytes()),
        host="127.0.0.1",
        port=port,
        access_log=None,
        print=None,
        loop=loop,
    )
