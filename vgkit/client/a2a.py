"""A2AClient: send and stream messages to A2A agents by name, over the pooled client.

Agents are registered by name with one or more base URLs (replicas); requests
are JSON-RPC 2.0 in the A2A 1.0 dialect by default (``dialect=Dialect.V03``
for 0.3 servers), signed when a bearer token or HMAC secret is configured.
Every call carries the current trace (``vgkit.tracing``) as a W3C
``traceparent`` header naming a client span of its own, and a send carries the
session id as the message's ``contextId``; the spans the agent server recorded
for the call come back in the task's metadata and join the caller's trace.
``trace=False`` sends neither (the baseline of the propagation benchmark).
vgkit's agents are pure functions, so sends are idempotent and safe to retry
on another replica when a connection drops; a JSON-RPC error is raised as
``RpcError`` and never retried.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import orjson

from vgkit import tracing
from vgkit.a2a.jsonrpc import rpc_outcome
from vgkit.a2a.protocol import (
    Dialect,
    Message,
    Op,
    Part,
    StatusUpdate,
    StreamEvent,
    Task,
    decode_event,
    decode_send_result,
    decode_task,
    encode_send_params,
    method_name,
)
from vgkit.a2a.signing import auth_headers
from vgkit.client.config import PoolConfig
from vgkit.client.pool import PooledClient, Response
from vgkit.errors import ClientError, RpcError
from vgkit.metrics import (
    LatencyHistogram,
    MetricsRegistry,
    Sample,
    default_registry,
    register_source,
)
from vgkit.resource import AsyncResource

__all__ = ["CARD_PATH", "A2AClient"]

CARD_PATH = "/.well-known/agent-card.json"


class A2AClient(AsyncResource):
    """Talk to A2A agents by name (see the module docstring).

    ``agents`` maps agent names to base URLs; ``pool`` shares an existing
    PooledClient (its connections and figures), otherwise the client owns one
    built from ``pool_config``.
    """

    def __init__(
        self,
        agents: Mapping[str, str | Sequence[str]] | None = None,
        *,
        pool: PooledClient | None = None,
        pool_config: PoolConfig | None = None,
        dialect: Dialect = Dialect.V1,
        auth_token: str | None = None,
        hmac_secret: str | None = None,
        rpc_path: str = "/",
        metrics: MetricsRegistry | None = None,
        trace: bool = True,
    ) -> None:
        self._own_pool = pool is None
        self.pool = (
            pool if pool is not None else PooledClient(pool_config or PoolConfig(), metrics=metrics)
        )
        for name, urls in (agents or {}).items():
            self.pool.register(name, urls)
        self.dialect = dialect
        self.auth_token = auth_token
        self.hmac_secret = hmac_secret
        self.rpc_path = rpc_path
        self.trace = trace
        self.metrics = metrics if metrics is not None else default_registry()
        self._ids = 0
        self._counts: dict[tuple[str, str, str], int] = {}
        self._latency: dict[tuple[str, str], LatencyHistogram] = {}
        register_source(self, metrics)

    @property
    def agents(self) -> dict[str, list[str]]:
        return self.pool.services

    async def aclose(self) -> None:
        if self._own_pool:
            await self.pool.aclose()

    # -- calls -----------------------------------------------------------------

    async def send(
        self,
        agent: str,
        *,
        text: str | None = None,
        data: Any = None,
        message: Message | None = None,
        metadata: dict[str, Any] | None = None,
        blocking: bool = True,
        timeout: float | None = None,
        idempotent: bool = True,
    ) -> Task | Message:
        """Send a message (text and/or a data part, with the message's ``metadata``) and
        return the agent's task or reply."""
        msg = message or _message(text, data, metadata)
        if self.trace and msg.context_id is None:
            msg.context_id = tracing.current_session_id()
        params = encode_send_params(msg, self.dialect, blocking=blocking)
        result = decode_send_result(await self._call(agent, Op.SEND, params, timeout, idempotent))
        _adopt_spans(result)
        return result

    async def get_task(
        self, agent: str, task_id: str, *, history_length: int | None = None
    ) -> Task:
        params: dict[str, Any] = {"id": task_id}
        if history_length is not None:
            params["historyLength"] = history_length
        return decode_task(_task_body(await self._call(agent, Op.GET, params, None, True)))

    async def cancel_task(self, agent: str, task_id: str) -> Task:
        result = await self._call(agent, Op.CANCEL, {"id": task_id}, None, True)
        return decode_task(_task_body(result))

    async def stream(
        self,
        agent: str,
        *,
        text: str | None = None,
        data: Any = None,
        message: Message | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Send with ``SendStreamingMessage`` and yield the task, status and artifact events.

        The spans the server recorded for the call arrive on its last status update
        and join the caller's trace, as a blocking send's do.
        """
        msg = message or _message(text, data)
        if self.trace and msg.context_id is None:
            msg.context_id = tracing.current_session_id()
        body = self._body(Op.STREAM, encode_send_params(msg, self.dialect))
        method = method_name(Op.STREAM, self.dialect)
        span = (
            tracing.begin(f"{method} {agent}", kind="client", agent=agent) if self.trace else None
        )
        start, outcome = time.perf_counter(), "error"
        try:
            async with self.pool.stream(
                "POST", agent, self.rpc_path, data=body, headers=self._headers(body, span),
                timeout=timeout,
            ) as resp:  # fmt: skip
                if span is not None:
                    span.peer = str(resp.url)
                if resp.status != 200 or "text/event-stream" not in resp.content_type:
                    raw = await resp.read()
                    _check_status(resp.status, raw, str(resp.url))
                    event = decode_event(rpc_outcome(orjson.loads(raw), str(resp.url)))
                    _adopt_spans(event)
                    yield event
                    outcome = "ok"
                    return
                async for data_text in _sse_data(resp.content):
                    event = decode_event(rpc_outcome(orjson.loads(data_text), str(resp.url)))
                    _adopt_spans(event)
                    yield event
                    if isinstance(event, StatusUpdate) and (
                        event.final or event.status.state.terminal
                    ):
                        break
                outcome = "ok"
        except RpcError:
            outcome = "rpc_error"
            raise
        finally:
            self._record(agent, method, outcome, time.perf_counter() - start, span)

    async def card(self, agent: str) -> dict[str, Any]:
        """The agent card of one of the agent's endpoints."""
        resp = await self.pool.get(agent, CARD_PATH)
        _check_status(resp.status, resp.body, resp.url)
        card: dict[str, Any] = resp.json()
        return card

    # -- plumbing --------------------------------------------------------------

    def _body(self, op: Op, params: dict[str, Any]) -> bytes:
        self._ids += 1
        return orjson.dumps(
            {
                "jsonrpc": "2.0",
                "id": self._ids,
                "method": method_name(op, self.dialect),
                "params": params,
            }
        )

    def _headers(self, body: bytes, span: tracing.Span | None = None) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "A2A-Version": self.dialect.value}
        if span is not None:
            headers[tracing.TRACEPARENT] = f"00-{span.trace_id}-{span.span_id}-01"
        if self.auth_token or self.hmac_secret:
            headers.update(auth_headers(body, token=self.auth_token, hmac_secret=self.hmac_secret))
        return headers

    async def _call(
        self, agent: str, op: Op, params: dict[str, Any], timeout: float | None, idempotent: bool
    ) -> Any:
        body = self._body(op, params)
        method = method_name(op, self.dialect)
        span = (
            tracing.begin(f"{method} {agent}", kind="client", agent=agent) if self.trace else None
        )
        start, outcome = time.perf_counter(), "error"
        try:
            resp: Response = await self.pool.request(
                "POST", agent, self.rpc_path, data=body, headers=self._headers(body, span),
                idempotent=idempotent, timeout=timeout,
            )  # fmt: skip
            if span is not None:
                span.peer = resp.url
            _check_status(resp.status, resp.body, resp.url)
            try:
                decoded = orjson.loads(resp.body)
            except orjson.JSONDecodeError as exc:
                raise ClientError(f"{resp.url} answered with invalid JSON: {exc}") from exc
            result = rpc_outcome(decoded, resp.url)
            outcome = "ok"
            return result
        except RpcError:
            outcome = "rpc_error"
            raise
        finally:
            self._record(agent, method, outcome, time.perf_counter() - start, span)

    def _record(
        self, agent: str, method: str, outcome: str, seconds: float, span: tracing.Span | None
    ) -> None:
        if span is not None:
            span.end = span.start + seconds
            span.status = "ok" if outcome == "ok" else "error"
            tracing.record(span, self.metrics)
        key = (agent, method, outcome)
        self._counts[key] = self._counts.get(key, 0) + 1
        hist = self._latency.get((agent, method))
        if hist is None:
            hist = self._latency[(agent, method)] = LatencyHistogram()
        hist.observe(seconds)

    def stats(self) -> dict[str, Any]:
        """Messages per agent, method and outcome, with mean latency."""
        messages = {"/".join(k): v for k, v in self._counts.items()}
        latency = {f"{a}/{m}": h.mean for (a, m), h in self._latency.items()}
        return {"messages": messages, "latency_mean": latency, "pool": self.pool.stats()}

    def metric_samples(self) -> Iterator[Sample]:
        for (agent, method, outcome), count in self._counts.items():
            labels = {"client": self.pool.name, "agent": agent, "method": method,
                      "outcome": outcome}  # fmt: skip
            yield Sample("vgkit_a2a_messages", "counter", "A2A messages sent", labels, count)
        for (agent, method), hist in self._latency.items():
            labels = {"client": self.pool.name, "agent": agent, "method": method}
            yield Sample("vgkit_a2a_latency_seconds", "histogram",
                         "A2A round-trip latency", labels, hist)  # fmt: skip


def _message(text: str | None, data: Any, metadata: dict[str, Any] | None = None) -> Message:
    parts: list[Part] = []
    if text is not None:
        parts.append(Part(text=text))
    if data is not None:
        parts.append(Part(data=data))
    if not parts:
        raise ClientError("a message needs text, data or both")
    return Message(role="user", parts=parts, metadata=metadata)


def _adopt_spans(event: StreamEvent) -> None:
    """Move the spans an agent server handed back (a task's metadata, or a stream's last
    status update's) into the caller's trace."""
    if isinstance(event, Task | StatusUpdate):
        metadata = event.metadata
        if metadata and tracing.SPANS_KEY in metadata:
            tracing.adopt(metadata.pop(tracing.SPANS_KEY))


def _task_body(result: Any) -> Any:
    if isinstance(result, dict) and "task" in result and "id" not in result:
        return result["task"]
    return result


def _check_status(status: int, body: bytes, url: str) -> None:
    if status == 200:
        return
    detail = body[:300].decode("utf-8", "replace")
    try:
        rpc_outcome(orjson.loads(body), url)
    except RpcError as exc:
        if status != 401:
            raise
        detail = exc.rpc_message
    except Exception:
        pass
    if status == 401:
        raise ClientError(
            f"{url} refused the request (401: {detail}); set VGKIT_AUTH_TOKEN or "
            "VGKIT_HMAC_SECRET to the server's secret",
            url=url,
            status=status,
        )
    raise ClientError(f"{url} answered HTTP {status}: {detail}", url=url, status=status)


async def _sse_data(content: Any) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined by newlines)."""
    lines: list[str] = []
    async for raw in content:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if lines:
                yield "\n".join(lines)
                lines = []
            continue
        if line.startswith("data:"):
            value = line[5:]
            lines.append(value[1:] if value.startswith(" ") else value)
    if lines:
        yield "\n".join(lines)
