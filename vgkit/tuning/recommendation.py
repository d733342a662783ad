"""A recommended cache configuration, the evidence for it, and what it gains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from vgkit.errors import TuningError
from vgkit.platforms import Platform
from vgkit.tuning.candidate import Candidate
from vgkit.tuning.evaluation import DEFAULT_STALENESS_WEIGHT, SimulationResult, results_frame

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from vgkit.tuning.freshness import Freshness
    from vgkit.tuning.profile import EntryProfile
    from vgkit.tuning.trace import Trace

__all__ = ["FrontPoint", "Recommendation", "Step"]


@dataclass(frozen=True, slots=True)
class Step:
    """One configuration the search tried: the coordinate it changed and to what, what
    it saved on the fit part, whether it fits the budget, and whether it was kept (better
    than the best so far, within the budget)."""

    stage: int
    coordinate: str
    value: str
    seconds_saved: float
    hit_ratio: float
    peak_bytes: float
    fits: bool
    accepted: bool
    stale_fraction: float = 0.0
    net_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class FrontPoint:
    """A configuration on the staleness path: what it saves and how much of it is stale
    (fit part); ``move`` is the TTL change that led to it from the point before."""

    config: Candidate
    move: str
    seconds_saved: float
    net_seconds: float
    stale_fraction: float
    hit_ratio: float


@dataclass(frozen=True)
class Recommendation:
    """The search's answer (:func:`vgkit.tuning.recommend`).

    ``fit`` and ``held_out`` hold the simulation of each reference configuration
    (``original``, ``vgkit default``, ``recommended`` and ``smaller L1``, the
    recommendation with the smallest L1 the fit part's size curve found within
    ``tolerance`` of the best) on the fit part and on the held-out rest;
    ``size_curve`` the recommended TTLs at each L1 size and eviction policy (fit
    part); ``steps`` every configuration tried.
    """

    trace: str
    budget: int | None
    split_at: float
    baseline: Candidate
    recommended: Candidate
    fit: Mapping[str, SimulationResult]
    held_out: Mapping[str, SimulationResult]
    steps: tuple[Step, ...]
    size_curve: pd.DataFrame
    tolerance: float
    stale_budget: float | None = None
    """Share of requests that may be served something stale (None: no limit)."""
    staleness_weight: float = DEFAULT_STALENESS_WEIGHT
    front: pd.DataFrame | None = None
    """The staleness path on the fit part: the best configuration ignoring the stale
    budget first, then each TTL shortening, with seconds saved, net seconds and the
    share of stale requests (see :func:`vgkit.tuning.recommend`)."""
    freshness: Freshness | None = None
    profile: EntryProfile | None = None
    source: Trace | None = None

    def gain(self, part: str = "held_out") -> dict[str, float]:
        """Seconds saved by the original configuration and the recommended one on
        ``part`` (``fit`` or ``held_out``), their difference and ratio; the same net of
        the staleness cost, and the share of stale requests of each."""
        results = self.held_out if part == "held_out" else self.fit
        before = results["original"].seconds_saved
        after = results["recommended"].seconds_saved
        w = self.staleness_weight
        net_before = results["original"].net_seconds(w)
        net_after = results["recommended"].net_seconds(w)
        return {
            "original_seconds_saved": before,
            "recommended_seconds_saved": after,
            "extra_seconds_saved": after - before,
            "ratio": after / before if before else float("inf"),
            "original_hit_ratio": results["original"].hit_ratio,
            "recommended_hit_ratio": results["recommended"].hit_ratio,
            "original_net_seconds": net_before,
            "recommended_net_seconds": net_after,
            "net_ratio": net_after / net_before if net_before > 0 else float("inf"),
            "original_stale_fraction": results["original"].stale_fraction,
            "recommended_stale_fraction": results["recommended"].stale_fraction,
        }

    def pareto_front(self) -> pd.DataFrame:
        """The Pareto front of every configuration the search tried (fit part): those no
        other beats on both net seconds (more) and share of stale requests (fewer), by
        stale share. Columns as :meth:`steps_frame`."""
        steps = self.steps_frame()
        if steps.empty:
            return steps
        ok = steps[steps["fits"]].sort_values(
            ["stale_fraction", "net_seconds"], ascending=[True, False]
        )
        keep, best = [], -float("inf")
        for i, row in ok.iterrows():
            if row["net_seconds"] > best + 1e-9:
                keep.append(i)
                best = row["net_seconds"]
        return ok.loc[keep].reset_index(drop=True)

    def at_budget(self, stale_budget: float) -> Candidate:
        """The configuration on the staleness path for ``stale_budget`` (the first point
        within it; the last point if none is). Needs ``recommend(stale_budget=...)`` to
        have walked at least that far (``stale_budget=0`` walks the whole path)."""
        if self.front is None or self.front.empty:
            return self.recommended
        within = self.front[self.front["stale_fraction"] <= stale_budget + 1e-12]
        row = within.iloc[0] if not within.empty else self.front.iloc[-1]
        config: Candidate = row["config"]
        return config.renamed(f"recommended at {stale_budget:.1%} stale")

    def compare_at(self, budgets: Sequence[float]) -> pd.DataFrame:
        """Held-out days: the original TTL matrix against the path's configuration at
        each stale budget. One row per budget: seconds saved, stale seconds, net
        seconds and stale share of both, whether each keeps the budget, and the
        ratio of net seconds."""
        import pandas as pd

        from vgkit.tuning.simulator import simulate

        if self.source is None:
            raise TuningError("this recommendation kept no trace to compare on")
        w = self.staleness_weight

        def held(config: Candidate) -> SimulationResult:
            assert self.source is not None
            return simulate(
                self.source,
                config,
                profile=self.profile,
                measure_from=self.split_at,
                freshness=self.freshness,
            )

        original = self.held_out.get("original") or held(self.baseline)
        rows = []
        for budget in budgets:
            config = self.at_budget(budget)
            mine = held(config)
            rows.append(
                {
                    "stale_budget": budget,
                    "original_seconds_saved": original.seconds_saved,
                    "original_stale_seconds": original.stale_seconds,
                    "original_net_seconds": original.net_seconds(w),
                    "original_stale_fraction": original.stale_fraction,
                    "original_within_budget": original.stale_fraction <= budget,
                    "recommended_seconds_saved": mine.seconds_saved,
                    "recommended_stale_seconds": mine.stale_seconds,
                    "recommended_net_seconds": mine.net_seconds(w),
                    "recommended_stale_fraction": mine.stale_fraction,
                    "recommended_within_budget": mine.stale_fraction <= budget,
                    "net_ratio": mine.net_seconds(w) / original.net_seconds(w)
                    if original.net_seconds(w) > 0
                    else float("inf"),
                    "ttls": _ttl_text(config),
                }
            )
        return pd.DataFrame(rows)

    def plot_front(self, ax: Axes | None = None, *, stale_budget: float | None = None) -> Figure:
        """Seconds saved and net seconds against the share of stale requests along the
        staleness path (fit part), the original configuration and the budget marked."""
        from vgkit.tuning.plots import plot_front

        budget = self.stale_budget if stale_budget is None else stale_budget
        assert self.front is not None
        return plot_front(
            self.front,
            ax=ax,
            original=self.fit["original"],
            stale_budget=budget,
            weight=self.staleness_weight,
            tried=self.steps_frame(),
            pareto=self.pareto_front(),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per reference configuration and part (fit, held out)."""
        import pandas as pd

        return pd.concat(
            [
                results_frame(self.fit.values(), part="fit"),
                results_frame(self.held_out.values(), part="held out"),
            ],
            ignore_index=True,
        )

    def steps_frame(self) -> pd.DataFrame:
        """Every configuration the search tried, in order."""
        import pandas as pd

        return pd.DataFrame([asdict(s) for s in self.steps])

    def ttl_frame(self) -> pd.DataFrame:
        """The TTL matrix, original beside recommended: one row per kind, per platform."""
        import pandas as pd

        from vgkit.tuning.expansion import KINDS

        rows = []
        for kind in KINDS:
            for platform in (None, *(p.value for p in Platform)):
                if kind in ("topic", "request") and platform is not None:
                    continue
                before = self.baseline.ttl(kind, platform)
                after = self.recommended.ttl(kind, platform)
                rows.append(
                    {
                        "kind": kind,
                        "platform": platform or "*",
                        "original_ttl": before,
                        "recommended_ttl": after,
                    }
                )
        return pd.DataFrame(rows)

    def _ttl_rows(self) -> list[tuple[str, str, str]]:
        """Per kind, the original and recommended TTLs as text (platform exceptions in brackets)."""
        frame = self.ttl_frame()
        out = []
        for kind, rows in frame.groupby("kind", sort=False):
            texts = []
            for column in ("original_ttl", "recommended_ttl"):
                default = rows.loc[rows["platform"] == "*", column].iloc[0]
                odd = [
                    f"{r.platform} {_ttl(getattr(r, column))}"
                    for r in rows.itertuples()
                    if r.platform != "*" and getattr(r, column) != default
                ]
                texts.append(_ttl(default) + (f" ({', '.join(odd)})" if odd else ""))
            out.append((str(kind), texts[0], texts[1]))
        return out

    def policy_dict(self) -> dict[str, Any]:
        """The recommended TTLs as a ``VGKIT_CACHE_POLICY`` JSON file holds them."""
        return self.recommended.policy_dict()

    def summary(self) -> str:
        """The text ``vgkit cache tune`` prints."""
        lines = [
            f"trace {self.trace}: fit on the first {self.split_at / 86400:.2f} days, "
            f"held out the rest; L1 budget "
            + (f"{self.budget / 2**20:.1f} MiB" if self.budget is not None else "unlimited"),
            "",
            f"{'configuration':<16} {'part':<9} {'hit ratio':>9} {'whole req':>9} "
            f"{'saved (s)':>11} {'peak MiB':>9} {'mean MiB':>9} {'written MiB':>11}",
        ]
        for part, results in (("fit", self.fit), ("held out", self.held_out)):
            for name, r in results.items():
                lines.append(
                    f"{name:<16} {part:<9} {r.hit_ratio:>9.3f} {r.request_hit_ratio:>9.3f} "
                    f"{r.seconds_saved:>11,.0f} {r.peak_bytes / 2**20:>9.1f} "
                    f"{r.mean_bytes / 2**20:>9.1f} {r.written_bytes / 2**20:>11.1f}"
                )
        rec = self.recommended
        lines += [
            "",
            f"recommended: L1 {_mib(rec.l1_size)}, eviction {rec.eviction}, codec {rec.codec}",
        ]
        for kind, before, after in self._ttl_rows():
            if before != after:
                lines.append(f"  ttl {kind:<11} {before} -> {after}")
        for part in ("fit", "held_out"):
            g = self.gain(part)
            lines.append(
                f"gain on {part.replace('_', ' ')}: {g['extra_seconds_saved']:+,.0f} s saved "
                f"({g['ratio']:.2f}x the original's {g['original_seconds_saved']:,.0f} s), "
                f"hit ratio {g['original_hit_ratio']:.3f} -> {g['recommended_hit_ratio']:.3f}; "
                f"net of staleness (weight {self.staleness_weight:g}) "
                f"{g['original_net_seconds']:,.0f} -> {g['recommended_net_seconds']:,.0f} s, "
                f"stale requests {g['original_stale_fraction']:.1%} -> "
                f"{g['recommended_stale_fraction']:.1%}"
                + (
                    f" (budget {self.stale_budget:.1%})"
                    if self.stale_budget is not None
                    else " (no stale budget)"
                )
            )
        small = self.fit["smaller L1"].config.l1_size
        if small != rec.l1_size:
            lines.append(
                f"an L1 of {_mib(small)} saves {1 - self.tolerance:.0%} of that on the fit part "
                f"but {self._share('held_out'):.0%} on the held-out part: data keeps coming"
            )
        return "\n".join(lines)

    def _share(self, part: str) -> float:
        results = self.held_out if part == "held_out" else self.fit
        full = results["recommended"].seconds_saved
        return results["smaller L1"].seconds_saved / full if full else 1.0

    def to_json(self) -> dict[str, Any]:
        """Everything as JSON-able data (what ``vgkit cache tune --json`` writes)."""
        return {
            "trace": self.trace,
            "budget": self.budget,
            "split_at": self.split_at,
            "tolerance": self.tolerance,
            "baseline": self.baseline.describe(),
            "recommended": self.recommended.describe(),
            "policy": self.policy_dict(),
            "gain": {"fit": self.gain("fit"), "held_out": self.gain("held_out")},
            "fit": {name: r.to_json() for name, r in self.fit.items()},
            "held_out": {name: r.to_json() for name, r in self.held_out.items()},
            "size_curve": self.size_curve.to_dict(orient="records"),
            "stale_budget": self.stale_budget,
            "staleness_weight": self.staleness_weight,
            "front": self.front_records(),
            "steps": [asdict(s) for s in self.steps],
        }

    def front_records(self) -> list[dict[str, Any]]:
        """The staleness path as JSON-able rows (each configuration's TTLs as text)."""
        if self.front is None:
            return []
        return [
            {
                **{str(k): v for k, v in row.items() if k != "config"},
                "ttls": _ttl_text(row["config"]),
            }
            for row in self.front.to_dict(orient="records")
        ]

    def plot_size_curve(self, ax: Axes | None = None) -> Figure:
        """Seconds saved against L1 size, per eviction policy (fit part)."""
        from vgkit.tuning.plots import plot_size_curve

        return plot_size_curve(self.size_curve, ax=ax, chosen=self.recommended)

    def plot_gain(self, ax: Axes | None = None) -> Figure:
        """Seconds saved per configuration, fit and held out."""
        from vgkit.tuning.plots import plot_gain

        return plot_gain(self.to_frame(), ax=ax)


def _ttl_text(config: Candidate) -> str:
    """The TTL of every traced kind (the longest over platforms), e.g. ``script 2 h``."""
    from vgkit.tuning.expansion import KINDS

    parts = []
    for kind in KINDS:
        ttls = [config.ttl(kind, None), *(config.ttl(kind, p.value) for p in Platform)]
        longest = None if any(t is None for t in ttls) else max(t for t in ttls if t is not None)
        parts.append(f"{kind} {_ttl(longest)}")
    return ", ".join(parts)


def _mib(size: int | None) -> str:
    return f"{size / 2**20:.1f} MiB" if size is not None else "unlimited"


def _ttl(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
