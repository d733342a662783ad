"""The template library: versioned JSON shipped inside the package.

Every file in this folder has the same envelope::

    {"schema": 1, "kind": "hook", "templates": [{"id": ..., "version": 1, ...}, ...]}

Each template has an ``id``, an integer ``version``, optional ``platforms``,
``styles`` and ``tags`` filters (absent or empty means "any"), an optional
``weight`` (default 1.0), and a kind-specific body (all other keys).

:class:`TemplateLibrary` loads them and answers filtered, seeded choices; it is
the simplest :class:`TemplateSource`. The template cache
(``vgkit.cache``) is a richer one, with an index, usage counts and
effectiveness scores. Agents only see the protocol.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Protocol, runtime_checkable

from vgkit.errors import TemplateError

__all__ = [
    "KINDS",
    "Template",
    "TemplateLibrary",
    "TemplateSource",
    "default_library",
    "no_template",
    "pick",
]

#: Files of the packaged library, one per template kind.
KINDS: tuple[str, ...] = (
    "platform_preset",
    "structure",
    "hook",
    "phrase",
    "scene",
    "shot",
    "transition",
    "cta",
    "lexicon",
)

_FILES = {
    "platform_preset": "platforms.json",
    "structure": "structures.json",
    "hook": "hooks.json",
    "phrase": "phrases.json",
    "scene": "scenes.json",
    "shot": "shots.json",
    "transition": "transitions.json",
    "cta": "ctas.json",
    "lexicon": "lexicon.json",
}

_ENVELOPE_KEYS = frozenset({"id", "version", "platforms", "styles", "tags", "weight"})


@dataclass(frozen=True, slots=True)
class Template:
    """One versioned template. ``body`` holds the kind-specific fields."""

    id: str
    version: int
    kind: str
    platforms: frozenset[str] = frozenset()
    styles: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    weight: float = 1.0
    body: Mapping[str, Any] = field(default_factory=dict)

    def matches(
        self, *, platform: str | None = None, style: str | None = None, tags: Iterable[str] = ()
    ) -> bool:
        """Whether the template applies to a platform, style and all of ``tags``."""
        if platform is not None and self.platforms and platform not in self.platforms:
            return False
        if style is not None and self.styles and style not in self.styles:
            return False
        return all(tag in self.tags for tag in tags)

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)

    @classmethod
    def from_dict(cls, kind: str, raw: Mapping[str, Any]) -> Template:
        try:
            return cls(
                id=str(raw["id"]),
                version=int(raw["version"]),
                kind=kind,
                platforms=frozenset(raw.get("platforms") or ()),
                styles=frozenset(raw.get("styles") or ()),
                tags=frozenset(raw.get("tags") or ()),
                weight=float(raw.get("weight", 1.0)),
                body={k: v for k, v in raw.items() if k not in _ENVELOPE_KEYS},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TemplateError(f"malformed {kind} template {raw.get('id')!r}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """The template as it appears in the library files."""
        out: dict[str, Any] = {"id": self.id, "version": self.version}
        if self.platforms:
            out["platforms"] = sorted(self.platforms)
        if self.styles:
            out["styles"] = sorted(self.styles)
        if self.tags:
            out["tags"] = sorted(self.tags)
        if self.weight != 1.0:
            out["weight"] = self.weight
        out.update(self.body)
        return out


def pick(
    pool: Sequence[Template], rng: random.Random, weights: Sequence[float] | None = None
) -> Template:
    """One template of ``pool`` drawn by ``weights`` (default: each template's weight).

    Every seeded choice of a template goes through here, so the RNG is consumed the
    same way everywhere and the same seed gives the same plan.
    """
    chosen: Template = rng.choices(
        pool, weights=[t.weight for t in pool] if weights is None else weights, k=1
    )[0]
    return chosen


def no_template(
    kind: str, platform: str | None, style: str | None, tags: Iterable[str]
) -> TemplateError:
    """The error for a query that no template matches."""
    return TemplateError(
        f"no {kind} template for platform={platform} style={style} tags={list(tags)}"
    )


@runtime_checkable
class TemplateSource(Protocol):
    """Where agents get templates from. Choices must be a pure function of
    (the source's state, the query, the RNG state), so agent output stays
    deterministic; ``fingerprint`` changes whenever that state changes."""

    def fingerprint(self) -> str: ...

    def candidates(
        self,
        kind: str,
        *,
        platform: str | None = None,
        style: str | None = None,
        tags: Iterable[str] = (),
    ) -> Sequence[Template]: ...

    def choose(
        self,
        kind: str,
        rng: random.Random,
        *,
        platform: str | None = None,
        style: str | None = None,
        tags: Iterable[str] = (),
    ) -> Template: ...

    def get(self, template_id: str) -> Template: ...


class TemplateLibrary:
    """The packaged templates (latest version of each id), filtered and chosen by weight."""

    def __init__(self, templates: Iterable[Template]) -> None:
        by_id: dict[str, Template] = {}
        for template in templates:
            current = by_id.get(template.id)
            if current is None or template.version > current.version:
                by_id[template.id] = template
        self._by_id = by_id
        self._by_kind: dict[str, list[Template]] = {}
        for template in sorted(by_id.values(), key=lambda t: t.id):
            self._by_kind.setdefault(template.kind, []).append(template)
        digest = hashlib.sha256()
        for template in sorted(by_id.values(), key=lambda t: t.id):
            digest.update(f"{template.id}@{template.version};".encode())
        self._fingerprint = digest.hexdigest()[:12]

    @classmethod
    def load(cls) -> TemplateLibrary:
        """Read every packaged library file."""
        templates: list[Template] = []
        root = resources.files("vgkit").joinpath("templates")
        for kind, filename in _FILES.items():
            try:
                data = json.loads(root.joinpath(filename).read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise TemplateError(f"cannot read template file {filename}: {exc}") from exc
            if data.get("kind") != kind:
                raise TemplateError(f"{filename} declares kind {data.get('kind')!r}, not {kind!r}")
            templates.extend(Template.from_dict(kind, raw) for raw in data["templates"])
        return cls(templates)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Any:
        return iter(self._by_id.values())

    def fingerprint(self) -> str:
        return self._fingerprint

    def get(self, template_id: str) -> Template:
        try:
            return self._by_id[template_id]
        except KeyError:
            raise TemplateError(f"no template with id {template_id!r}") from None

    def kinds(self) -> list[str]:
        return sorted(self._by_kind)

    def candidates(
        self,
        kind: str,
        *,
        platform: str | None = None,
        style: str | None = None,
        tags: Iterable[str] = (),
    ) -> Sequence[Template]:
        wanted = tuple(tags)
        return [
            t
            for t in self._by_kind.get(kind, ())
            if t.matches(platform=platform, style=style, tags=wanted)
        ]

    def choose(
        self,
        kind: str,
        rng: random.Random,
        *,
        platform: str | None = None,
        style: str | None = None,
        tags: Iterable[str] = (),
    ) -> Template:
        wanted = tuple(tags)
        pool = self.candidates(kind, platform=platform, style=style, tags=wanted)
        if not pool:
            raise no_template(kind, platform, style, wanted)
        return pick(pool, rng)


@cache
def default_library() -> TemplateLibrary:
    """The packaged library, loaded once per process."""
    return TemplateLibrary.load()
