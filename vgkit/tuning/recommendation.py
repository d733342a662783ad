"""A recommended cache configuration, the evidence for it, and what it gains."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from vgkit.platforms import Platform
from vgkit.tuning.candidate import Candidate
from vgkit.tuning.evaluation import SimulationResult, results_frame

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Recommendation", "Step"]


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

    def gain(self, part: str = "held_out") -> dict[str, float]:
        """Seconds saved by the original configuration and the recommended one on
        ``part`` (``fit`` or ``held_out``), their difference and ratio."""
        results = self.held_out if part == "held_out" else self.fit
        before = results["original"].seconds_saved
        after = results["recommended"].seconds_saved
        return {
            "original_seconds_saved": before,
            "recommended_seconds_saved": after,
            "extra_seconds_saved": after - before,
            "ratio": after / before if before else float("inf"),
            "original_hit_ratio": results["original"].hit_ratio,
            "recommended_hit_ratio": results["recommended"].hit_ratio,
        }

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
                f"hit ratio {g['original_hit_ratio']:.3f} -> {g['recommended_hit_ratio']:.3f}"
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
            "steps": [asdict(s) for s in self.steps],
        }

    def plot_size_curve(self, ax: Axes | None = None) -> Figure:
        """Seconds saved against L1 size, per eviction policy (fit part)."""
        from vgkit.tuning.plots import plot_size_curve

        return plot_size_curve(self.size_curve, ax=ax, chosen=self.recommended)

    def plot_gain(self, ax: Axes | None = None) -> Figure:
        """Seconds saved per configuration, fit and held out."""
        from vgkit.tuning.plots import plot_gain

        return plot_gain(self.to_frame(), ax=ax)


def _mib(size: int | None) -> str:
    return f"{size / 2**20:.1f} MiB" if size is not None else "unlimited"


def _ttl(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
