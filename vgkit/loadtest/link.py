"""A load test across an emulated network link: the generator on one lab host,
``vgkit serve`` on another (``vgkit.netlab``).

::

    results = await run_across_link(
        LoadTest(mode="open", rate=20, duration=5, max_requests=100), workload,
        link="10ms", serve={"cost": "seed", "time_scale": 0.001},
    )
    compare_results({"in-process": local, **results})

The same targets as :func:`~vgkit.loadtest.a2a.run_over_a2a`, labelled with the
link: ``remote`` runs the orchestrator here and sends every agent call of the
graph across the link (a round trip per call, pooled connections); ``agent``
sends one agent's ``SendMessage`` per request; ``serve`` sends the whole
request to the orchestrator agent, whose agent calls stay on its host (one
round trip per request). Needs root, iproute2 and nftables (``netlab.check()``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vgkit.loadtest.a2a import (
    DEFAULT_AGENT,
    AgentTarget,
    RemoteOrchestratorTarget,
    ServeTarget,
    _ServedTarget,
)
from vgkit.loadtest.live import LoadProgress
from vgkit.loadtest.measurement import LoadTestResult
from vgkit.loadtest.runner import LoadTest
from vgkit.loadtest.workload import WorkItem, Workload
from vgkit.metrics import MetricsRegistry

__all__ = ["LINK_TARGETS", "run_across_link"]

#: The targets a run across a link can drive, in the order they run.
LINK_TARGETS = ("serve", "remote", "agent")


async def run_across_link(
    test: LoadTest,
    workload: Workload | Sequence[WorkItem] | None = None,
    *,
    link: Any = "10ms",
    targets: Sequence[str] = ("remote", "agent"),
    agent: str = DEFAULT_AGENT,
    serve: Mapping[str, Any] | None = None,
    metrics: MetricsRegistry | None = None,
    on_progress: Callable[[LoadProgress], None] | None = None,
) -> dict[str, LoadTestResult]:
    """``test`` from a lab host against ``vgkit serve`` on another, across ``link``.

    ``link``: a round-trip time (``"10ms"``) or a :class:`~vgkit.netlab.LinkConfig`.
    Returns the results by label (``"remote over 10 ms"``, ...). The lab is built
    for the run and removed afterwards, whatever happens.
    """
    from vgkit.netlab import Lab, LinkConfig
    from vgkit.netlab.services import serve_agents

    unknown = sorted(set(targets) - set(LINK_TARGETS))
    if unknown:
        from vgkit.errors import LoadTestError

        raise LoadTestError(f"unknown targets {unknown}; choose from {', '.join(LINK_TARGETS)}")
    shaped = link if isinstance(link, LinkConfig) else LinkConfig.parse(rtt=link)
    items = workload.sample(test.max_requests) if isinstance(workload, Workload) else workload
    suffix = f" over {shaped.rtt * 1e3:g} ms"
    results: dict[str, LoadTestResult] = {}
    lab = Lab(["client", "agents"], link=shaped)
    options = dict(serve or {})
    async with lab, serve_agents(lab, "agents", probe_from="client", **options) as proc:
        with lab.inside("client"):  # every connection the targets open starts here
            made: dict[str, Callable[[], _ServedTarget]] = {
                "serve": lambda: ServeTarget(proc.url("orchestrator"), metrics=metrics),
                "remote": lambda: RemoteOrchestratorTarget(proc.endpoints(), metrics=metrics),
                "agent": lambda: AgentTarget(proc.url(agent), agent=agent, metrics=metrics),
            }
            for label in (t for t in LINK_TARGETS if t in targets):
                async with made[label]() as target:
                    if items is not None:
                        await target.prepare(items)
                    results[label + suffix] = await test.run(
                        target, items, on_progress=on_progress, metrics=metrics
                    )
    return results
