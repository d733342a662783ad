"""The model server process: llama-cpp-python's OpenAI-compatible app on an inherited socket.

``vgkit.llm.ModelServer`` binds the listening socket itself (so the port is
known before the model loads and no other process can take it), then runs
``python -m vgkit.llm._child SPEC`` with that socket inherited. This module
builds llama-cpp-python's own FastAPI app (``llama_cpp.server.app.create_app``)
and serves it with uvicorn on that socket until SIGTERM/SIGINT, or until its
parent is gone (so a killed parent leaves no model behind).

Weight repacking and AMX ("extra buffer types") stay off unless asked for:
the prebuilt llama.cpp crashes in its AMX matrix multiply on this machine's
CPUs (a segmentation fault on the first prompt), and SmolLM2's Q4_1 weights
gain nothing from the repacked layouts on the CPUs without AMX.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import threading
import time
from typing import Any

#: How often the server checks that its parent still runs (seconds).
PARENT_POLL = 1.0


def _without_extra_buffers() -> None:
    """Load models with llama.cpp's extra buffer types (repack, AMX) off."""
    import llama_cpp.llama_cpp as lib

    default = lib.llama_model_default_params

    def params() -> Any:
        p = default()
        p.use_extra_bufts = False
        return p

    lib.llama_model_default_params = params


def _watch_parent(parent: int, stop: threading.Event) -> None:
    while not stop.wait(PARENT_POLL):
        if os.getppid() != parent:
            os.kill(os.getpid(), 15)  # SIGTERM: uvicorn shuts down gracefully
            return


def main(argv: list[str]) -> int:
    spec: dict[str, Any] = json.loads(argv[0])
    if not spec.get("extra_buffers", False):
        _without_extra_buffers()
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    model = ModelSettings(
        model=spec["model"],
        model_alias=spec["alias"],
        n_ctx=spec["ctx"],
        verbose=False,
        **({"n_threads": spec["threads"]} if spec.get("threads") else {}),
    )
    started = time.perf_counter()
    app = create_app(
        server_settings=ServerSettings(host=spec["host"], port=spec["port"]),
        model_settings=[model],
    )
    loaded = time.perf_counter() - started

    async def props() -> dict[str, Any]:
        # What llama.cpp's own server answers here: the context window, which the llm
        # backend of a client given only the URL sizes its answers to.
        ctx = int(spec["ctx"])
        return {"n_ctx": ctx, "default_generation_settings": {"n_ctx": ctx}, "model": spec["alias"]}

    app.add_api_route("/props", props, methods=["GET"], include_in_schema=False)

    sock = socket.socket(fileno=int(spec["fd"]))
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    )
    stop = threading.Event()
    threading.Thread(target=_watch_parent, args=(int(spec["parent"]), stop), daemon=True).start()
    print(f"model {spec['alias']} loaded in {loaded:.2f} s", flush=True)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
