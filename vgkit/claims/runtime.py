"""Session isolation and asynchronous execution."""

from __future__ import annotations

import asyncio
import time

from vgkit.agents import AgentCall, TemplateBackend
from vgkit.agents.cost import CostModel
from vgkit.claims.base import TOPIC, Measurement, seeded_cost
from vgkit.claims.registry import claim_section
from vgkit.models import Model
from vgkit.orchestrator import Orchestrator
from vgkit.sessions import current_session_id


class _Recorder(TemplateBackend):
    """Records which topics each session's agents saw (isolation evidence)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, set[str]] = {}

    async def run(self, call: AgentCall) -> Model:
        sid = current_session_id() or "-"
        self.seen.setdefault(sid, set()).add(call.request.topic)
        await asyncio.sleep(0)
        return await super().run(call)


@claim_section(
    "sessions",
    "Session-based isolation",
    order=50,
    parameters={"sessions": "sessions", "time_scale": "time_scale"},
)
async def measure_sessions(*, sessions: int = 50, time_scale: float = 0.002) -> list[Measurement]:
    """Concurrent runs: no state mixes between sessions, and they overlap in time."""
    recorder = _Recorder()
    orch = Orchestrator(backend=CostModel(recorder, "seed", time_scale=time_scale))
    topics = [f"Session {i}: growing tomatoes on a balcony" for i in range(sessions)]
    started = time.perf_counter()
    results = await asyncio.gather(*(orch.run(topic=t, platforms=["tiktok"]) for t in topics))
    concurrent = time.perf_counter() - started
    mixed = sum(
        1
        for topic, result in zip(topics, results, strict=True)
        if recorder.seen.get(result.session_id) != {topic}
        or result.plan("tiktok").topic.topic != topic
    )
    started = time.perf_counter()
    for topic in topics[:5]:
        await orch.run(topic=topic, platforms=["tiktok"])
    sequential = (time.perf_counter() - started) / 5 * sessions
    section = "Session Isolation"
    return [
        Measurement(
            section=section,
            claim="Unique session IDs for workflow isolation; state tracking per session",
            metric=f"runs whose agents saw another session's state, of {sessions} concurrent",
            measured=mixed,
            unit="runs",
            target="0",
            met=mixed == 0 and len({r.session_id for r in results}) == sessions,
            better="lower",
        ),
        Measurement(
            section=section,
            claim="Concurrent workflow support",
            metric=f"wall time of {sessions} concurrent runs",
            measured=concurrent,
            unit="s",
            baseline=sequential,
            baseline_label="the same runs one after another (extrapolated from 5)",
            target="ratio <= 0.2",
            met=concurrent <= 0.2 * sequential,
            better="lower",
        ),
    ]


@claim_section("async", "Asynchronous execution", order=40, parameters={"time_scale": "time_scale"})
async def measure_async(*, time_scale: float = 0.01, tick: float = 0.005) -> list[Measurement]:
    """Event-loop lag while a three-platform run goes: non-blocking I/O, measured."""
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(tick)
            lags.append(time.perf_counter() - before - tick)

    task = asyncio.create_task(ticker())
    result = await Orchestrator(backend=seeded_cost(time_scale, 0)).run(topic=TOPIC)
    stop.set()
    await task
    lags.sort()
    p99 = lags[int(0.99 * (len(lags) - 1))] if lags else 0.0
    return [
        Measurement(
            section="Async Execution",
            claim="All agents async; non-blocking I/O; concurrent task execution",
            metric="p99 event-loop lag during a 3-platform run",
            measured=p99,
            unit="s",
            baseline=result.makespan,
            baseline_label="the run's makespan",
            target="p99 lag < 20 ms",
            met=p99 < 0.02,
            better="lower",
            notes=(
                f"{len(lags)} ticks of {tick * 1000:g} ms; "
                f"max lag {max(lags, default=0) * 1000:.1f} ms"
            ),
        )
    ]
