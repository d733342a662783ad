"""One aiohttp application per agent: cards, JSON-RPC, SSE, health and metrics.

Routes of an agent server::

    GET  /.well-known/agent-card.json   A2A 1.0 card (also readable by 0.3 clients)
    GET  /.well-known/agent.json        A2A 0.3 card (the older path)
    POST /                              JSON-RPC 2.0, A2A 1.0 and 0.3 method names
    GET  /healthz                       {"status": "ok", ...}; 503 while stopping
    GET  /metrics                       Prometheus text of the metrics registry

Every malformed request gets the matching JSON-RPC error and leaves the server
serving: invalid JSON -32700, not a request object -32600, unknown method
-32601, bad parameters -32602, an unexpected failure -32603, an unknown task
-32001, a finished task to cancel -32002, an A2A method vgkit does not offer
-32004, file parts -32005. A body over ``max_body`` is answered 413 (with a
-32600 error) without being read; a request without the configured secret,
401. JSON-RPC errors travel with HTTP 200, as JSON-RPC over HTTP expects.
Slow clients are cut with 408 and connections beyond the process's cap get 503
with Retry-After (``vgkit.serve.guard``).

A request with a W3C ``traceparent`` header runs under the caller's trace
(``vgkit.tracing``; a malformed header starts a new trace, it never fails the
call): the agent records its span and hands it back in the task's metadata. A
request without one is not traced.

Stopping is graceful: the server stops accepting, answers 503 to newcomers
(so pooled clients retry elsewhere), lets requests in flight finish within
``shutdown_timeout`` and then cancels what is left.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from vgkit import tracing
from vgkit.a2a.cards import card_v03, card_v1
from vgkit.a2a.jsonrpc import RpcRequest, parse_rpc_request, rpc_error, rpc_result
from vgkit.a2a.protocol import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    METHODS,
    PARSE_ERROR,
    TASK_NOT_CANCELABLE,
    TASK_NOT_FOUND,
    UNSUPPORTED_METHODS,
    UNSUPPORTED_OPERATION,
    Dialect,
    Op,
    SendParams,
    StatusUpdate,
    StreamEvent,
    Task,
    TaskState,
    TaskStatus,
    decode_send_params,
    decode_task_id,
    encode_event,
    encode_send_result,
    encode_task,
    new_id,
)
from vgkit.a2a.tls import TLSConfig
from vgkit.errors import RpcError, ServeError, VgkitError
from vgkit.metrics import MetricsRegistry, default_registry
from vgkit.resource import AsyncResource
from vgkit.serve.agents import Job, ServedAgent
from vgkit.serve.artifact_store import DEFAULT_ARTIFACT_STORE_BYTES
from vgkit.serve.auth import AuthConfig
from vgkit.serve.guard import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    ConnectionGuard,
    GuardedRunner,
)
from vgkit.serve.request_counters import ServerStats
from vgkit.serve.tasks import DEFAULT_MAX_TASK_BYTES, DEFAULT_MAX_TASKS, TaskContext, TaskStore

__all__ = ["DEFAULT_MAX_BODY", "AgentServer", "ServeConfig"]

log = logging.getLogger("vgkit.serve")

DEFAULT_MAX_BODY = 4 * 1024 * 1024
DEFAULT_SHUTDOWN_TIMEOUT = 10.0
_JSON = "application/json"
_METHODS_HINT = (
    "use SendMessage, SendStreamingMessage, GetTask, CancelTask (A2A 1.0) or "
    "message/send, message/stream, tasks/get, tasks/cancel (A2A 0.3)"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ServeConfig:
    """How agent servers listen and what they accept."""

    host: str = "127.0.0.1"
    max_body: int = DEFAULT_MAX_BODY
    """Largest request body in bytes; bigger ones get 413 and are not read."""
    max_tasks: int = DEFAULT_MAX_TASKS
    """Finished tasks kept for GetTask (oldest dropped first)."""
    max_task_bytes: int = DEFAULT_MAX_TASK_BYTES
    """Bytes of request messages those tasks may hold (so big bodies cannot exhaust memory)."""
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    """Seconds a request's line and headers may take to arrive (then 408, closed)."""
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    """Seconds a request's body may take to arrive once its headers are in (then 408)."""
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    """Open connections per server process (beyond: 503 with Retry-After); kept
    256 under the process's descriptor limit."""
    auth: AuthConfig = field(default_factory=AuthConfig)
    tls: TLSConfig | None = None
    """Serve https with this certificate (None: plain http)."""
    trust_peers: bool = False
    """Every client is a vgkit peer that validated what it sends (agents then skip
    the checks the peer made, and blocking sends are answered without a stored
    task). Requests with a valid HMAC signature (``auth.hmac_secret``) are trusted
    whatever this says; untrusted requests are validated in full."""
    artifact_store_bytes: int = DEFAULT_ARTIFACT_STORE_BYTES
    """Bytes of artifacts a server process keeps for trusted peers to refer to
    (:mod:`vgkit.serve.artifact_store`; 0: none)."""
    metrics: MetricsRegistry | None = None


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=_JSON)


class AgentServer(AsyncResource):
    """Serves one agent over HTTP on ``host:port`` (port 0: any free port).

    ``start()`` binds (``url`` is then set); ``aclose()`` shuts down gracefully;
    ``async with`` does both.
    ``sock`` serves on an already-bound listening socket instead (worker
    processes of ``vgkit serve --workers N`` share one).
    """

    def __init__(
        self,
        agent: ServedAgent,
        *,
        port: int = 0,
        config: ServeConfig | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        self.agent = agent
        self.config = config or ServeConfig()
        self.port = port
        self.sock = sock
        self.tasks = TaskStore(self.config.max_tasks, self.config.max_task_bytes)
        self.stats = ServerStats(agent.info.name, self.config.metrics)
        self.guard = ConnectionGuard(
            agent.info.name,
            header_timeout=self.config.header_timeout,
            body_timeout=self.config.body_timeout,
            max_connections=self.config.max_connections,
            metrics=self.config.metrics,
        )
        self.registry = self.config.metrics or default_registry()
        self.stopping = False
        self.started_at = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._cards: dict[str, bytes] = {}
        self.url = ""
        self.app = self._build_app()

    # -- lifecycle -------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body)
        app.router.add_get("/.well-known/agent-card.json", self._card_v1)
        app.router.add_get("/.well-known/agent.json", self._card_v03)
        app.router.add_post("/", self._traced_rpc)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def start(self) -> None:
        """Bind and serve; ``url`` is then the base URL (``http://127.0.0.1:PORT/``, https
        with TLS) and ``port`` the bound port."""
        context = self.config.tls.server_context() if self.config.tls else None
        runner = GuardedRunner(
            self.app,
            guard=self.guard,
            access_log=None,
            shutdown_timeout=self.config.shutdown_timeout,
        )
        await runner.setup()
        site: web.BaseSite
        if self.sock is not None:
            site = web.SockSite(runner, self.sock, ssl_context=context)
        else:
            site = web.TCPSite(runner, self.config.host, self.port, ssl_context=context)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ServeError(
                f"{self.agent.info.name}: cannot listen on {self.config.host}:{self.port} "
                f"({exc.strerror or exc}); choose another port or --port-base"
            ) from exc
        self._runner = runner
        host, port = runner.addresses[-1][:2]
        self.port = port
        scheme = "https" if self.config.tls else "http"
        self.url = f"{scheme}://{host}:{port}/"
        self.started_at = time.monotonic()

    async def aclose(self) -> None:
        """Stop accepting, finish requests in flight, cancel what is left."""
        self.stopping = True
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        await self.agent.aclose()

    async def _on_shutdown(self, _app: web.Application) -> None:
        self.stopping = True

    async def _on_cleanup(self, _app: web.Application) -> None:
        # Requests in flight have had shutdown_timeout to finish; background
        # tasks (non-blocking sends, abandoned streams) are canceled now.
        await self.tasks.cancel_all()

    # -- plain routes ----------------------------------------------------------

    def _card(self, version: str) -> bytes:
        cached = self._cards.get(version)
        if cached is None:
            maker = card_v1 if version == "1.0" else card_v03
            bearer = bool(self.config.auth.token)
            cached = orjson.dumps(maker(self.agent.info, self.url, bearer=bearer))
            self._cards[version] = cached
        return cached

    async def _card_v1(self, _request: web.Request) -> web.Response:
        return web.Response(body=self._card("1.0"), content_type=_JSON)

    async def _card_v03(self, _request: web.Request) -> web.Response:
        return web.Response(body=self._card("0.3"), content_type=_JSON)

    async def _healthz(self, _request: web.Request) -> web.Response:
        body = {
            "status": "stopping" if self.stopping else "ok",
            "agent": self.agent.info.name,
            "tasks_running": self.tasks.running,
            "tasks_stored": len(self.tasks),
            "connections_open": self.guard.open,
            "uptime_seconds": round(time.monotonic() - self.started_at, 3),
        }
        return _json(body, 503 if self.stopping else 200)

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=self.registry.exposition(), content_type="text/plain", charset="utf-8"
        )

    # -- JSON-RPC ----------------------------------------------------------------

    async def _traced_rpc(self, request: web.Request) -> web.StreamResponse:
        """``_rpc`` under the caller's trace when the request carries one."""
        header = request.headers.get(tracing.TRACEPARENT)
        if header is None:
            return await self._rpc(request)
        with tracing.use(tracing.remote_parent(header)):
            return await self._rpc(request)

    def _error(
        self, request_id: Any, code: int, message: str, *, status: int = 200, method: str = "-"
    ) -> web.Response:
        self.stats.error(method, code)
        return _json(rpc_error(request_id, code, message), status)

    async def _rpc(self, request: web.Request) -> web.StreamResponse:
        start = time.perf_counter()
        limit = self.config.max_body
        if self.stopping:
            return self._error(None, INTERNAL_ERROR, "the server is shutting down", status=503)
        length = request.content_length
        if length is not None and length > limit:
            return self._too_large(length)
        try:
            if request.content.is_eof():  # all there already: no deadline to keep
                body = await request.read()
            else:
                async with asyncio.timeout(self.guard.body_timeout):
                    body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large(None)
        except TimeoutError:
            self.guard.body_too_slow(request)
            message = f"the request body did not arrive within {self.guard.body_timeout:g} s"
            resp = self._error(None, INVALID_REQUEST, message, status=408)
            resp.force_close()
            return resp
        auth = self.config.auth
        # A valid HMAC signature proves a vgkit peer holding the secret sent it.
        trusted = self.config.trust_peers or bool(auth.hmac_secret)
        if auth.enabled:
            problem = auth.check(request.headers, body)
            if problem:
                resp = self._error(None, INVALID_REQUEST, f"unauthorized: {problem}", status=401)
                resp.headers["WWW-Authenticate"] = "Bearer"
                return resp
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return self._error(None, PARSE_ERROR, f"invalid JSON: {exc}")
        try:
            rpc = parse_rpc_request(data)
        except RpcError as exc:
            echo = exc.data.get("id") if isinstance(exc.data, dict) else None
            return self._error(echo, exc.code, exc.rpc_message)
        route = METHODS.get(rpc.method)
        if route is None:
            if rpc.method in UNSUPPORTED_METHODS:
                message = f"{rpc.method} is not supported by vgkit agents"
                return self._error(rpc.id, UNSUPPORTED_OPERATION, message)
            return self._error(
                rpc.id, METHOD_NOT_FOUND, f"method {rpc.method!r} not found; " + _METHODS_HINT
            )
        op, dialect = route
        try:
            if op is Op.STREAM:
                return await self._stream(request, rpc, dialect, start, len(body), trusted)
            result = await self._dispatch(op, rpc, dialect, len(body), trusted)
        except RpcError as exc:
            return self._error(rpc.id, exc.code, exc.rpc_message, method=rpc.method)
        except Exception as exc:
            log.exception("%s: %s failed", self.agent.info.name, rpc.method)
            return self._error(rpc.id, INTERNAL_ERROR, f"internal error: {type(exc).__name__}",
                               method=rpc.method)  # fmt: skip
        self.stats.ok(rpc.method, time.perf_counter() - start)
        if rpc.notification:
            return web.Response(status=204)
        return web.Response(body=orjson.dumps(rpc_result(rpc.id, result)), content_type=_JSON)

    def _too_large(self, length: int | None) -> web.Response:
        size = f"{length} bytes" if length is not None else "the request body"
        message = f"{size} exceeds the limit of {self.config.max_body} bytes"
        return self._error(None, INVALID_REQUEST, message, status=413)

    async def _dispatch(
        self, op: Op, rpc: RpcRequest, dialect: Dialect, weight: int, trusted: bool = False
    ) -> Any:
        if op is Op.SEND:
            params = decode_send_params(rpc.params or {}, dialect)
            if trusted and params.blocking:
                return await self._send_untracked(params, dialect)
            task, ctx, job = self._begin(params, weight, trusted)
            if not params.blocking:
                self.tasks.track(task.id, asyncio.create_task(self._run(job, ctx)), ctx)
                return encode_send_result(task, dialect, params.history_length)
            # Run in this request's own task (no extra task, no extra loop turn);
            # CancelTask cancels it, and the request then answers with the
            # canceled task instead of dying.
            current = asyncio.current_task()
            assert current is not None
            self.tasks.track(task.id, current, ctx, inline=True)
            try:
                await self._run(job, ctx)
            except asyncio.CancelledError:
                if not ctx.cancel_requested or current.uncancel() > 0:
                    raise
            finally:
                self.tasks.forget(task.id)
            return encode_send_result(task, dialect, params.history_length)
        task_id, history = decode_task_id(rpc.params or {})
        if op is Op.GET:
            found = self.tasks.get(task_id)
            if found is None:
                raise RpcError(TASK_NOT_FOUND, f"task {task_id!r} not found (finished tasks "
                               f"are kept for the last {self.config.max_tasks})")  # fmt: skip
            return encode_task(found, dialect, history)
        canceled = await self.tasks.cancel(task_id)
        if canceled is None:
            found = self.tasks.get(task_id)
            if found is None:
                raise RpcError(TASK_NOT_FOUND, f"task {task_id!r} not found")
            raise RpcError(
                TASK_NOT_CANCELABLE,
                f"task {task_id!r} is already {found.state.value} and cannot be canceled",
            )
        return encode_task(canceled, dialect, history)

    async def _send_untracked(self, params: SendParams, dialect: Dialect) -> Any:
        """A trusted peer's blocking send: answered with its task, which is not kept.

        vgkit's client never fetches or cancels the task of a blocking send, so
        over a trusted hop the task skips the store, the running-task record and
        the intermediate status (GetTask and CancelTask do not see it); the job
        runs in the request's own task as for any blocking send.
        """
        task, job = self._new_task(params, trusted=True)
        await self._run(job, TaskContext(task, self.registry), working=False)
        return encode_send_result(task, dialect, params.history_length)

    def _new_task(self, params: SendParams, *, trusted: bool) -> tuple[Task, Job]:
        message = params.message
        if message.task_id:
            if self.tasks.get(message.task_id) is None:
                raise RpcError(TASK_NOT_FOUND, f"task {message.task_id!r} not found")
            raise RpcError(
                UNSUPPORTED_OPERATION,
                "vgkit agents answer in one turn; send a new message without taskId",
            )
        job = self.agent.prepare(message, trusted=trusted)
        task = Task(
            id=new_id(),
            context_id=message.context_id or new_id(),
            status=TaskStatus(TaskState.SUBMITTED),
            history=[message],
        )
        message.context_id = task.context_id
        message.task_id = task.id
        return task, job

    def _begin(
        self, params: SendParams, weight: int, trusted: bool = False
    ) -> tuple[Task, TaskContext, Job]:
        task, job = self._new_task(params, trusted=trusted)
        self.tasks.add(task, weight)
        return task, TaskContext(task, self.registry), job

    async def _run(self, job: Job, ctx: TaskContext, *, working: bool = True) -> None:
        if working:
            ctx.status(TaskState.WORKING)
        try:
            await job(ctx)
        except asyncio.CancelledError:
            if not ctx.task.status.state.terminal:
                ctx.status(TaskState.CANCELED, "canceled")
            raise
        except VgkitError as exc:
            ctx.status(TaskState.FAILED, str(exc))
        except Exception as exc:
            log.exception("%s: task %s failed", self.agent.info.name, ctx.task.id)
            ctx.status(TaskState.FAILED, f"internal error: {type(exc).__name__}: {exc}")
        else:
            ctx.status(TaskState.COMPLETED)

    async def _stream(
        self,
        request: web.Request,
        rpc: RpcRequest,
        dialect: Dialect,
        start: float,
        weight: int,
        trusted: bool = False,
    ) -> web.StreamResponse:
        params = decode_send_params(rpc.params or {}, dialect)
        task, ctx, job = self._begin(params, weight, trusted)
        queue: asyncio.Queue[StreamEvent] = asyncio.Queue()
        ctx.listeners.append(queue.put_nowait)
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        runner = asyncio.create_task(self._run(job, ctx))
        self.tasks.track(task.id, runner, ctx)
        event: StreamEvent = task
        try:
            while True:
                payload = rpc_result(rpc.id, encode_event(event, dialect))
                await resp.write(b"data: " + orjson.dumps(payload) + b"\n\n")
                if isinstance(event, StatusUpdate) and event.final:
                    break
                event = await queue.get()
        except (ConnectionResetError, asyncio.CancelledError):
            # The client left: the task runs on and stays fetchable with GetTask.
            ctx.listeners.remove(queue.put_nowait)
            raise
        self.stats.ok(rpc.method, time.perf_counter() - start)
        return resp
