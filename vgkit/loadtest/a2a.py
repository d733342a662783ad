"""Load-test targets over A2A: what ``vgkit serve`` serves, through the pooled client.

Three ways in, from the outside of the served system to one agent:

* :class:`ServeTarget` (``--target serve``): the full pipeline as a user of
  ``vgkit serve`` sees it. Each item is one ``SendMessage`` to the orchestrator
  agent (the topic as text, platform, style and seed as a data part); the
  orchestrator agent runs the graph, calling the other agent servers over A2A
  itself, and answers with a plan per platform.
* :class:`RemoteOrchestratorTarget` (``--target remote``): the orchestrator
  runs in this process with an ``A2ABackend``, so every agent call of the graph
  is one A2A message from here to its agent server (what ``vgkit generate
  --agents`` does). Against ``serve`` it moves the graph into the load
  generator; against the in-process ``orchestrator`` target it adds the network
  hop, the JSON codec and the pooled client to every agent call.
* :class:`AgentTarget` (``--target agent``): one agent's ``SendMessage``
  through the PooledClient; the artifact is validated like ``A2ABackend``
  does. Topic analysis (the default) needs only the request; the inputs of a
  downstream agent are computed in-process (template backend) before the timed
  call: ``prepare(items)`` computes them for a whole sample up front (the
  command line does), otherwise the first request of each distinct request
  pays for it.

:func:`run_over_a2a` runs one load test against all three on one ``vgkit
serve`` (the load-test notebook compares them with the in-process run).

Each target takes the URL(s) to load or, given none, starts ``vgkit serve`` in
a child process on free loopback ports for the run (:class:`ServeProcess`;
``workers``, ``cost``, ``time_scale`` and ``loop`` are its options) and stops it
in ``aclose``. Start it before the run (``async with target:`` or ``await
target.start()``), or the first request waits for the server to come up.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vgkit.errors import LoadTestError, TargetError
from vgkit.loadtest.targets import (
    DEFAULT_HTTP_CONNECTIONS,
    DEFAULT_HTTP_TIMEOUT,
    BaseTarget,
    Target,
    check_loopback,
    float_option,
    raise_if_incomplete,
)
from vgkit.loadtest.workload import WorkItem, Workload

if TYPE_CHECKING:
    from vgkit.agents.base import AgentCall
    from vgkit.agents.remote import A2ABackend
    from vgkit.client import A2AClient, PoolConfig
    from vgkit.loadtest.live import LoadProgress
    from vgkit.loadtest.measurement import LoadTestResult
    from vgkit.loadtest.runner import LoadTest
    from vgkit.metrics import MetricsRegistry
    from vgkit.models import VideoRequest
    from vgkit.orchestrator import Orchestrator
    from vgkit.serve.process import ServeProcess

__all__ = [
    "DEFAULT_AGENT",
    "AgentTarget",
    "RemoteOrchestratorTarget",
    "ServeTarget",
    "agent_target",
    "recorded_call",
    "remote_target",
    "run_over_a2a",
    "serve_target",
]

DEFAULT_AGENT = "topic_analysis"
#: Distinct requests whose agent calls an AgentTarget remembers.
MAX_REMEMBERED_CALLS = 4096


def _pool_config(connections: int, timeout: float) -> PoolConfig:
    from vgkit.client import PoolConfig

    if connections < 1:
        raise LoadTestError(f"connections must be at least 1, not {connections}")
    # No health checks: the load test itself says when an endpoint fails.
    return PoolConfig(
        limit_per_host=connections,
        limit=max(connections, 100),
        request_timeout=timeout,
        read_timeout=timeout,
        health_check_interval=None,
    )


class _ServedTarget(BaseTarget):
    """A target that talks to ``vgkit serve``, starting one when given no URL."""

    def __init__(
        self,
        *,
        name: str,
        serve: Mapping[str, Any] | None,
        connections: int,
        timeout: float,
        metrics: MetricsRegistry | None,
    ) -> None:
        self.name = name
        self.serve_options = dict(serve or {})
        self.pool_config = _pool_config(connections, timeout)
        self.metrics = metrics
        self.process: ServeProcess | None = None
        self.client: A2AClient | None = None
        self._started = False
        self._starting = asyncio.Lock()

    def _serve_agents(self) -> Sequence[str] | None:
        """The agents a started ``vgkit serve`` must host (None: all)."""
        return None

    async def _open(self, endpoints: Mapping[str, Sequence[str]]) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        """Start the server (if this target owns one) and the client; idempotent."""
        async with self._starting:
            if self._started:
                return
            endpoints = self.endpoints()
            if endpoints is None:
                from vgkit.serve.process import ServeProcess

                self.process = ServeProcess(self._serve_agents(), **self.serve_options)
                await self.process.start()
                endpoints = self.process.endpoints()
            await self._open(endpoints)
            self._started = True

    def endpoints(self) -> dict[str, list[str]] | None:
        """The endpoints given to this target (None: start ``vgkit serve``)."""
        raise NotImplementedError

    async def _close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            await client.aclose()

    async def aclose(self) -> None:
        if self._started:
            await self._close()
            self._started = False
        if self.process is not None:
            process, self.process = self.process, None
            await process.aclose()


class ServeTarget(_ServedTarget):
    """The orchestrator agent of ``vgkit serve`` over A2A (see the module docstring).

    ``url``: the orchestrator agent's base URL; None starts ``vgkit serve``
    with every agent (``serve``: its options, such as ``{"workers": 2}``).
    A task that is not completed with a plan for every requested platform
    counts as an error (``failed``, ``incomplete``).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        name: str = "serve",
        serve: Mapping[str, Any] | None = None,
        connections: int = DEFAULT_HTTP_CONNECTIONS,
        timeout: float = DEFAULT_HTTP_TIMEOUT,
        metrics: MetricsRegistry | None = None,
    ) -> None:
        super().__init__(
            name=name, serve=serve, connections=connections, timeout=timeout, metrics=metrics
        )
        self.url = check_loopback(url).rstrip("/") if url is not None else None

    def endpoints(self) -> dict[str, list[str]] | None:
        return {"orchestrator": [self.url]} if self.url is not None else None

    async def _open(self, endpoints: Mapping[str, Sequence[str]]) -> None:
        from vgkit.client import A2AClient

        self.client = A2AClient(
            {"orchestrator": endpoints["orchestrator"]},
            pool_config=self.pool_config,
            metrics=self.metrics,
        )

    async def __call__(self, item: WorkItem) -> None:
        from vgkit.a2a.protocol import Task, TaskState

        if not self._started:
            await self.start()
        assert self.client is not None
        fields = {"platforms": [item.platform.value], "style": item.style.value, "seed": item.seed}
        result = await self.client.send("orchestrator", text=item.topic, data=fields)
        if not isinstance(result, Task):
            raise TargetError("incomplete", "the orchestrator answered with a message, not a task")
        if result.state is not TaskState.COMPLETED:
            status = result.status.message
            why = " ".join(status.texts()) if status is not None else result.state.value
            raise TargetError("failed", why)
        names = {artifact.name or "" for artifact in result.artifacts}
        if f"plan-{item.platform.value}" not in names:
            raise TargetError("incomplete", f"no plan for {item.platform.value} in {sorted(names)}")


class RemoteOrchestratorTarget(_ServedTarget):
    """This process's orchestrator with its agents over A2A (see the module docstring).

    ``agents``: the agents' endpoints (a mapping, a file, ``name=url`` pairs
    or ``local``; see ``vgkit.endpoints``); None starts ``vgkit serve``.
    ``orchestrator`` holds the other ``Orchestrator`` options (``executor``,
    ``concurrency``, ...).
    """

    def __init__(
        self,
        agents: Mapping[str, str | Sequence[str]] | Sequence[str] | str | None = None,
        *,
        name: str = "remote",
        serve: Mapping[str, Any] | None = None,
        connections: int = DEFAULT_HTTP_CONNECTIONS,
        timeout: float = DEFAULT_HTTP_TIMEOUT,
        metrics: MetricsRegistry | None = None,
        orchestrator: Mapping[str, Any] | None = None,
    ) -> None:
        from vgkit.endpoints import parse_agents

        super().__init__(
            name=name, serve=serve, connections=connections, timeout=timeout, metrics=metrics
        )
        self.agents = parse_agents(agents) if agents is not None else None
        for urls in (self.agents or {}).values():
            for url in urls:
                check_loopback(url)
        self.orchestrator_options = dict(orchestrator or {})
        self.orchestrator: Orchestrator | None = None

    def endpoints(self) -> dict[str, list[str]] | None:
        return self.agents

    async def _open(self, endpoints: Mapping[str, Sequence[str]]) -> None:
        from vgkit.agents import SPECS
        from vgkit.agents.remote import A2ABackend
        from vgkit.client import A2AClient
        from vgkit.orchestrator import Orchestrator

        table = {name: list(urls) for name, urls in endpoints.items() if name in SPECS}
        missing = sorted(set(SPECS) - set(table))
        if missing:
            raise LoadTestError(
                f"the remote target needs every agent; no endpoint for {', '.join(missing)}"
            )
        self.client = A2AClient(table, pool_config=self.pool_config, metrics=self.metrics)
        self.orchestrator = Orchestrator(
            backend=A2ABackend(client=self.client), metrics=self.metrics,
            **self.orchestrator_options,
        )  # fmt: skip

    async def __call__(self, item: WorkItem) -> None:
        if not self._started:
            await self.start()
        assert self.orchestrator is not None
        raise_if_incomplete(await self.orchestrator.run(item.request()))

    async def _close(self) -> None:
        if self.orchestrator is not None:
            orchestrator, self.orchestrator = self.orchestrator, None
            await orchestrator.aclose()
        await super()._close()


class AgentTarget(_ServedTarget):
    """One agent's ``SendMessage`` through the pooled client (see the module docstring).

    ``url``: the agent server's base URL; None starts ``vgkit serve --agent
    AGENT``. A failed task, an invalid artifact or a JSON-RPC error counts as
    an error of the exception's kind.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        agent: str = DEFAULT_AGENT,
        name: str | None = None,
        serve: Mapping[str, Any] | None = None,
        connections: int = DEFAULT_HTTP_CONNECTIONS,
        timeout: float = DEFAULT_HTTP_TIMEOUT,
        metrics: MetricsRegistry | None = None,
    ) -> None:
        from vgkit.agents import SPECS

        if agent not in SPECS:
            raise LoadTestError(f"unknown agent {agent!r}; agents: {', '.join(SPECS)}")
        super().__init__(
            name=name or f"agent {agent}",
            serve=serve,
            connections=connections,
            timeout=timeout,
            metrics=metrics,
        )
        self.agent = agent
        self.url = check_loopback(url).rstrip("/") if url is not None else None
        self.backend: A2ABackend | None = None
        self._calls: OrderedDict[tuple[Any, ...], AgentCall] = OrderedDict()

    def _serve_agents(self) -> Sequence[str]:
        return (self.agent,)

    def endpoints(self) -> dict[str, list[str]] | None:
        return {self.agent: [self.url]} if self.url is not None else None

    async def _open(self, endpoints: Mapping[str, Sequence[str]]) -> None:
        from vgkit.agents import TemplateBackend
        from vgkit.agents.remote import A2ABackend
        from vgkit.client import A2AClient

        self.client = A2AClient(
            {self.agent: endpoints[self.agent]}, pool_config=self.pool_config, metrics=self.metrics
        )
        # The other agents never run here (the target only sends its own agent's calls).
        self.backend = A2ABackend(client=self.client, fallback=TemplateBackend())

    async def call_for(self, item: WorkItem) -> AgentCall:
        """The agent call ``item`` stands for (inputs computed in-process, remembered)."""
        from vgkit.agents import SPECS, AgentCall
        from vgkit.pipeline import narrow

        spec = SPECS[self.agent]
        platform = item.platform if spec.per_platform else None
        request = item.request()
        if not spec.needs:
            return AgentCall(spec, narrow(request, spec, platform), platform)
        key = (item.topic, item.platform, item.style, item.seed)
        found = self._calls.get(key)
        if found is None:
            found = await recorded_call(request, self.agent)
            self._calls[key] = found
            if len(self._calls) > MAX_REMEMBERED_CALLS:
                self._calls.popitem(last=False)
        return found

    async def prepare(self, items: Sequence[WorkItem]) -> None:
        """Compute the agent calls of ``items`` now, outside the timed requests."""
        await self.start()
        for item in items:
            await self.call_for(item)

    async def __call__(self, item: WorkItem) -> None:
        if not self._started:
            await self.start()
        assert self.backend is not None
        await self.backend.run(await self.call_for(item))

    async def _close(self) -> None:
        self.backend = None
        await super()._close()


async def recorded_call(request: VideoRequest, agent: str) -> AgentCall:
    """The call of ``agent`` in an in-process run of ``request`` (template backend):
    exactly what the orchestrator sends that agent for that request."""
    from vgkit.agents import TemplateBackend
    from vgkit.orchestrator import Orchestrator

    found: list[AgentCall] = []

    class Recorder(TemplateBackend):
        async def run(self, call: AgentCall) -> Any:
            if call.spec.name == agent and not found:
                found.append(call)
            return await super().run(call)

    from vgkit.metrics import MetricsRegistry

    # A private registry: these preparatory runs are not the load being measured.
    async with Orchestrator(backend=Recorder(), metrics=MetricsRegistry()) as orchestrator:
        await orchestrator.run(request)
    if not found:
        raise LoadTestError(f"an in-process run of the request never called {agent}")
    return found[0]


async def run_over_a2a(
    test: LoadTest,
    workload: Workload | Sequence[WorkItem] | None = None,
    *,
    agent: str = DEFAULT_AGENT,
    serve: Mapping[str, Any] | None = None,
    metrics: MetricsRegistry | None = None,
    on_progress: Callable[[LoadProgress], None] | None = None,
) -> dict[str, LoadTestResult]:
    """``test`` against each A2A target, all on one ``vgkit serve`` started for it.

    Returns the results by label (``"serve"``, ``"remote"`` and ``"agent"``,
    in that order), ready for ``compare_results`` next to an in-process run.
    ``serve`` holds the options of the ``vgkit serve`` started (``cost``,
    ``time_scale``, ``workers``, ``loop``): give it the in-process run's cost
    model for a like-for-like comparison.
    """
    from vgkit.serve.process import ServeProcess

    items = workload.sample(test.max_requests) if isinstance(workload, Workload) else workload
    results: dict[str, LoadTestResult] = {}
    async with ServeProcess(**dict(serve or {})) as process:
        targets: dict[str, _ServedTarget] = {
            "serve": ServeTarget(process.url("orchestrator"), metrics=metrics),
            "remote": RemoteOrchestratorTarget(process.endpoints(), metrics=metrics),
            "agent": AgentTarget(process.url(agent), agent=agent, metrics=metrics),
        }
        for label, target in targets.items():
            async with target:
                if items is not None:
                    await target.prepare(items)
                results[label] = await test.run(
                    target, items, on_progress=on_progress, metrics=metrics
                )
    return results


# -- factories for ``vgkit loadtest --target`` ------------------------------------


def _serve_options(options: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "workers" in options:
        out["workers"] = int(float_option(options, "workers", 1))
    if "cost" in options:
        out["cost"] = options["cost"]
    if "time_scale" in options:
        out["time_scale"] = float_option(options, "time_scale", 1.0)
    if "loop" in options:
        out["loop"] = options["loop"]
    return out


def _client_options(options: Mapping[str, str]) -> dict[str, Any]:
    return {
        "connections": int(float_option(options, "connections", DEFAULT_HTTP_CONNECTIONS)),
        "timeout": float_option(options, "timeout", DEFAULT_HTTP_TIMEOUT),
    }


def serve_target(options: Mapping[str, str]) -> Target:
    return ServeTarget(
        options.get("url"), serve=_serve_options(options), **_client_options(options)
    )


def remote_target(options: Mapping[str, str]) -> Target:
    agents = options.get("agents")
    spec: list[str] | None = None
    if agents is not None:
        spec = [part.strip() for part in agents.split(",") if part.strip()]
    orchestrator: dict[str, Any] = {"executor": options.get("executor", "eager")}
    if "concurrency" in options:
        orchestrator["concurrency"] = int(float_option(options, "concurrency", 0))
    return RemoteOrchestratorTarget(
        spec,
        serve=_serve_options(options),
        orchestrator=orchestrator,
        **_client_options(options),
    )


def agent_target(options: Mapping[str, str]) -> Target:
    return AgentTarget(
        options.get("url"),
        agent=options.get("agent", DEFAULT_AGENT),
        serve=_serve_options(options),
        **_client_options(options),
    )
