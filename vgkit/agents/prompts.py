"""The prompts of the llm backend: one per generative agent, plus the shared rules.

Each agent's ``AgentSpec.prompt`` (the texts below for the pipeline's agents)
says what the agent does; ``messages`` adds the rules of the
answer (one JSON object, nothing else), the JSON Schema of the agent's output
model, and the agent call itself (request, platform and upstream artifacts as
canonical JSON). ``repair`` is the follow-up when an answer failed validation.
Bump ``PROMPTS_VERSION`` whenever a prompt changes: it is part of the backend
fingerprint, so cached artifacts from older prompts are not reused.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import orjson

from vgkit.agents.base import AgentCall

__all__ = ["PROMPTS", "PROMPTS_VERSION", "messages", "repair"]

PROMPTS_VERSION = "1"

PROMPTS: Mapping[str, str] = MappingProxyType(
    {
        "topic_analysis": (
            "You are the topic analyst of a short-video production team. Read the request and "
            "extract the topic's keywords (most specific first), three to five key points a "
            "viewer should take away, a content category, the angle that makes it interesting "
            "for the audience, and a one-sentence summary."
        ),
        "hook_creator": (
            "You write opening hooks for short videos. Using the topic analysis, write the "
            "primary hook and two alternatives for the platform, each short enough to be spoken "
            "inside the platform's hook window, in the requested style and tone."
        ),
        "script_writer": (
            "You are a scriptwriter. Write timed narration for every section of the platform's "
            "structure, starting with the chosen hook. Segments must tile the timeline: each "
            "starts where the previous ends, the first at 0, the last ends at the duration; "
            "word counts must fit the time at a natural speaking pace."
        ),
        "scene_designer": (
            "You are a storyboard artist. Design one scene per script segment: setting, mood, "
            "action and on-screen text, covering exactly the segment's time span, in the "
            "platform's aspect ratio."
        ),
        "shot_describer": (
            "You are a cinematographer. Break every scene into shots (type, camera move, "
            "composition, description) whose times tile the scene exactly, following the "
            "timing plan's shot rhythm."
        ),
        "transition_planner": (
            "You are a video editor. Choose a transition at every scene boundary, matched to "
            "the pacing of the timing plan; mark whether the video loops back to its start."
        ),
        "cta_generator": (
            "You write calls to action. Write the primary call to action and any secondary "
            "ones, with on-screen text, placed where the platform's structure expects them."
        ),
    }
)

RULES = (
    "Answer with one JSON object and nothing else: no prose, no Markdown fences. The object "
    "must validate against the JSON Schema below; use exactly its field names, no extra fields, "
    "and keep every number consistent with the request and the upstream artifacts."
)


def messages(call: AgentCall) -> list[dict[str, Any]]:
    """The chat messages that ask the model for ``call``'s artifact."""
    prompt = call.spec.prompt
    if not prompt:
        raise KeyError(f"no prompt for agent {call.spec.name!r}")
    schema = orjson.dumps(call.spec.output.model_json_schema()).decode()
    system = f"{prompt}\n\n{RULES}\n\nJSON Schema of the answer:\n{schema}"
    user = "Agent call:\n" + call.canonical().decode()
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def repair(problem: str) -> str:
    """The follow-up message after an answer that failed validation."""
    return (
        f"That answer is invalid: {problem}\n"
        "Answer again with one corrected JSON object that validates against the schema."
    )
