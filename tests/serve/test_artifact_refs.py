"""Artifact references: over trusted hops an artifact goes back to the process that made it
as a reference; real agent servers on 127.0.0.1, counted on the server's side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson
import pytest

from vgkit import Orchestrator, VideoRequest
from vgkit.a2a.protocol import INVALID_PARAMS, Task, TaskState
from vgkit.a2a.refs import ARTIFACT_REF_NOT_FOUND, KEEP_KEY, REF_KEY, reference, store_of
from vgkit.a2a.signing import auth_headers
from vgkit.agents import SPECS, A2ABackend, TemplateBackend
from vgkit.cli import main
from vgkit.client import A2AClient
from vgkit.errors import ServeError
from vgkit.metrics import MetricsRegistry
from vgkit.models import HookSet, TopicAnalysis
from vgkit.serve import AuthConfig, PipelineAgent, ServeConfig, start_cluster
from vgkit.serve.artifact_store import ArtifactStore
from vgkit.serve.config import ClusterConfig
from vgkit.serve.launcher import Cluster

from .conftest import recorded_calls

SECRET = "refs-between-peers"
REQUEST = VideoRequest(topic="How tides follow the moon", style="viral", seed=3)


async def _cluster(**config: Any) -> Cluster:
    return await start_cluster(
        list(SPECS), free_ports=True, config=ServeConfig(metrics=MetricsRegistry(), **config)
    )


@pytest.fixture
async def trusted() -> AsyncIterator[Cluster]:
    async with await _cluster(trust_peers=True) as cluster:
        yield cluster


def _store(cluster: Cluster) -> ArtifactStore:
    stores = {id(s.agent.store) for s in cluster.servers.values()}  # type: ignore[attr-defined]
    assert len(stores) == 1  # one per process, shared by its agents
    agent = next(iter(cluster.servers.values())).agent
    assert isinstance(agent, PipelineAgent)
    return agent.store


async def _plans(
    backend: A2ABackend, runs: int = 2, between: Callable[[], object] = lambda: None
) -> list[dict[str, str]]:
    """The plans of ``runs`` runs of REQUEST through ``backend`` (closed after them)."""
    out = []
    async with Orchestrator(backend=backend, metrics=MetricsRegistry()) as orchestrator:
        for i in range(runs):
            if i:
                between()
            result = await orchestrator.run(REQUEST)
            assert result.ok, result.failures
            out.append({p.value: plan.to_json() for p, plan in result.plans.items()})
    return out


async def _local() -> dict[str, str]:
    result = await Orchestrator(metrics=MetricsRegistry()).run(REQUEST)
    return {p.value: plan.to_json() for p, plan in result.plans.items()}


async def test_artifacts_the_server_made_go_back_as_references(trusted: Cluster) -> None:
    store = _store(trusted)
    backend = A2ABackend(trusted.endpoints(), metrics=MetricsRegistry())
    local = await _local()
    first, second = await _plans(backend)
    assert first == second == local  # the same plans, byte for byte
    # 28 calls a run; the second run sends every upstream artifact as a reference, the
    # first all but those of an agent's first call (its store is not known yet).
    assert store.stored == 2 * 28 and len(store) == 56
    assert backend.refs.sent > 60 and backend.refs.missed_calls == 0
    assert store.resolved == backend.refs.sent and store.missed == 0  # the server's count


async def test_an_artifact_the_server_no_longer_holds_is_sent_again_in_full() -> None:
    # A store of 24 KB keeps a few artifacts of a run's ~250 KB: most references miss.
    async with await _cluster(trust_peers=True, artifact_store_bytes=24_000) as small:
        store = _store(small)
        backend = A2ABackend(small.endpoints(), metrics=MetricsRegistry())
        assert await _plans(backend, runs=3) == [await _local()] * 3
    assert store.evicted > 0 and store.bytes <= 24_000
    # Each miss was counted on both sides and the call sent again in full; after a miss
    # an agent gets no references for a window of answers.
    assert store.missed == backend.refs.missed_calls > 0 and store.resolved > 0
    # A call that misses is refused at its first missing reference: its others are sent
    # again in full, neither resolved nor missed.
    assert backend.refs.sent >= store.missed + store.resolved
    assert backend.refs.missed_calls <= 3 * len(SPECS)


async def test_two_processes_behind_each_agent_get_no_references_after_a_miss() -> None:
    async with await _cluster(trust_peers=True) as a, await _cluster(trust_peers=True) as b:
        both = {name: [*urls, *b.endpoints()[name]] for name, urls in a.endpoints().items()}
        backend = A2ABackend(both, metrics=MetricsRegistry())
        assert await _plans(backend, runs=3) == [await _local()] * 3
        missed = _store(a).missed + _store(b).missed
        # The pool alternates between the two: an agent misses at most once, then its
        # answers come from two stores and nothing is sent by reference to it.
        assert missed == backend.refs.missed_calls <= len(SPECS)


async def test_untrusted_servers_hand_out_no_references_and_refuse_them() -> None:
    async with await _cluster() as plain:
        backend = A2ABackend(plain.endpoints(), metrics=MetricsRegistry())
        assert await _plans(backend) == [await _local()] * 2
        assert backend.refs.sent == 0 and _store(plain).stored == 0
        call = (await recorded_calls())["hook_creator"]
        payload = {**call.payload(), "inputs": {"topic_analysis": {REF_KEY: "abc.def"}}}
        answer = await _send_raw(plain.endpoints()["hook_creator"][0], payload)
    assert answer["error"]["code"] == INVALID_PARAMS
    assert "references are accepted over trusted hops only" in answer["error"]["message"]


async def test_a_reference_is_only_what_this_store_holds_and_of_the_right_kind() -> None:
    calls = await recorded_calls()
    async with await _cluster(auth=AuthConfig(hmac_secret=SECRET)) as signed:
        urls = {name: found[0] for name, found in signed.endpoints().items()}
        topic = calls["topic_analysis"].payload()
        async with A2AClient(signed.endpoints(), hmac_secret=SECRET) as client:  # trusted
            plain = await client.send("topic_analysis", data=topic)
            task = await client.send("topic_analysis", data=topic, metadata={KEEP_KEY: True})
        # Kept only when asked: a client that never sends references costs the store nothing.
        assert isinstance(plain, Task) and REF_KEY not in (plain.artifacts[0].metadata or {})
        assert isinstance(task, Task) and task.state is TaskState.COMPLETED
        assert _store(signed).stored == 1
        ref = (task.artifacts[0].metadata or {})[REF_KEY]
        assert store_of(ref) == _store(signed).id
        assert TopicAnalysis.model_validate(task.artifacts[0].parts[0].data)
        hook = calls["hook_creator"].payload()

        async def send(inputs: dict[str, Any]) -> dict[str, Any]:
            return await _send_raw(urls["hook_creator"], {**hook, "inputs": inputs}, SECRET)

        good = await send({"topic_analysis": {REF_KEY: ref}})
        assert HookSet.model_validate(good["result"]["task"]["artifacts"][0]["parts"][0]["data"])
        for unknown in (f"{store_of(ref)}.0000", f"ffff.{ref.partition('.')[2]}", "nodot"):
            missing = (await send({"topic_analysis": {REF_KEY: unknown}}))["error"]
            assert missing["code"] == ARTIFACT_REF_NOT_FOUND
            assert "send the artifact itself" in missing["message"]
        script = calls["script_writer"].payload()
        wrong = await _send_raw(  # a topic analysis where the hooks belong
            urls["script_writer"],
            {**script, "inputs": {**script["inputs"], "hooks": {REF_KEY: ref}}},
            SECRET,
        )
    assert wrong["error"]["code"] == INVALID_PARAMS
    assert "input 'hooks' is invalid" in wrong["error"]["message"]


async def _send_raw(url: str, payload: object, secret: str | None = None) -> dict[str, Any]:
    body = orjson.dumps(
        {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "SendMessage",
            "params": {"message": {"role": "ROLE_USER", "parts": [{"data": payload}]}},
        }
    )
    headers = auth_headers(body, hmac_secret=secret) if secret else {}
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as resp:
        assert resp.status == 200
        answer: dict[str, Any] = orjson.loads(await resp.read())
        return answer


async def test_the_store_is_bounded_in_bytes_and_drops_the_least_recently_used() -> None:
    registry = MetricsRegistry()
    store = ArtifactStore(1000, metrics=registry)
    artifact = await TemplateBackend().run((await recorded_calls())["topic_analysis"])
    first, second = store.put(artifact, 400), store.put(artifact, 400)
    assert first and second and reference({REF_KEY: first}) == first
    assert store.get(first) is artifact  # now the most recently used
    third = store.put(artifact, 400)
    assert third and store.get(second) is None and store.get(first) is artifact
    assert (store.bytes, store.evicted, len(store)) == (800, 1, 2)
    assert store.put(artifact, 1001) is None  # bigger than the whole store
    assert ArtifactStore(0).put(artifact, 1) is None and not ArtifactStore(0).enabled
    exposition = registry.exposition().decode()
    assert 'vgkit_serve_artifact_refs_total{outcome="stored"' in exposition
    assert "vgkit_serve_artifact_store_bytes" in exposition
    with pytest.raises(ServeError, match="size must be >= 0 bytes, not -1"):
        ArtifactStore(-1)


def test_the_store_size_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert ClusterConfig().serve_config().artifact_store_bytes == 16 * 2**20
    assert ClusterConfig(artifact_store_mb=0.5).serve_config().artifact_store_bytes == 2**19
    assert main(["serve", "--artifact-store-mb", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--artifact-store-mb must be a size in MiB >= 0, not -1.0" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


async def test_concurrent_runs_through_one_backend_get_their_own_artifacts(
    trusted: Cluster,
) -> None:
    requests = [
        VideoRequest(topic=topic, platforms=["tiktok", "youtube"], seed=seed)
        for seed, topic in enumerate(
            ["How tides follow the moon", "Sourdough for beginners", "Why cats purr", "Jazz"]
        )
    ]
    local = Orchestrator(metrics=MetricsRegistry())
    expected = [await local.run(r) for r in requests]
    backend = A2ABackend(trusted.endpoints(), metrics=MetricsRegistry())
    async with Orchestrator(backend=backend, metrics=MetricsRegistry()) as orchestrator:
        for _ in range(2):  # the second round sends references from the first call on
            results = await asyncio.gather(*(orchestrator.run(r) for r in requests))
            for got, want in zip(results, expected, strict=True):
                for platform in want.plans:
                    assert got.plan(platform).to_json() == want.plan(platform).to_json()
    assert backend.refs.sent > 0 and _store(trusted).resolved == backend.refs.sent
