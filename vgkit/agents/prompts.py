"""The prompts of the llm backend: one per generative agent, plus the shared rules.

Each agent's ``AgentSpec.prompt`` (the texts of ``PROMPTS`` for the pipeline's
agents) says what the agent does. For the pipeline's agents the model writes a
draft (``vgkit.agents.drafts``): the prompt is written for small models
(SmolLM2-135M follows it) and the user message lists the facts the agent needs
as plain lines (``CONTEXTS``: topic, platform, the sections with their
seconds, upstream text), never the whole agent call as JSON (the call with its
upstream artifacts runs to thousands of tokens and a small model loses the
thread in them); the system message adds the rules and the answer's shape.
An agent without a draft spec (a newly registered one) gets its prompt, the
JSON Schema of its whole output model and the agent call as canonical JSON.
``repair`` is the follow-up when an answer failed validation. Bump
``PROMPTS_VERSION`` whenever a prompt changes: it is part of the backend
fingerprint, so cached artifacts from older prompts are not reused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import orjson

from vgkit.agents.base import AgentCall
from vgkit.agents.drafts import shape_hint
from vgkit.models import (
    CTAPlan,
    HookSet,
    Model,
    SceneList,
    Script,
    ShotList,
    TopicAnalysis,
    TransitionPlan,
)
from vgkit.platforms import preset

__all__ = ["CONTEXTS", "PROMPTS", "PROMPTS_VERSION", "RULES", "messages", "repair", "whole_schema"]

PROMPTS_VERSION = "3"

PROMPTS: Mapping[str, str] = MappingProxyType(
    {
        "topic_analysis": (
            "You are the topic analyst of a short-video team. List the topic's keywords "
            "(words a viewer would search for), the key points a viewer should learn, a "
            "one-word category, the angle that makes the video interesting, and a "
            "one-sentence summary."
        ),
        "hook_creator": (
            "You write the opening hook of a short video: one punchy sentence that makes the "
            "viewer stay, short enough to say in the hook's seconds, plus a few words for the "
            "screen, and alternative hooks that take different approaches."
        ),
        "script_writer": (
            "You are a scriptwriter. Write the title and the narration of every section, in "
            "order, about the topic. Each section's narration fits its seconds at a natural "
            "speaking pace. The first section starts with the hook."
        ),
        "scene_designer": (
            "You are a storyboard artist. For every scene, describe the setting (where it is "
            "filmed), the mood (one or two words) and what the viewer sees."
        ),
        "shot_describer": (
            "You are a cinematographer. Describe what each camera shot shows, in one short "
            "sentence that fits its scene and camera move."
        ),
        "transition_planner": (
            "You are a video editor. For every cut between scenes, write a short note on why "
            "the transition fits the moment."
        ),
        "cta_generator": (
            "You write calls to action: one sentence that asks the viewer to act, and a few "
            "words for the screen."
        ),
    }
)

RULES = (
    "Answer with one JSON object and nothing else: no prose, no Markdown. Use exactly the "
    "fields of the answer shape below, write every text about the topic, in plain English, "
    "and never repeat a sentence."
)
#: The rules when the model writes a whole artifact (an agent without a draft spec).
WHOLE_RULES = (
    "Answer with one JSON object and nothing else: no prose, no Markdown fences. The object "
    "must validate against the JSON Schema below; use exactly its field names, no extra fields, "
    "and keep every number consistent with the request and the upstream artifacts."
)


def _request_lines(call: AgentCall) -> list[str]:
    r = call.request
    lines = [
        f"Topic: {r.topic}",
        f"Style: {r.style.value}, {r.tone} tone, for {r.audience}",
    ]
    if call.platform is not None:
        p = preset(call.platform)
        lines.append(f"Platform: {p.name} ({p.aspect_ratio})")
    return lines


def _topic(call: AgentCall, _skeleton: Model) -> list[str]:
    return _request_lines(call)


def _analysis_lines(call: AgentCall) -> list[str]:
    analysis = call.inputs.get("topic_analysis")
    if not isinstance(analysis, TopicAnalysis):
        return []
    return [
        f"Key points: {'; '.join(analysis.key_points)}",
        f"Angle: {analysis.angle}",
    ]


def _hooks(call: AgentCall, skeleton: Model) -> list[str]:
    assert isinstance(skeleton, HookSet)
    return [
        *_request_lines(call),
        *_analysis_lines(call),
        f"The hook is spoken in {skeleton.primary.duration:g} seconds "
        f"(about {max(4, round(skeleton.primary.duration * 2.6))} words).",
        f"Write {len(skeleton.alternatives)} alternative hooks.",
    ]


def _script(call: AgentCall, skeleton: Model) -> list[str]:
    assert isinstance(skeleton, Script)
    hooks = call.inputs.get("hooks")
    lines = [*_request_lines(call), *_analysis_lines(call)]
    if isinstance(hooks, HookSet):
        lines.append(f"Hook: {hooks.primary.text}")
    lines.append(f"Sections ({len(skeleton.segments)}):")
    for s in skeleton.segments:
        words = max(3, round(s.duration * 2.3))
        lines.append(f"{s.index + 1}. {s.title} ({s.kind}, {s.duration:g} s, about {words} words)")
    return lines


def _scenes(call: AgentCall, skeleton: Model) -> list[str]:
    assert isinstance(skeleton, SceneList)
    script = call.inputs.get("script")
    segments = script.segments if isinstance(script, Script) else ()
    lines = [*_request_lines(call), f"Scenes ({len(skeleton.scenes)}):"]
    for scene in skeleton.scenes:
        said = next((s.text for s in segments if s.index == scene.segment_index), "")
        lines.append(f"{scene.index + 1}. {scene.title}: {_first_sentence(said)}")
    return lines


def _shots(call: AgentCall, skeleton: Model) -> list[str]:
    assert isinstance(skeleton, ShotList)
    scenes = call.inputs.get("scenes")
    by_index = {s.index: s for s in scenes.scenes} if isinstance(scenes, SceneList) else {}
    lines = [*_request_lines(call), f"Shots ({len(skeleton.shots)}):"]
    for shot in skeleton.shots:
        scene = by_index.get(shot.scene_index)
        where = f" in {scene.setting.lower()}" if scene is not None else ""
        lines.append(f"{shot.index + 1}. {shot.shot_type} shot, {shot.camera}{where}")
    return lines


def _transitions(call: AgentCall, skeleton: Model) -> list[str]:
    assert isinstance(skeleton, TransitionPlan)
    scenes = call.inputs.get("scenes")
    titles = {s.index: s.title for s in scenes.scenes} if isinstance(scenes, SceneList) else {}
    lines = [*_request_lines(call), f"Cuts ({len(skeleton.transitions)}):"]
    for t in skeleton.transitions:
        a, b = titles.get(t.from_scene, "?"), titles.get(t.to_scene, "?")
        lines.append(f"{t.index + 1}. {t.kind} from '{a}' to '{b}'")
    return lines


def _cta(call: AgentCall, skeleton: Model) -> list[str]:
    assert isinstance(skeleton, CTAPlan)
    lines = [*_request_lines(call), f"Main call to action: {skeleton.primary.kind}"]
    if skeleton.secondary:
        kinds = ", ".join(c.kind for c in skeleton.secondary)
        lines.append(f"Other calls to action ({len(skeleton.secondary)}): {kinds}")
    return lines


def _first_sentence(text: str, limit: int = 120) -> str:
    for mark in ".!?":
        cut = text.find(mark)
        if 0 < cut < limit:
            return text[: cut + 1]
    return text[:limit]


#: Agent -> the facts its prompt lists, from the call and the skeleton artifact.
CONTEXTS: Mapping[str, Callable[[AgentCall, Model], list[str]]] = MappingProxyType(
    {
        "topic_analysis": _topic,
        "hook_creator": _hooks,
        "script_writer": _script,
        "scene_designer": _scenes,
        "shot_describer": _shots,
        "transition_planner": _transitions,
        "cta_generator": _cta,
    }
)


def whole_schema(call: AgentCall) -> dict[str, Any]:
    """The JSON Schema of ``call``'s whole output model (agents without a draft spec)."""
    schema: dict[str, Any] = call.spec.output.model_json_schema()
    return schema


def messages(
    call: AgentCall,
    skeleton: Model | None = None,
    schema: Mapping[str, Any] | None = None,
    *,
    part: str | None = None,
) -> list[dict[str, Any]]:
    """The chat messages that ask the model for ``call``'s answer.

    With a ``skeleton`` and the draft ``schema`` (agents with a draft spec and a
    context): the draft's prompt. Otherwise the whole artifact's: the agent's
    prompt, the JSON Schema of its output model and the call as canonical JSON.
    ``part``: a line saying which share of the answer this request asks for, when
    the answer is written in parts (``vgkit.agents.budget``); the skeleton then
    holds that part's items only.
    """
    prompt = call.spec.prompt
    if not prompt:
        raise KeyError(f"no prompt for agent {call.spec.name!r}")
    context = CONTEXTS.get(call.spec.name)
    if skeleton is not None and schema is not None and context is not None:
        system = f"{prompt}\n\n{RULES}\n\nAnswer shape: {shape_hint(schema)}"
        lines = context(call, skeleton)
        if part:
            lines.append(part)
        user = "\n".join(lines)
    else:
        whole = orjson.dumps(whole_schema(call)).decode()
        system = f"{prompt}\n\n{WHOLE_RULES}\n\nJSON Schema of the answer:\n{whole}"
        user = "Agent call:\n" + call.canonical().decode()
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def schema_text(schema: Mapping[str, Any]) -> str:
    """The JSON Schema as compact text (for logs and docs)."""
    return orjson.dumps(schema).decode()


def repair(problem: str) -> str:
    """The follow-up message after an answer that failed validation."""
    return (
        f"That answer is invalid: {problem}\n"
        "Answer again with one corrected JSON object in the same shape."
    )
