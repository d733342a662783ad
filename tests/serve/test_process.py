"""ServeProcess: vgkit serve in a child process, healthy when started, gone when stopped."""

from __future__ import annotations

import httpx
import pytest

from vgkit.a2a.tls import client_context
from vgkit.errors import ServeError
from vgkit.serve import ServeProcess


async def test_start_waits_for_health_and_stop_is_graceful() -> None:
    serve = ServeProcess(["topic_analysis", "hook_creator"], loop="asyncio")
    async with serve:
        assert sorted(serve.endpoints()) == ["hook_creator", "topic_analysis"]
        url = serve.url("topic_analysis")
        async with httpx.AsyncClient() as client:
            card = (await client.get(url + "/.well-known/agent-card.json")).json()
        assert card["name"] == "topic_analysis" and card["url"] == url + "/"
        proc = serve.proc
        assert proc is not None
        with pytest.raises(ServeError, match="orchestrator is not served here"):
            serve.url("orchestrator")
    assert proc.returncode == 0 and serve.returncode == 0  # SIGTERM: a graceful stop
    assert not serve.running
    with pytest.raises(ServeError, match="not running"):
        serve.endpoints()


def test_a_child_that_cannot_start_says_why() -> None:
    with pytest.raises(ServeError, match=r"exited with status 2: .*unknown agent\(s\) nobody"):
        ServeProcess(["nobody"]).start_sync()
    with pytest.raises(ServeError, match="at least 1"):
        ServeProcess(workers=0)


async def test_a_tls_child_serves_https_that_its_ca_file_verifies() -> None:
    async with ServeProcess(["topic_analysis"], tls=True) as serve:
        url = serve.url("topic_analysis")
        assert url.startswith("https://127.0.0.1:") and serve.ca_file is not None
        async with httpx.AsyncClient(verify=client_context(serve.ca_file)) as client:
            card = (await client.get(url + "/.well-known/agent-card.json")).json()
        assert card["url"] == url + "/"
        async with httpx.AsyncClient() as untrusting:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await untrusting.get(url + "/healthz")
