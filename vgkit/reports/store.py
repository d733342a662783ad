"""A report's results: what a notebook saves beside it, and how to read it back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from vgkit.errors import ReportError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RESULTS_DIR", "load_result", "save_result"]

RESULTS_DIR = "results"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _jsonable(data: Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame = data.astype(object)
        return frame.where(frame.notna(), None).to_dict(orient="records")
    return data


def save_result(
    name: str, data: pd.DataFrame | Mapping[str, Any] | list[Any], report_dir: str | Path | None
) -> list[Path]:
    """Save a notebook's result into its report folder: ``results/NAME.json`` and,
    for a DataFrame (or a flat dict), ``results/NAME.csv``.

    ``report_dir`` is the parameter the report runner injects; when it is None
    (the notebook was run by hand) nothing is written and the list is empty.
    The paths returned are under ``report_dir`` as given (the runner passes
    ``"."``, so a notebook that prints them shows ``results/NAME.json``).
    """
    import pandas as pd

    if not NAME.match(name):
        raise ReportError(f"result names use letters, digits, '.', '_' and '-', not {name!r}")
    if report_dir is None:
        return []
    folder = Path(report_dir) / RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{name}.json"
    option = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    json_path.write_bytes(orjson.dumps(_jsonable(data), option=option, default=str) + b"\n")
    written = [json_path]
    table: pd.DataFrame | None = None
    if isinstance(data, pd.DataFrame):
        table = data
    elif isinstance(data, Mapping) and all(
        isinstance(v, str | int | float | bool) or v is None for v in data.values()
    ):
        table = pd.DataFrame({"key": list(data), "value": list(data.values())})
    if table is not None:
        csv_path = folder / f"{name}.csv"
        table.to_csv(csv_path, index=False)
        written.append(csv_path)
    return written


def load_result(folder: str | Path, name: str) -> Any:
    """``results/NAME.json`` of a report folder, parsed (ReportError when absent)."""
    path = Path(folder) / RESULTS_DIR / f"{name}.json"
    if not path.is_file():
        raise ReportError(f"{folder} has no {RESULTS_DIR}/{name}.json; is it a report folder?")
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ReportError(f"{path} is not valid JSON ({exc}); run the report again") from exc
