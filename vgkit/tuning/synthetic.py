"""A realistic, seeded request trace over simulated days (the bundled one and others).

:func:`generate_trace` draws requests the way a busy deployment sees them:

* **Arrivals**: a Poisson process whose rate follows the day (``diurnal``
  amplitude around ``requests_per_day``, busiest at ``peak_hour``).
* **Topics**: Zipf popularity over ``data/topics.csv`` (first row most popular,
  as the load-test workload has it) that drifts: each topic's log-popularity
  takes a mean-reverting random walk (``drift`` per day), and ``trends_per_day``
  trends pick a topic at random and give it ``trend_share`` of the requests,
  fading with ``trend_half_life``.
* **Platforms**: a weighted mix of platform sets (one, two or all three).
* **Styles and variants**: a weighted style mix; ``variants`` of fresh
  requests ask for another seed (another take on the same topic).
* **Repeats and overlaps**: ``repeat`` of the requests re-send one of the
  last ``recent`` requests exactly (a user re-running, or two users asking the
  same); ``follow_up`` take one of them to other platforms (sharing its topic
  analysis and the platforms in common) or, a third of the time, another style.

Only :class:`random.Random` (its ``random()``, stable across Python versions)
and arithmetic drive it, so :func:`generate_trace` with the same spec and seed
writes the same bytes: the bundled ``data/traces/requests-week.jsonl`` is
``generate_trace()``, timed from its first request (``vgkit cache trace generate
data/traces/requests-week.jsonl`` rewrites it; a test checks).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from vgkit.errors import LoadTestError, TuningError
from vgkit.loadtest.workload import Topic, load_topics
from vgkit.models import Style, VideoRequest
from vgkit.platforms import Platform
from vgkit.tuning.trace import Trace, TraceRecord

__all__ = ["DEFAULT_PLATFORM_SETS", "DEFAULT_STYLES", "TraceSpec", "generate_trace"]

DEFAULT_PLATFORM_SETS: Mapping[str, float] = MappingProxyType(
    {
        "tiktok": 0.30,
        "youtube": 0.20,
        "instagram_reels": 0.12,
        "tiktok+instagram_reels": 0.15,
        "youtube+tiktok": 0.08,
        "youtube+instagram_reels": 0.03,
        "youtube+tiktok+instagram_reels": 0.12,
    }
)
DEFAULT_STYLES: Mapping[str, float] = MappingProxyType(
    {
        "educational": 0.35,
        "entertainment": 0.15,
        "tutorial": 0.15,
        "viral": 0.15,
        "storytelling": 0.10,
        "marketing": 0.10,
    }
)
_HOUR = 3600.0
_DAY = 86400.0


@dataclass(frozen=True, kw_only=True)
class TraceSpec:
    """The knobs of :func:`generate_trace` (see the module docstring)."""

    days: float = 7.0
    requests_per_day: float = 700.0
    diurnal: float = 0.6
    peak_hour: float = 20.0
    zipf: float = 0.9
    drift: float = 0.35
    drift_reversion: float = 0.5
    trends_per_day: float = 3.0
    trend_share: float = 0.08
    trend_half_life: float = 12 * _HOUR
    repeat: float = 0.15
    follow_up: float = 0.15
    recent: int = 200
    variants: float = 0.10
    platform_sets: Mapping[str, float] = field(default_factory=lambda: DEFAULT_PLATFORM_SETS)
    styles: Mapping[str, float] = field(default_factory=lambda: DEFAULT_STYLES)
    seed: int = 0

    def __post_init__(self) -> None:
        positive = {"days": self.days, "requests_per_day": self.requests_per_day}
        for name, value in positive.items():
            if not (value > 0 and math.isfinite(value)):
                raise TuningError(f"{name} must be a positive number, not {value}")
        shares = {
            "diurnal": self.diurnal,
            "trend_share": self.trend_share,
            "repeat": self.repeat,
            "follow_up": self.follow_up,
            "variants": self.variants,
        }
        for name, value in shares.items():
            if not 0 <= value < 1:
                raise TuningError(f"{name} must be in [0, 1), not {value}")
        if self.repeat + self.follow_up >= 1:
            raise TuningError("repeat + follow_up must stay below 1 (some requests are fresh)")
        others = (self.zipf, self.drift, self.drift_reversion, self.trends_per_day)
        if min(others) < 0 or self.recent < 1 or self.trend_half_life <= 0:
            raise TuningError("zipf, drift, trends_per_day must be >= 0, recent and half-life > 0")
        _cumulative(self.platform_sets, _platform_set, "platform set")
        _cumulative(self.styles, Style, "style")


def _platform_set(name: str) -> tuple[Platform, ...]:
    return tuple(Platform(p) for p in name.split("+"))


def _cumulative(mix: Mapping[str, float], parse: Any, what: str) -> tuple[list[Any], list[float]]:
    try:
        members = [parse(name) for name in mix]
    except ValueError as exc:
        raise TuningError(f"unknown {what} in the mix: {exc}") from None
    total = sum(mix.values())
    if total <= 0 or min(mix.values()) < 0:
        raise TuningError(f"{what} weights must be >= 0 and not all zero: {dict(mix)}")
    return members, list(itertools.accumulate(w / total for w in mix.values()))


class _Draw:
    """Everything random in one seeded generator, through ``random()`` only."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uniform(self) -> float:
        return self.rng.random()

    def pick(self, cdf: Sequence[float]) -> int:
        return min(bisect.bisect_right(cdf, self.rng.random() * cdf[-1]), len(cdf) - 1)

    def exponential(self, rate: float) -> float:
        return -math.log(1.0 - self.rng.random()) / rate

    def normal(self) -> float:
        # Box-Muller from two uniforms (random.gauss's algorithm is not promised stable).
        u, v = self.rng.random(), self.rng.random()
        return math.sqrt(-2.0 * math.log(1.0 - u)) * math.cos(2.0 * math.pi * v)


class _Popularity:
    """Topic weights that drift hour by hour, with trends on top."""

    def __init__(self, spec: TraceSpec, topics: int, draw: _Draw) -> None:
        self.spec = spec
        self.draw = draw
        self.base = [-spec.zipf * math.log(rank) for rank in range(1, topics + 1)]
        self.walk = [0.0] * topics
        self.trends: list[tuple[int, float]] = []
        self.hour = -1
        self.cdf: list[float] = []

    def at(self, t: float) -> list[float]:
        hour = int(t // _HOUR)
        while self.hour < hour:
            self.hour += 1
            self._step(self.hour * _HOUR)
        return self.cdf

    def _step(self, now: float) -> None:
        spec, draw = self.spec, self.draw
        if self.hour > 0:
            scale = spec.drift * math.sqrt(1 / 24)
            pull = spec.drift_reversion / 24
            self.walk = [w * (1 - pull) + scale * draw.normal() for w in self.walk]
        if draw.uniform() < spec.trends_per_day / 24:
            self.trends.append((int(draw.uniform() * len(self.base)), now))
        horizon = 6 * spec.trend_half_life
        self.trends = [(i, t0) for i, t0 in self.trends if now - t0 < horizon]
        weights = [math.exp(b + w) for b, w in zip(self.base, self.walk, strict=True)]
        total = sum(weights)
        shares = [
            (i, spec.trend_share * 0.5 ** ((now - t0) / spec.trend_half_life))
            for i, t0 in self.trends
        ]
        rest = max(0.0, 1.0 - sum(s for _, s in shares))
        probs = [rest * w / total for w in weights]
        for i, share in shares:
            probs[i] += share
        self.cdf = list(itertools.accumulate(probs))


def generate_trace(
    spec: TraceSpec | None = None,
    *,
    topics: Sequence[Topic] | str | Path | None = None,
    **overrides: Any,
) -> Trace:
    """A seeded synthetic trace (see the module docstring); ``overrides`` replace
    fields of ``spec`` (``generate_trace(days=1, seed=3)``). ``topics``: a topic
    list or CSV file (default: the bundled ``data/topics.csv``)."""
    base = spec or TraceSpec()
    try:
        spec = replace(base, **overrides)
    except TypeError as exc:
        raise TuningError(f"unknown trace option: {exc}") from None
    try:
        pool = (
            tuple(topics)
            if isinstance(topics, Sequence) and not isinstance(topics, str)
            else load_topics(topics)
        )
    except LoadTestError as exc:
        raise TuningError(str(exc)) from exc
    if not pool:
        raise TuningError("a trace needs at least one topic")
    platform_sets, platform_cdf = _cumulative(spec.platform_sets, _platform_set, "platform set")
    styles, style_cdf = _cumulative(spec.styles, Style, "style")
    draw = _Draw(spec.seed)
    popularity = _Popularity(spec, len(pool), draw)
    mean_rate = spec.requests_per_day / _DAY
    peak_rate = mean_rate * (1 + spec.diurnal)
    horizon = spec.days * _DAY
    records: list[TraceRecord] = []
    t = 0.0
    while True:
        t += draw.exponential(peak_rate)
        if t >= horizon:
            break
        phase = 2 * math.pi * (t / _HOUR - spec.peak_hour) / 24
        if draw.uniform() * peak_rate > mean_rate * (1 + spec.diurnal * math.cos(phase)):
            continue  # thinning: fewer arrivals away from the peak hour
        cdf = popularity.at(t)
        kind = draw.uniform()
        recent = records[-spec.recent :]
        if recent and kind < spec.repeat:
            request = recent[int(draw.uniform() * len(recent))].request
        elif recent and kind < spec.repeat + spec.follow_up:
            request = _follow_up(
                recent[int(draw.uniform() * len(recent))].request,
                draw,
                platform_sets,
                platform_cdf,
                styles,
                style_cdf,
            )
        else:
            variant = draw.uniform() < spec.variants
            request = VideoRequest(
                topic=pool[draw.pick(cdf)].text,
                platforms=platform_sets[draw.pick(platform_cdf)],
                style=styles[draw.pick(style_cdf)],
                seed=1 + int(draw.uniform() * 3) if variant else 0,
            )
        records.append(TraceRecord(round(t, 3), request))
    if not records:
        raise TuningError("the trace spec produced no requests; raise days or requests_per_day")
    pairs = ((r.t, r.request) for r in records)
    return Trace.from_pairs(pairs, name=f"synthetic(seed={spec.seed}, days={spec.days:g})")


def _follow_up(
    source: VideoRequest,
    draw: _Draw,
    platform_sets: list[tuple[Platform, ...]],
    platform_cdf: list[float],
    styles: list[Style],
    style_cdf: list[float],
) -> VideoRequest:
    """The same topic on other platforms (two times in three) or in another style."""
    if draw.uniform() < 2 / 3:
        for _ in range(8):
            platforms = platform_sets[draw.pick(platform_cdf)]
            if platforms != source.platforms:
                return VideoRequest.model_validate({**source.model_dump(), "platforms": platforms})
        return source
    for _ in range(8):
        style = styles[draw.pick(style_cdf)]
        if style != source.style:
            return source.model_copy(update={"style": style})
    return source
