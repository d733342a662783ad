"""A load-test target that runs real generations against a language model.

The other targets run the template agents, whose latency is a cost model's
sleep; :class:`LLMTarget` sends each item's request through the llm backend, so
every request makes real chat completions (``agents`` go to the model, the
others are computed) against the local SmolLM2 (started here on 127.0.0.1, as
``vgkit llm serve`` does) or any OpenAI-compatible URL. :func:`llm_sweep` is
:func:`vgkit.loadtest.sweep_rates` with the model's figures per offered rate:
completion tokens per second of wall time (what the model served) and per
second each request waited for its answers (queueing at the server included:
below the served rate once requests overlap), so the notebook shows where the
model saturates::

    async with LLMTarget(agents=("hook_creator",), max_tokens=96) as target:
        frame = await llm_sweep(target, [0.25, 1.0], workload, duration=3.0)

``vgkit loadtest --target llm -o agents=hook_creator -o max_tokens=96 --rate 0.5 -n 5``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vgkit.errors import LoadTestError
from vgkit.loadtest.targets import BaseTarget, Target, raise_if_incomplete

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from vgkit.agents.llm import LLMBackend
    from vgkit.llm import ModelServer
    from vgkit.loadtest.workload import WorkItem, Workload
    from vgkit.orchestrator import Orchestrator

__all__ = [
    "DEFAULT_LLM_AGENTS",
    "LLMTarget",
    "llm_skip_reason",
    "llm_sweep",
    "llm_target",
    "plot_llm_sweep",
]

#: The agents the model writes by default: the hook, the shortest text of a plan.
DEFAULT_LLM_AGENTS = ("hook_creator",)
DEFAULT_LLM_MAX_TOKENS = 96
#: Seconds the sweep waits for a rate's requests after its arrivals stop.
DEFAULT_LLM_DRAIN_TIMEOUT = 60.0


class LLMTarget(BaseTarget):
    """Each item's request generated with the llm backend: real model calls, no cache.

    ``model``: a GGUF file or an OpenAI-compatible URL (default: the packaged
    SmolLM2-135M, served on 127.0.0.1 while the target is open). ``agents`` go
    to the model, with ``max_tokens`` per answer. ``backend`` holds the model's
    figures (``stats``, ``tokens_per_second()``).
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        agents: Sequence[str] = DEFAULT_LLM_AGENTS,
        max_tokens: int = DEFAULT_LLM_MAX_TOKENS,
        name: str = "llm",
    ) -> None:
        self.name = name
        self.model = model
        self.agents = frozenset(agents)
        self.max_tokens = max_tokens
        self.server: ModelServer | None = None
        self.backend: LLMBackend | None = None
        self.orchestrator: Orchestrator | None = None

    async def start(self) -> None:
        if self.orchestrator is not None:
            return
        from vgkit.agents.llm import LLMBackend
        from vgkit.llm import ModelServer
        from vgkit.metrics import MetricsRegistry
        from vgkit.orchestrator import Orchestrator

        server = ModelServer(model=self.model)
        await server.start()
        self.server = server
        # A private registry: the load test's own figures are what it measures.
        self.backend = LLMBackend(
            server.llm_config(max_tokens=self.max_tokens, agents=self.agents),
            metrics=MetricsRegistry(),
        )
        self.orchestrator = Orchestrator(backend=self.backend, metrics=MetricsRegistry())

    async def __call__(self, item: WorkItem) -> None:
        if self.orchestrator is None:
            await self.start()
        assert self.orchestrator is not None
        raise_if_incomplete(await self.orchestrator.run(item.request()))

    async def aclose(self) -> None:
        orchestrator, self.orchestrator = self.orchestrator, None
        if orchestrator is not None:
            await orchestrator.aclose()  # closes the backend and its pool
        server, self.server = self.server, None
        if server is not None:
            await server.aclose()
        self.backend = None


async def llm_sweep(
    target: LLMTarget,
    rates: Sequence[float],
    workload: Workload | Sequence[WorkItem] | None = None,
    *,
    duration: float = 3.0,
    **settings: Any,
) -> pd.DataFrame:
    """:func:`vgkit.loadtest.sweep_rates` against ``target``, a row per rate, with the
    model's completions, completion tokens, tokens per second of the test's wall time
    (``tokens_per_s``: what the model served) and per second each request waited
    for its answers (``request_tokens_per_s``: queueing at the server included).
    ``drain_timeout`` defaults to :data:`DEFAULT_LLM_DRAIN_TIMEOUT`: requests still
    running then are abandoned."""
    import pandas as pd

    from vgkit.loadtest.sweep import sustained, sweep_rates

    # A generation takes seconds (minutes on a busy machine): let the last requests
    # finish instead of abandoning them after the generator's default 5 s.
    settings.setdefault("drain_timeout", DEFAULT_LLM_DRAIN_TIMEOUT)
    await target.start()
    backend = target.backend
    assert backend is not None
    rows = []
    for rate in sorted(rates):
        backend.reset_stats()
        started = time.perf_counter()
        row = await sweep_rates(target, [rate], workload, duration=duration, **settings)
        wall = time.perf_counter() - started
        totals = backend.totals()
        rows.append(
            row.assign(
                completions=totals.model_calls,
                completion_tokens=totals.completion_tokens,
                tokens_per_s=totals.completion_tokens / wall if wall > 0 else float("nan"),
                request_tokens_per_s=backend.tokens_per_second(),
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    frame["sustained"] = sustained(frame)
    return frame


def llm_target(options: Mapping[str, str]) -> Target:
    agents = options.get("agents")
    chosen = tuple(a.strip() for a in agents.split(",") if a.strip()) if agents else None
    try:
        max_tokens = int(options.get("max_tokens", DEFAULT_LLM_MAX_TOKENS))
    except ValueError:
        raise LoadTestError(
            f"target option max_tokens must be a whole number, not {options['max_tokens']!r}"
        ) from None
    return LLMTarget(
        model=options.get("model"),
        agents=chosen or DEFAULT_LLM_AGENTS,
        max_tokens=max_tokens,
    )


def llm_skip_reason(rates: Sequence[float]) -> str | None:
    """Why the notebook's real-model sweep does not run (None: it runs)."""
    from vgkit.errors import ModelServerError
    from vgkit.llm import require_extra

    if not rates:
        return "skipped (llm_rates = [])"
    try:
        require_extra()
    except ModelServerError as exc:
        return f"skipped: {exc}"
    return None


def plot_llm_sweep(frame: pd.DataFrame, *, title: str = "the local model under load") -> Figure:
    """Two panels against the offered rate: latency (p50, p99) and completion tokens
    per second (served over the test's wall time, and per second each request waited)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    rates = frame["offered_rps"]
    for column, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
        left.plot(rates, frame[column] / 1000, marker="o", label=label)
    for rate, ok in zip(rates, frame["sustained"], strict=True):
        if not ok:
            left.axvline(rate, color="tab:red", alpha=0.25, lw=6)
    left.set_xlabel("offered requests/s")
    left.set_ylabel("latency (s)")
    left.set_title(f"{title}: latency (red: not sustained)")
    left.legend()
    right.plot(rates, frame["tokens_per_s"], marker="o", label="served (tokens / wall s)")
    right.plot(
        rates, frame["request_tokens_per_s"], marker="s", label="per request (tokens / s waited)"
    )
    right.set_xlabel("offered requests/s")
    right.set_ylabel("completion tokens/s")
    right.set_title("tokens per second")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return fig
