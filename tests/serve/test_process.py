"""ServeProcess: vgkit serve in a child process, healthy when started, gone when stopped."""

from __future__ import annotations

import httpx
import pytest

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
    assert proc.returncode == 0  # SIGTERM: a graceful stop
    assert not serve.running
    with pytest.raises(ServeError, match="not running"):
        serve.endpoints()


def test_a_child_that_cannot_start_says_why() -> None:
    with pytest.raises(ServeError, match=r"exited with status 2: .*unknown agent\(s\) nobody"):
        ServeProcess(["nobody"]).start_sync()
    with pytest.raises(ServeError, match="at least 1"):
        ServeProcess(workers=0)
