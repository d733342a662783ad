"""Load-test targets: what a load test sends its requests to.

A target is anything with a ``name`` and ``async def __call__(item) -> None``
(the :class:`Target` protocol). A call that returns is a success; a call that
raises is an error, counted under the exception's ``kind`` attribute (see
:class:`vgkit.errors.TargetError`) or its class name, and never propagated.
Targets that hold resources (sessions, orchestrators) derive from
:class:`BaseTarget` and release them in ``aclose`` (``async with target:``).

Besides ``aclose``, a :class:`BaseTarget` may ``start`` (open connections,
start servers: ``async with target:`` calls it) and ``prepare(items)`` (work
to do before the timed run, given the items it will send); the command line
calls both before the load begins.

Here: the in-process :class:`OrchestratorTarget`, :class:`HttpTarget`,
:class:`CacheTarget` (complete results from the layered cache),
:class:`NoopTarget`, :class:`FunctionTarget` and :class:`StallTarget`;
:mod:`vgkit.loadtest.llm` has :class:`~vgkit.loadtest.llm.LLMTarget` (real generations
against a language model);
:mod:`vgkit.loadtest.a2a` has the targets served by ``vgkit serve`` (the full
pipeline over A2A, the orchestrator with remote agents, one agent endpoint).

Adding a target takes a few lines. For code, wrap any coroutine function::

    target = FunctionTarget("cache-get", lambda item: cache.get(key_of(item)))

For the ``vgkit loadtest --target NAME`` command line, add a factory that takes
the ``-o key=value`` options and returns a target, and name it in
:data:`TARGETS` (a ``"module:function"`` path, imported only when chosen)::

    def serve_target(options: Mapping[str, str]) -> Target:
        return HttpTarget(options.get("url", "http://127.0.0.1:8700/generate"), name="serve")

    TARGETS["serve"] = TargetKind("vgkit.serve.loadtest:serve_target",
                                  "the full pipeline over vgkit serve", ("url",))
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import ipaddress
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from vgkit.errors import LoadTestError, TargetError
from vgkit.resource import AsyncResource

if TYPE_CHECKING:
    import aiohttp

    from vgkit.generation import GenerationResult
    from vgkit.loadtest.workload import WorkItem
    from vgkit.metrics import MetricsRegistry
    from vgkit.orchestrator import Orchestrator
    from vgkit.plan_cache import CacheIntegration

__all__ = [
    "TARGETS",
    "BaseTarget",
    "CacheTarget",
    "FunctionTarget",
    "HttpTarget",
    "NoopTarget",
    "OrchestratorTarget",
    "StallTarget",
    "Target",
    "TargetKind",
    "make_target",
    "raise_if_incomplete",
]

DEFAULT_HTTP_TIMEOUT = 30.0
DEFAULT_HTTP_CONNECTIONS = 100


@runtime_checkable
class Target(Protocol):
    """Something a load test sends requests to; raising means the request failed."""

    @property
    def name(self) -> str: ...

    async def __call__(self, item: WorkItem) -> None: ...


class BaseTarget(AsyncResource):
    """A target with a lifecycle: ``async with target:`` closes what it opened."""

    name = "target"

    async def __call__(self, item: WorkItem) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        """Open what the target needs before the first request (nothing by default)."""

    async def prepare(self, items: Sequence[WorkItem]) -> None:
        """Work to do before a timed run that will send ``items`` (nothing by default)."""

    async def aclose(self) -> None:
        """Release what the target opened (nothing by default)."""


class FunctionTarget(BaseTarget):
    """A target from a coroutine function of the work item."""

    def __init__(self, name: str, fn: Callable[[WorkItem], Awaitable[Any]]) -> None:
        self.name = name
        self._fn = fn

    async def __call__(self, item: WorkItem) -> None:
        await self._fn(item)


class NoopTarget(BaseTarget):
    """Answers after ``delay`` seconds (0: at once): measures the load generator itself."""

    def __init__(self, delay: float = 0.0, *, name: str = "noop") -> None:
        if not delay >= 0:
            raise LoadTestError(f"noop delay must be >= 0 seconds, not {delay}")
        self.name = name
        self.delay = delay

    async def __call__(self, item: WorkItem) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)


class StallTarget(BaseTarget):
    """Wraps a target and stalls once, at its ``at``-th call (0-based), for ``seconds``.

    ``blocking=True`` stalls the whole event loop (``time.sleep``: a GC pause, a
    blocking call in a handler), which also stops the load generator from
    sending; ``blocking=False`` stalls only that request (``asyncio.sleep``).
    Fault injection for showing what coordinated omission hides.
    """

    def __init__(self, inner: Target, *, at: int, seconds: float, blocking: bool = True) -> None:
        if at < 0 or not seconds >= 0:
            raise LoadTestError(f"a stall needs at >= 0 and seconds >= 0, not {at}, {seconds}")
        self.inner = inner
        self.name = f"{inner.name} (stall {seconds:g} s at #{at})"
        self.at = at
        self.seconds = seconds
        self.blocking = blocking
        self.calls = 0

    async def __call__(self, item: WorkItem) -> None:
        call = self.calls
        self.calls += 1
        if call == self.at:
            if self.blocking:
                time.sleep(self.seconds)  # noqa: ASYNC251 - blocking the loop is the fault injected
            else:
                await asyncio.sleep(self.seconds)
        await self.inner(item)


class OrchestratorTarget(BaseTarget):
    """Runs each item's request through an in-process :class:`vgkit.Orchestrator`.

    Give it an orchestrator (which it then leaves open), or the keyword
    arguments to build one (``executor``, ``cost``, ``time_scale``, ``cache``,
    ...), which it closes in ``aclose``. A run without a plan for every
    requested platform counts as an ``incomplete`` error.
    """

    def __init__(
        self, orchestrator: Orchestrator | None = None, *, name: str = "orchestrator", **kw: Any
    ) -> None:
        from vgkit.orchestrator import Orchestrator

        if orchestrator is not None and kw:
            raise LoadTestError("pass an orchestrator or its options, not both")
        self.name = name
        self._owned = orchestrator is None
        self.orchestrator = orchestrator if orchestrator is not None else Orchestrator(**kw)

    async def __call__(self, item: WorkItem) -> None:
        raise_if_incomplete(await self.orchestrator.run(item.request()))

    async def aclose(self) -> None:
        if self._owned:
            await self.orchestrator.aclose()


def raise_if_incomplete(result: GenerationResult) -> None:
    """TargetError ``incomplete`` unless the run made a plan for every platform."""
    if not result.ok:
        first = next(iter(result.failures.items()), ("?", "no plan"))
        raise TargetError("incomplete", f"{first[0]}: {first[1]}")


def check_loopback(url: str) -> str:
    """``url`` if it is http(s) on a loopback address; LoadTestError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise LoadTestError(f"target URL must look like http://127.0.0.1:PORT/path, not {url!r}")
    host = parts.hostname
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not _inside_lab(host):
        raise LoadTestError(
            f"load tests only target this machine (127.0.0.1, ::1 or localhost), not {host!r}"
        )
    return url


def _inside_lab(host: str) -> bool:
    """A private address, from a thread on a host of the network lab (``vgkit.netlab``):
    everything that thread can reach is inside the lab's namespaces."""
    try:
        private = ipaddress.ip_address(host).is_private
    except ValueError:
        return False
    from vgkit.netlab.system import lab_namespace

    return private and lab_namespace() is not None


def default_body(item: WorkItem) -> Any:
    return item.as_dict()


class HttpTarget(BaseTarget):
    """Sends each item as an HTTP request to a loopback URL (aiohttp, pooled).

    ``body`` turns an item into the JSON body (default: the request fields;
    None sends no body). A response status of 400 or more counts as an
    ``HTTP <status>`` error; the body is read in full, so the latency covers it.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "http",
        method: str = "POST",
        body: Callable[[WorkItem], Any] | None = default_body,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_HTTP_TIMEOUT,
        connections: int = DEFAULT_HTTP_CONNECTIONS,
    ) -> None:
        if connections < 1:
            raise LoadTestError(f"connections must be at least 1, not {connections}")
        self.url = check_loopback(url)
        self.name = name
        self.method = method.upper()
        self.body = body
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            import aiohttp

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers=self.headers,
            )
        return self._session

    async def __call__(self, item: WorkItem) -> None:
        payload = None if self.body is None else self.body(item)
        async with self._client().request(self.method, self.url, json=payload) as response:
            await response.read()
            if response.status >= 400:
                raise TargetError(f"HTTP {response.status}", f"{self.method} {self.url}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class CacheTarget(BaseTarget):
    """Looks each item's complete result up in the layered cache, as a repeated request does.

    The key is the item's request key (``CacheIntegration.request_key`` under
    the template backend's fingerprint) and the read is
    ``CacheIntegration.lookup_run``: L1, then L2, then decoding and validating
    the plans, which is what the orchestrator does before it builds a graph.
    With ``fill`` (the default) a miss stores a real plan under the key
    (read-through: the workload's popular topics turn into hits, as they would
    in service); ``fill=False`` only reads. The stored plans are generated once
    per platform when the target starts. ``hits`` and ``misses`` count the
    outcomes; the cache's own figures go to its metrics registry
    (``vgkit_cache_*``).

    Given no ``cache``, the target builds one from the settings with a fresh L1
    in a temporary directory and, when ``redis_url`` is given, Redis as L2
    under a private key prefix; ``aclose`` removes both.
    """

    def __init__(
        self,
        cache: CacheIntegration | None = None,
        *,
        fill: bool = True,
        redis_url: str | None = None,
        metrics: MetricsRegistry | None = None,
        name: str = "cache",
    ) -> None:
        if cache is not None and redis_url is not None:
            raise LoadTestError("pass a cache or the Redis URL to build one, not both")
        self.name = name
        self.fill = fill
        self.redis_url = redis_url
        self.metrics = metrics
        self.cache = cache
        self.hits = 0
        self.misses = 0
        self._owned = cache is None
        self._directory: Path | None = None
        self._plans: dict[str, Any] = {}
        self._cost = 0.0
        self._fingerprint = ""
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Build the cache (if owned) and generate the plans a miss stores; idempotent."""
        async with self._starting:
            if self._plans:
                return
            from vgkit.agents import TemplateBackend
            from vgkit.config import settings
            from vgkit.metrics import MetricsRegistry
            from vgkit.orchestrator import Orchestrator
            from vgkit.plan_cache import CacheIntegration
            from vgkit.platforms import Platform

            if self.cache is None:
                base = settings()
                config = dataclasses.replace(
                    base, key_prefix=f"{base.key_prefix}loadtest:{uuid.uuid4().hex[:12]}:"
                )
                self._directory = Path(tempfile.mkdtemp(prefix="vgkit-loadtest-cache-"))
                self.cache = CacheIntegration.from_settings(
                    config,
                    redis_url=self.redis_url,
                    use_redis=self.redis_url is not None,
                    directory=self._directory,
                    learn_templates=False,
                    metrics=self.metrics,
                )
            await self.cache.start()
            self._fingerprint = TemplateBackend().fingerprint()
            # A private registry: generating the stored plans is not the load measured.
            async with Orchestrator(metrics=MetricsRegistry()) as orchestrator:
                result = await orchestrator.run(
                    topic="How solar panels turn sunlight into electricity",
                    platforms=list(Platform),
                )
            self._cost = result.makespan
            self._plans = {
                p.value: plan.model_dump(mode="json") for p, plan in result.plans.items()
            }

    async def __call__(self, item: WorkItem) -> None:
        if not self._plans:
            await self.start()
        assert self.cache is not None
        request = item.request()
        if await self.cache.lookup_run(request, self._fingerprint) is not None:
            self.hits += 1
            return
        self.misses += 1
        if self.fill:
            key = self.cache.request_key(request, self._fingerprint)
            value = {item.platform.value: self._plans[item.platform.value]}
            await self.cache.cache.set(key, value, cost=self._cost)

    async def aclose(self) -> None:
        cache, self.cache = self.cache, None
        if cache is not None and self._owned:
            await cache.flush()
            if cache.cache.l2 is not None:
                await cache.cache.clear()
            await cache.cache.aclose()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
        self._plans = {}


# -- choosing a target by name (the CLI) -------------------------------------


@dataclass(frozen=True, slots=True)
class TargetKind:
    """A target the CLI can build: ``factory`` is ``"module:function"``."""

    factory: str
    help: str
    options: tuple[str, ...] = ()


def float_option(options: Mapping[str, str], key: str, default: float) -> float:
    """Option ``key`` as a number (``default`` when absent); LoadTestError if it is not one."""
    raw = options.get(key)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise LoadTestError(f"target option {key} must be a number, not {raw!r}") from None


def orchestrator_target(options: Mapping[str, str]) -> Target:
    concurrency = options.get("concurrency")
    return OrchestratorTarget(
        executor=options.get("executor", "eager"),
        cost=options.get("cost"),
        time_scale=float_option(options, "time_scale", 0.01),
        concurrency=int(float_option(options, "concurrency", 0)) if concurrency else None,
    )


def http_target(options: Mapping[str, str]) -> Target:
    if "url" not in options:
        raise LoadTestError("the http target needs a URL: --url http://127.0.0.1:PORT/path")
    return HttpTarget(
        options["url"],
        method=options.get("method", "POST"),
        timeout=float_option(options, "timeout", DEFAULT_HTTP_TIMEOUT),
        connections=int(float_option(options, "connections", DEFAULT_HTTP_CONNECTIONS)),
    )


def noop_target(options: Mapping[str, str]) -> Target:
    return NoopTarget(float_option(options, "delay", 0.0))


def bool_option(options: Mapping[str, str], key: str, default: bool) -> bool:
    """Option ``key`` as true/false, yes/no, on/off or 1/0."""
    raw = options.get(key)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in {"true", "yes", "on", "1"}:
        return True
    if value in {"false", "no", "off", "0"}:
        return False
    raise LoadTestError(f"target option {key} must be true or false, not {raw!r}")


def cache_target(options: Mapping[str, str]) -> Target:
    redis_url = options.get("redis")
    return CacheTarget(fill=bool_option(options, "fill", True), redis_url=redis_url or None)


#: Options of the A2A targets that configure the ``vgkit serve`` they start.
SERVE_OPTIONS = ("workers", "cost", "time_scale", "loop")

#: Targets by name for ``vgkit loadtest --target``; add yours here (see the module docstring).
TARGETS: dict[str, TargetKind] = {
    "orchestrator": TargetKind(
        "vgkit.loadtest.targets:orchestrator_target",
        "the in-process orchestrator (embedded template agents)",
        ("executor", "cost", "time_scale", "concurrency"),
    ),
    "http": TargetKind(
        "vgkit.loadtest.targets:http_target",
        "any HTTP endpoint on 127.0.0.1 (POSTs the request fields as JSON)",
        ("url", "method", "timeout", "connections"),
    ),
    "serve": TargetKind(
        "vgkit.loadtest.a2a:serve_target",
        "the full pipeline over vgkit serve: SendMessage to the orchestrator agent (--url, "
        "or a vgkit serve started on free ports for the run)",
        ("url", "connections", "timeout", *SERVE_OPTIONS),
    ),
    "remote": TargetKind(
        "vgkit.loadtest.a2a:remote_target",
        "the orchestrator in this process, its agents over A2A (-o agents=local|FILE|NAME=URL,..."
        ", or a vgkit serve started for the run)",
        ("agents", "executor", "concurrency", "connections", "timeout", *SERVE_OPTIONS),
    ),
    "agent": TargetKind(
        "vgkit.loadtest.a2a:agent_target",
        "one agent's SendMessage through the pooled client (-o agent=NAME, default "
        "topic_analysis; --url, or a vgkit serve started for the run)",
        ("url", "agent", "connections", "timeout", *SERVE_OPTIONS),
    ),
    "cache": TargetKind(
        "vgkit.loadtest.targets:cache_target",
        "complete results from the layered cache (fresh L1; -o redis=URL adds L2; "
        "-o fill=false: reads only)",
        ("redis", "fill"),
    ),
    "llm": TargetKind(
        "vgkit.loadtest.llm:llm_target",
        "real generations against a language model (the local SmolLM2 started on "
        "127.0.0.1, or -o model=URL); -o agents=A,B the model writes, -o max_tokens=N",
        ("model", "agents", "max_tokens"),
    ),
    "noop": TargetKind(
        "vgkit.loadtest.targets:noop_target",
        "answers after an optional delay: the load generator's own ceiling",
        ("delay",),
    ),
}


def make_target(name: str, options: Mapping[str, str] | None = None) -> Target:
    """Build the target registered as ``name`` with its ``key=value`` options."""
    kind = TARGETS.get(name)
    if kind is None:
        raise LoadTestError(f"unknown target {name!r}; choose from {', '.join(sorted(TARGETS))}")
    given = dict(options or {})
    unknown = sorted(set(given) - set(kind.options))
    if unknown:
        accepted = ", ".join(kind.options) or "none"
        raise LoadTestError(
            f"target {name} has no option {', '.join(unknown)}; it accepts: {accepted}"
        )
    module, _, function = kind.factory.partition(":")
    factory: Callable[[Mapping[str, str]], Target] = getattr(
        importlib.import_module(module), function
    )
    return factory(given)
