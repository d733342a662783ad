"""How old a cached value may be before serving it counts as stale, per content kind.

Two clocks make a value stale:

* **the news**: a topic analysis describes the world as it was; after
  ``max_age`` seconds (per kind and platform, ``*`` the fallback, None: never)
  serving it is stale. Everything generated from a topic analysis ages with it.
* **the template library**: content made from templates is stale once a newer
  library version ships (``releases``: times, in trace seconds, at which a new
  version was published). Kinds in ``versioned`` follow this clock.

A topic analysis ages with the news only, a template library entry
(``template``) with its version only, and everything built from both (script,
storyboard, ..., complete results) with both. Each entry is judged by its own
age: a request answered with a stale node counts as a stale request then, and
the complete result written for it ages from that moment.

The defaults are assumptions to edit, not measurements: news ages in 6 hours
(TikTok and Reels content in 2: trends move faster there, which is why the
reference kept their scripts to an hour), and the library ships a new version
every 3 days.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from vgkit.errors import TuningError

__all__ = ["DEFAULT_FRESHNESS", "Freshness"]

_HOUR = 3600.0
_DAY = 86400.0
_NEWS = MappingProxyType(
    {"*": 6 * _HOUR, "tiktok": 2 * _HOUR, "instagram_reels": 2 * _HOUR, "youtube": 6 * _HOUR}
)


def _default_ages() -> Mapping[str, Mapping[str, float | None]]:
    return MappingProxyType(
        {
            "topic": MappingProxyType({"*": 6 * _HOUR}),
            "template": MappingProxyType({"*": None}),
            "*": _NEWS,
        }
    )


@dataclass(frozen=True, kw_only=True)
class Freshness:
    """Freshness budgets per content kind (see the module docstring).

    ``max_age``: kind -> platform (``*``: any) -> seconds a value may age (None:
    never stale by age); the kind ``*`` is the fallback for kinds not named.
    ``versioned``: kinds made from the template library. ``release_every``:
    seconds between library releases from the trace's start (None: no
    releases), or explicit ``releases`` times.
    """

    max_age: Mapping[str, Mapping[str, float | None]] = field(default_factory=_default_ages)
    versioned: frozenset[str] = frozenset(
        {
            "hooks",
            "script",
            "timing",
            "storyboard",
            "cta",
            "result",
            "quality",
            "request",
            "template",
        }
    )
    release_every: float | None = 3 * _DAY
    releases: Sequence[float] = ()

    def __post_init__(self) -> None:
        for kind, by_platform in self.max_age.items():
            for platform, age in by_platform.items():
                if age is not None and not age > 0:
                    raise TuningError(
                        f"freshness budget {kind}/{platform} must be positive seconds or None, "
                        f"not {age}"
                    )
        if self.release_every is not None and not self.release_every > 0:
            raise TuningError(f"release_every must be positive seconds, not {self.release_every}")
        object.__setattr__(self, "releases", tuple(sorted(float(t) for t in self.releases)))

    def age_limit(self, kind: str, platform: str | None) -> float | None:
        """Seconds a value of ``kind`` for ``platform`` may age before it is stale."""
        by_platform = self.max_age.get(kind, self.max_age.get("*", {}))
        if platform is not None and platform in by_platform:
            return by_platform[platform]
        return by_platform.get("*")

    def release_times(self, start: float, end: float) -> list[float]:
        """Library release times within ``[start, end]`` (trace seconds)."""
        times = [t for t in self.releases if start <= t <= end]
        if self.release_every is not None:
            t = start + self.release_every
            while t <= end:
                times.append(t)
                t += self.release_every
        return sorted(set(times))

    def strictest(self, kind: str) -> float | None:
        """The shortest age limit of ``kind`` over every platform (None: never ages)."""
        by_platform = self.max_age.get(kind, self.max_age.get("*", {}))
        known = [age for age in by_platform.values() if age is not None]
        return min(known) if known else None

    def with_age(self, kind: str, seconds: float | None, platform: str = "*") -> Freshness:
        """A copy in which ``kind`` (on ``platform``) may age ``seconds``."""
        ages = {k: dict(v) for k, v in self.max_age.items()}
        ages.setdefault(kind, {}).update({platform: seconds})
        return Freshness(
            max_age=ages,
            versioned=self.versioned,
            release_every=self.release_every,
            releases=self.releases,
        )


DEFAULT_FRESHNESS = Freshness()


def _limit(freshness: Freshness, kind: str, platform: str | None) -> float | None:
    """The age limit of a key group; a complete result for several platforms is held to
    the strictest of theirs."""
    if platform is None or "+" not in platform:
        return freshness.age_limit(kind, platform)
    limits = [freshness.age_limit(kind, p) for p in platform.split("+")]
    known = [x for x in limits if x is not None]
    return min(known) if known else None


class StalenessClock:
    """Answers "is a value born at ``born`` stale at ``now``?" for each simulator key group."""

    def __init__(
        self,
        freshness: Freshness,
        groups: Sequence[tuple[str, str | None]],
        start: float,
        end: float,
    ) -> None:
        self.releases = freshness.release_times(start, end)
        self.limits = [_limit(freshness, kind, platform) for kind, platform in groups]
        self.versioned = [kind in freshness.versioned for kind, _ in groups]

    def stale(self, group: int, born: float, now: float) -> bool:
        limit = self.limits[group]
        if limit is not None and now - born > limit:
            return True
        if self.versioned[group] and self.releases:
            return bisect.bisect_right(self.releases, born) < bisect.bisect_right(
                self.releases, now
            )
        return False
