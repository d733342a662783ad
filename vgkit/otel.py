"""OpenTelemetry export of vgkit's spans (optional: ``pip install 'vgkit[otel]'``).

vgkit records its own spans (:mod:`vgkit.tracing`) without any dependency. Where
the OpenTelemetry SDK is installed, :func:`export_otel` hands finished spans to
an SDK exporter (OTLP to Jaeger, Tempo, Honeycomb; the console; in memory) with
their own trace and span ids, parents, hosts and times, so the collector shows
the same trace as ``result.waterfall()``::

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from vgkit.otel import export_otel

    export_otel(result.spans, OTLPSpanExporter())

Without ``exporter`` the spans go to the span processors of the global SDK
``TracerProvider`` (``opentelemetry.trace.set_tracer_provider``). Without the
SDK every entry point raises ConfigError saying what to install.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vgkit.errors import ConfigError
from vgkit.tracing import Span

__all__ = ["export_otel", "to_otel"]

_KINDS = {"client": "CLIENT", "agent": "SERVER", "submit": "PRODUCER", "job": "CONSUMER"}
_SCOPE = "vgkit"


def _sdk() -> Any:
    try:
        import opentelemetry.sdk.trace as sdk_trace
    except ImportError as exc:
        raise ConfigError(
            "OpenTelemetry export needs the SDK: pip install 'vgkit[otel]' (or opentelemetry-sdk)"
        ) from exc
    return sdk_trace


def to_otel(spans: Iterable[Span]) -> list[Any]:
    """The spans as the SDK's ``ReadableSpan`` objects (ids, parents, times kept)."""
    sdk_trace = _sdk()
    from opentelemetry import trace as api
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    scope = InstrumentationScope(_SCOPE)
    resources: dict[tuple[str, int], Any] = {}
    out = []
    for s in spans:
        key = (s.host, s.pid)
        resource = resources.get(key)
        if resource is None:
            resource = resources[key] = Resource.create(
                {"service.name": "vgkit", "host.name": s.host, "process.pid": s.pid}
            )
        flags = api.TraceFlags(api.TraceFlags.SAMPLED)
        context = api.SpanContext(int(s.trace_id, 16), int(s.span_id, 16), False, flags)
        parent = (
            api.SpanContext(int(s.trace_id, 16), int(s.parent_id, 16), True, flags)
            if s.parent_id
            else None
        )
        attributes = {
            f"vgkit.{name}": value
            for name, value in (
                ("kind", s.kind), ("session_id", s.session_id), ("agent", s.agent),
                ("node", s.node), ("cache", s.cache), ("peer", s.peer),
            )
            if value is not None
        }  # fmt: skip
        status = api.Status(api.StatusCode.OK if s.status in ("ok", "incomplete")
                            else api.StatusCode.ERROR)  # fmt: skip
        end = s.end if s.end is not None else s.start
        out.append(
            sdk_trace.ReadableSpan(
                s.name,
                context=context,
                parent=parent,
                resource=resource,
                attributes=attributes,
                kind=getattr(api.SpanKind, _KINDS.get(s.kind, "INTERNAL")),
                status=status,
                start_time=int(s.start * 1e9),
                end_time=int(end * 1e9),
                instrumentation_scope=scope,
            )
        )
    return out


def export_otel(spans: Iterable[Span], exporter: Any = None) -> int:
    """Export finished spans through ``exporter`` (an SDK ``SpanExporter``), or the
    global SDK tracer provider's span processors; how many went."""
    readable = to_otel(spans)
    if exporter is not None:
        exporter.export(readable)
        return len(readable)
    from opentelemetry import trace as api

    provider = api.get_tracer_provider()
    processor = getattr(provider, "_active_span_processor", None)
    if processor is None:
        raise ConfigError(
            "no OpenTelemetry SDK tracer provider is set: call "
            "opentelemetry.trace.set_tracer_provider(TracerProvider(...)) or pass an exporter"
        )
    for span in readable:
        processor.on_end(span)
    return len(readable)
