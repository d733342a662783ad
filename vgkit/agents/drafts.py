"""What the model writes for each generative agent, and how it becomes an artifact.

A chat model is good at words and bad at arithmetic: asked for a whole
``Script`` it must also tile the timeline to the millisecond, count words and
hash the content, which a 135M-parameter model never gets right. So the llm
backend splits the work. The template agent computes the artifact for the same
call first (the *skeleton*: timings, counts, ids, template choices); the model
writes the *draft*, the artifact's text fields only, named here by path
(``segments[].text``: the ``text`` of every segment); the draft is laid over
the skeleton, derived fields are recomputed (word counts, the script id), and
the result is validated against the agent's output model like any other
artifact. Arrays in a draft have the skeleton's length unless ``counts`` says
otherwise (the topic analysis chooses how many keywords it lists).

:func:`draft_schema` turns a spec and a skeleton into the JSON Schema sent as
the request's ``response_format`` (so a grammar-constrained server can only
produce that shape), :func:`check_draft` lists what is wrong with an answer,
:func:`apply_draft` builds the artifact's data, and :func:`project` is the
reverse (the draft an artifact would have: test servers answer with it).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from vgkit.models import content_hash

__all__ = [
    "DRAFTS",
    "DraftSpec",
    "Text",
    "apply_draft",
    "check_draft",
    "draft_schema",
    "project",
    "shape_hint",
    "token_budget",
]


@dataclass(frozen=True, slots=True)
class Text:
    """A string the model writes, with its length bounds in characters.

    ``per_second``: bounds that grow with the item's ``duration`` (characters
    per second of narration, low and high), clamped to ``min_chars``/``max_chars``;
    an item longer than ``max_chars`` can cover asks for the last 8 characters
    below the cap (a minimum above the maximum is a schema no text satisfies).
    """

    max_chars: int
    min_chars: int = 2
    per_second: tuple[float, float] | None = None

    def bounds(self, item: Mapping[str, Any] | None) -> tuple[int, int]:
        if self.per_second is None or item is None or "duration" not in item:
            return self.min_chars, self.max_chars
        seconds = float(item["duration"])
        low = max(self.min_chars, math.floor(seconds * self.per_second[0]))
        high = min(self.max_chars, max(low + 8, math.ceil(seconds * self.per_second[1])))
        return min(low, max(self.min_chars, high - 8)), high

    def schema(self, item: Mapping[str, Any] | None) -> dict[str, Any]:
        low, high = self.bounds(item)
        return {"type": "string", "minLength": low, "maxLength": high}


@dataclass(frozen=True, slots=True)
class DraftSpec:
    """The text fields one agent's model writes (paths into the artifact's JSON)."""

    agent: str
    fields: Mapping[str, Text]
    counts: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """Array path -> (fewest, most) items; arrays not listed keep the skeleton's length."""
    finish: Callable[[dict[str, Any]], None] | None = None
    """Recomputes derived fields of the artifact's data in place after the overlay."""
    parts: str | None = None
    """A top-level array the model may write a few items per request when the whole
    answer does not fit the model's context (``vgkit.agents.budget``)."""


# -- the path tree -------------------------------------------------------------------


@dataclass(slots=True)
class _Obj:
    children: dict[str, _Obj | _Arr | Text] = field(default_factory=dict)


@dataclass(slots=True)
class _Arr:
    path: str
    item: _Obj | Text


def _tree(spec: DraftSpec) -> _Obj:
    root = _Obj()
    for path, text in spec.fields.items():
        node: _Obj = root
        parts = path.split(".")
        done: list[str] = []
        for i, part in enumerate(parts):
            array = part.endswith("[]")
            name = part.removesuffix("[]")
            done.append(name)
            last = i == len(parts) - 1
            if last and array:
                node.children[name] = _Arr(".".join(done), text)
            elif last:
                node.children[name] = text
            else:
                child = node.children.get(name)
                if child is None:
                    child = _Arr(".".join(done), _Obj()) if array else _Obj()
                    node.children[name] = child
                inner = child.item if isinstance(child, _Arr) else child
                assert isinstance(inner, _Obj), f"{path}: {name} is both a leaf and a branch"
                node = inner
    return root


def _count(spec: DraftSpec, arr: _Arr, data: list[Any]) -> tuple[int, int]:
    return spec.counts.get(arr.path, (len(data), len(data)))


def _absent(spec: DraftSpec, child: _Obj | _Arr | Text, data: Any) -> bool:
    """An array the skeleton has none of and the draft may not add to: left out."""
    if not isinstance(child, _Arr):
        return False
    return _count(spec, child, data if isinstance(data, list) else []) == (0, 0)


# -- schema ----------------------------------------------------------------------------


def draft_schema(spec: DraftSpec, skeleton: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema of ``spec``'s draft for this skeleton (the artifact's JSON data)."""
    return _schema_obj(spec, _tree(spec), skeleton)


def _schema_obj(spec: DraftSpec, node: _Obj, data: Mapping[str, Any] | None) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, child in node.children.items():
        value = data.get(name) if data is not None else None
        if _absent(spec, child, value):
            continue
        if isinstance(child, Text):
            props[name] = child.schema(data)
        elif isinstance(child, _Arr):
            props[name] = _schema_arr(spec, child, value if isinstance(value, list) else [])
        else:
            props[name] = _schema_obj(spec, child, value if isinstance(value, Mapping) else None)
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def _schema_arr(spec: DraftSpec, arr: _Arr, data: list[Any]) -> dict[str, Any]:
    low, high = _count(spec, arr, data)
    out: dict[str, Any] = {"type": "array", "minItems": low, "maxItems": high}
    items = [
        arr.item.schema(d if isinstance(d, Mapping) else None)
        if isinstance(arr.item, Text)
        else _schema_obj(spec, arr.item, d if isinstance(d, Mapping) else None)
        for d in data
    ]
    if low == high and items and any(i != items[0] for i in items):
        out["prefixItems"] = items  # per-item bounds (narration sized to each segment)
        out["items"] = False
    elif items:
        out["items"] = max(items, key=lambda i: _max_chars(i))
    else:
        out["items"] = (
            arr.item.schema(None)
            if isinstance(arr.item, Text)
            else _schema_obj(spec, arr.item, None)
        )
    return out


def _max_chars(schema: Mapping[str, Any]) -> int:
    if schema.get("type") == "string":
        return int(schema.get("maxLength", 0))
    if schema.get("type") == "object":
        return sum(_max_chars(s) for s in schema["properties"].values())
    if schema.get("type") == "array":
        items = schema.get("prefixItems") or [schema.get("items") or {}] * int(schema["maxItems"])
        return sum(_max_chars(s) for s in items if isinstance(s, Mapping))
    return 0


def token_budget(schema: Mapping[str, Any]) -> int:
    """Completion tokens an answer of ``schema`` can need at most (generous)."""
    return 16 + _tokens(schema)


def _tokens(schema: Mapping[str, Any]) -> int:
    kind = schema.get("type")
    if kind == "string":
        return 2 + math.ceil(int(schema.get("maxLength", 40)) / 3)
    if kind == "object":
        return 2 + sum(4 + _tokens(s) for s in schema["properties"].values())
    if kind == "array":
        items = schema.get("prefixItems") or [schema.get("items") or {}] * int(schema["maxItems"])
        return 2 + sum(1 + _tokens(s) for s in items if isinstance(s, Mapping))
    return 4


def shape_hint(schema: Mapping[str, Any]) -> str:
    """A compact picture of the answer's shape for the prompt (``text`` per string)."""
    return _hint(schema)


def _hint(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if kind == "string":
        return "text"  # a bare word: small models copy any quoted placeholder verbatim
    if kind == "object":
        inner = ", ".join(f'"{k}": {_hint(v)}' for k, v in schema["properties"].items())
        return "{" + inner + "}"
    if kind == "array":
        first = (schema.get("prefixItems") or [schema.get("items") or {}])[0]
        low, high = schema["minItems"], schema["maxItems"]
        count = f"{low}" if low == high else f"{low} to {high}"
        return f"[{_hint(first)}, ... ({count} items)]"
    return "null"


# -- checking and applying ---------------------------------------------------------------


def check_draft(spec: DraftSpec, skeleton: Mapping[str, Any], answer: Any) -> list[str]:
    """Every problem of ``answer`` as a draft for ``skeleton`` (empty: it is valid)."""
    problems: list[str] = []
    _check_obj(spec, _tree(spec), skeleton, answer, "", problems)
    return problems


def _where(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_text(text: Text, item: Mapping[str, Any] | None, value: Any, where: str) -> str | None:
    if not isinstance(value, str):
        return f"{where}: must be a string"
    low, high = text.bounds(item)
    stripped = value.strip()
    if len(stripped) < low:
        return f"{where}: {len(stripped)} characters, at least {low}"
    if len(value) > high:
        return f"{where}: {len(value)} characters, at most {high}"
    return None


def _check_obj(
    spec: DraftSpec,
    node: _Obj,
    data: Mapping[str, Any] | None,
    value: Any,
    path: str,
    problems: list[str],
) -> None:
    if not isinstance(value, Mapping):
        problems.append(f"{path or 'the answer'}: must be a JSON object")
        return
    extra = sorted(set(value) - set(node.children))
    if extra:
        problems.append(f"{path or 'the answer'}: unknown field(s) {', '.join(extra)}")
    for name, child in node.children.items():
        where = _where(path, name)
        sub = data.get(name) if data is not None else None
        if _absent(spec, child, sub):
            if value.get(name):
                problems.append(f"{where}: must be left out")
            continue
        if name not in value:
            problems.append(f"{where}: missing")
            continue
        if isinstance(child, Text):
            problem = _check_text(child, data, value[name], where)
            if problem:
                problems.append(problem)
        elif isinstance(child, _Arr):
            _check_arr(
                spec, child, sub if isinstance(sub, list) else [], value[name], where, problems
            )
        else:
            _check_obj(
                spec, child, sub if isinstance(sub, Mapping) else None, value[name], where, problems
            )


def _check_arr(
    spec: DraftSpec, arr: _Arr, data: list[Any], value: Any, path: str, problems: list[str]
) -> None:
    if not isinstance(value, list):
        problems.append(f"{path}: must be a JSON array")
        return
    low, high = _count(spec, arr, data)
    if not low <= len(value) <= high:
        want = f"{low}" if low == high else f"{low} to {high}"
        problems.append(f"{path}: {len(value)} items, expected {want}")
        return
    texts: dict[str, int] = {}
    for i, item in enumerate(value):
        where = f"{path}.{i}"
        sub = data[i] if i < len(data) else None
        if isinstance(arr.item, Text):
            problem = _check_text(arr.item, sub if isinstance(sub, Mapping) else None, item, where)
            if problem:
                problems.append(problem)
            elif isinstance(item, str):
                key = " ".join(item.lower().split())
                if key in texts:
                    problems.append(f"{where}: repeats item {texts[key]}")
                texts.setdefault(key, i)
        else:
            _check_obj(
                spec, arr.item, sub if isinstance(sub, Mapping) else None, item, where, problems
            )


def apply_draft(
    spec: DraftSpec, skeleton: Mapping[str, Any], draft: Mapping[str, Any]
) -> dict[str, Any]:
    """The artifact's data: ``skeleton`` with ``draft``'s text laid over it (a copy)."""
    data = copy.deepcopy(dict(skeleton))
    _apply_obj(spec, _tree(spec), data, draft)
    if spec.finish is not None:
        spec.finish(data)
    return data


def _apply_obj(spec: DraftSpec, node: _Obj, data: dict[str, Any], draft: Mapping[str, Any]) -> None:
    for name, child in node.children.items():
        if _absent(spec, child, data.get(name)):
            continue
        value = draft[name]
        if isinstance(child, Text):
            data[name] = " ".join(str(value).split())
        elif isinstance(child, _Arr):
            if isinstance(child.item, Text):
                data[name] = [" ".join(str(v).split()) for v in value]
            else:
                for target, item in zip(data[name], value, strict=True):
                    _apply_obj(spec, child.item, target, item)
        else:
            _apply_obj(spec, child, data[name], value)


def project(spec: DraftSpec, artifact: Mapping[str, Any]) -> dict[str, Any]:
    """The draft ``artifact`` (JSON data) would have: its text fields only."""
    return _project_obj(spec, _tree(spec), artifact)


def _project_obj(spec: DraftSpec, node: _Obj, data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, child in node.children.items():
        value = data[name]
        if _absent(spec, child, value):
            continue
        if isinstance(child, Text):
            out[name] = value
        elif isinstance(child, _Arr):
            item = child.item
            out[name] = (
                list(value)
                if isinstance(item, Text)
                else [_project_obj(spec, item, v) for v in value]
            )
        else:
            out[name] = _project_obj(spec, child, value)
    return out


# -- the agents ------------------------------------------------------------------------


def _finish_script(data: dict[str, Any]) -> None:
    """Word counts and the script id from the new narration (as the template agent does)."""
    for segment in data["segments"]:
        segment["word_count"] = len(segment["text"].split())
    data["word_count"] = sum(s["word_count"] for s in data["segments"])
    body = [(s["kind"], s["text"], s["start"], s["duration"]) for s in data["segments"]]
    data["script_id"] = content_hash({"platform": data["platform"], "segments": body})


#: Narration: about 1.2 to 3.4 words a second at about 6 characters a word.
_NARRATION = Text(max_chars=1400, min_chars=12, per_second=(6.0, 22.0))

DRAFTS: Mapping[str, DraftSpec] = MappingProxyType(
    {
        spec.agent: spec
        for spec in (
            DraftSpec(
                agent="topic_analysis",
                fields={
                    "keywords[]": Text(24, 3),
                    "key_points[]": Text(70, 12),
                    "category": Text(24, 3),
                    "angle": Text(100, 20),
                    "summary": Text(140, 20),
                },
                counts={"keywords": (3, 5), "key_points": (3, 4)},
            ),
            DraftSpec(
                agent="hook_creator",
                fields={
                    "primary.text": Text(90, 12),
                    "primary.on_screen_text": Text(40, 3),
                    "alternatives[].text": Text(90, 12),
                },
            ),
            DraftSpec(
                agent="script_writer",
                fields={"title": Text(70, 8), "segments[].text": _NARRATION},
                finish=_finish_script,
                parts="segments",
            ),
            DraftSpec(
                agent="scene_designer",
                fields={
                    "scenes[].setting": Text(60, 6),
                    "scenes[].mood": Text(20, 3),
                    "scenes[].description": Text(110, 15),
                },
                parts="scenes",
            ),
            DraftSpec(
                agent="shot_describer",
                fields={"shots[].description": Text(80, 12)},
                parts="shots",
            ),
            DraftSpec(
                agent="transition_planner",
                fields={"transitions[].note": Text(70, 10)},
                parts="transitions",
            ),
            DraftSpec(
                agent="cta_generator",
                fields={
                    "primary.text": Text(90, 10),
                    "primary.on_screen_text": Text(32, 3),
                    "secondary[].text": Text(90, 10),
                },
            ),
        )
    }
)
