"""Reports: a notebook run with papermill into a folder that explains itself.

``run_report("load-test", {"seed": 3})`` executes ``notebooks/load-test.ipynb``
into ``reports/load-test-<UTC timestamp>/``::

    load-test.html      the page to read: code hidden (show_code=True keeps it),
                        cells tagged to hide left out, numbers with units
    load-test.ipynb     the executed notebook (parameters injected after the `parameters` cell)
    results/            what the notebook saved with save_result (JSON, and CSV for tables)
    provenance.json     git commit and dirtiness, package versions, Python, machine and
                        its load, parameters, seeds, Redis version (when a Redis URL is
                        in play), timings and the notebook's section headings

The runner injects one extra parameter, ``report_dir``: ``"."``, because the
notebook runs inside its report folder (paths it saves or prints are
relative). A notebook run by hand has ``report_dir = None`` and
:func:`save_result` then saves nothing.

:func:`compare_reports` puts two report folders side by side and flags the
metrics that regressed beyond their run-to-run spread (``vgkit report compare``);
:func:`table` and :func:`format_quantity` format numbers with their units.

Modules: :mod:`~vgkit.reports.runner` (running), :mod:`~vgkit.reports.provenance`,
:mod:`~vgkit.reports.store` (results), :mod:`~vgkit.reports.html` (the page),
:mod:`~vgkit.reports.tables` (numbers and units), :mod:`~vgkit.reports.compare`.
"""

from vgkit.reports.compare import (
    DEFAULT_TOLERANCE,
    ReportComparison,
    compare_reports,
    example_report,
)
from vgkit.reports.html import HIDE_CELL_TAGS, HIDE_INPUT_TAGS, HIDE_OUTPUT_TAGS, export_html
from vgkit.reports.provenance import KEY_PACKAGES, portable_path, provenance, run_context
from vgkit.reports.runner import (
    DEFAULT_CELL_TIMEOUT,
    KERNEL_NAME,
    REPORT_DIR_PARAMETER,
    Report,
    available_reports,
    effective_parameters,
    kernel_name,
    notebook_parameters,
    notebook_path,
    run_report,
)
from vgkit.reports.store import load_result, save_result
from vgkit.reports.tables import format_quantity, set_display_options, table

__all__ = [
    "DEFAULT_CELL_TIMEOUT",
    "DEFAULT_TOLERANCE",
    "HIDE_CELL_TAGS",
    "HIDE_INPUT_TAGS",
    "HIDE_OUTPUT_TAGS",
    "KERNEL_NAME",
    "KEY_PACKAGES",
    "REPORT_DIR_PARAMETER",
    "Report",
    "ReportComparison",
    "available_reports",
    "compare_reports",
    "effective_parameters",
    "example_report",
    "export_html",
    "format_quantity",
    "kernel_name",
    "load_result",
    "notebook_parameters",
    "notebook_path",
    "portable_path",
    "provenance",
    "run_context",
    "run_report",
    "save_result",
    "set_display_options",
    "table",
]
