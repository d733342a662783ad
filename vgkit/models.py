"""Request and plan models, validated at the boundary.

A :class:`VideoRequest` is what a user asks for; every agent produces one of the
artifact models below; :class:`VideoPlan` holds them all for one platform. All
models are frozen pydantic models: JSON in, JSON out, byte-identical for the
same content (field order is declaration order, floats are rounded where they
are computed).

Invalid input raises :class:`vgkit.errors.InvalidRequestError` (a ``VgkitError``
and a ``ValueError``) whose message lists every problem, one per line.
"""

from __future__ import annotations

import hashlib
import weakref
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vgkit.errors import InvalidRequestError
from vgkit.platforms import Platform, preset

if TYPE_CHECKING:
    import pandas as pd

_V = TypeVar("_V")

__all__ = [
    "Beat",
    "ByIdentity",
    "CTAPlan",
    "CallToAction",
    "Caption",
    "Hook",
    "HookSet",
    "Model",
    "Platform",
    "Provenance",
    "QualityCheck",
    "QualityReport",
    "Scene",
    "SceneList",
    "Script",
    "ScriptSegment",
    "Shot",
    "ShotList",
    "Storyboard",
    "Style",
    "TimingPlan",
    "TopicAnalysis",
    "Transition",
    "TransitionPlan",
    "VideoPlan",
    "VideoRequest",
    "canonical_json",
    "content_hash",
    "model_canonical",
]

MAX_TOPIC_CHARS = 500


def canonical_json(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, no whitespace) of a JSON-able value or model."""
    if isinstance(value, Model):
        return model_canonical(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class ByIdentity(dict[int, tuple["weakref.ref[Any]", _V]]):
    """A value kept per object, by the object's identity, as long as the object lives.

    For values derived from frozen models (their canonical JSON, the reference a
    server keeps one under): models hash by value, which costs a walk of the whole
    model, and keeping them alive in a dict would keep every artifact of every run.
    An entry is ``id(obj) -> (weak reference, value)`` and leaves with its object.
    """

    def lookup(self, obj: object) -> _V | None:
        hit = self.get(id(obj))
        return hit[1] if hit is not None and hit[0]() is obj else None

    def keep(self, obj: object, value: _V) -> None:
        key = id(obj)

        def forget(_: weakref.ref[Any]) -> None:
            self.pop(key, None)

        self[key] = (weakref.ref(obj, forget), value)


#: Each model's canonical JSON (see :func:`model_canonical`).
_CANONICAL: ByIdentity[bytes] = ByIdentity()


def model_canonical(model: Model) -> bytes:
    """``canonical_json`` of a vgkit model, computed once per model.

    Models are frozen and hold only immutable values, so their JSON never
    changes; upstream artifacts are hashed by every downstream call (cache
    keys, seeds), and dumping them each time was most of that cost.
    """
    data = _CANONICAL.lookup(model)
    if data is None:
        data = orjson.dumps(model.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        _CANONICAL.keep(model, data)
    return data


def content_hash(value: Any, *, length: int = 16) -> str:
    """A short, stable hex digest of ``canonical_json(value)``."""
    return hashlib.sha256(canonical_json(value)).hexdigest()[:length]


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)


class Model(BaseModel):
    """Base of every vgkit model: frozen, no unknown fields, JSON helpers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self, *, indent: bool = True) -> str:
        """JSON text; the same content always gives the same bytes."""
        option = orjson.OPT_INDENT_2 if indent else 0
        return orjson.dumps(self.model_dump(mode="json"), option=option).decode()

    @classmethod
    def from_json(cls, data: str | bytes) -> Self:
        """Parse and validate JSON; raises InvalidRequestError on bad input."""
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise InvalidRequestError(f"invalid {cls.__name__}: {_describe(exc)}") from None


class Style(StrEnum):
    """The creative style of a video."""

    EDUCATIONAL = "educational"
    ENTERTAINMENT = "entertainment"
    MARKETING = "marketing"
    TUTORIAL = "tutorial"
    VIRAL = "viral"
    STORYTELLING = "storytelling"


# Computed once: iterating an enum is slow on 3.11, and these run per request.
_PLATFORM_NAMES = frozenset(p.value for p in Platform)
_STYLE_NAMES = tuple(s.value for s in Style)
_PLATFORM_BY_NAME = {p.value: p for p in Platform}
_STYLE_BY_NAME = {s.value: s for s in Style}


class VideoRequest(Model):
    """What to make: a topic, the platforms, and how it should feel.

    ``duration`` (seconds) is optional; when given it must lie inside every
    chosen platform's bounds, otherwise each platform uses its optimal length.
    ``platforms`` is kept in canonical order (youtube, tiktok, instagram_reels)
    so that equal requests hash equally.
    """

    topic: str = Field(description="what the video is about, 1-500 characters")
    platforms: tuple[Platform, ...] = Field(default=tuple(Platform), min_length=1)
    style: Style = Style.EDUCATIONAL
    tone: str = Field(default="friendly", min_length=1, max_length=60)
    audience: str = Field(default="general viewers", min_length=1, max_length=200)
    duration: float | None = Field(default=None, description="target seconds")
    seed: int = Field(default=0, ge=0, le=2**63 - 1)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidRequestError(f"invalid request: {_describe(exc)}") from None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            # pydantic runs the custom __init__ above, whose error comes back wrapped:
            # say "invalid request" once.
            detail = _describe(exc).removeprefix("invalid request: ")
            raise InvalidRequestError(f"invalid request: {detail}") from None

    @classmethod
    def from_peer(cls, data: Any) -> Self:
        """A request another vgkit process validated and sent as ``model_dump(mode="json")``,
        rebuilt without running the validators again (a trusted hop of ``vgkit serve``).

        Only the shape is checked (every field present, known platform and style
        names): what the validators check (topic length, duration bounds) was
        checked where the request came in. Raises InvalidRequestError when the
        shape is wrong.
        """
        try:
            duration = data["duration"]
            values = {
                "topic": data["topic"],
                "platforms": tuple([_PLATFORM_BY_NAME[p] for p in data["platforms"]]),
                "style": _STYLE_BY_NAME[data["style"]],
                "tone": data["tone"],
                "audience": data["audience"],
                "duration": None if duration is None else float(duration),
                "seed": data["seed"],
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequestError(
                f"invalid request from a peer ({type(exc).__name__}: {exc}); a trusted hop "
                "expects a whole VideoRequest as JSON"
            ) from None
        # What model_construct does, without its per-field loop over defaults:
        # every field is here, so the instance is its values.
        request = cls.__new__(cls)
        _set = object.__setattr__
        _set(request, "__dict__", values)
        _set(request, "__pydantic_fields_set__", set(values))
        _set(request, "__pydantic_extra__", None)
        _set(request, "__pydantic_private__", None)
        return request

    @field_validator("topic", mode="before")
    @classmethod
    def _topic(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("topic must be text")
        stripped = " ".join(value.split())
        if not stripped:
            raise ValueError("topic is empty; describe what the video is about")
        if len(stripped) > MAX_TOPIC_CHARS:
            raise ValueError(f"topic is {len(stripped)} characters; the limit is {MAX_TOPIC_CHARS}")
        return stripped

    @field_validator("tone", "audience", mode="before")
    @classmethod
    def _squash(cls, value: Any) -> Any:
        return " ".join(value.split()) if isinstance(value, str) else value

    @field_validator("platforms", mode="before")
    @classmethod
    def _platforms(cls, value: Any) -> Any:
        if isinstance(value, str | Platform):
            value = [value]
        if not isinstance(value, list | tuple | set | frozenset):
            raise ValueError("platforms must be a list of platform names")
        known = _PLATFORM_NAMES
        seen: set[str] = set()
        for item in value:
            name = item.value if isinstance(item, Platform) else str(item).strip().lower()
            if name not in known:
                raise ValueError(
                    f"unknown platform {item!r}; choose from {', '.join(sorted(known))}"
                )
            if name in seen:
                raise ValueError(f"platform {name!r} is listed twice")
            seen.add(name)
        return tuple(p for p in Platform if p.value in seen)

    @field_validator("style", mode="before")
    @classmethod
    def _style(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() not in _STYLE_NAMES:
            raise ValueError(f"unknown style {value!r}; choose from {', '.join(_STYLE_NAMES)}")
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _duration_fits(self) -> Self:
        if self.duration is None:
            return self
        if not self.duration > 0:
            raise ValueError(f"duration must be positive seconds, not {self.duration}")
        for platform in self.platforms:
            p = preset(platform)
            if not p.contains(self.duration):
                raise ValueError(
                    f"duration {self.duration:g} s is outside {p.name}'s bounds "
                    f"({p.min_duration:g}-{p.max_duration:g} s)"
                )
        return self

    @property
    def request_id(self) -> str:
        """Stable hash of the request (what the complete-result cache keys on)."""
        return content_hash(self)

    def target_duration(self, platform: Platform) -> float:
        """The duration the plan for ``platform`` aims at, in seconds."""
        return self.duration if self.duration is not None else preset(platform).optimal_duration


class TopicAnalysis(Model):
    """What the topic is about: keywords, key points, category and angle."""

    topic: str
    keywords: tuple[str, ...] = Field(min_length=1)
    key_points: tuple[str, ...] = Field(min_length=1)
    category: str
    angle: str
    summary: str


class Hook(Model):
    """An opening line, with how long it holds the screen."""

    template_id: str
    kind: str
    text: str
    on_screen_text: str
    visual: str
    duration: float = Field(gt=0)


class HookSet(Model):
    """The chosen hook and the runner-up alternatives for one platform."""

    platform: Platform
    primary: Hook
    alternatives: tuple[Hook, ...] = ()


SegmentKind = Literal["hook", "intro", "chapter", "point", "value", "cta", "outro", "loop"]


class ScriptSegment(Model):
    """One timed segment of narration."""

    index: int = Field(ge=0)
    kind: SegmentKind
    title: str
    text: str
    start: float = Field(ge=0)
    duration: float = Field(gt=0)
    speaker: str
    visual_cue: str
    word_count: int = Field(ge=0)

    @property
    def end(self) -> float:
        return round(self.start + self.duration, 3)


class Script(Model):
    """The narration for one platform, tiled into segments."""

    script_id: str
    platform: Platform
    title: str
    structure_id: str
    segments: tuple[ScriptSegment, ...] = Field(min_length=1)
    duration: float = Field(gt=0)
    word_count: int = Field(ge=0)


class Beat(Model):
    """A moment on the timeline the edit should hit."""

    t: float = Field(ge=0)
    segment_index: int = Field(ge=0)
    kind: Literal["emphasis", "cut", "pause", "music"]
    label: str


class TimingPlan(Model):
    """Pacing of one platform's video: per-segment durations, cut rhythm, beats."""

    platform: Platform
    pacing: Literal["fast", "medium", "slow"]
    words_per_minute: int = Field(gt=0)
    segment_starts: tuple[float, ...]
    segment_durations: tuple[float, ...]
    shot_lengths: tuple[float, ...] = Field(description="target seconds per shot, per segment")
    speech_rates: tuple[float, ...] = Field(description="words per second, per segment")
    beats: tuple[Beat, ...]
    duration: float = Field(gt=0)


class Scene(Model):
    """A continuous place and moment of the storyboard."""

    index: int = Field(ge=0)
    segment_index: int = Field(ge=0)
    segment_kind: SegmentKind
    title: str
    focus: str
    setting: str
    mood: str
    description: str
    start: float = Field(ge=0)
    duration: float = Field(gt=0)
    template_id: str

    @property
    def end(self) -> float:
        return round(self.start + self.duration, 3)


class SceneList(Model):
    """The scenes of one platform's video, tiling the timeline."""

    platform: Platform
    aspect_ratio: str
    scenes: tuple[Scene, ...] = Field(min_length=1)


class Shot(Model):
    """One camera shot."""

    index: int = Field(ge=0)
    scene_index: int = Field(ge=0)
    shot_type: str
    camera: str
    composition: str
    description: str
    start: float = Field(ge=0)
    duration: float = Field(gt=0)
    aspect_ratio: str
    text_overlay: str | None = None
    template_id: str

    @property
    def end(self) -> float:
        return round(self.start + self.duration, 3)


class ShotList(Model):
    """The shots of one platform's video, tiling the timeline."""

    platform: Platform
    shots: tuple[Shot, ...] = Field(min_length=1)


class Transition(Model):
    """How one scene hands over to the next."""

    index: int = Field(ge=0)
    at: float = Field(ge=0)
    from_scene: int = Field(ge=0)
    to_scene: int = Field(ge=0)
    kind: str
    duration: float = Field(ge=0)
    note: str
    template_id: str


class TransitionPlan(Model):
    """Transitions at every scene boundary (and the loop back, where the platform loops)."""

    platform: Platform
    transitions: tuple[Transition, ...]
    loop: bool


class CallToAction(Model):
    """What the viewer is asked to do, and when."""

    kind: str
    text: str
    on_screen_text: str
    at: float = Field(ge=0)
    duration: float = Field(gt=0)
    segment_index: int = Field(ge=0)
    template_id: str


class CTAPlan(Model):
    """The primary call to action and any secondary ones."""

    platform: Platform
    primary: CallToAction
    secondary: tuple[CallToAction, ...] = ()


class Caption(Model):
    """One subtitle cue, timed inside its script segment."""

    index: int = Field(ge=0)
    start: float = Field(ge=0)
    end: float = Field(gt=0)
    text: str


class Storyboard(Model):
    """Scenes and shots together: what a storyboard artist would hand over."""

    aspect_ratio: str
    scenes: tuple[Scene, ...]
    shots: tuple[Shot, ...]


class QualityCheck(Model):
    """A score in 0..1 against a threshold, with the reasons it is not higher."""

    name: str
    score: float = Field(ge=0, le=1)
    threshold: float = Field(ge=0, le=1)
    passed: bool
    reasons: tuple[str, ...] = ()


class QualityReport(Model):
    """Four quality dimensions for one plan, and an overall verdict."""

    platform: Platform
    coherence: QualityCheck
    engagement: QualityCheck
    feasibility: QualityCheck
    platform_compliance: QualityCheck
    overall: float = Field(ge=0, le=1)
    passed: bool

    CHECKS: ClassVar[tuple[str, ...]] = (
        "coherence",
        "engagement",
        "feasibility",
        "platform_compliance",
    )

    def checks(self) -> tuple[QualityCheck, ...]:
        return (self.coherence, self.engagement, self.feasibility, self.platform_compliance)


class Provenance(Model):
    """How a plan's artifacts were made, where a model wrote them.

    ``agents`` counts the generative agent calls behind the plan, ``repairs`` the
    answers sent back to the model to fix, ``fallbacks`` the artifacts that came
    from the template backend because the model gave no valid answer. A backend
    that asks a model fills it; the quality validator reads it.
    """

    backend: str
    agents: int = Field(default=0, ge=0)
    repairs: int = Field(default=0, ge=0)
    fallbacks: int = Field(default=0, ge=0)
    fallback_agents: tuple[str, ...] = ()


class VideoPlan(Model):
    """A complete, timed video plan for one platform."""

    plan_id: str
    platform: Platform
    request: VideoRequest
    title: str
    duration: float = Field(gt=0)
    aspect_ratio: str
    resolution: tuple[int, int]
    topic: TopicAnalysis
    hooks: HookSet
    script: Script
    timing: TimingPlan
    storyboard: Storyboard
    transitions: TransitionPlan
    cta: CTAPlan
    captions: tuple[Caption, ...]
    hashtags: tuple[str, ...]
    quality: QualityReport | None = None
    provenance: Provenance | None = None
    """Repairs and fallbacks of a model-written plan (None: no model wrote it)."""

    def to_markdown(self) -> str:
        """A readable production document."""
        from vgkit.documents import plan_markdown

        return plan_markdown(self)

    def to_srt(self) -> str:
        """The captions as a SubRip (.srt) file."""
        from vgkit.documents import plan_srt

        return plan_srt(self)

    def storyboard_frame(self) -> pd.DataFrame:
        """One row per shot: timing, scene, camera, composition, overlay."""
        from vgkit.documents import storyboard_frame

        return storyboard_frame(self)
