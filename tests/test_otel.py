"""OpenTelemetry export: the SDK gets vgkit's spans with their own ids, or a clear error."""

from __future__ import annotations

import sys

import pytest

import vgkit
from vgkit.errors import ConfigError
from vgkit.otel import export_otel


def test_without_the_sdk_export_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'vgkit\[otel\]'"):
        export_otel([])


def test_the_sdk_receives_the_trace_with_vgkits_ids() -> None:
    pytest.importorskip("opentelemetry.sdk.trace", reason="the otel extra is not installed")
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    result = vgkit.generate("Kites", platforms=["tiktok"], seed=5)
    exporter = InMemorySpanExporter()
    assert export_otel(result.spans, exporter) == len(result.spans)
    exported = exporter.get_finished_spans()
    assert {f"{s.context.trace_id:032x}" for s in exported} == {result.trace_id}
    by_id = {f"{s.context.span_id:016x}": s for s in exported}
    assert set(by_id) == {s.span_id for s in result.spans}
    for span in result.spans:
        otel = by_id[span.span_id]
        assert otel.name == span.name and otel.start_time == int(span.start * 1e9)
        parent = f"{otel.parent.span_id:016x}" if otel.parent is not None else None
        assert parent == span.parent_id
        assert otel.attributes is not None and otel.attributes["vgkit.kind"] == span.kind
        assert otel.resource.attributes["process.pid"] == span.pid
