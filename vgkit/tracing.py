"""Traces: one session across hops, as W3C trace context and spans.

A run (or any block of code) opens a span; every A2A call made inside it sends
a ``traceparent`` header (``version-traceid-spanid-flags``, W3C Trace Context)
naming the caller's span, and the session id as the message's ``contextId``;
every queued job carries both in its payload. Each hop records its own span
(start, end, host, process, agent, node, cache outcome, trace and parent ids)
into its metrics registry's span log (:class:`SpanLog`, ``registry.spans``),
and an agent server hands the spans it recorded for a call back in the task's
metadata, so the caller holds the whole trace: ``result.trace_frame()`` and
:func:`vgkit.plots.waterfall` show a remote generation as one trace across
hosts and processes.

::

    with tracing.span("my step", kind="internal") as sp:   # child of the current span
        ...                                                 # A2A calls here carry sp
    tracing.parse_traceparent("00-4bf9...-00f0...-01")      # None when malformed

The current span is a context variable: tasks started inside a span inherit
it, concurrent runs never see each other's. A header that does not parse is
not an error: the receiver starts a new trace. Timestamps are wall-clock
seconds (``time.time``) so spans from several processes share one axis; on one
machine (and in the network lab) they share one clock, across real machines
their offsets are the hosts' clock skew.

``VGKIT_HOST_NAME`` (``vgkit.config``) names this host in spans; by default the
machine's host name (the network lab sets it to the lab host's name).
"""

from __future__ import annotations

import os
import random
import re
import socket
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from vgkit.metrics import MetricsRegistry, Sample

__all__ = [
    "SPANS_KEY",
    "TRACEPARENT",
    "Span",
    "SpanLog",
    "TraceContext",
    "collect",
    "current",
    "current_session_id",
    "hop",
    "host_name",
    "new_trace",
    "parse_traceparent",
    "record",
    "remote_parent",
    "span",
    "spans_frame",
    "use",
]

TRACEPARENT = "traceparent"
"""The HTTP header (and job field) that carries the caller's span."""
SPANS_KEY = "vgkit.spans"
"""Key of the task metadata holding the spans an agent server recorded for a call."""
DEFAULT_SPAN_LOG = 10_000
"""Spans a registry keeps (oldest dropped first)."""

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass(frozen=True, slots=True)
class TraceContext:
    """Where new work hangs in a trace: the trace id, the parent span id, the flags.

    ``session_id`` travels beside it (A2A ``contextId``, a job's payload), not in
    the ``traceparent`` header.
    """

    trace_id: str
    span_id: str
    flags: int = 1
    session_id: str | None = None

    @property
    def traceparent(self) -> str:
        """The W3C ``traceparent`` value: ``00-<trace id>-<span id>-<flags>``."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"

    def child(self) -> TraceContext:
        """The same trace with a new span id (the span that runs under this one)."""
        return TraceContext(self.trace_id, _span_id(), self.flags, self.session_id)


def _span_id() -> str:
    return f"{random.getrandbits(64) or 1:016x}"


def new_trace(session_id: str | None = None) -> TraceContext:
    """A fresh trace: random 128-bit trace id, random 64-bit span id, sampled."""
    return TraceContext(f"{random.getrandbits(128) or 1:032x}", _span_id(), 1, session_id)


def parse_traceparent(value: str | None, session_id: str | None = None) -> TraceContext | None:
    """The context a ``traceparent`` value names; None when absent or malformed.

    Follows W3C Trace Context: lower-case hex, version ``ff`` invalid, version
    ``00`` exactly 55 characters, later versions may append ``-`` fields (read
    as version 00), trace and parent ids not all zeros.
    """
    if not value:
        return None
    match = _TRACEPARENT.match(value)
    if match is None:
        return None
    version, trace_id, span_id, flags = match.groups()
    size = len(value)
    if version == "ff" or (version == "00" and size != 55) or (size > 55 and value[55] != "-"):
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return TraceContext(trace_id, span_id, int(flags, 16), session_id)


# -- spans ------------------------------------------------------------------------------


_HOST: list[str] = []


def host_name() -> str:
    """This host's name in spans: ``VGKIT_HOST_NAME``, else the machine's host name."""
    if not _HOST:
        from vgkit.config import settings

        _HOST.append(settings().host_name or socket.gethostname())
    return _HOST[0]


@dataclass(slots=True)
class Span:
    """One timed piece of work on one host: a run, a graph node, an A2A call, an agent.

    ``kind``: ``run`` (an orchestrator run), ``node`` (a graph node), ``client``
    (an A2A call, caller side), ``agent`` (the agent's work, server side),
    ``submit`` and ``job`` (a queued job, submitter and worker side), or any
    name a caller chooses. ``start`` and ``end`` are epoch seconds. ``cache``:
    ``hit``, ``miss`` or ``off`` where a cache was asked (None elsewhere).
    """

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start: float
    end: float | None = None
    host: str = field(default_factory=host_name)
    pid: int = field(default_factory=os.getpid)
    session_id: str | None = None
    agent: str | None = None
    node: str | None = None
    cache: str | None = None
    status: str = "ok"
    peer: str | None = None
    """The other end: the URL an A2A call went to, the URL an agent server listens on."""

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.start

    @property
    def context(self) -> TraceContext:
        """The context work started under this span runs in."""
        return TraceContext(self.trace_id, self.span_id, 1, self.session_id)

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in _FIELDS}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Span:
        """A span from :meth:`as_dict` (another process's); unknown keys are ignored."""
        return cls(**{k: raw[k] for k in _FIELDS if k in raw})


_FIELDS = tuple(f.name for f in fields(Span))
FRAME_COLUMNS = (*_FIELDS, "duration")


class SpanLog:
    """The spans a process recorded, newest last, at most ``maxlen`` (a metrics source:
    ``vgkit_spans_recorded_total{kind}`` counts them)."""

    def __init__(self, maxlen: int = DEFAULT_SPAN_LOG) -> None:
        self._spans: deque[Span] = deque(maxlen=maxlen)
        self._counts: dict[str, int] = {}

    def add(self, span: Span) -> None:
        self._spans.append(span)
        self._counts[span.kind] = self._counts.get(span.kind, 0) + 1

    def __len__(self) -> int:
        return len(self._spans)

    def __iter__(self) -> Iterator[Span]:
        return iter(list(self._spans))

    def trace(self, trace_id: str) -> list[Span]:
        """The spans of one trace this process recorded, by start."""
        return sorted((s for s in self._spans if s.trace_id == trace_id), key=lambda s: s.start)

    def clear(self) -> None:
        self._spans.clear()

    def to_frame(self, trace_id: str | None = None) -> pd.DataFrame:
        return spans_frame(self.trace(trace_id) if trace_id else list(self._spans))

    def metric_samples(self) -> Iterator[Sample]:
        from vgkit.metrics import Sample

        for kind, count in self._counts.items():
            yield Sample("vgkit_spans_recorded", "counter", "Trace spans recorded by kind",
                         {"kind": kind}, count)  # fmt: skip


def spans_frame(spans: Iterable[Span]) -> pd.DataFrame:
    """One row per span, by start: ids, name, kind, host, pid, agent, node, cache, status,
    start and end (epoch seconds), duration, and ``offset`` (seconds since the trace began)."""
    import pandas as pd

    rows = [{**s.as_dict(), "duration": s.duration} for s in spans]
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    frame = frame.sort_values("start", kind="stable").reset_index(drop=True)
    frame["offset"] = frame["start"] - frame["start"].min() if len(frame) else []
    return frame


# -- the current span and where spans go ------------------------------------------------


class _Sink:
    """Spans recorded inside a ``collect`` block (and, through ``parent``, the outer ones)."""

    __slots__ = ("parent", "spans")

    def __init__(self, parent: _Sink | None) -> None:
        self.spans: list[Span] = []
        self.parent = parent


_CONTEXT: ContextVar[TraceContext | None] = ContextVar("vgkit_trace", default=None)
_SINK: ContextVar[_Sink | None] = ContextVar("vgkit_trace_sink", default=None)


def current() -> TraceContext | None:
    """The context of the span this code runs in (None outside any)."""
    return _CONTEXT.get()


def current_session_id() -> str | None:
    ctx = _CONTEXT.get()
    return ctx.session_id if ctx is not None else None


# The context managers below are classes, not generators: they run on every A2A call
# (both sides) and every graph node, and a class costs a third of a generator's time.


class use:
    """Run the block under ``context`` (work started in it becomes its child)."""

    __slots__ = ("context", "token")

    def __init__(self, context: TraceContext | None) -> None:
        self.context = context

    def __enter__(self) -> TraceContext | None:
        self.token = _CONTEXT.set(self.context)
        return self.context

    def __exit__(self, *exc: object) -> None:
        _CONTEXT.reset(self.token)


def remote_parent(traceparent: str | None, session_id: str | None = None) -> TraceContext:
    """The context a hop continues: the caller's (parsed), or, when the value is absent or
    malformed, a new trace with no parent span (the hop's span is its root)."""
    parsed = parse_traceparent(traceparent, session_id)
    if parsed is not None:
        return parsed
    return TraceContext(new_trace().trace_id, "", 1, session_id)


class collect:
    """Gather every span recorded in the block (spans remote hops hand back included)."""

    __slots__ = ("sink", "token")

    def __enter__(self) -> list[Span]:
        self.sink = _Sink(_SINK.get())
        self.token = _SINK.set(self.sink)
        return self.sink.spans

    def __exit__(self, *exc: object) -> None:
        _SINK.reset(self.token)


def record(span: Span, registry: MetricsRegistry | None = None) -> None:
    """Keep a finished span: in ``registry``'s span log (None: only the collectors) and in
    every ``collect`` block around this code."""
    if registry is not None:
        registry.spans.add(span)
    sink = _SINK.get()
    while sink is not None:
        sink.spans.append(span)
        sink = sink.parent


def adopt(raw: Iterable[Mapping[str, Any]]) -> None:
    """Add spans another process recorded (an agent server's answer) to the collectors."""
    sink = _SINK.get()
    if sink is None:
        return
    spans = [Span.from_dict(r) for r in raw if isinstance(r, Mapping)]
    while sink is not None:
        sink.spans.extend(spans)
        sink = sink.parent


def begin(
    name: str,
    *,
    kind: str,
    parent: TraceContext | None = None,
    **attrs: Any,
) -> Span:
    """A started span, child of ``parent`` (default: the current span; none: a new trace).

    Finish it with ``end`` and keep it with :func:`record`; :func:`span` does all three.
    """
    ctx = parent if parent is not None else _CONTEXT.get()
    if ctx is None:
        ctx = new_trace(attrs.get("session_id"))
        parent_id = None
        span_id = ctx.span_id
    else:  # an empty span id: a new trace whose root this span is
        parent_id = ctx.span_id or None
        span_id = _span_id()
    attrs.setdefault("session_id", ctx.session_id)
    return Span(ctx.trace_id, span_id, parent_id, name, kind, time.time(), **attrs)


class span:
    """Time the block as a span (see :func:`begin`); work started inside is its child.

    An exception marks it ``error`` (``CancelledError``: ``cancelled``) and propagates.
    """

    __slots__ = ("registry", "span", "token")

    def __init__(
        self,
        name: str,
        *,
        kind: str = "internal",
        registry: MetricsRegistry | None = None,
        parent: TraceContext | None = None,
        **attrs: Any,
    ) -> None:
        self.span = begin(name, kind=kind, parent=parent, **attrs)
        self.registry = registry

    def __enter__(self) -> Span:
        sp = self.span
        self.token = _CONTEXT.set(TraceContext(sp.trace_id, sp.span_id, 1, sp.session_id))
        return sp

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        _CONTEXT.reset(self.token)
        sp = self.span
        sp.end = time.time()
        if kind is not None:
            sp.status = "cancelled" if kind.__name__ == "CancelledError" else "error"
        record(sp, self.registry)


class hop:
    """A server's span for one call: a child of the current context (the caller's span,
    from its ``traceparent``), gathering every span recorded under it, itself included,
    in :attr:`spans`, to hand back to the caller. Only inside a trace (``current()``
    set); one pass over the context variables, for the serving hot path."""

    __slots__ = ("registry", "sink", "span", "tokens")

    def __init__(
        self,
        name: str,
        *,
        kind: str,
        registry: MetricsRegistry | None,
        session_id: str | None,
        agent: str | None = None,
        node: str | None = None,
        cache: str | None = None,
    ) -> None:
        parent = _CONTEXT.get()
        if parent is None:
            raise RuntimeError("tracing.hop runs inside a trace; check tracing.current() first")
        self.span = Span(parent.trace_id, _span_id(), parent.span_id or None, name, kind,
                         time.time(), session_id=session_id, agent=agent, node=node,
                         cache=cache)  # fmt: skip
        self.registry = registry

    @property
    def spans(self) -> list[Span]:
        return self.sink.spans

    def __enter__(self) -> Span:
        sp = self.span
        self.sink = _Sink(_SINK.get())
        self.tokens = (
            _SINK.set(self.sink),
            _CONTEXT.set(TraceContext(sp.trace_id, sp.span_id, 1, sp.session_id)),
        )
        return sp

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        _CONTEXT.reset(self.tokens[1])
        _SINK.reset(self.tokens[0])
        sp = self.span
        sp.end = time.time()
        if kind is not None:
            sp.status = "cancelled" if kind.__name__ == "CancelledError" else "error"
        if self.registry is not None:
            self.registry.spans.add(sp)
        sink: _Sink | None = self.sink
        while sink is not None:
            sink.spans.append(sp)
            sink = sink.parent
