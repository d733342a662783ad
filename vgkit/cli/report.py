"""``vgkit report NAME [-p key value ...]``: run a notebook into a reproducible report."""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path
from typing import Any

from vgkit.errors import ReportError
from vgkit.reports import (
    REPORT_DIR_PARAMETER,
    available_reports,
    notebook_parameters,
    notebook_path,
    run_report,
)

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


def cmd_report(args: argparse.Namespace) -> int:
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
    )
    print(report.summary())
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="run a notebook with papermill into reports/NAME-<timestamp>/ (HTML, results, "
        "provenance)",
        description="Report names are the notebooks in notebooks/ (VGKIT_NOTEBOOKS_DIR).",
    )
    p.add_argument("name", nargs="?", help="the report (notebook) to run; --list shows them")
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
    p.set_defaults(handler=cmd_report)
