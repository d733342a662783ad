"""The HTML page of a report: an executed notebook rendered for reading.

Code is hidden unless asked for (``show_code``): a reader sees prose, tables and
figures. Cell tags hide more (the Jupyter Book / nbconvert conventions):
``remove-cell`` or ``hide`` drop the whole cell, ``remove-input`` or
``hide-input`` its code, ``remove-output`` or ``hide-output`` its output.
Whatever a cell wrote to stderr (warnings, progress bars) stays in the executed
notebook and out of the page. Wide tables scroll inside their cell instead of
running off the page, and long text in table cells wraps.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

__all__ = [
    "HIDE_CELL_TAGS",
    "HIDE_INPUT_TAGS",
    "HIDE_OUTPUT_TAGS",
    "REPORT_CSS",
    "export_html",
    "read_notebook",
]

HIDE_CELL_TAGS = frozenset({"remove-cell", "hide"})
HIDE_INPUT_TAGS = frozenset({"remove-input", "hide-input"})
HIDE_OUTPUT_TAGS = frozenset({"remove-output", "hide-output"})

#: Added to every report page: tables scroll or wrap, the text column stays readable.
REPORT_CSS = """
<style id="vgkit-report">
body { max-width: 1180px; margin: 0 auto !important; padding: 0 16px; }
.jp-RenderedHTMLCommon table, .jp-RenderedHTML table {
  display: block; max-width: 100%; overflow-x: auto; border-collapse: collapse;
}
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th {
  white-space: normal; max-width: 32em; vertical-align: top;
}
.jp-RenderedHTMLCommon td.vg-text, .jp-RenderedHTMLCommon th.vg-text { text-align: left; }
.jp-OutputArea-output pre { white-space: pre-wrap; word-break: break-word; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
.vg-summary { border: 1px solid #ccc; border-radius: 6px; padding: 10px 16px; margin: 8px 0;
  background: #fafafa; }
.vg-summary .vg-grade { font-size: 1.6em; font-weight: bold; }
.vg-met { color: #1b7a3d; font-weight: bold; }
.vg-not-met { color: #b3261e; font-weight: bold; }
.vg-fact { color: #555; }
</style>
"""


def read_notebook(notebook: Path) -> Any:
    import nbformat

    return nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]


def _without_stderr(book: Any) -> Any:
    book = copy.deepcopy(book)
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    return book


def export_html(notebook: Path, html: Path, *, show_code: bool = False) -> None:
    """Render an executed notebook as HTML: code hidden unless ``show_code``, cells
    tagged to hide left out, stderr left out, the report stylesheet added."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(HIDE_CELL_TAGS)
    config.TagRemovePreprocessor.remove_input_tags = set(HIDE_INPUT_TAGS)
    config.TagRemovePreprocessor.remove_all_outputs_tags = set(HIDE_OUTPUT_TAGS)
    exporter = HTMLExporter(config=config)  # type: ignore[no-untyped-call]
    exporter.exclude_input = not show_code
    exporter.exclude_input_prompt = not show_code
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(_without_stderr(read_notebook(notebook)))
    head_end = body.find("</head>")
    if head_end >= 0:
        body = body[:head_end] + REPORT_CSS + body[head_end:]
    html.write_text(body, encoding="utf-8")
