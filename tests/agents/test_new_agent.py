"""A new agent is one module plus one registration.

The agent below (a thumbnail designer reading each platform's script) is
written here, in the test, and registered with ``register``. Nothing else in
vgkit is edited, yet the graph runs it, ``vgkit serve`` serves it on its port,
agents files accept it, the seed cost profile charges it, and the llm backend
prompts for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from vgkit import Orchestrator, VideoRequest
from vgkit.agents import SPECS, STEPS, A2ABackend, CostModel, LLMBackend, LLMConfig
from vgkit.agents.base import AgentCall, AgentSpec
from vgkit.agents.catalog import register, unregister
from vgkit.agents.cost import SEED_PROFILE
from vgkit.agents.prompts import messages
from vgkit.agents.template import TemplateBackend
from vgkit.endpoints import DEFAULT_PORTS, local_endpoints, parse_agents, port_for
from vgkit.errors import ConfigError
from vgkit.metrics import MetricsRegistry
from vgkit.models import Model, Script
from vgkit.pipeline import build_graph
from vgkit.platforms import Platform
from vgkit.serve import ServeConfig, start_cluster
from vgkit.serve.launcher import all_agents, resolve_ports
from vgkit.templates import TemplateSource

from ._chat import ChatServer

# -- the new agent: one module's worth ------------------------------------------------


class Thumbnail(Model):
    platform: Platform
    title: str
    words: int


SPEC = AgentSpec(
    name="thumbnail_designer",
    step="thumbnail",
    version="1.0.0",
    output=Thumbnail,
    needs=("script",),
    port=10307,
    seconds=2.0,
    prompt="You design the thumbnail of a short video: a title of a few words from the script.",
    description="Designs the thumbnail from the script.",
    skills=("thumbnails",),
)


async def run(call: AgentCall, templates: TemplateSource) -> Thumbnail:
    script = call.input("script", Script)
    title = " ".join(script.title.split()[:4])
    assert call.platform is not None
    return Thumbnail(platform=call.platform, title=title, words=len(title.split()))


# -- the one registration ---------------------------------------------------------------


@pytest.fixture
def thumbnail() -> Iterator[AgentSpec]:
    register(SPEC, run)
    try:
        yield SPEC
    finally:
        unregister(SPEC.name)
    assert "thumbnail_designer" not in SPECS and "thumbnail" not in STEPS


REQUEST = VideoRequest(topic="How tides work", platforms=["tiktok", "youtube"], seed=4)


async def test_the_graph_runs_it_and_the_seed_profile_charges_it(thumbnail: AgentSpec) -> None:
    dag, nodes = build_graph(REQUEST)
    assert dag.parents("thumbnail:tiktok") == ("script:tiktok",)
    assert nodes["thumbnail:youtube"] == (thumbnail, Platform.YOUTUBE)
    assert dag.nodes["thumbnail:tiktok"].cost == 2.0 == SEED_PROFILE.mean("thumbnail_designer")

    cost = CostModel(TemplateBackend(), "seed", time_scale=0.001)
    result = await Orchestrator(backend=cost).run(REQUEST)
    assert result.ok and result.schedule.records["thumbnail:tiktok"].status == "ok"
    art = result.schedule.results["thumbnail:tiktok"]
    assert isinstance(art, Thumbnail) and art.platform is Platform.TIKTOK
    assert art.title == " ".join(result.plan("tiktok").script.title.split()[:4])
    assert cost.spent["thumbnail_designer"] > 0  # two calls at a 2 ms mean


async def test_ports_agents_files_and_serve_accept_it(thumbnail: AgentSpec) -> None:
    assert DEFAULT_PORTS["thumbnail_designer"] == 10307
    assert port_for("thumbnail_designer", 20000) == 20307
    assert local_endpoints()["thumbnail_designer"] == ["http://127.0.0.1:10307"]
    assert parse_agents(["thumbnail_designer=http://127.0.0.1:9"]) == {
        "thumbnail_designer": ["http://127.0.0.1:9"]
    }
    assert "thumbnail_designer" in all_agents()
    assert resolve_ports(["thumbnail_designer"], port_base=30000) == {"thumbnail_designer": 30307}


async def test_served_over_a2a_it_gives_the_same_artifact(thumbnail: AgentSpec) -> None:
    local = await Orchestrator().run(REQUEST)
    config = ServeConfig(metrics=MetricsRegistry())
    async with await start_cluster(["thumbnail_designer"], free_ports=True, config=config) as c:
        card = c.servers["thumbnail_designer"].agent.info
        assert [s.id for s in card.skills] == ["thumbnails"]
        backend = A2ABackend(c.endpoints(), fallback=TemplateBackend())
        async with Orchestrator(backend=backend) as orchestrator:
            remote = await orchestrator.run(REQUEST)
        sent = backend.client.stats()["messages"]
    assert sent == {"thumbnail_designer/SendMessage/ok": 2}  # one call per platform went over A2A
    for node in ("thumbnail:tiktok", "thumbnail:youtube"):
        assert remote.schedule.results[node] == local.schedule.results[node]


@pytest.fixture
async def chat() -> AsyncIterator[ChatServer]:
    server = ChatServer()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.complete)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    yield server
    await runner.cleanup()


async def test_the_llm_backend_prompts_for_it(thumbnail: AgentSpec, chat: ChatServer) -> None:
    request = REQUEST.model_copy(update={"platforms": (Platform.TIKTOK,)})
    backend = LLMBackend(LLMConfig(base_url=chat.url, model="tiny"))
    async with Orchestrator(backend=backend) as orchestrator:
        result = await orchestrator.run(request)
    assert result.ok and isinstance(result.schedule.results["thumbnail:tiktok"], Thumbnail)
    systems = [r["body"]["messages"][0]["content"] for r in chat.requests]
    assert len(systems) == 8  # the seven generative agents of the pipeline, and this one
    ours = [s for s in systems if s.startswith(SPEC.prompt)]
    assert len(ours) == 1 and '"title"' in ours[0]  # its prompt, then its output's schema
    call = AgentCall(thumbnail, request, Platform.TIKTOK, {"script": result.plan("tiktok").script})
    assert messages(call)[0]["content"] == ours[0]


def test_registration_says_what_clashes(thumbnail: AgentSpec) -> None:
    def spec(**changes: object) -> AgentSpec:
        fields = {"name": "other", "step": "other", "version": "1", "output": Thumbnail}
        return AgentSpec(**{**fields, "port": 10399, **changes})  # type: ignore[arg-type]

    cases = {
        "an agent named 'thumbnail_designer' is registered already": spec(
            name="thumbnail_designer"
        ),
        "step 'thumbnail' is filled by 'thumbnail_designer' already": spec(step="thumbnail"),
        "port 10307 belongs to thumbnail_designer": spec(port=10307),
        "port 10106 belongs to orchestrator": spec(port=10106),
        "needs unregistered step(s) poster": spec(needs=("poster",)),
        "runs once per request but needs per-platform steps": spec(
            per_platform=False, needs=("script",)
        ),
    }
    for message, bad in cases.items():
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            register(bad, run)
    register(spec(needs=("thumbnail",)), run)
    with pytest.raises(ConfigError, match="needed by other; remove those first"):
        unregister("thumbnail_designer")
    unregister("other")
