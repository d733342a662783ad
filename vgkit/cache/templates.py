"""The template cache: an indexed, versioned, learning ``TemplateSource``.

Agents get templates only through :class:`vgkit.templates.TemplateSource`;
:class:`TemplateCache` is the rich one. It indexes the library in memory by
kind, platform, style and tags (a repeated query is one dict lookup), keeps
every published version of a template (choices use the latest, or a pinned
version; ``get`` answers any exact version), counts uses, and learns an
effectiveness score per template: an exponential moving average of the quality
scores of the plans that used it.

Effectiveness tilts the seeded choice: a template's weight is multiplied by
``exp(boost * (score - prior))``, where the score is shrunk towards the prior
by ``pseudo`` imaginary observations and rounded to ``quantum``; the prior is
the mean effectiveness of all scored templates (rounded to ``quantum``; or a
fixed ``prior``), so templates gain weight for beating the typical plan, not
merely for being used. Shrinking and rounding mean a few ordinary plans do not
move choices, and the state that affects choices is small and explicit. Scores
and counts are persisted through a :class:`LayeredCache` (so they survive
restarts and are shared through Redis) and are applied only at :meth:`load`
and :meth:`flush`, never in the middle of a run.

Determinism: choices are a pure function of (template state, query, RNG), and
:meth:`fingerprint` changes whenever that state changes (new versions, pins,
effectiveness buckets). With no evidence the cache chooses exactly as the
packaged library does and has the library's fingerprint, so cached artifacts
are shared between the two.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vgkit.errors import TemplateError
from vgkit.templates import Template, default_library, no_template, pick

if TYPE_CHECKING:
    from vgkit.cache.layered import LayeredCache

__all__ = ["TemplateCache", "TemplateChoice", "TemplateScore"]

DEFAULT_ALPHA = 0.2
DEFAULT_PRIOR = 0.75
DEFAULT_PSEUDO = 10.0
DEFAULT_BOOST = 4.0
DEFAULT_QUANTUM = 0.05
_DOC_VERSION = 1

_Query = tuple[str, str | None, str | None, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class TemplateScore:
    """Usage and effectiveness of one template version."""

    uses: int = 0
    scored: int = 0
    ema: float | None = None
    """Moving average of the quality scores of plans that used it (None: none yet)."""


@dataclass(frozen=True, slots=True)
class TemplateChoice:
    """A choice and why: every candidate with its weight and probability."""

    template: Template
    candidates: tuple[tuple[Template, float, float], ...]
    """(template, effective weight, probability), in index order."""
    reason: str


class TemplateCache:
    """Indexed, versioned templates with usage counts and effectiveness scores.

    ``templates``: the library to index (default: the packaged one). ``store``:
    where scores persist (None: memory only). ``alpha`` is the moving average's
    weight of a new score; ``prior`` (None: the mean effectiveness of the scored
    templates), ``pseudo``, ``boost`` and ``quantum`` shape how effectiveness
    tilts choices (see the module docstring).
    """

    def __init__(
        self,
        templates: Iterable[Template] | None = None,
        *,
        store: LayeredCache | None = None,
        alpha: float = DEFAULT_ALPHA,
        prior: float | None = None,
        pseudo: float = DEFAULT_PSEUDO,
        boost: float = DEFAULT_BOOST,
        quantum: float = DEFAULT_QUANTUM,
    ) -> None:
        if (
            not 0 < alpha <= 1
            or (prior is not None and not 0 <= prior <= 1)
            or pseudo < 0
            or quantum <= 0
        ):
            raise TemplateError("need 0 < alpha <= 1, 0 <= prior <= 1, pseudo >= 0, quantum > 0")
        self.store = store
        self.fixed_prior = prior
        self.prior = DEFAULT_PRIOR if prior is None else prior
        self.alpha, self.pseudo = alpha, pseudo
        self.boost, self.quantum = boost, quantum
        self._versions: dict[str, dict[int, Template]] = {}
        self._pins: dict[str, int] = {}
        self._scores: dict[str, TemplateScore] = {}
        self._pending: list[tuple[str, float | None]] = []
        for template in templates if templates is not None else default_library():
            self._versions.setdefault(template.id, {})[template.version] = template
        self._reindex()

    # -- the index ---------------------------------------------------------------

    def _reindex(self) -> None:
        self.prior = self._prior()
        self._active = {
            tid: versions[self._pins.get(tid, max(versions))]
            for tid, versions in self._versions.items()
        }
        self._by_kind: dict[str, list[Template]] = {}
        for template in sorted(self._active.values(), key=lambda t: t.id):
            self._by_kind.setdefault(template.kind, []).append(template)
        self._factors = {tid: self._factor(t) for tid, t in self._active.items()}
        self._memo: dict[_Query, tuple[tuple[Template, ...], tuple[float, ...]]] = {}
        self._fingerprint = self._compute_fingerprint()

    def _prior(self) -> float:
        """The score a template is judged against: the one given, or else the mean
        effectiveness of every scored template (each weighted by its plans), so a
        template gains weight for scoring above the typical plan, not for being used;
        :data:`DEFAULT_PRIOR` before any evidence."""
        if self.fixed_prior is not None:
            return self.fixed_prior
        scored = [s for s in self._scores.values() if s.ema is not None and s.scored]
        total = sum(s.scored for s in scored)
        if not total:
            return DEFAULT_PRIOR
        mean = sum(s.scored * (s.ema or 0.0) for s in scored) / total
        return round(round(mean / self.quantum) * self.quantum, 6)

    def _factor(self, template: Template) -> float:
        score = self._scores.get(_vid(template))
        if score is None or score.ema is None or score.scored == 0:
            return 1.0
        return math.exp(self.boost * (self._bucket(score) - self.prior))

    def _bucket(self, score: TemplateScore) -> float:
        assert score.ema is not None
        shrunk = (score.scored * score.ema + self.pseudo * self.prior) / (
            score.scored + self.pseudo
        )
        bucket = round(round(shrunk / self.quantum) * self.quantum, 6)
        return self.prior if abs(bucket - self.prior) < self.quantum / 2 else bucket

    def _library_bytes(self) -> bytes:
        active = sorted(self._active.values(), key=lambda t: t.id)
        return "".join(f"{t.id}@{t.version};" for t in active).encode()

    def library_fingerprint(self) -> str:
        """Which templates (ids and versions) are active, leaving out learned weights."""
        return hashlib.sha256(self._library_bytes()).hexdigest()[:12]

    def _compute_fingerprint(self) -> str:
        # Same digest as TemplateLibrary's while no choice-relevant state differs from it.
        digest = hashlib.sha256(self._library_bytes())
        tilted = sorted((tid, f) for tid, f in self._factors.items() if f != 1.0)
        if tilted:
            digest.update(b"|effectiveness:")
            for tid, factor in tilted:
                digest.update(f"{tid}={factor:.6f};".encode())
        return digest.hexdigest()[:12]

    def fingerprint(self) -> str:
        return self._fingerprint

    def __len__(self) -> int:
        return len(self._active)

    def kinds(self) -> list[str]:
        return sorted(self._by_kind)

    def _query(
        self, kind: str, platform: str | None, style: str | None, tags: Iterable[str]
    ) -> tuple[tuple[Template, ...], tuple[float, ...]]:
        wanted = tuple(tags)
        key = (kind, platform, style, wanted)
        found = self._memo.get(key)
        if found is None:
            pool = []
            for template in self._by_kind.get(kind, ()):
                if template.matches(platform=platform, style=style, tags=wanted):
                    factor = self._factors[template.id]
                    if factor != 1.0:
                        template = dataclasses.replace(template, weight=template.weight * factor)
                    pool.append(template)
            found = (tuple(pool), tuple(t.weight for t in pool))
            self._memo[key] = found
        return found

    def candidates(
        self,
        kind: str,
        *,
        platform: str | None = None,
        style: str | None = None,
        tags: Iterable[str] = (),
    ) -> Sequence[Template]:
        """Matching templates; their ``weight`` already includes effectiveness."""
        return self._query(kind, platform, style, tags)[0]

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
        pool, weights = self._query(kind, platform, style, wanted)
        if not pool:
            raise no_template(kind, platform, style, wanted)
        return pick(pool, rng, weights)

    def explain(
        self,
        kind: str,
        rng: random.Random | int = 0,
        *,
        platform: str | None = None,
        style: str | None = None,
        tags: Iterable[str] = (),
    ) -> TemplateChoice:
        """The choice ``choose`` makes for this query and RNG, with the reasons."""
        generator = random.Random(rng) if isinstance(rng, int) else rng
        wanted = tuple(tags)
        chosen = self.choose(kind, generator, platform=platform, style=style, tags=wanted)
        pool, weights = self._query(kind, platform, style, wanted)
        total = sum(weights)
        rows = tuple((t, w, w / total) for t, w in zip(pool, weights, strict=True))
        base = self.get(chosen.id, chosen.version)
        score = self._scores.get(_vid(chosen))
        evidence = (
            f"effectiveness {score.ema:.2f} over {score.scored} plans, "
            f"shrunk to {self._bucket(score):.2f} (prior {self.prior:.2f})"
            if score is not None and score.ema is not None and score.scored
            else f"no quality evidence yet (prior {self.prior:.2f})"
        )
        probability = next(p for t, _, p in rows if t.id == chosen.id)
        reason = (
            f"{chosen.id}@{chosen.version}: p={probability:.2f} among {len(rows)} candidates; "
            f"weight {base.weight:g} x factor {self._factors[chosen.id]:.2f} ({evidence})"
        )
        return TemplateChoice(template=chosen, candidates=rows, reason=reason)

    # -- versions ----------------------------------------------------------------

    def get(self, template_id: str, version: int | None = None) -> Template:
        """The active version of ``template_id`` (or an exact ``version``; ``id@3`` works too)."""
        if version is None and "@" in template_id:
            template_id, _, raw = template_id.rpartition("@")
            version = int(raw) if raw.isdigit() else None
        versions = self._versions.get(template_id)
        if versions is None:
            raise TemplateError(f"no template with id {template_id!r}")
        if version is None:
            return self._active[template_id]
        try:
            return versions[version]
        except KeyError:
            raise TemplateError(
                f"template {template_id!r} has no version {version}; it has {sorted(versions)}"
            ) from None

    def versions(self, template_id: str) -> list[int]:
        return sorted(self._versions.get(template_id, ()))

    def publish(self, template: Template) -> Template:
        """Add a new version (older ones stay available); it becomes the latest."""
        versions = self._versions.setdefault(template.id, {})
        if template.version in versions:
            raise TemplateError(
                f"template {template.id!r} version {template.version} exists; publish a new version"
            )
        versions[template.version] = template
        self._reindex()
        return template

    def pin(self, template_id: str, version: int | None) -> None:
        """Make choices use ``version`` of a template (None: back to the latest)."""
        if version is None:
            self._pins.pop(template_id, None)
        else:
            self.get(template_id, version)
            self._pins[template_id] = version
        self._reindex()

    # -- usage and effectiveness ---------------------------------------------------

    def score(self, template_id: str) -> TemplateScore:
        """Usage and effectiveness of the active version (as of the last load or flush)."""
        return self._scores.get(_vid(self.get(template_id)), TemplateScore())

    def record(self, template_ids: Iterable[str], quality: float | None = None) -> None:
        """Count a use of each template and, with ``quality``, add it to their scores.

        Takes effect at the next :meth:`flush` (never in the middle of a run).
        """
        if quality is not None and not 0 <= quality <= 1:
            raise TemplateError(f"quality scores lie in 0..1, not {quality}")
        for template_id in dict.fromkeys(template_ids):
            if template_id in self._versions:
                self._pending.append((_vid(self.get(template_id)), quality))

    def _apply(self, scores: dict[str, TemplateScore], vid: str, quality: float | None) -> None:
        old = scores.get(vid, TemplateScore())
        if quality is None:
            scores[vid] = dataclasses.replace(old, uses=old.uses + 1)
            return
        ema = quality if old.ema is None else (1 - self.alpha) * old.ema + self.alpha * quality
        scores[vid] = TemplateScore(uses=old.uses + 1, scored=old.scored + 1, ema=round(ema, 6))

    def _store_key(self) -> str:
        assert self.store is not None
        return self.store.key("template", None, "effectiveness")

    async def load(self) -> None:
        """Read persisted scores (shared through Redis when the store has it)."""
        if self.store is None:
            return
        self._adopt(await self.store.get(self._store_key()))

    async def flush(self) -> None:
        """Apply recorded uses and scores, persist them, and adopt everyone's latest."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        if self.store is None:
            scores = dict(self._scores)
            for vid, quality in pending:
                self._apply(scores, vid, quality)
            self._scores = scores
            self._reindex()
            return
        key = self._store_key()
        async with self.store.locked(key):
            doc = await self.store.get(key)
            scores = _parse(doc)
            for vid, quality in pending:
                self._apply(scores, vid, quality)
            data = {
                "version": _DOC_VERSION,
                "scores": {
                    vid: {"uses": s.uses, "scored": s.scored, "ema": s.ema}
                    for vid, s in sorted(scores.items())
                },
            }
            await self.store.set(key, data, notify=True)
        self._adopt(data)

    def _adopt(self, doc: Any) -> None:
        self._scores = _parse(doc)
        self._reindex()


def _vid(template: Template) -> str:
    return f"{template.id}@{template.version}"


def _parse(doc: Any) -> dict[str, TemplateScore]:
    if not isinstance(doc, Mapping) or doc.get("version") != _DOC_VERSION:
        return {}
    out = {}
    for vid, raw in (doc.get("scores") or {}).items():
        if isinstance(raw, Mapping):
            ema = raw.get("ema")
            out[str(vid)] = TemplateScore(
                uses=int(raw.get("uses", 0)),
                scored=int(raw.get("scored", 0)),
                ema=float(ema) if isinstance(ema, int | float) else None,
            )
    return out
