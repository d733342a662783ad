"""``vgkit report NAME [-p key value ...]``: run a notebook into a reproducible report."""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path
from typing import Any

from vgkit.config import settings
from vgkit.errors import ReportError
from vgkit.reports import (
    DEFAULT_TOLERANCE,
    REPORT_DIR_PARAMETER,
    available_reports,
    compare_reports,
    notebook_parameters,
    notebook_path,
    run_report,
)

#: ``vgkit report compare ...`` compares report folders; no notebook may take the name.
COMPARE = "compare"

_NUMBERS = {"int": (int,), "float": (int, float)}


def parse_value(raw: str, type_name: str | None = None, name: str = "value") -> Any:
    """A command-line value: JSON (numbers, true/false/null, lists, objects) or text.

    ``type_name`` is the type of the notebook's default: a string default keeps
    the text as it is (``-p topic 42`` passes ``"42"``); a numeric default
    requires a number.
    """
    if type_name == "str":
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        # Python spellings, as the notebook's parameters cell shows them.
        value = {"True": True, "False": False, "None": None}.get(raw, raw)
    wanted = _NUMBERS.get(type_name or "")
    if wanted and (isinstance(value, bool) or not isinstance(value, wanted)):
        raise ReportError(f"parameter {name} takes a number ({type_name}), not {raw!r}")
    return value


def _default_type(spec: dict[str, Any]) -> str | None:
    """The type of a parameter's default (``float`` for ``rate = 40.0``), else papermill's guess."""
    try:
        value = ast.literal_eval(str(spec.get("default")))
    except (ValueError, SyntaxError):
        return spec.get("inferred_type_name")
    return type(value).__name__


def _describe(name: str) -> str:
    params = notebook_parameters(notebook_path(name))
    shown = [
        f"  {key} = {spec.get('default')}" + (f"  # {spec['help']}" if spec.get("help") else "")
        for key, spec in params.items()
        if key != REPORT_DIR_PARAMETER
    ]
    return "\n".join([f"{name}:"] + (shown or ["  (no parameters)"]))


def _newest_report() -> Path:
    root = settings().reports_dir
    found = sorted(
        (p for p in root.glob("*/provenance.json") if p.parent.name != "examples"),
        key=lambda p: p.stat().st_mtime,
    )
    if not found:
        raise ReportError(
            f"no report in {root}/ to compare; run one (vgkit report performance) or name "
            "two report folders"
        )
    return found[-1].parent


def cmd_compare(args: argparse.Namespace) -> int:
    """``vgkit report compare [BASELINE ...] [CANDIDATE]``: exit 1 when a metric regressed."""
    folders = [Path(f) for f in args.folders]
    if args.show_code:
        raise ReportError("--show-code applies to running a report, not to compare")
    candidate = folders[-1] if folders else _newest_report()
    baseline: list[Path] | None = folders[:-1] or None
    comparison = compare_reports(baseline, candidate, tolerance=args.tolerance)
    print(comparison.text(all_rows=args.all))
    if args.json:
        Path(args.json).write_text(comparison.frame.to_json(orient="records", indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if comparison.ok else 1


def cmd_report(args: argparse.Namespace) -> int:
    if args.name == COMPARE:
        return cmd_compare(args)
    if args.folders:
        raise ReportError(
            f"unexpected {' '.join(args.folders)}: a report takes parameters as -p KEY VALUE"
        )
    if args.list:
        names = available_reports()
        print("\n".join(_describe(n) for n in names) if names else "no notebooks found")
        return 0
    if args.name is None:
        listing = ", ".join(available_reports()) or "none"
        raise ReportError(f"name a report to run; available reports: {listing}")
    types = {
        key: _default_type(spec)
        for key, spec in notebook_parameters(notebook_path(args.name)).items()
    }
    parameters = {key: parse_value(value, types.get(key), key) for key, value in args.param or ()}
    report = run_report(
        args.name,
        parameters,
        Path(args.out) if args.out else None,
        cell_timeout=args.cell_timeout,
        progress=not args.no_progress,
        show_code=args.show_code,
    )
    print(report.summary())
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="run a notebook with papermill into reports/NAME-<timestamp>/ (HTML, results, "
        "provenance); 'report compare A B' compares two reports",
        description="Report names are the notebooks in notebooks/ (VGKIT_NOTEBOOKS_DIR). "
        "'vgkit report compare [BASELINE] [CANDIDATE]' puts two report folders side by side "
        "and exits 1 when a metric regressed beyond its run-to-run spread; the baseline "
        "defaults to the committed example report (reports/examples/NAME), the candidate "
        "to the newest report.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "name", nargs="?", help="the report (notebook) to run, or 'compare'; --list shows them"
    )
    p.add_argument(
        "folders",
        nargs="*",
        metavar="FOLDER",
        help="compare: report folders, the baseline(s) first and the candidate last",
    )
    p.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        metavar=("KEY", "VALUE"),
        help="a notebook parameter; VALUE is JSON (3, 0.5, true, [1,2]) or plain text",
    )
    p.add_argument("--out", metavar="DIR", help="reports root (default: VGKIT_REPORTS_DIR)")
    p.add_argument("--list", action="store_true", help="list reports and their parameters")
    p.add_argument("--cell-timeout", type=float, default=600.0, help="seconds per cell")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--show-code", action="store_true", help="keep the code cells in the HTML page")
    p.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help=f"compare: smallest change flagged when no run saw a wider spread "
        f"(default {DEFAULT_TOLERANCE:g})",
    )
    p.add_argument("--all", action="store_true", help="compare: list every metric")
    p.add_argument("--json", metavar="FILE", help="compare: write every row as JSON")
    p.set_defaults(handler=cmd_report)
