"""Two reports side by side: each metric's change, and the rows that regressed.

``compare_reports(baseline, candidate)`` reads what two report folders saved in
``results/``: ``measurements.json`` (rows of a measured claim: ``section``,
``metric``, ``measured``, ``unit``, and where known ``better`` -- ``higher`` or
``lower`` -- and ``spread``, the relative run-to-run spread the run itself saw),
plus every other result that is a flat mapping of numbers (``summary.json`` of
the load test, ``grade.json``), whose direction is read from the key's name
(``p99_ms`` lower is better, ``throughput_rps`` and ``score`` higher).

A row *regressed* when it moved the wrong way by more than its tolerance: the
larger of the spread either run recorded for it, the spread between several
baseline runs (pass a list of folders), and ``tolerance`` (default 15%). A
claim that was met and no longer is regressed too. The committed example
report (``reports/examples/NAME``) is the default baseline: a user sees at once
whether their machine or their change is slower.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from vgkit.config import PROJECT_ROOT
from vgkit.errors import ReportError
from vgkit.reports.store import RESULTS_DIR, load_result
from vgkit.reports.tables import format_percent, format_quantity, unit_of_column

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

__all__ = [
    "DEFAULT_TOLERANCE",
    "EXAMPLES_DIR",
    "ReportComparison",
    "compare_reports",
    "example_report",
]

DEFAULT_TOLERANCE = 0.15
"""Smallest relative change counted as a regression when no run recorded a wider spread."""
EXAMPLES_DIR = PROJECT_ROOT / "reports" / "examples"
MEASUREMENTS = "measurements"

#: Statuses, worst first (the order rows are listed in).
REGRESSED, CLAIM_LOST = "regressed", "claim no longer met"
STATUS_ORDER = (
    CLAIM_LOST, REGRESSED, "improved", "claim now met", "within spread", "changed", "same",
    "no direction", "only in baseline", "only in candidate",
)  # fmt: skip

Source = str | Path | Sequence[str | Path] | Any  # a folder, several, or a measurements frame


def example_report(name: str = "performance") -> Path:
    """The committed example report ``reports/examples/NAME`` (ReportError if none)."""
    folder = EXAMPLES_DIR / name
    if not (folder / RESULTS_DIR).is_dir():
        have = sorted(p.name for p in EXAMPLES_DIR.iterdir()) if EXAMPLES_DIR.is_dir() else []
        raise ReportError(
            f"no example report named {name!r} in reports/examples (have: "
            f"{', '.join(have) or 'none'}); pass the baseline report's folder instead"
        )
    return folder


def _direction(key: str) -> str | None:
    lowered = key.lower()
    if any(w in lowered for w in ("throughput", "rps", "score", "hit_ratio", "saved")):
        return "higher"
    if unit_of_column(lowered) in {"ms", "s"} or any(
        w in lowered for w in ("latency", "p99", "p50", "p90", "p95", "error", "dropped")
    ):
        return "lower"
    return None


def _rows_of(folder: Path) -> list[dict[str, Any]]:
    """Every comparable number a report folder saved, as rows."""
    rows: list[dict[str, Any]] = []
    results = folder / RESULTS_DIR
    if not results.is_dir():
        raise ReportError(f"{folder} has no {RESULTS_DIR}/ folder; is it a report folder?")
    for path in sorted(results.glob("*.json")):
        name = path.stem
        data = load_result(folder, name)
        if name == MEASUREMENTS and isinstance(data, list):
            rows += [_measurement_row(r) for r in data if isinstance(r, Mapping)]
        elif isinstance(data, Mapping):
            for key, value in data.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    rows.append(
                        {
                            "section": name,
                            "metric": str(key),
                            "measured": float(value),
                            "unit": unit_of_column(str(key)),
                            "better": _direction(str(key)),
                            "spread": None,
                            "met": None,
                            "kind": "figure",
                        }
                    )
    return rows


def _measurement_row(row: Mapping[str, Any]) -> dict[str, Any]:
    measured = row.get("measured")
    return {
        "section": str(row.get("section", "")),
        "metric": str(row.get("metric", "")),
        "measured": float(measured) if isinstance(measured, int | float) else math.nan,
        "unit": str(row.get("unit") or ""),
        "better": row.get("better"),
        "spread": row.get("spread"),
        "met": row.get("met"),
        "kind": row.get("kind") or "claim",
    }


def _context(folder: Path) -> dict[str, Any]:
    path = folder / "provenance.json"
    if not path.is_file():
        return {"folder": folder}
    prov = orjson.loads(path.read_bytes())
    git = prov.get("git") or {}
    machine = prov.get("machine") or {}
    load = machine.get("load_average") or {}
    return {
        "folder": folder,
        "commit": (git.get("commit") or "")[:10] or None,
        "dirty": git.get("dirty"),
        "cpu_count": machine.get("cpu_count"),
        "load_1m": load.get("1m"),
        "started_at": prov.get("started_at"),
        "parameters": prov.get("parameters") or {},
    }


def _describe(context: Mapping[str, Any], label: str) -> str:
    folder = context.get("folder")
    parts = [f"{label:<9} {_shown(folder) if isinstance(folder, Path) else folder}"]
    if context.get("commit"):
        parts.append(f"commit {context['commit']}" + (" (dirty)" if context.get("dirty") else ""))
    if context.get("cpu_count"):
        parts.append(f"{context['cpu_count']} CPUs")
    if context.get("load_1m") is not None:
        parts.append(f"load {context['load_1m']:g}")
    if context.get("started_at"):
        parts.append(str(context["started_at"])[:16].replace("T", " "))
    return " · ".join(parts)


def _shown(path: Path) -> str:
    for base in (Path.cwd(), PROJECT_ROOT):
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


def _load(source: Source) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Rows per run and the runs' contexts, from folders or a measurements frame."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        frame = source.astype(object).where(source.notna(), None)
        rows = [
            _measurement_row({str(k): v for k, v in r.items()})
            for r in frame.to_dict(orient="records")
        ]
        return [rows], [{"folder": "this run"}]
    folders = [source] if isinstance(source, str | Path) else list(source)
    if not folders:
        raise ReportError("compare needs at least one report folder on each side")
    paths = [Path(f) for f in folders]
    for path in paths:
        if not path.is_dir():
            raise ReportError(f"no report folder at {path}")
    return [_rows_of(p) for p in paths], [_context(p) for p in paths]


def _key(row: Mapping[str, Any]) -> tuple[str, str]:
    return (row["section"], row["metric"])


def _merge(runs: list[list[dict[str, Any]]]) -> dict[tuple[str, str], dict[str, Any]]:
    """One row per metric: the median over runs, and the spread the runs show."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for rows in runs:
        for row in rows:
            merged.setdefault(_key(row), {**row, "values": []})["values"].append(row["measured"])
    for row in merged.values():
        values = [v for v in row.pop("values") if not math.isnan(v)]
        row["measured"] = statistics.median(values) if values else math.nan
        centre = abs(row["measured"]) if values else 0.0
        runs_spread = max((abs(v - row["measured"]) for v in values), default=0.0)
        row["runs_spread"] = runs_spread / centre if centre > 0 and len(values) > 1 else None
    return merged


def _status(base: Mapping[str, Any], cand: Mapping[str, Any], tol: float) -> tuple[str, float]:
    b, c = base["measured"], cand["measured"]
    if math.isnan(b) or math.isnan(c):
        return "changed" if math.isnan(b) != math.isnan(c) else "same", math.nan
    change = (c - b) / abs(b) if b != 0 else (0.0 if c == 0 else math.copysign(math.inf, c))
    if base.get("kind") == "fact" or cand.get("kind") == "fact":
        return ("same" if c == b else "changed"), change
    if base.get("met") is True and cand.get("met") is False:
        return CLAIM_LOST, change
    better = cand.get("better") or base.get("better")
    # Relative to the larger value when the baseline is zero: 0 -> 0.02 is a full change.
    moved = abs(change) if b != 0 else (0.0 if c == 0 else 1.0)
    worse = (better == "higher" and c < b) or (better == "lower" and c > b)
    if better not in ("higher", "lower"):
        status = "no direction" if c != b else "same"
    elif moved <= tol:
        status = "same" if c == b else "within spread"
    else:
        status = REGRESSED if worse else "improved"
    if status != REGRESSED and base.get("met") is False and cand.get("met") is True:
        status = "claim now met"
    return status, change


@dataclass(frozen=True)
class ReportComparison:
    """The outcome of :func:`compare_reports`: one row per metric, and both runs' context."""

    frame: pd.DataFrame
    baseline: list[dict[str, Any]]
    candidate: list[dict[str, Any]]
    tolerance: float
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> pd.DataFrame:
        """The rows that regressed (beyond their spread) or whose claim is no longer met."""
        return self.frame[self.frame["status"].isin([REGRESSED, CLAIM_LOST])]

    @property
    def ok(self) -> bool:
        """No regression."""
        return self.regressions.empty

    def text(self, *, all_rows: bool = False, width: int = 64) -> str:
        """What ``vgkit report compare`` prints: the runs, then a line per metric
        (regressed, improved and changed verdicts; every row with ``all_rows``)."""
        lines = [_describe(c, "baseline") for c in self.baseline]
        lines += [_describe(c, "candidate") for c in self.candidate]
        lines += [f"note: {n}" for n in self.notes]
        shown = self.frame if all_rows else self.frame[~self.frame["status"].isin(_QUIET)]
        if len(shown):
            lines.append("")
            lines.append(
                f"{'metric':<{width}} {'baseline':>14} {'candidate':>14} {'change':>8} "
                f"{'tolerance':>9}  status"
            )
        for row in shown.itertuples(index=False):
            name = f"{row.section}: {row.metric}"
            name = name if len(name) <= width else name[: width - 3] + "..."
            lines.append(
                f"{name:<{width}} {row.baseline_text:>14} {row.candidate_text:>14} "
                f"{row.change_text:>8} {row.tolerance_text:>9}  {row.status}"
            )
        count = len(self.regressions)
        lines.append("")
        lines.append(
            f"{count} of {len(self.frame)} metrics regressed beyond their run-to-run spread"
            if count
            else f"no regression: {len(self.frame)} metrics compared"
        )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def styled(self) -> Styler:
        """The comparison as a styled table, regressions highlighted."""
        from vgkit.reports.tables import table

        columns = ["section", "metric", "baseline_text", "candidate_text", "change_text",
                   "tolerance_text", "status"]  # fmt: skip
        view = self.frame[columns].rename(
            columns={
                "baseline_text": "baseline",
                "candidate_text": "candidate",
                "change_text": "change",
                "tolerance_text": "tolerance",
            }
        )
        bad = {REGRESSED, CLAIM_LOST}

        def highlight(row: pd.Series) -> list[str]:
            colour = "background-color: #fde2e1" if row["status"] in bad else ""
            return [colour] * len(row)

        return table(view).apply(highlight, axis=1)

    def _repr_html_(self) -> str:
        head = "<br>".join(
            _describe(c, label)
            for label, contexts in (("baseline", self.baseline), ("candidate", self.candidate))
            for c in contexts
        )
        count = len(self.regressions)
        verdict = (
            f"<b>{count} of {len(self.frame)} metrics regressed</b> beyond their run-to-run spread"
            if count
            else f"<b>No regression</b> in {len(self.frame)} metrics"
        )
        notes = "".join(f"<br>{n}" for n in self.notes)
        return f"<p>{head}{notes}</p><p>{verdict}</p>" + self.styled().to_html()


_QUIET = frozenset({"same", "within spread", "no direction"})


def compare_reports(
    baseline: Source | None,
    candidate: Source,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> ReportComparison:
    """Compare ``candidate`` with ``baseline`` (see the module docstring).

    Each side is a report folder, a list of folders (several runs of one report:
    their spread widens the tolerance) or, for the candidate inside a running
    notebook, the measurements frame itself. ``baseline=None`` takes the
    committed example report of the candidate's name.
    """
    import pandas as pd

    if not (0 <= tolerance < 10 and math.isfinite(tolerance)):
        raise ReportError(f"tolerance is a share such as 0.15, not {tolerance}")
    if baseline is None:
        baseline = example_report(_report_name(candidate))
    base_runs, base_ctx = _load(baseline)
    cand_runs, cand_ctx = _load(candidate)
    if isinstance(candidate, pd.DataFrame) or isinstance(baseline, pd.DataFrame):
        # A measurements frame has no other results: compare the measurements only.
        base_runs = [[r for r in rows if r["kind"] != "figure"] for rows in base_runs]
        cand_runs = [[r for r in rows if r["kind"] != "figure"] for rows in cand_runs]
    base, cand = _merge(base_runs), _merge(cand_runs)
    rows = []
    for key in list(base) + [k for k in cand if k not in base]:
        b, c = base.get(key), cand.get(key)
        ref = b if b is not None else c
        assert ref is not None
        spreads = [
            s
            for row in (b, c)
            if row is not None
            for s in (row.get("spread"), row.get("runs_spread"))
            if isinstance(s, int | float) and math.isfinite(s)
        ]
        tol = max([tolerance, *spreads])
        if b is None or c is None:
            status, change = ("only in candidate" if b is None else "only in baseline"), math.nan
        else:
            status, change = _status(b, c, tol)
        unit = str(ref.get("unit") or "")
        rows.append(
            {
                "section": key[0],
                "metric": key[1],
                "unit": unit,
                "baseline": b["measured"] if b else math.nan,
                "candidate": c["measured"] if c else math.nan,
                "change": change,
                "tolerance": tol,
                "better": ref.get("better"),
                "status": status,
                "baseline_text": format_quantity(b["measured"], unit) if b else "–",
                "candidate_text": format_quantity(c["measured"], unit) if c else "–",
                "change_text": _change_text(change),
                "tolerance_text": "±" + format_percent(tol, 2),
            }
        )
    frame = pd.DataFrame(rows)
    if len(frame):
        order = {s: i for i, s in enumerate(STATUS_ORDER)}
        frame = frame.sort_values(
            "status", key=lambda s: s.map(order), kind="stable", ignore_index=True
        )
    return ReportComparison(
        frame=frame,
        baseline=base_ctx,
        candidate=cand_ctx,
        tolerance=tolerance,
        notes=_notes(base_ctx, cand_ctx),
    )


def _change_text(change: float) -> str:
    if math.isnan(change):
        return "–"
    if math.isinf(change):
        return "from 0"
    return ("+" if change > 0 else "") + format_percent(change, 2)


def _report_name(source: Source) -> str:
    if isinstance(source, str | Path):
        prov = Path(source) / "provenance.json"
        if prov.is_file():
            name = orjson.loads(prov.read_bytes()).get("report")
            if isinstance(name, str) and name:
                return name
    return "performance"


def _notes(base: list[dict[str, Any]], cand: list[dict[str, Any]]) -> list[str]:
    notes = []
    b, c = base[0], cand[0]
    if b.get("cpu_count") and c.get("cpu_count") and b["cpu_count"] != c["cpu_count"]:
        notes.append(
            f"the runs had {b['cpu_count']} and {c['cpu_count']} CPUs: timings differ by machine"
        )
    loads = [(x.get("load_1m"), x.get("cpu_count") or 1) for x in (b, c)]
    busy = [load is not None and load > 0.5 * cpus for load, cpus in loads]
    if busy[0] != busy[1]:
        which = "candidate" if busy[1] else "baseline"
        notes.append(f"the {which} ran on a busy machine (load average above half the CPUs)")
    bp, cp = b.get("parameters") or {}, c.get("parameters") or {}
    differ = sorted(k for k in set(bp) | set(cp) if bp.get(k) != cp.get(k))
    if differ and bp and cp:
        shown = ", ".join(f"{k} {bp.get(k)!r} -> {cp.get(k)!r}" for k in differ[:4])
        notes.append(f"the runs used different parameters: {shown}")
    return notes
