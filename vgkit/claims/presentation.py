"""How the flagship report shows its findings: the summary, section tables, charts.

Everything here returns objects a notebook displays (styled tables, figures,
HTML) and formats numbers with their units (:mod:`vgkit.reports.tables`);
verdicts are words (met, not met, fact), which every font renders.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vgkit.claims.base import ORIGINAL_GRADE, Measurement
from vgkit.reports.tables import format_ratio, table

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from pandas.io.formats.style import Styler

    from vgkit.claims.registry import Findings

__all__ = [
    "Html",
    "compliance_table",
    "plot",
    "section_table",
    "show",
    "show_remaining",
    "summary",
    "summary_table",
]

COLOURS = {True: "#2a9d8f", False: "#e63946", None: "#8d99ae"}
VERDICT_CSS = {
    "met": "color: #1b7a3d; font-weight: bold; white-space: nowrap",
    "not met": "color: #b3261e; font-weight: bold; white-space: nowrap",
    "partly met": "color: #9a6700; font-weight: bold; white-space: nowrap",
    "fact": "color: #555; white-space: nowrap",
}


class Html(str):
    """A string a notebook displays as HTML."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        return str(self)


def _verdict_style(value: Any) -> str:
    return VERDICT_CSS.get(str(value), "")


def _value(m: Measurement) -> str:
    return m.measured_text() + (" (assumed)" if m.assumed else "")


def _baseline(m: Measurement) -> str:
    if m.baseline is None:
        return m.baseline_label
    label = f" ({m.baseline_label})" if m.baseline_label else ""
    return m.baseline_text() + label


def summary_table(findings: Findings) -> Styler:
    """Every row of every section: the claim, what was measured, against what, the verdict."""
    import pandas as pd

    rows = [
        {
            "section": findings.title(key),
            "claim": m.claim,
            "measured": m.metric,
            "value": _value(m),
            "baseline": _baseline(m),
            "verdict": m.verdict,
        }
        for key, measurements in findings.by_section.items()
        for m in measurements
    ]
    frame = pd.DataFrame(rows, columns=["section", "claim", "measured", "value", "baseline",
                                        "verdict"])  # fmt: skip
    return table(frame).map(_verdict_style, subset=["verdict"])


def _context_line(context: Mapping[str, Any]) -> str:
    parts = []
    if context.get("machine"):
        cpus = context.get("cpu_count")
        parts.append(f"{context['machine']}, {cpus} CPUs" if cpus else str(context["machine"]))
    if context.get("python"):
        parts.append(f"Python {context['python']}")
    if context.get("vgkit"):
        parts.append(f"vgkit {context['vgkit']}")
    if context.get("commit"):
        state = "uncommitted changes" if context.get("dirty") else "clean"
        branch = f"{context['branch']}, " if context.get("branch") else ""
        parts.append(f"commit {context['commit']} ({branch}{state})")
    if context.get("started_at"):
        parts.append(str(context["started_at"])[:16].replace("T", " ") + " UTC")
    line = " · ".join(html.escape(p) for p in parts)
    load = context.get("load_1m")
    if load is not None:
        line += f" · load average {load:g} at the start"
        if context.get("busy"):
            line += (
                " (<b>a busy machine</b>: other work shared the CPUs, so timings are pessimistic)"
            )
    return line


def summary(findings: Findings, context: Mapping[str, Any] | None = None) -> Html:
    """The report's opening: the grade, the counts behind it, where it ran, then
    every measured row (claim, measured, baseline, verdict in words)."""
    score, letter = findings.grade()
    rows = findings.rows
    graded = [m for m in rows if m.graded]
    met = sum(1 for m in graded if m.met)
    facts = sum(1 for m in rows if m.kind == "fact")
    missed = [m for m in graded if not m.met]
    lines = [
        f'<div class="vg-grade">Grade {letter} ({score:g}/100)</div>',
        f"<p>Recomputed from {len(graded)} graded measurements, {met} of them met; the "
        f"reference graded itself A ({ORIGINAL_GRADE}/100) without measuring."
        + (f" {facts} facts are shown for the record and not graded." if facts else "")
        + "</p>",
    ]
    if missed:
        items = "".join(
            f"<li>{html.escape(m.claim)}: {html.escape(m.metric)} {html.escape(_value(m))}"
            + (f" against {html.escape(_baseline(m))}" if m.baseline is not None else "")
            + f" (target {html.escape(m.target)})</li>"
            for m in missed
        )
        lines.append(f"<p>Not met:</p><ul>{items}</ul>")
    if context:
        lines.append(f"<p>Measured on {_context_line(context)}.</p>")
    box = '<div class="vg-summary">' + "".join(lines) + "</div>"
    return Html(box + summary_table(findings).to_html())


def section_table(rows: Sequence[Measurement]) -> Styler:
    """One section's rows: metric, value, baseline, ratio, target, verdict, notes."""
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "measured": m.metric,
                "value": _value(m),
                "baseline": _baseline(m),
                "ratio": format_ratio(m.ratio) if m.ratio is not None else "",
                "target": m.target,
                "verdict": m.verdict,
                "notes": m.notes,
            }
            for m in rows
        ],
        columns=["measured", "value", "baseline", "ratio", "target", "verdict", "notes"],
    )
    return table(frame).map(_verdict_style, subset=["verdict"])


def compliance_table(findings: Findings) -> Styler:
    """The compliance table, recomputed (verdicts coloured)."""
    frame = findings.compliance()
    return table(frame).map(_verdict_style, subset=["measured"])


def short_label(text: str, chars: int = 60) -> str:
    """``text`` in at most ``chars`` characters: its head and its tail around an ellipsis.

    Rows of one section often differ only at the end ("..., across a 1ms link, http" and
    "..., across a 10ms link, https"), so cutting the tail alone made them identical.
    """
    if len(text) <= chars:
        return text
    head = (chars - 1) * 2 // 5
    return f"{text[:head].rstrip()}…{text[-(chars - 1 - head) :].lstrip()}"


def plot(measurements: Sequence[Measurement], title: str = "") -> Figure:
    """Measured over baseline for every row that has a baseline, on a log axis, green
    where the claim was met, red where not, grey for facts and rows without a verdict.

    A ratio of zero (nothing measured against something) has no place on a log
    axis: its row is labelled "0" at the axis's left edge instead of stretching
    the axis towards zero.
    """
    import math

    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    rows = [m for m in measurements if m.ratio is not None]
    fig = Figure(figsize=(8, 0.6 + 0.45 * max(1, len(rows))), layout="constrained")
    ax = fig.add_subplot()
    if not rows:
        ax.text(0.5, 0.5, "no row has a baseline", ha="center", va="center")
        ax.set_axis_off()
        return fig
    ratios = [abs(m.ratio or 0.0) for m in rows]
    positive = [r for r in ratios if r > 0 and math.isfinite(r)]
    low = min([*positive, 1.0]) / 2
    high = max([*positive, 1.0]) * 2
    labels = [short_label(m.metric) for m in rows]
    for i, (m, r) in enumerate(zip(rows, ratios, strict=True)):
        colour = COLOURS[m.met if m.kind == "claim" else None]
        if r > 0 and math.isfinite(r):
            ax.barh(i, r - low, left=low, color=colour)
            ax.annotate(format_ratio(r), (r, i), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=8)  # fmt: skip
        else:
            ax.annotate("0", (low, i), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=8, color=colour)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlim(low, high * 1.5)
    # Ticks read as ratios (0.5×, 1×, 2×), not as powers of ten.
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_ratio(v, 2)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("measured / baseline (log scale; the line is 1: equal to the baseline)")
    if title:
        ax.set_title(title)
    return fig


def _display(*objects: Any) -> None:
    from IPython.display import display

    for obj in objects:
        display(obj)  # type: ignore[no-untyped-call]


def show(findings: Findings, key: str, *, chart: bool = True) -> None:
    """Display section ``key``: its table and, when a row has a baseline, its chart."""
    rows = findings.section(key)
    findings.shown.add(key)
    objects: list[Any] = [section_table(rows)]
    if chart and any(m.ratio is not None for m in rows):
        objects.append(plot(rows, f"{findings.title(key)}: measured / baseline"))
    _display(*objects)


def show_remaining(findings: Findings) -> None:
    """Display every measured section the notebook has not shown yet (a section
    registered in the package before the notebook got a cell for it)."""
    for key in findings.unshown():
        _display(Html(f"<h3>{html.escape(findings.title(key))}</h3>"))
        show(findings, key)
