"""What a backend reports about one agent call besides its artifact.

A model-backed backend asks the model, repairs invalid answers and may fall
back to the template agents; the orchestrator wants those figures per node
(for the result, the events and the metrics) without every backend's ``run``
returning more than the artifact. So the orchestrator opens a
:func:`note_scope` around each call and the backend fills the
:func:`current_note` it finds there (a context variable: it follows the call
through the cost model and the cache's compute function, and is None when
nobody listens).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any

from vgkit.models import Provenance

__all__ = ["WRITTEN", "CallNote", "current_note", "note_scope", "provenance"]


@dataclass(slots=True)
class CallNote:
    """How one agent call was answered."""

    source: str = ""
    """``model`` (the model's answer), ``fallback`` (the template agent's, after the
    model gave no valid answer) or ``computed`` (an agent the model does not write).
    On a cache hit: how the cached artifact was made (source, repairs, parts,
    fallback), with no model calls, tokens or seconds spent in this run."""
    model_calls: int = 0
    """Chat completions sent for this call (the first answer and every repair)."""
    repairs: int = 0
    """Follow-up requests that sent an invalid answer back to be corrected."""
    parts: int = 0
    """Requests the answer was split into to fit the model's context (1: one)."""
    fallback: str | None = None
    """Why the template agent's artifact was used instead (the last problem)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    """Wall seconds spent waiting for the model."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_NOTE: ContextVar[CallNote | None] = ContextVar("vgkit_call_note", default=None)


def current_note() -> CallNote | None:
    """The note of the agent call running in this context, if someone listens."""
    return _NOTE.get()


def provenance(notes: Mapping[str, Any], platform: str, backend: str) -> Provenance | None:
    """What a model did for one platform's plan, from a run's notes (node -> note):
    the model-written calls of the platform's nodes and the shared ones (a node id
    without ``:PLATFORM``), their repairs and fallbacks. None when the model wrote
    none of them (template plans). A node answered by the cache has the note of the
    call that made the artifact (``vgkit.plan_cache`` keeps it with the entry)."""
    mine = {
        node: note
        for node, note in notes.items()
        if ":" not in node or node.endswith(f":{platform}")
    }
    written = {n: note for n, note in mine.items() if getattr(note, "source", "") in WRITTEN}
    if not written:
        return None
    fell_back = sorted(n for n, note in written.items() if note.source == "fallback")
    return Provenance(
        backend=backend,
        agents=len(written),
        repairs=sum(int(getattr(note, "repairs", 0)) for note in written.values()),
        fallbacks=len(fell_back),
        fallback_agents=tuple(fell_back),
    )


#: The sources of a model-written artifact (the model's answer, or its fallback).
WRITTEN = ("model", "fallback")


@contextmanager
def note_scope() -> Iterator[CallNote]:
    """A fresh note for the calls made inside the ``with`` block."""
    note = CallNote()
    token = _NOTE.set(note)
    try:
        yield note
    finally:
        _NOTE.reset(token)
