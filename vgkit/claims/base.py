"""What a measured claim is, and how measurements become a table and a grade."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from vgkit.agents import TemplateBackend
from vgkit.agents.cost import CostModel

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

TOPIC = "How solar panels turn sunlight into electricity"

#: The rows of the reference's compliance table, in its order.
SECTIONS: tuple[str, ...] = (
    "Connection Pooling",
    "Parallel Execution",
    "Resource Optimization",
    "Caching",
    "Async Execution",
    "Session Isolation",
    "Event Architecture",
    "Observability",
)
#: The reference's own verdicts (✅ implemented, ⚠️ partial) and grade.
ORIGINAL_COMPLIANCE: dict[str, str] = dict.fromkeys(SECTIONS, "✅") | {"Event Architecture": "⚠️"}
ORIGINAL_GRADE = 92


@dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """One claim of the reference, measured, with its baseline and verdict."""

    section: str
    claim: str
    metric: str
    measured: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""
    met: bool | None = None
    notes: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.measured / self.baseline

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        return out


def to_frame(measurements: Sequence[Measurement]) -> pd.DataFrame:
    """Measurements as a table (one row each)."""
    import pandas as pd

    columns = [
        "section", "claim", "metric", "measured", "unit", "baseline", "baseline_label",
        "ratio", "target", "met", "notes",
    ]  # fmt: skip
    return pd.DataFrame([m.as_dict() for m in measurements], columns=columns)


def seeded_cost(time_scale: float, seed: int) -> CostModel:
    return CostModel(TemplateBackend(), "seed", time_scale=time_scale, seed=seed)


def compliance(measurements: Sequence[Measurement]) -> pd.DataFrame:
    """The reference's compliance table, recomputed: a row per section."""
    import pandas as pd

    rows = []
    for section in SECTIONS:
        mine = [m for m in measurements if m.section == section and m.met is not None]
        met = sum(1 for m in mine if m.met)
        if not mine:
            status = "not measured"
        elif met == len(mine):
            status = "✅"
        elif met:
            status = "⚠️"
        else:
            status = "❌"
        rows.append(
            {
                "feature": section,
                "original": ORIGINAL_COMPLIANCE[section],
                "measured": status,
                "claims met": f"{met}/{len(mine)}",
                "evidence": "; ".join(f"{m.metric}: {_fmt(m)}" for m in mine),
            }
        )
    return pd.DataFrame(rows)


def grade(measurements: Sequence[Measurement]) -> tuple[float, str]:
    """Score out of 100 (each section weighs the same; a section scores the share of
    its claims met; unmeasured sections score 0) and its letter."""
    per_section = 100 / len(SECTIONS)
    score = 0.0
    for section in SECTIONS:
        mine = [m for m in measurements if m.section == section and m.met is not None]
        if mine:
            score += per_section * sum(1 for m in mine if m.met) / len(mine)
    letter = "A" if score >= 90 else "B" if score >= 80 else "C" if score >= 70 else "D"
    return round(score, 1), letter


def _fmt(m: Measurement) -> str:
    value = f"{m.measured:.3g} {m.unit}"
    if m.ratio is not None:
        value += f" (ratio {m.ratio:.3g} vs {m.baseline_label})"
    return value + ("" if m.met else " NOT MET")


def plot(measurements: Sequence[Measurement], title: str = "") -> Figure:
    """Measured over baseline for every row that has a baseline (log scale), green
    where the claim was met, red where not, grey where there is no verdict."""
    from matplotlib.figure import Figure

    rows = [m for m in measurements if m.ratio is not None]
    fig = Figure(figsize=(8, 0.5 + 0.45 * max(1, len(rows))), layout="constrained")
    ax = fig.add_subplot()
    if not rows:
        ax.text(0.5, 0.5, "no row has a baseline", ha="center", va="center")
        ax.set_axis_off()
        return fig
    colours = {True: "#2a9d8f", False: "#e63946", None: "#8d99ae"}
    labels = [m.metric if len(m.metric) <= 60 else m.metric[:57] + "..." for m in rows]
    ratios = [abs(m.ratio or 0) or 1e-9 for m in rows]
    ax.barh(range(len(rows)), ratios, color=[colours[m.met] for m in rows])
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("measured / baseline (log scale)")
    for i, m in enumerate(rows):
        ax.annotate(f"{m.ratio:.3g}", (ratios[i], i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8)  # fmt: skip
    if title:
        ax.set_title(title)
    return fig


def verdict(measurements: Sequence[Measurement]) -> str:
    """A Markdown paragraph: the recomputed grade next to the reference's own."""
    score, letter = grade(measurements)
    judged = [m for m in measurements if m.met is not None]
    met = sum(1 for m in judged if m.met)
    missed = [m for m in judged if not m.met]
    text = (
        f"**Recomputed grade: {letter} ({score:g}/100)** against the reference's own "
        f"A ({ORIGINAL_GRADE}/100): {met} of {len(judged)} measured claims met."
    )
    if missed:
        text += " Not met: " + "; ".join(f"{m.metric} ({_fmt(m)})" for m in missed) + "."
    return text
