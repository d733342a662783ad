"""Recommend TTLs, L1 size, eviction policy and codec from a trace, with the simulator.

:func:`recommend` splits the trace by time: it fits on the first part (the
cache starting empty) and reports every configuration both there and on the
rest (held out, the cache warmed by the first part), so a recommendation that
only memorised the fit part shows as a smaller held-out gain.

The search is coordinate descent on seconds saved over the fit part, from the
original configuration (TTLs above ``max_ttl`` lowered to it): the codec, the
eviction policy, then the TTL of each content kind (every platform at once,
kinds with the most compute at stake first; the whole ladder in the first pass,
two steps either way after), then each kind x platform one step either way;
repeated while a pass improves. A configuration fits the budget when its L1 is
limited to at most the budget with an eviction policy, or when its peak volume
stays within it.

The L1 size is the budget (more room rarely loses hits). The size curve of the
result on the fit part also names the smallest L1 within ``tolerance`` of the
best saving, reported beside it as ``smaller L1`` on both parts. It is not the
recommendation: with long TTLs content keeps accumulating after the fit part
ends, so a size picked there runs short later (on the bundled week the fit part
levels off at 16 MiB while the held-out days still gain up to 25 MiB).

The objective is compute seconds saved net of staleness (``staleness_weight``
times the seconds that stale hits stood for; freshness budgets per kind in
:mod:`vgkit.tuning.freshness`). With a ``stale_budget`` the search then walks
a path of TTL shortenings (:func:`_tighten`) until at most that share of the
fit part's requests was served something stale; a lower budget walks further
along the same path, so it never recommends a longer TTL. ``max_ttl`` still
caps the ladder.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vgkit.errors import TuningError
from vgkit.platforms import Platform
from vgkit.tuning.candidate import CODECS, EVICTION_POLICIES, Candidate
from vgkit.tuning.evaluation import DEFAULT_STALENESS_WEIGHT, SimulationResult, results_frame
from vgkit.tuning.expansion import KINDS, expand
from vgkit.tuning.freshness import DEFAULT_FRESHNESS, Freshness
from vgkit.tuning.profile import EntryProfile, default_profile
from vgkit.tuning.recommendation import FrontPoint, Recommendation, Step
from vgkit.tuning.simulator import simulate
from vgkit.tuning.trace import Trace

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_FIT_FRACTION",
    "DEFAULT_STALENESS_WEIGHT",
    "DEFAULT_TTL_LADDER",
    "compare",
    "recommend",
    "size_curve",
    "ttl_curve",
]

#: TTLs the search tries, in seconds: 15 minutes to 7 days.
DEFAULT_TTL_LADDER: tuple[float, ...] = (
    900.0,
    1800.0,
    3600.0,
    7200.0,
    14400.0,
    28800.0,
    86400.0,
    259200.0,
    604800.0,
)
#: A storage budget small enough that the bundled week does not fit (it peaks near 130 MB).
DEFAULT_BUDGET = 32 << 20
DEFAULT_FIT_FRACTION = 4 / 7
DEFAULT_TOLERANCE = 0.01
#: L1 sizes the size curve tries, as fractions of the budget.
SIZE_FRACTIONS: tuple[float, ...] = (1 / 16, 1 / 8, 1 / 4, 3 / 8, 1 / 2, 5 / 8, 3 / 4, 7 / 8, 1.0)
_PER_PLATFORM = tuple(p.value for p in Platform)


@dataclass
class _Search:
    """The state of one coordinate descent."""

    trace: Trace
    profile: EntryProfile
    until: float
    budget: int | None
    ladder: list[float]
    on_step: Callable[[Step], None] | None
    steps: list[Step]
    weight: float = DEFAULT_STALENESS_WEIGHT
    freshness: Freshness | None = None

    def score(self, config: Candidate) -> SimulationResult:
        return simulate(
            self.trace, config, profile=self.profile, until=self.until, freshness=self.freshness
        )

    def value(self, result: SimulationResult) -> float:
        """The objective: seconds saved net of the staleness cost."""
        return result.net_seconds(self.weight)

    def record(
        self, stage: int, label: str, value: Any, result: SimulationResult, ok: bool, kept: bool
    ) -> None:
        step = Step(
            stage,
            label,
            _show(value),
            result.seconds_saved,
            result.hit_ratio,
            result.peak_bytes,
            ok,
            kept,
            result.stale_fraction,
            self.value(result),
        )
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)

    def fits(self, config: Candidate, result: SimulationResult) -> bool:
        if self.budget is None:
            return True
        size = config.l1_size
        if size is not None and size <= self.budget and config.eviction != "none":
            return True
        return result.peak_bytes <= self.budget

    def ttls(
        self,
        current: Candidate,
        best: SimulationResult,
        kind: str,
        platform: str,
        steps: int,
        stage: int,
    ) -> tuple[Candidate, SimulationResult]:
        """Try ``kind``'s TTL on ``platform`` (``*``: all) within ``steps`` rungs of the
        ladder from its current value (0: the whole ladder)."""
        now = current.ttl(kind, None if platform == "*" else platform)
        near = self.ladder if steps == 0 else _near(self.ladder, now, steps)
        options = [(v, current.with_ttl(kind, platform, v)) for v in near if v != now]
        label = f"ttl {kind}" if platform == "*" else f"ttl {kind}/{platform}"
        return self.best_of(current, best, label, options, stage)

    def best_of(
        self,
        current: Candidate,
        best: SimulationResult,
        label: str,
        candidates: Iterable[tuple[Any, Candidate]],
        stage: int,
    ) -> tuple[Candidate, SimulationResult]:
        """The best of ``current`` and ``candidates`` (more net seconds; equal: fewer bytes)."""
        chosen, chosen_result = current, best
        for value, config in candidates:
            result = self.score(config)
            mine, theirs = self.value(result), self.value(chosen_result)
            better = mine > theirs + 1e-6 * abs(theirs) or (
                mine >= theirs and result.mean_bytes < chosen_result.mean_bytes * 0.99
            )
            ok = self.fits(config, result)
            self.record(stage, label, value, result, ok, better and ok)
            if better and ok:
                chosen, chosen_result = config, result
        return chosen, chosen_result


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _stakes(trace: Trace, profile: EntryProfile, until: float) -> list[str]:
    """Content kinds ordered by the compute seconds their lookups stand for."""
    x = expand(trace)
    seconds = x.seconds(profile)
    total = [0.0] * len(KINDS)
    for t, keys in zip(x.times, x.node_keys, strict=True):
        if t >= until:
            break
        for key in keys:
            total[x.key_kind[key]] += seconds[key]
    ordered = sorted(range(len(KINDS)), key=lambda k: -total[k])
    return [KINDS[k] for k in ordered if total[k] > 0] + ["request"]


def _ladder(ladder: Sequence[float], max_ttl: float | None) -> list[float]:
    values = sorted({float(v) for v in ladder if max_ttl is None or v <= max_ttl})
    if not values or values[0] <= 0:
        raise TuningError("the TTL ladder needs positive seconds (within max_ttl)")
    return values


def recommend(
    trace: Trace,
    *,
    budget: int | None = DEFAULT_BUDGET,
    fit_fraction: float = DEFAULT_FIT_FRACTION,
    ladder: Sequence[float] = DEFAULT_TTL_LADDER,
    max_ttl: float | None = None,
    evictions: Sequence[str] = EVICTION_POLICIES,
    codecs: Sequence[str] = tuple(CODECS),
    passes: int = 2,
    tolerance: float = DEFAULT_TOLERANCE,
    baseline: Candidate | None = None,
    profile: EntryProfile | None = None,
    on_step: Callable[[Step], None] | None = None,
    stale_budget: float | None = None,
    staleness_weight: float = DEFAULT_STALENESS_WEIGHT,
    freshness: Freshness | None = None,
    front_to: float | None = None,
) -> Recommendation:
    """The best cache configuration for ``trace`` within ``budget`` bytes of L1
    (None: no limit) and at most ``stale_budget`` of requests served something
    stale (None: no limit), and what it gains over ``baseline`` (default: the
    original TTL matrix and codec with an L1 of ``budget``). The objective is
    seconds saved net of ``staleness_weight`` times the seconds stale hits stood
    for, staleness judged by ``freshness``. ``front_to``: walk the staleness path
    on down to this share for the front (and ``Recommendation.at_budget``) without
    changing the recommendation. See the module docstring."""
    if budget is not None and budget <= profile_base(profile):
        raise TuningError(f"budget must exceed an empty cache's size, not {budget} bytes")
    if passes < 1 or not 0 <= tolerance < 1:
        raise TuningError("passes must be >= 1 and tolerance in [0, 1)")
    if len(trace) < 2:
        raise TuningError("a trace needs at least two requests to fit and evaluate on")
    if stale_budget is not None and not 0 <= stale_budget <= 1:
        raise TuningError(
            f"the stale budget is a share of requests in [0, 1] (0.05 for 5 %), not {stale_budget}"
        )
    if not staleness_weight >= 0:
        raise TuningError(f"the staleness weight must be >= 0, not {staleness_weight}")
    bad = [e for e in evictions if e not in EVICTION_POLICIES] + [
        c for c in codecs if c not in CODECS
    ]
    if bad:
        raise TuningError(f"unknown eviction policies or codecs: {', '.join(bad)}")
    profile = profile or default_profile()
    values = _ladder(ladder, max_ttl)
    split = trace.split_time(fit_fraction) if 0 < fit_fraction < 1 else math.nan
    if math.isnan(split):
        raise TuningError(f"fit_fraction must be between 0 and 1, not {fit_fraction}")
    base = baseline or Candidate.original(l1_size=budget)
    search = _Search(
        trace, profile, split, budget, values, on_step, [], staleness_weight, freshness
    )
    current = _capped(base.renamed("recommended"), max_ttl)
    best = search.score(current)
    kinds = _stakes(trace, profile, split)
    for stage in range(1, passes + 1):
        before = search.value(best)
        for name, choices in (("codec", codecs), ("eviction", evictions)):
            now = getattr(current, name)
            options = [(v, current.changed(**{name: v})) for v in choices if v != now]
            current, best = search.best_of(current, best, name, options, stage)
        for kind in kinds:
            # The whole ladder first; later passes only look around the current value.
            current, best = search.ttls(current, best, kind, "*", 0 if stage == 1 else 2, stage)
        for kind in kinds:
            if kind in ("topic", "request"):
                continue  # one key space for every platform
            for platform in _PER_PLATFORM:
                current, best = search.ttls(current, best, kind, platform, 1, stage)
        if search.value(best) <= before + 1e-6 * abs(before):
            break
    front = [_point(current, best, "unconstrained", search.value(best))]
    if stale_budget is not None:
        current, best = _tighten(search, current, best, stale_budget, kinds, front)
    if front_to is not None and (stale_budget is None or front_to < stale_budget):
        _tighten(search, current, best, front_to, kinds, front)
    curve = size_curve(trace, current, _sizes(budget, best), until=split, profile=profile)
    references = {
        "original": base.renamed("original"),
        "vgkit default": Candidate(name="vgkit default", l1_size=budget),
        "recommended": current,
        "smaller L1": _smallest_within(current, curve, tolerance).renamed("smaller L1"),
    }
    fit = {
        name: simulate(trace, c, profile=profile, until=split, freshness=freshness)
        for name, c in references.items()
    }
    held = {
        name: simulate(trace, c, profile=profile, measure_from=split, freshness=freshness)
        for name, c in references.items()
    }
    return Recommendation(
        trace=trace.name,
        budget=budget,
        split_at=split,
        baseline=references["original"],
        recommended=current,
        fit=fit,
        held_out=held,
        steps=tuple(search.steps),
        size_curve=curve,
        tolerance=tolerance,
        stale_budget=stale_budget,
        staleness_weight=staleness_weight,
        front=_front_frame(front),
        freshness=freshness,
        profile=profile,
        source=trace,
    )


def _point(config: Candidate, result: SimulationResult, move: str, net: float) -> FrontPoint:
    return FrontPoint(
        config=config,
        move=move,
        seconds_saved=result.seconds_saved,
        net_seconds=net,
        stale_fraction=result.stale_fraction,
        hit_ratio=result.hit_ratio,
    )


def _front_frame(points: Sequence[FrontPoint]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "step": i,
                "move": p.move,
                "seconds_saved": p.seconds_saved,
                "net_seconds": p.net_seconds,
                "stale_fraction": p.stale_fraction,
                "hit_ratio": p.hit_ratio,
                "config": p.config,
            }
            for i, p in enumerate(points)
        ]
    )


def _tighten(
    search: _Search,
    current: Candidate,
    best: SimulationResult,
    stale_budget: float,
    kinds: Sequence[str],
    front: list[FrontPoint],
) -> tuple[Candidate, SimulationResult]:
    """Shorten TTLs until at most ``stale_budget`` of the fit part's requests are stale.

    Greedy along the Pareto front: the moves are, per content kind, its TTL a
    rung lower or down to the longest rung within its freshness budget, and
    every kind's TTL a rung lower at once; each step takes the move that removes
    the most stale requests per net second lost (one that loses nothing first;
    when no move removes a stale request, the one that removes the most stale
    hits per second lost, to cross the plateau). TTLs only ever get shorter, so a
    lower budget walks further along the same path and never recommends a longer
    TTL than a higher one.
    Every point is appended to ``front``.
    """
    freshness = search.freshness or DEFAULT_FRESHNESS
    stage = 0
    while best.stale_fraction > stale_budget + 1e-12:
        stage += 1
        here = search.value(best)
        moves: list[tuple[str, tuple[Candidate, float] | None]] = []
        for kind in kinds:
            moves.append((kind, _lowered(current, kind, search.ladder)))
            limit = freshness.strictest(kind)
            if limit is not None:
                moves.append((kind, _lowered(current, kind, search.ladder, limit)))
        moves.append(("every kind", _capped_below(current, kinds, search.ladder)))
        choice: tuple[float, Candidate, SimulationResult, str] | None = None
        plateau: tuple[float, Candidate, SimulationResult, str] | None = None
        tried: set[str] = set()
        for kind, lowered in moves:
            if lowered is None:
                continue
            config, rung = lowered
            label = f"ttl {kind} -> {_show(rung)}"
            if label in tried:
                continue
            tried.add(label)
            result = search.score(config)
            ok = search.fits(config, result)
            removed = best.stale_fraction - result.stale_fraction
            lost = here - search.value(result)
            search.record(-stage, f"tighten {kind}", rung, result, ok, False)
            if not ok:
                continue
            if removed <= 0:
                # No fewer stale requests: rank by stale hits removed per second lost,
                # so the plateau is crossed by shortening what is actually stale.
                fewer = _stale_hits(best) - _stale_hits(result)
                if fewer > 0:
                    rate = math.inf if lost <= 0 else fewer / lost
                    if plateau is None or rate > plateau[0]:
                        plateau = (rate, config, result, label)
                continue
            rate = math.inf if lost <= 0 else removed / lost
            if choice is None or rate > choice[0]:
                choice = (rate, config, result, label)
        pick = choice or plateau
        if pick is None:
            break  # nothing shorter removes any stale hit
        _, current, best, move = pick
        front.append(_point(current, best, move, search.value(best)))
    return current, best


def _lowered(
    config: Candidate, kind: str, ladder: Sequence[float], within: float | None = None
) -> tuple[Candidate, float] | None:
    """``config`` with ``kind``'s TTL one rung lower on every platform, or with
    ``within``, the longest rung of at most ``within`` seconds (None: nothing lower)."""
    ttls = [config.ttl(kind, None)] + [config.ttl(kind, p) for p in _PER_PLATFORM]
    longest = max(math.inf if t is None else t for t in ttls)
    lower = [v for v in ladder if v < longest and (within is None or v <= within)]
    if not lower:
        return None
    rung = lower[-1]
    out = config.with_ttl(kind, "*", rung)
    if kind not in ("topic", "request"):
        for platform, ttl in zip(_PER_PLATFORM, ttls[1:], strict=True):
            out = out.with_ttl(kind, platform, min(rung, math.inf if ttl is None else ttl))
    return out, rung


def _stale_hits(result: SimulationResult) -> int:
    return sum(k.stale_hits for k in result.kinds.values())


def _capped_below(
    config: Candidate, kinds: Sequence[str], ladder: Sequence[float]
) -> tuple[Candidate, float] | None:
    """``config`` with every TTL at or above its longest one lowered a rung (the move
    that shortens every kind at once, when staleness comes from all of them)."""
    longest = 0.0
    for kind in kinds:
        for platform in (None, *_PER_PLATFORM):
            ttl = config.ttl(kind, platform)
            longest = max(longest, math.inf if ttl is None else ttl)
    lower = [v for v in ladder if v < longest]
    if not lower:
        return None
    rung = lower[-1]
    out = config
    for kind in kinds:
        for platform in ("*", *_PER_PLATFORM):
            ttl = out.ttl(kind, None if platform == "*" else platform)
            if ttl is None or ttl > rung:
                out = out.with_ttl(kind, platform, rung)
    return out, rung


def profile_base(profile: EntryProfile | None) -> int:
    """Bytes of an empty L1 (the measured diskcache base), 32 KiB before measuring."""
    return profile.disk_base if profile is not None else 32768


def _capped(config: Candidate, max_ttl: float | None) -> Candidate:
    """``config`` with every TTL of a traced kind above ``max_ttl`` lowered to it."""
    if max_ttl is None:
        return config
    for kind in KINDS:
        for platform in ("*", *_PER_PLATFORM):
            ttl = config.ttl(kind, None if platform == "*" else platform)
            if ttl is None or ttl > max_ttl:
                config = config.with_ttl(kind, platform, max_ttl)
    return config


def _near(values: Sequence[float], now: float | None, steps: int) -> list[float]:
    if now is None or now not in values:
        return list(values)
    i = list(values).index(now)
    return list(values[max(0, i - steps) : i + steps + 1])


def _sizes(budget: int | None, result: SimulationResult) -> list[int]:
    top = budget if budget is not None else max(int(result.peak_bytes), 1 << 20)
    return sorted({int(top * f) for f in SIZE_FRACTIONS})


def _smallest_within(config: Candidate, curve: pd.DataFrame, tolerance: float) -> Candidate:
    rows = curve[curve["eviction"] == config.eviction].sort_values("l1_size")
    if rows.empty:
        return config
    best = float(rows["seconds_saved"].max())
    good = rows[rows["seconds_saved"] >= best * (1 - tolerance)]
    return config.changed(l1_size=int(good["l1_size"].iloc[0]))


def size_curve(
    trace: Trace,
    config: Candidate,
    sizes: Sequence[int],
    *,
    evictions: Sequence[str] | None = None,
    until: float | None = None,
    profile: EntryProfile | None = None,
) -> pd.DataFrame:
    """Hit ratio and seconds saved of ``config`` at each L1 size, per eviction policy
    (default: every policy but ``none``). One row per size and policy."""
    policies = [e for e in (evictions or EVICTION_POLICIES) if e != "none"] or [config.eviction]
    results = [
        simulate(trace, config.changed(l1_size=size, eviction=policy), profile=profile, until=until)
        for policy in policies
        for size in sizes
    ]
    return results_frame(results)


def ttl_curve(
    trace: Trace,
    config: Candidate,
    kinds: Sequence[str] = ("script", "storyboard", "result", "request"),
    *,
    ladder: Sequence[float] = DEFAULT_TTL_LADDER,
    until: float | None = None,
    profile: EntryProfile | None = None,
) -> pd.DataFrame:
    """Seconds saved as one kind's TTL (every platform) moves along ``ladder``, the
    rest of ``config`` fixed. One row per kind and TTL."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise TuningError(
            f"unknown content kinds {', '.join(unknown)}; choose from {', '.join(KINDS)}"
        )
    frames = []
    for kind in kinds:
        results = [
            simulate(trace, config.with_ttl(kind, "*", ttl), profile=profile, until=until)
            for ttl in ladder
        ]
        frame = results_frame(results, kind=kind)
        frame.insert(1, "ttl", list(ladder))
        frames.append(frame)
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def compare(
    trace: Trace,
    configs: Sequence[Candidate],
    *,
    mode: str = "sim",
    limit: int | None = None,
    profile: EntryProfile | None = None,
) -> list[SimulationResult]:
    """Each configuration over the first ``limit`` requests of ``trace`` (None: all),
    simulated (``mode="sim"``), through the real cache (``"real"``), or both
    (``"both"``: the simulation of each configuration, then its replay)."""
    if mode not in ("sim", "real", "both"):
        raise TuningError(f"unknown mode {mode!r}; choose sim, real or both")
    if limit is not None and limit < 1:
        raise TuningError(f"the request limit must be at least 1, not {limit}")
    from vgkit.tuning.replay import replay

    until = trace[limit].t if limit is not None and limit < len(trace) else None
    out: list[SimulationResult] = []
    for config in configs:
        if mode in ("sim", "both"):
            out.append(simulate(trace, config, profile=profile, until=until))
        if mode in ("real", "both"):
            out.append(replay(trace, config, limit=None, until=until, profile=profile))
    return out
