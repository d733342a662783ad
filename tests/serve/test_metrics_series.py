"""Every ``/metrics`` ``vgkit serve`` serves is one Prometheus accepts: no series twice.

``vgkit serve --backend llm`` once built a backend, and a connection pool to the
model, per agent: after a generation ``/metrics`` repeated every pool series
once per agent (same name, same labels), and Prometheus rejects such a scrape.
The worker's ``/metrics`` is read with the same strict parser in
tests/queue/test_workers.py.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests._prometheus import ExpositionError, strict_series
from tests.agents._chat import chat_server

SERVE = [sys.executable, "-c", "from vgkit.cli import run; run()", "serve"]


def test_the_strict_parser_rejects_what_prometheus_rejects() -> None:
    good = (
        "# HELP a_total A counter\n# TYPE a_total counter\n"
        'a_total{x="1",y="q\\"uote}"} 3\na_total{x="2"} 4\n'
        "# TYPE h histogram\n"
        'h_bucket{le="1.0"} 1\nh_bucket{le="+Inf"} 2\nh_count 2\nh_sum 0.5\n'
    )
    series = strict_series(good)
    assert series[("a_total", (("x", "1"), ("y", 'q\\"uote}')))] == 3
    assert len(series) == 6
    repeated = good.replace(
        'a_total{x="2"} 4\n', 'a_total{x="2"} 4\na_total{y="q\\"uote}",x="1"} 5\n'
    )
    with pytest.raises(ExpositionError, match="duplicate series"):  # label order does not matter
        strict_series(repeated)
    with pytest.raises(ExpositionError, match="second # TYPE"):
        strict_series(good + "# TYPE a_total counter\n")
    with pytest.raises(ExpositionError, match="split in two"):
        strict_series(good + 'a_total{x="3"} 1\n')
    with pytest.raises(ExpositionError, match="bad value"):
        strict_series("a 1x\n")


async def _scrape(urls: dict[str, list[str]]) -> dict[str, str]:
    out = {}
    async with aiohttp.ClientSession() as http:
        for name, (url,) in urls.items():
            async with http.get(url + "/metrics") as resp:
                assert resp.status == 200
                out[name] = await resp.text()
    return out


async def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], dict[str, list[str]]]:
    agents_file = tmp_path / "agents.json"
    proc = subprocess.Popen(  # noqa: ASYNC220 (starts at once; the wait below is async)
        [*SERVE, "--free-ports", "--write-agents", str(agents_file), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not agents_file.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "vgkit serve did not start"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)
    return proc, json.loads(agents_file.read_text())["agents"]


async def _generate(orchestrator: str) -> dict[str, object]:
    message = {
        "messageId": "m",
        "role": "ROLE_USER",
        "parts": [{"text": "Beekeeping"}, {"data": {"platforms": ["tiktok"]}}],
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": message}}
    async with (
        aiohttp.ClientSession() as http,
        http.post(orchestrator + "/", json=body, timeout=aiohttp.ClientTimeout(60)) as resp,
    ):
        reply: dict[str, object] = await resp.json()
    return reply


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["template", "llm"])
async def test_no_metrics_output_of_vgkit_serve_repeats_a_series(
    tmp_path: Path, backend: str
) -> None:
    async with chat_server() as chat:
        extra = ["--backend", "llm", "--llm-url", chat.url] if backend == "llm" else []
        proc, agents = await _start(tmp_path, *extra)
        try:
            reply = await _generate(agents["orchestrator"][0])
            task = reply["result"]["task"]  # type: ignore[index]
            assert task["status"]["state"] == "TASK_STATE_COMPLETED", reply
            scraped = await _scrape(agents)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
        assert proc.returncode == 0
    for name, text in scraped.items():
        series = strict_series(text)  # raises on any repeated series
        assert series, name
    if backend == "llm":
        assert len(chat.requests) == 7  # every generative agent asked the model once
        series = strict_series(scraped["orchestrator"])
        created = {
            labels: v
            for (n, labels), v in series.items()
            if n == "vgkit_pool_connections_created_total" and ("client", "llm") in labels
        }
        assert len(created) == 1, "one pool to the model in the process"
        requests = sum(v for (n, labels), v in series.items() if n == "vgkit_llm_requests_total")
        assert requests == 7
