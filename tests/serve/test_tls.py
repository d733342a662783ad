"""Agent servers over TLS: cards with https URLs, verified clients, clear refusals."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.serve.conftest import recorded_calls
from vgkit import Orchestrator, VideoRequest
from vgkit.a2a.protocol import Task, TaskState
from vgkit.a2a.tls import TLSConfig, client_context, self_signed
from vgkit.agents import A2ABackend, TemplateBackend
from vgkit.client import A2AClient, PoolConfig, PooledClient, RetryPolicy
from vgkit.errors import ClientError, ConfigError, ServeError
from vgkit.metrics import MetricsRegistry
from vgkit.serve import ServeConfig, start_cluster
from vgkit.serve.launcher import Cluster

SERVE = [sys.executable, "-c", "from vgkit.cli import run; run()", "serve"]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSConfig:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
async def tls_cluster(tls: TLSConfig) -> AsyncIterator[Cluster]:
    config = ServeConfig(tls=tls, metrics=MetricsRegistry())
    async with await start_cluster(free_ports=True, config=config) as cluster:
        yield cluster


async def test_agents_serve_https_and_a_client_trusting_the_ca_talks_to_them(
    tls: TLSConfig, tls_cluster: Cluster
) -> None:
    endpoints = tls_cluster.endpoints()
    assert all(urls[0].startswith("https://127.0.0.1:") for urls in endpoints.values())
    calls = await recorded_calls()
    config = PoolConfig(ca_file=tls.cert_file, health_check_interval=None)
    async with A2AClient(endpoints, pool_config=config) as client:
        card = await client.card("script_writer")
        assert card["supportedInterfaces"][0]["url"].startswith("https://")
        for name in ("topic_analysis", "script_writer"):
            call = calls[name]
            task = await client.send(name, data=call.payload())
            assert isinstance(task, Task) and task.state is TaskState.COMPLETED
            expected = await TemplateBackend().run(call)
            data = task.artifacts[0].parts[0].data
            assert call.spec.output.model_validate(data).to_json() == expected.to_json()
        totals = client.pool.stats()["totals"]
        # Three requests to two agents (origins): one kept-alive TLS connection each.
        assert totals["created"] == 2 and totals["requests"] == 3


async def test_remote_plans_over_tls_are_the_in_process_ones(
    tls: TLSConfig, tls_cluster: Cluster
) -> None:
    request = VideoRequest(topic="Tide pools", platforms=["tiktok"], seed=3)
    local = await Orchestrator().run(request)
    backend = A2ABackend(tls_cluster.endpoints(), pool_config=PoolConfig(ca_file=tls.cert_file))
    try:
        remote = await Orchestrator(backend=backend).run(request)
    finally:
        await backend.aclose()
    assert remote.failures == {} and remote.plans.keys() == local.plans.keys()
    for platform, plan in local.plans.items():
        assert remote.plans[platform].to_json() == plan.to_json()


async def test_an_untrusted_certificate_is_a_clear_error_and_not_retried(
    tls_cluster: Cluster,
) -> None:
    url = tls_cluster.endpoints()["topic_analysis"][0]
    async with PooledClient(PoolConfig(health_check_interval=None)) as pool:
        with pytest.raises(ClientError, match="certificate") as caught:
            await pool.request("GET", url, "/.well-known/agent-card.json")
    message = str(caught.value)
    assert "ca_file" in message and "VGKIT_CA_FILE" in message
    assert "attempts" not in message  # refused at once, not retried as a dead server


async def test_plain_http_to_a_tls_server_and_back_fail_cleanly(
    tls: TLSConfig, tls_cluster: Cluster
) -> None:
    url = tls_cluster.endpoints()["topic_analysis"][0]
    async with PooledClient(
        PoolConfig(health_check_interval=None, retry=RetryPolicy(attempts=1))
    ) as pool:
        with pytest.raises(ClientError):
            await pool.request("GET", url.replace("https://", "http://"), "/healthz")
    # The server is still fine for a proper client.
    async with PooledClient(PoolConfig(ca_file=tls.cert_file, health_check_interval=None)) as pool:
        assert (await pool.request("GET", url, "/healthz")).status == 200


def test_bad_tls_settings_are_one_line_errors(tls: TLSConfig, tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="does not exist"):
        TLSConfig(cert_file=str(tmp_path / "nope.pem"), key_file=tls.key_file).server_context()
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(ServeError, match="cannot load the TLS certificate"):
        TLSConfig(cert_file=str(garbage), key_file=tls.key_file).server_context()
    with pytest.raises(ConfigError, match="cannot load the CA file"):
        client_context(str(garbage))
    assert isinstance(client_context(tls.cert_file), ssl.SSLContext)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--tls-cert", "cert.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"], "does not exist"),
        (["--tls-self-signed", "--tls-cert", "c.pem", "--tls-key", "k.pem"], "either"),
    ],
)
def test_serve_rejects_bad_tls_options_in_one_line(args: list[str], expected: str) -> None:
    proc = subprocess.run(
        [*SERVE, "--free-ports", "--agent", "topic_analysis", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_serve_with_a_self_signed_certificate_and_two_workers(tmp_path: Path) -> None:
    agents_file = tmp_path / "agents.json"
    cert = ""
    proc = subprocess.Popen(
        [*SERVE, "--free-ports", "--agent", "topic_analysis", "--workers", "2",
         "--tls-self-signed", "--write-agents", str(agents_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not agents_file.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        (url,) = json.loads(agents_file.read_text())["agents"]["topic_analysis"]
        assert url.startswith("https://127.0.0.1:")
        # The announcement names the certificate clients should trust.
        assert proc.stdout is not None
        while not cert:
            line = proc.stdout.readline()
            assert line, "vgkit serve did not name its certificate"
            if "certificate" in line:
                cert = line.split("certificate", 1)[1].split()[0]
        context = client_context(cert)
        import urllib.request

        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", context=context, timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0
    assert cert and not Path(cert).exists()  # the throwaway certificate and key are gone
