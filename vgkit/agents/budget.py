"""Fitting each answer into the model's context window.

A chat model's context holds the prompt and the completion together:
SmolLM2-135M's is 2,048 tokens, and a YouTube script's narration alone can
need more than that (eight sections of up to 1,400 characters). Asking for
more than fits is an HTTP 400, not a short answer. So before every request the
llm backend sizes ``max_tokens`` to what is left of the context after the
prompt, and an answer that cannot fit is asked for in *parts*: a draft whose
spec names a splittable array (``DraftSpec.parts``: the script's segments, the
shot list's shots) is written a few items per request, each part's JSON
Schema covering its items only, and the parts are joined before the draft is
checked and laid over the skeleton.

The prompt's tokens are estimated from its characters (:class:`PromptMeter`,
calibrated by the ``usage`` the endpoint reports with each answer); the
context is ``LLMConfig.context`` (``vgkit llm serve --ctx``; ``ModelServer``
passes it on and asks a URL's ``/props``), and when it is unknown or wrong the
endpoint's own "context exceeded" answer says it (:func:`context_error`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vgkit.agents.drafts import DraftSpec, draft_schema, token_budget

__all__ = [
    "CONTEXT_MARGIN",
    "MIN_ANSWER_TOKENS",
    "PromptMeter",
    "context_error",
    "join_parts",
    "split_draft",
]

#: Tokens kept free between prompt + completion and the end of the context (the
#: chat template's own tokens, an estimate that runs short).
CONTEXT_MARGIN = 48
#: Fewer completion tokens than this cannot hold an answer: the request is not sent.
MIN_ANSWER_TOKENS = 16
#: Characters per prompt token before the endpoint has reported one (English with
#: SmolLM2's tokenizer runs 3.5-4.5; JSON-ish lines fewer: erring short is safe).
DEFAULT_CHARS_PER_TOKEN = 3.0
#: Tokens the chat template adds around each message.
MESSAGE_TOKENS = 8


def chat_chars(chat: Sequence[Mapping[str, Any]]) -> int:
    return sum(len(str(m.get("content") or "")) for m in chat)


@dataclass
class PromptMeter:
    """Estimates a chat's prompt tokens from its characters.

    ``observe`` takes the endpoint's ``usage.prompt_tokens`` for a chat; from
    then on the estimate uses the fewest characters per token seen (so it errs
    towards a longer prompt, a shorter answer, never an HTTP 400).
    """

    chars_per_token: float | None = None
    seen: list[float] = field(default_factory=list)

    def estimate(self, chat: Sequence[Mapping[str, Any]]) -> int:
        per_token = self.chars_per_token or DEFAULT_CHARS_PER_TOKEN
        return math.ceil(chat_chars(chat) / per_token) + MESSAGE_TOKENS * (len(chat) + 1)

    def observe(self, chat: Sequence[Mapping[str, Any]], prompt_tokens: int) -> None:
        text_tokens = prompt_tokens - MESSAGE_TOKENS * (len(chat) + 1)
        if text_tokens <= 0:
            return
        ratio = chat_chars(chat) / text_tokens
        self.seen.append(ratio)
        self.chars_per_token = min(self.seen)


_CONTEXT_PATTERNS = (
    # llama-cpp-python's server (OpenAI's wording).
    re.compile(
        r"maximum context length is (?P<ctx>\d+) tokens.*?\((?P<prompt>\d+) in the messages"
    ),
    re.compile(r"maximum context length is (?P<ctx>\d+) tokens"),
    # llama-cpp-python's own ValueError, llama.cpp's C++ server's JSON fields.
    re.compile(r"exceed context window of (?P<ctx>\d+)"),
    re.compile(r'"n_prompt_tokens"\s*:\s*(?P<prompt>\d+).*?"n_ctx"\s*:\s*(?P<ctx>\d+)'),
    re.compile(r'"n_ctx"\s*:\s*(?P<ctx>\d+)'),
)


def context_error(text: str) -> tuple[int, int | None] | None:
    """``(context tokens, prompt tokens or None)`` when an error answer says the request
    exceeded the model's context, else None."""
    flat = " ".join(text.split())
    for pattern in _CONTEXT_PATTERNS:
        found = pattern.search(flat)
        if found:
            groups = found.groupdict()
            prompt = groups.get("prompt")
            return int(groups["ctx"]), int(prompt) if prompt else None
    return None


@dataclass(frozen=True, slots=True)
class Part:
    """One request's share of a draft: items ``start:stop`` of the split array."""

    index: int
    count: int
    start: int
    stop: int
    spec: DraftSpec
    """The part's draft spec: the whole spec for the first part, the split array's
    fields only for the others (the title is written once)."""
    base: dict[str, Any]
    """The skeleton's data with the split array cut to this part's items."""
    schema: dict[str, Any]
    budget: int


def _part(spec: DraftSpec, base: Mapping[str, Any], start: int, stop: int, first: bool) -> Part:
    path = spec.parts
    assert path is not None
    items = list(base[path])[start:stop]
    sub = spec
    if not first:
        prefix = f"{path}[]"
        sub = DraftSpec(
            agent=spec.agent,
            fields={k: v for k, v in spec.fields.items() if k.startswith(prefix)},
            counts={k: v for k, v in spec.counts.items() if k == path},
            parts=path,
        )
    data = {**base, path: items}
    schema = draft_schema(sub, data)
    return Part(0, 1, start, stop, sub, data, schema, token_budget(schema))


def split_draft(spec: DraftSpec, base: Mapping[str, Any], room: int) -> list[Part]:
    """The draft of ``spec`` for ``base`` in as few parts as fit ``room`` completion
    tokens each (one part when the whole fits or the spec cannot be split).

    A single item larger than ``room`` gets a part of its own (its answer may then be
    cut off: a repair, or the template's text as the fallback).
    """
    path = spec.parts
    items = base.get(path) if path is not None else None
    whole_schema = draft_schema(spec, base)
    whole = token_budget(whole_schema)
    if path is None or not isinstance(items, list) or len(items) < 2 or whole <= room:
        return [Part(0, 1, 0, len(items or ()), spec, dict(base), whole_schema, whole)]
    bounds: list[tuple[int, int]] = []
    start = 0
    while start < len(items):
        stop = start + 1
        while stop < len(items) and _part(spec, base, start, stop + 1, not bounds).budget <= room:
            stop += 1
        bounds.append((start, stop))
        start = stop
    parts = [_part(spec, base, a, b, i == 0) for i, (a, b) in enumerate(bounds)]
    return [
        Part(i, len(parts), p.start, p.stop, p.spec, p.base, p.schema, p.budget)
        for i, p in enumerate(parts)
    ]


def join_parts(spec: DraftSpec, drafts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One draft from the parts' drafts (the first part's fields, every part's items)."""
    joined = dict(drafts[0])
    if len(drafts) > 1:
        assert spec.parts is not None
        joined[spec.parts] = [item for d in drafts for item in d[spec.parts]]
    return joined
