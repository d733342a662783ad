"""Slow and hostile clients: header and body deadlines, and a cap on open connections.

aiohttp on its own lets a client take as long as it likes: a request whose
headers or body trickle in holds its connection (and a file descriptor) until
the client gives up, so a few thousand slow clients take a server down. Every
agent server therefore runs behind a guard:

* **header deadline** (``ServeConfig.header_timeout``): from the moment a
  connection is accepted, or the first byte of the next request on a kept-alive
  one, the request line and headers must be complete within the deadline, or
  the server answers ``408 Request Timeout`` and closes the connection;
* **body deadline** (``ServeConfig.body_timeout``, enforced where the JSON-RPC
  handler reads the body): the whole body must arrive within it once the
  headers are in, or the answer is 408 with a JSON-RPC error and the
  connection closes;
* **connection cap** (``ServeConfig.max_connections``): open connections are
  counted per server process (every agent server of a ``vgkit serve`` process
  shares the count, as they share its descriptors); a connection beyond the
  cap is answered ``503`` with ``Retry-After`` at once, its request unread, and
  closed within a second;
* idle kept-alive connections close after ``DEFAULT_KEEPALIVE`` seconds (aiohttp's
  own default is an hour), longer than the pooled client's 30 s, so the client
  closes first.

The counts (open connections, slow clients cut by phase, connections refused)
are in ``/metrics`` and ``ConnectionGuard.stats()``.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Iterator
from typing import Any

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from vgkit.a2a.jsonrpc import rpc_error
from vgkit.a2a.protocol import INTERNAL_ERROR
from vgkit.metrics import MetricsRegistry, Sample, register_source

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_KEEPALIVE",
    "DEFAULT_MAX_CONNECTIONS",
    "RETRY_AFTER",
    "ConnectionGuard",
    "GuardedRunner",
    "connection_limit",
]

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 4096
DEFAULT_KEEPALIVE = 75.0
#: Seconds a refused client is told to wait before it tries again.
RETRY_AFTER = 1
#: Descriptors kept free under the process's limit (files, Redis, outgoing connections).
FD_HEADROOM = 256
#: How long a refused connection may linger while its client reads the 503.
REFUSAL_LINGER = 1.0


def _response(status: str, headers: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\n{headers}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode() + body


def connection_limit(asked: int) -> int:
    """The cap actually enforced: ``asked``, kept ``FD_HEADROOM`` under ``ulimit -n``."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 2 * FD_HEADROOM:
        return asked
    return max(1, min(asked, soft - FD_HEADROOM))


class _ProcessCount:
    """Open connections of every guarded server in this process (the cap is per process)."""

    open = 0


class ConnectionGuard:
    """One agent server's deadlines, the process-wide cap, and what they did."""

    def __init__(
        self,
        agent: str,
        *,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        metrics: MetricsRegistry | None = None,
    ) -> None:
        self.agent = agent
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_connections = connection_limit(max_connections)
        self.open = 0
        self.header_timeouts = 0
        self.body_timeouts = 0
        self.refused = 0
        self.timeout_408 = _response(
            "408 Request Timeout",
            "Content-Type: text/plain; charset=utf-8\r\n",
            f"the request headers did not arrive within {header_timeout:g} s\n".encode(),
        )
        message = (
            f"the server has {self.max_connections} connections open, its limit; retry in "
            f"{RETRY_AFTER} s"
        )
        self.refusal_503 = _response(
            "503 Service Unavailable",
            f"Content-Type: application/json\r\nRetry-After: {RETRY_AFTER}\r\n",
            orjson.dumps(rpc_error(None, INTERNAL_ERROR, message)),
        )
        register_source(self, metrics)

    @property
    def full(self) -> bool:
        return _ProcessCount.open >= self.max_connections

    def opened(self) -> None:
        self.open += 1
        _ProcessCount.open += 1

    def closed(self) -> None:
        self.open -= 1
        _ProcessCount.open -= 1

    def stats(self) -> dict[str, int]:
        return {
            "open": self.open,
            "process_open": _ProcessCount.open,
            "max_connections": self.max_connections,
            "header_timeouts": self.header_timeouts,
            "body_timeouts": self.body_timeouts,
            "refused": self.refused,
        }

    def body_too_slow(self, request: web.BaseRequest) -> None:
        """Count a body that missed its deadline; its connection closes after the answer."""
        self.body_timeouts += 1
        protocol = request.protocol
        if isinstance(protocol, _GuardedHandler):
            protocol.close_after_response()

    def metric_samples(self) -> Iterator[Sample]:
        labels = {"agent": self.agent}
        yield Sample("vgkit_serve_open_connections", "gauge", "Connections open now",
                     labels, self.open)  # fmt: skip
        for phase, count in (("headers", self.header_timeouts), ("body", self.body_timeouts)):
            yield Sample("vgkit_serve_slow_clients", "counter",
                         "Connections cut with 408 because a request did not arrive in time",
                         {**labels, "phase": phase}, count)  # fmt: skip
        yield Sample("vgkit_serve_refused_connections", "counter",
                     "Connections answered 503 beyond the connection cap", labels,
                     self.refused)  # fmt: skip


class _GuardedHandler(RequestHandler):
    """aiohttp's connection protocol with the header deadline and the connection count."""

    __slots__ = ("_counted", "_guard", "_header_timer")

    def __init__(self, manager: web.Server, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._header_timer: asyncio.TimerHandle | None = None
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._guard.opened()
        self._counted = True
        self._arm()

    def _arm(self) -> None:
        self._header_timer = self._loop.call_later(self._guard.header_timeout, self._too_slow)

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if self._header_timer is None and waiter is not None and not waiter.done():
            self._arm()  # idle between requests: this is the start of the next one
        super().data_received(data)
        if self._header_timer is not None and self._messages:
            self._header_timer.cancel()  # the request line and headers are in
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self._messages or self.transport is None:
            return
        self._guard.header_timeouts += 1
        self.transport.write(self._guard.timeout_408)
        self.force_close()

    def close_after_response(self) -> None:
        """Close once the response is out, without aiohttp's lingering read of the rest
        of the body (up to 10 s more of a slow client)."""
        self._lingering_time = 0.0

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if self._counted:
            self._counted = False
            self._guard.closed()
        super().connection_lost(exc)


class _Refusal(asyncio.Protocol):
    """A connection beyond the cap: 503 with Retry-After, its request unread, closed soon."""

    def __init__(self, guard: ConnectionGuard) -> None:
        self.guard = guard
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.guard.refused += 1
        transport.write(self.guard.refusal_503)
        # Half-close and drain what the client sends, so it reads the 503 instead of a
        # reset; close for good once it hangs up or after REFUSAL_LINGER.
        try:
            transport.write_eof()
        except (OSError, RuntimeError, NotImplementedError):
            transport.close()
            return
        self.timer = asyncio.get_running_loop().call_later(REFUSAL_LINGER, transport.close)

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> bool:
        if self.transport is not None:
            self.transport.close()
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.timer is not None:
            self.timer.cancel()


class _GuardedServer(web.Server):
    guard: ConnectionGuard

    def __call__(self) -> RequestHandler:
        if self.guard.full:
            return _Refusal(self.guard)  # type: ignore[return-value]
        return _GuardedHandler(self, guard=self.guard, loop=self._loop, **self._kwargs)


class GuardedRunner(web.AppRunner):
    """An ``AppRunner`` whose connections go through ``guard`` (see the module docstring)."""

    def __init__(self, app: web.Application, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        kwargs.setdefault("keepalive_timeout", DEFAULT_KEEPALIVE)
        super().__init__(app, **kwargs)
        self.guard = guard

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The application's own server (its handler, request factory and options),
        # made to build guarded connection protocols: aiohttp offers no other hook.
        server.__class__ = _GuardedServer
        assert isinstance(server, _GuardedServer)
        server.guard = self.guard
        return server
