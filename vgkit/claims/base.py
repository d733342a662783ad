"""What a measured claim is, and how measurements become a table and a grade."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from vgkit.agents import TemplateBackend
from vgkit.agents.cost import CostModel
from vgkit.reports.tables import format_quantity, format_ratio

if TYPE_CHECKING:
    import pandas as pd

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
IMPLEMENTED, PARTIAL = "implemented", "partial"
#: The reference's own verdicts and grade.
ORIGINAL_COMPLIANCE: dict[str, str] = dict.fromkeys(SECTIONS, IMPLEMENTED) | {
    "Event Architecture": PARTIAL
}
ORIGINAL_GRADE = 92
#: Verdicts of a compliance row, in words (glyphs are missing from many fonts).
MET, PARTLY_MET, NOT_MET, NOT_MEASURED = "met", "partly met", "not met", "not measured"

Kind = Literal["claim", "fact"]
Better = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """One claim of the reference, measured, with its baseline and verdict.

    ``kind="fact"`` marks a row shown for the record but not graded (a
    configuration that equals the original, a node count). ``better`` says
    which way ``measured`` improves and ``spread`` is the relative spread the
    run saw between its own repeats: ``vgkit report compare`` flags a row that
    moved the wrong way by more than that. ``assumed`` marks a figure that
    echoes a configured input (a cost model's sleep) rather than real work.
    """

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
    kind: Kind = "claim"
    better: Better | None = None
    spread: float | None = None
    assumed: bool = False

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.measured / self.baseline

    @property
    def graded(self) -> bool:
        """Whether the row counts in the compliance table and the grade."""
        return self.kind == "claim" and self.met is not None

    @property
    def verdict(self) -> str:
        """``met``, ``not met``, ``fact`` or ``no verdict``."""
        if self.kind == "fact":
            return "fact"
        return "no verdict" if self.met is None else MET if self.met else NOT_MET

    def measured_text(self) -> str:
        return format_quantity(self.measured, self.unit)

    def baseline_text(self) -> str:
        if self.baseline is None:
            return ""
        return format_quantity(self.baseline, self.unit)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        return out


COLUMNS = (
    "section", "claim", "metric", "measured", "unit", "baseline", "baseline_label",
    "ratio", "target", "met", "notes", "kind", "better", "spread", "assumed",
)  # fmt: skip


def to_frame(measurements: Sequence[Measurement]) -> pd.DataFrame:
    """Measurements as a table (one row each)."""
    import pandas as pd

    return pd.DataFrame([m.as_dict() for m in measurements], columns=list(COLUMNS))


def relative_spread(values: Sequence[float]) -> float | None:
    """Half the range of ``values`` over their mean (None for fewer than two)."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    return (max(values) - min(values)) / 2 / abs(mean) if mean else None


def seeded_cost(time_scale: float, seed: int) -> CostModel:
    return CostModel(TemplateBackend(), "seed", time_scale=time_scale, seed=seed)


def _rows(measurements: Sequence[Measurement]) -> list[str]:
    """The reference's compliance rows, then any row a newer section adds."""
    extra = [m.section for m in measurements if m.section not in SECTIONS]
    return [*SECTIONS, *dict.fromkeys(extra)]


def compliance(measurements: Sequence[Measurement]) -> pd.DataFrame:
    """The reference's compliance table, recomputed: a row per section, verdicts in words.

    Rows a newer section adds (not in the reference's table) come after the
    reference's, with ``original`` "not in the reference"; they do not count in
    :func:`grade`.
    """
    import pandas as pd

    rows = []
    for section in _rows(measurements):
        mine = [m for m in measurements if m.section == section and m.graded]
        met = sum(1 for m in mine if m.met)
        if not mine:
            status = NOT_MEASURED
        elif met == len(mine):
            status = MET
        elif met:
            status = PARTLY_MET
        else:
            status = NOT_MET
        rows.append(
            {
                "feature": section,
                "original": ORIGINAL_COMPLIANCE.get(section, "not in the reference"),
                "measured": status,
                "claims met": f"{met} of {len(mine)}",
                "evidence": "; ".join(f"{m.metric}: {_fmt(m)}" for m in mine),
            }
        )
    return pd.DataFrame(rows)


def grade(measurements: Sequence[Measurement]) -> tuple[float, str]:
    """Score out of 100 (each of the reference's sections weighs the same; a section
    scores the share of its graded claims met; unmeasured sections score 0) and its
    letter. Facts and sections the reference does not list do not count."""
    per_section = 100 / len(SECTIONS)
    score = 0.0
    for section in SECTIONS:
        mine = [m for m in measurements if m.section == section and m.graded]
        if mine:
            score += per_section * sum(1 for m in mine if m.met) / len(mine)
    letter = "A" if score >= 90 else "B" if score >= 80 else "C" if score >= 70 else "D"
    return round(score, 1), letter


def _fmt(m: Measurement) -> str:
    value = m.measured_text()
    if m.ratio is not None:
        value += f" ({format_ratio(m.ratio)} vs {m.baseline_label})"
    return value + ("" if m.met else ", not met")


def verdict(measurements: Sequence[Measurement]) -> str:
    """A Markdown paragraph: the recomputed grade next to the reference's own."""
    score, letter = grade(measurements)
    judged = [m for m in measurements if m.graded]
    met = sum(1 for m in judged if m.met)
    missed = [m for m in judged if not m.met]
    text = (
        f"**Recomputed grade: {letter} ({score:g}/100)** against the reference's own "
        f"A ({ORIGINAL_GRADE}/100): {met} of {len(judged)} graded claims met."
    )
    if missed:
        text += " Not met: " + "; ".join(f"{m.metric} ({_fmt(m)})" for m in missed) + "."
    return text
