"""PooledClient: keep-alive HTTP connections, measured, balanced and resilient.

One ``aiohttp`` session and connector per origin (scheme, host, port), so the
limits and the figures are per origin. The figures come from aiohttp's trace
hooks and the connections' own state, so they count real TCP connections:

* created: ``on_connection_create_end`` (a new TCP connection was opened);
* reused: ``on_connection_reuseconn`` (a request went out on a kept-alive one);
* closed: connections seen by a request that are no longer connected;
* waits: ``on_connection_queued_*`` and the pool's own limits (time a request
  waited for a free connection).

Requests go either to an absolute URL or to a registered service name with
several endpoints (replicas): least outstanding requests first, failover on a
safe-to-retry failure, a circuit breaker per endpoint and background health
checks that fetch each endpoint's agent card and take failing endpoints out of
rotation (see ``vgkit.client.balancer`` and ``vgkit.client.resilience``).

Defaults follow the original system (10 connections per host, 30 s keep-alive,
a health check every 300 s), plus a total limit and connect, read and
per-request deadlines. ``stats()`` returns the figures as a dict,
``stats_frame()`` as a DataFrame, and the process metrics registry exposes them
at scrape time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import ssl
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import aiohttp
import orjson

from vgkit.a2a.tls import client_context
from vgkit.breaker import BreakerState
from vgkit.client._limits import Limiter
from vgkit.client.balancer import (
    Endpoint,
    Origin,
    normalise_url,
    pick,
)
from vgkit.client.config import DEFAULT_POOL_CONFIG, PoolConfig
from vgkit.client.connections import OriginPool
from vgkit.client.pool_counters import OriginStats, pool_samples, pool_stats, stats_frame
from vgkit.client.resilience import (
    AttemptFailed,
    Failure,
    classify,
    retry_allowed,
    tls_error,
)
from vgkit.config import settings
from vgkit.errors import (
    CircuitOpenError,
    ClientError,
    ConfigError,
)
from vgkit.metrics import MetricsRegistry, Sample, register_source
from vgkit.resource import AsyncResource

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PooledClient", "Response"]

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class Response(NamedTuple):
    """A complete HTTP response (the body is read before the connection is released).

    A named tuple: immutable and the cheapest object to build on the hot path.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    attempts: int = 1
    elapsed: float = 0.0

    def json(self) -> Any:
        return orjson.loads(self.body)

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class PooledClient(AsyncResource):
    """An HTTP client over pooled keep-alive connections (see the module docstring).

    ``services`` maps service names to one or more base URLs; ``request`` takes
    either a registered name or an absolute URL. ``metrics`` receives the pool's
    figures (default: the process registry served at ``/metrics``); ``name``
    labels them.
    """

    _names = itertools.count(1)

    def __init__(
        self,
        config: PoolConfig = DEFAULT_POOL_CONFIG,
        *,
        services: Mapping[str, str | Sequence[str]] | None = None,
        metrics: MetricsRegistry | None = None,
        name: str | None = None,
    ) -> None:
        self.config = config
        self.name = name or f"pool{next(self._names)}"
        self._origins: dict[Origin, OriginPool] = {}
        self._stats: dict[Origin, OriginStats] = {}
        self._services: dict[str, list[Endpoint]] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._by_url: dict[str, list[Endpoint]] = {}
        self._global = Limiter(config.limit)
        self._ssl: ssl.SSLContext | None = None
        self._timeout = aiohttp.ClientTimeout(
            total=config.request_timeout,
            sock_connect=config.connect_timeout,
            sock_read=config.read_timeout,
        )
        self._background: list[asyncio.Task[None]] = []
        self._closed = False
        self._rng = random.Random()
        for service, urls in (services or {}).items():
            self.register(service, urls)
        register_source(self, metrics)

    # -- configuration -----------------------------------------------------

    def register(self, service: str, urls: str | Sequence[str]) -> list[Endpoint]:
        """Route requests for ``service`` to these base URLs (replicas)."""
        if not service or "://" in service:
            raise ConfigError(f"service name {service!r} must be a plain name, not a URL")
        items = [urls] if isinstance(urls, str) else list(urls)
        if not items:
            raise ConfigError(f"service {service!r} needs at least one endpoint URL")
        endpoints = [self._endpoint(u) for u in items]
        self._services[service] = endpoints
        return endpoints

    @property
    def services(self) -> dict[str, list[str]]:
        return {name: [e.url for e in eps] for name, eps in self._services.items()}

    def endpoints(self, service: str | None = None) -> list[Endpoint]:
        if service is None:
            return list(self._endpoints.values())
        return list(self._services.get(service, ()))

    def _endpoint(self, url: str) -> Endpoint:
        base = normalise_url(url)
        endpoint = self._endpoints.get(base)
        if endpoint is None:
            endpoint = Endpoint.create(base, self.config.breaker)
            self._endpoints[base] = endpoint
        return endpoint

    # -- lifecycle -----------------------------------------------------------

    async def aclose(self) -> None:
        """Stop background work and close every connection."""
        self._closed = True
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background.clear()
        pools, self._origins = list(self._origins.values()), {}
        await asyncio.gather(*(p.aclose() for p in pools), return_exceptions=True)

    def _start_background(self) -> None:
        if self._background or self._closed:
            return
        cfg = self.config
        if cfg.health_check_interval:
            self._background.append(asyncio.create_task(self._health_loop()))
        if cfg.idle_timeout:
            self._background.append(asyncio.create_task(self._idle_loop()))
        if cfg.adaptive:
            self._background.append(asyncio.create_task(self._adapt_loop()))

    def _pool(self, origin: Origin) -> OriginPool:
        pool = self._origins.get(origin)
        if pool is None:
            if self._closed:
                raise ClientError("the PooledClient is closed; create a new one")
            stats = self._stats.get(origin)
            if stats is None:
                stats = self._stats[origin] = OriginStats(origin)
            tls = self._tls() if origin[0] == "https" else None
            pool = self._origins[origin] = OriginPool(self.config, origin, stats, tls)
            self._start_background()
        return pool

    def _tls(self) -> ssl.SSLContext:
        """The context https origins verify with (built once: loading CAs takes ms)."""
        if self._ssl is None:
            ca_file = self.config.ca_file or settings().ca_file
            self._ssl = client_context(ca_file, verify=self.config.verify_tls)
        return self._ssl

    # -- requests ------------------------------------------------------------

    async def request(
        self,
        method: str,
        target: str,
        path: str = "",
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Send one request and read the whole response.

        ``target`` is a registered service name or an absolute base URL;
        ``path`` is appended. ``idempotent`` (default: true for GET, HEAD,
        OPTIONS, PUT and DELETE) allows a retry after the connection dropped
        mid-request. Raises EndpointUnavailableError, CircuitOpenError or
        RequestTimeoutError with what happened; any HTTP status other than a
        retried 503 is returned, not raised.
        """
        body = data
        if json is not None:
            body = orjson.dumps(json)
            headers = {"Content-Type": "application/json", **(headers or {})}
        method = method.upper()
        safe = idempotent if idempotent is not None else method in _IDEMPOTENT_METHODS
        # The retry loop lives here, not in a helper coroutine: one coroutine frame less
        # per request on the hot path.
        candidates = self._candidates(target)
        start = time.monotonic()
        deadline = start + (timeout or self.config.request_timeout)
        avoid: set[str] | None = None
        attempt = 0
        while True:
            if len(candidates) == 1:
                endpoint: Endpoint | None = candidates[0]
            else:
                endpoint = pick(candidates, avoid or set())
            if endpoint is None or not endpoint.breaker.allow():
                raise CircuitOpenError(
                    f"every endpoint of {target!r} has an open circuit after repeated failures; "
                    f"retry in {self.config.breaker.reset_timeout:g} s or check the servers",
                    url=endpoint.url if endpoint else None,
                )
            attempt += 1
            try:
                return await self._attempt(
                    endpoint, method, path, body, headers, deadline, attempt, start
                )
            except AttemptFailed as failed:
                endpoint.breaker.record_failure()
                endpoint.failures += 1
                avoid = avoid or set()
                avoid.add(endpoint.url)
                now = time.monotonic()
                retry = self.config.retry
                if (
                    attempt >= retry.attempts
                    or not retry_allowed(failed.failure, safe)
                    or now >= deadline
                ):
                    raise failed.error(target, attempt) from failed.__cause__
                endpoint.retries += 1
                if len(candidates) == 1 or all(e.url in avoid for e in candidates):
                    pause = retry.delay(attempt, self._rng)
                    await asyncio.sleep(min(pause, max(0.0, deadline - now)))

    async def get(self, target: str, path: str = "", **kw: Any) -> Response:
        return await self.request("GET", target, path, **kw)

    async def post(self, target: str, path: str = "", **kw: Any) -> Response:
        return await self.request("POST", target, path, **kw)

    def _candidates(self, target: str) -> list[Endpoint]:
        endpoints = self._services.get(target) or self._by_url.get(target)
        if endpoints is not None:
            return endpoints
        if "://" not in target:
            known = ", ".join(sorted(self._services)) or "none"
            raise ConfigError(f"unknown service {target!r} (registered: {known}); or pass a URL")
        if len(self._by_url) >= 1024:  # bounded: callers may pass many distinct URLs
            self._by_url.clear()
        endpoints = self._by_url[target] = [self._endpoint(target)]
        return endpoints

    async def _attempt(
        self,
        endpoint: Endpoint,
        method: str,
        path: str,
        body: bytes | None,
        headers: Mapping[str, str] | None,
        deadline: float,
        attempt: int,
        start: float,
    ) -> Response:
        cfg = self.config
        t0 = time.monotonic()
        remaining = deadline - t0
        if remaining <= 0:
            raise AttemptFailed(Failure.TIMEOUT, endpoint.url, "the request deadline passed")
        pool = self._origins.get(endpoint.origin) or self._pool(endpoint.origin)
        pool.last_used = t0
        waited = 0.0
        if not self._global.try_acquire():
            waited += await self._global.acquire()
        if not pool.limiter.try_acquire():
            waited += await pool.limiter.acquire()
        if waited:
            pool.stats.add_wait(waited)
        endpoint.outstanding += 1
        endpoint.requests += 1
        url = endpoint.url + path
        timeout = self._timeout
        if remaining < cfg.request_timeout - 0.05:  # a retry: only what is left of the deadline
            timeout = aiohttp.ClientTimeout(
                total=remaining, sock_connect=cfg.connect_timeout, sock_read=cfg.read_timeout
            )
        try:
            async with pool.session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as resp:
                payload = await resp.read()
                status = resp.status
                resp_headers = resp.headers
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if isinstance(exc, aiohttp.ClientSSLError):
                raise tls_error(method, url, exc) from exc
            failure = classify(exc)
            if failure is None:
                raise ClientError(f"{method} {url} failed: {exc}", url=url) from exc
            raise AttemptFailed(failure, url, str(exc) or type(exc).__name__) from exc
        finally:
            endpoint.outstanding -= 1
            self._global.release()
            pool.limiter.release()
        end = time.monotonic()
        endpoint.latency.observe(end - t0)
        if status in cfg.retry.retry_statuses:
            raise AttemptFailed(Failure.UNAVAILABLE, url, f"HTTP {status}", status=status)
        if status >= 500:
            endpoint.breaker.record_failure()
        else:
            breaker = endpoint.breaker
            if breaker.failures or breaker.state is not BreakerState.CLOSED:
                breaker.record_success()
            endpoint.healthy = True
        return Response(status, resp_headers, payload, url, attempt, end - start)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        target: str,
        path: str = "",
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Open a streamed response (server-sent events); no retries once it started.

        ``timeout`` bounds the whole stream (default: none beyond the read
        deadline between chunks).
        """
        endpoint = self._candidates(target)
        chosen = pick(endpoint, set())
        if chosen is None or not chosen.breaker.allow():
            raise CircuitOpenError(f"every endpoint of {target!r} has an open circuit")
        pool = self._pool(chosen.origin)
        pool.last_used = time.monotonic()
        body = orjson.dumps(json) if json is not None else data
        hdrs = {"Accept": "text/event-stream", **(headers or {})}
        if json is not None:
            hdrs.setdefault("Content-Type", "application/json")
        url = chosen.url + path
        cfg = self.config
        client_timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=cfg.connect_timeout, sock_read=cfg.read_timeout
        )
        waited = 0.0
        for limiter in (self._global, pool.limiter):
            if not limiter.try_acquire():
                waited += await limiter.acquire()
        if waited:
            pool.stats.add_wait(waited)
        chosen.outstanding += 1
        chosen.requests += 1
        try:
            try:
                resp = await pool.session.request(
                    method, url, data=body, headers=hdrs, timeout=client_timeout
                )
            except Exception as exc:
                if isinstance(exc, aiohttp.ClientSSLError):
                    raise tls_error(method, url, exc) from exc
                chosen.breaker.record_failure()
                chosen.failures += 1
                failure = classify(exc) or Failure.DISCONNECTED
                raise AttemptFailed(failure, url, str(exc) or type(exc).__name__).error(
                    target, 1
                ) from exc
            chosen.breaker.record_success()
            try:
                yield resp
            finally:
                resp.release()
        finally:
            chosen.outstanding -= 1
            self._global.release()
            pool.limiter.release()

    # -- health, idle cleanup, adaptive sizing --------------------------------

    async def check_health(self) -> dict[str, bool]:
        """Fetch every registered endpoint's card now; returns url -> healthy."""
        endpoints = [e for eps in self._services.values() for e in eps]
        unique = list({e.url: e for e in endpoints}.values())
        results = await asyncio.gather(*(self._probe(e) for e in unique))
        return {e.url: ok for e, ok in zip(unique, results, strict=True)}

    async def _probe(self, endpoint: Endpoint) -> bool:
        cfg = self.config
        endpoint.health_checks += 1
        pool = self._pool(endpoint.origin)
        timeout = aiohttp.ClientTimeout(total=cfg.health_check_timeout)
        try:
            async with pool.session.get(
                endpoint.url + cfg.health_check_path, timeout=timeout
            ) as resp:
                await resp.read()
                ok = resp.status == 200
        except Exception:
            ok = False
        if not ok:
            endpoint.health_failures += 1
        endpoint.healthy = ok
        return ok

    async def _health_loop(self) -> None:
        interval = self.config.health_check_interval
        assert interval
        while True:
            await asyncio.sleep(interval)
            await self.check_health()

    async def _idle_loop(self) -> None:
        idle = self.config.idle_timeout
        assert idle
        while True:
            await asyncio.sleep(min(idle / 2, 30.0))
            await self.close_idle(idle)

    async def close_idle(self, older_than: float) -> int:
        """Close the sessions of origins unused for ``older_than`` seconds."""
        now = time.monotonic()
        busy = {e.origin for e in self._endpoints.values() if e.outstanding}
        stale = [
            o for o, p in self._origins.items() if now - p.last_used >= older_than and o not in busy
        ]
        pools = [self._origins.pop(o) for o in stale]
        await asyncio.gather(*(p.aclose() for p in pools), return_exceptions=True)
        return len(pools)

    async def _adapt_loop(self) -> None:
        adaptive = self.config.adaptive
        assert adaptive is not None
        while True:
            await asyncio.sleep(adaptive.interval)
            for pool in list(self._origins.values()):
                pool.limiter.adapt(adaptive.min_per_host, adaptive.max_per_host)

    def limits(self) -> dict[str, int]:
        """Current per-host limit of every open origin (changes under adaptive sizing)."""
        out = {}
        for origin, pool in self._origins.items():
            key = f"{origin[0]}://{origin[1]}:{origin[2]}"
            out[key] = pool.limiter.capacity
        return out

    # -- figures -------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Connections per origin and requests per endpoint, as plain data."""
        return pool_stats(self.name, self._stats, self._endpoints)

    def stats_frame(self) -> pd.DataFrame:
        """One row per endpoint: its requests and latency next to its origin's connections."""
        return stats_frame(self.stats())

    def metric_samples(self) -> Iterator[Sample]:
        """The pool's figures for the metrics registry (read at scrape time)."""
        return pool_samples(self.name, self._stats, self._endpoints)

    def reset_stats(self) -> None:
        """Zero the connection counters (for measuring after a warm-up)."""
        for stats in self._stats.values():
            stats.reset()
