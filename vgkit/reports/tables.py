"""Numbers people read: units, sensible precision, no exponents, tables that wrap.

:func:`format_quantity` turns a value and its unit into text (``0.00174, "s"`` ->
``1.74 ms``; ``0.597, "fraction"`` -> ``59.7%``; ``True, "bool"`` -> ``yes``).
:func:`table` styles a DataFrame with it for a notebook or a report page: each
column's unit comes from ``units`` or from its name (``p99_ms`` is milliseconds,
``throughput_rps`` requests per second, ``hit_ratio`` a share); missing values
show as a dash, never ``NaN``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

__all__ = [
    "MISSING",
    "format_bytes",
    "format_duration",
    "format_number",
    "format_percent",
    "format_quantity",
    "format_ratio",
    "set_display_options",
    "table",
    "unit_of_column",
]

MISSING = "–"
"""What a missing value (None, NaN) shows as."""
PERCENT_UNITS = frozenset({"fraction", "share", "%"})
#: Count units that read in the singular for exactly one (``1 job``, ``2 jobs``).
SINGULAR = {"jobs": "job", "runs": "run", "nodes": "node", "levels": "level",
            "events": "event", "families": "family", "requests": "request",
            "entries": "entry", "connections": "connection"}  # fmt: skip
SECONDS_UNITS = frozenset({"s", "seconds"})


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def format_number(value: float, digits: int = 3) -> str:
    """``digits`` significant digits without an exponent; integers and numbers from
    1,000 up keep every digit before the point, with thousands separators."""
    if _missing(value):
        return MISSING
    x = float(value)
    if x == 0:
        return "0"
    if abs(x) >= 10 ** (digits - 1) or (x == int(x) and abs(x) < 1e15):
        return f"{round(x):,}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_percent(share: float, digits: int = 3) -> str:
    """A share as a percentage: ``0.597`` -> ``59.7%``, ``2.9e-06`` -> ``0.00029%``."""
    if _missing(share):
        return MISSING
    return f"{format_number(float(share) * 100, digits)}%"


def format_duration(seconds: float, digits: int = 3) -> str:
    """Seconds in the unit that reads best: ``µs`` below a millisecond, ``ms`` below a
    second, ``s`` above."""
    if _missing(seconds):
        return MISSING
    s = float(seconds)
    magnitude = abs(s)
    if magnitude == 0:
        return "0 s"
    if magnitude < 1e-3:
        return f"{format_number(s * 1e6, digits)} µs"
    if magnitude < 1:
        return f"{format_number(s * 1e3, digits)} ms"
    return f"{format_number(s, digits)} s"


def format_bytes(count: float) -> str:
    """``1536`` -> ``1.5 KiB``; binary units, bytes below 1 KiB."""
    if _missing(count):
        return MISSING
    n = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{format_number(n, 3)} {unit}" if unit != "B" else f"{round(n):,} B"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def format_ratio(ratio: float, digits: int = 3) -> str:
    """``1.8324`` -> ``1.83×``."""
    if _missing(ratio):
        return MISSING
    return f"{format_number(ratio, digits)}×"


def format_quantity(value: Any, unit: str = "", digits: int = 3) -> str:
    """A value with its unit, for reading (see the module docstring)."""
    if _missing(value):
        return MISSING
    if unit == "bool" or isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, numbers.Real):
        return f"{value} {unit}".strip()
    value = float(value)
    if unit in PERCENT_UNITS:
        return format_percent(value, digits)
    if unit in SECONDS_UNITS:
        return format_duration(value, digits)
    if unit == "ms":
        return format_duration(float(value) / 1e3, digits)
    if unit in {"bytes", "B"}:
        return format_bytes(value)
    if unit in {"ratio", "×", "x"}:
        return format_ratio(value, digits)
    if value == 1 and unit in SINGULAR:
        unit = SINGULAR[unit]
    return f"{format_number(value, digits)} {unit}".strip()


#: Column-name endings and the unit they imply (checked in order).
_SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_ms", "ms"),
    ("_s", "s"),
    ("_seconds", "s"),
    ("_rps", "req/s"),
    ("_bytes", "bytes"),
    ("_ratio", "fraction"),
    ("_share", "fraction"),
    ("_rate", "fraction"),
    ("_fraction", "fraction"),
)
_NAME_UNITS = {
    "makespan": "s",
    "elapsed": "s",
    "latency": "s",
    "duration": "s",
    "ratio": "ratio",
    "share": "fraction",
    "hit_ratio": "fraction",
}


def unit_of_column(name: str) -> str:
    """The unit a column's name implies (``p99_ms`` -> ``ms``), else ``""``."""
    lowered = name.lower()
    if lowered in _NAME_UNITS:
        return _NAME_UNITS[lowered]
    for suffix, unit in _SUFFIX_UNITS:
        if lowered.endswith(suffix):
            return unit
    return ""


def _formatter(unit: str, digits: int) -> Callable[[object], str]:
    def fmt(value: object) -> str:
        return format_quantity(value, unit, digits)

    return fmt


def table(
    frame: pd.DataFrame,
    units: Mapping[str, str] | None = None,
    *,
    digits: int = 3,
    index: bool | None = None,
    caption: str | None = None,
) -> Styler:
    """``frame`` styled for reading: numbers with units and ``digits`` significant
    digits, text left-aligned and wrapping, a dash for missing values.

    ``units`` maps column names to units (see :func:`format_quantity`); other
    numeric columns take the unit their name implies, or none. ``index`` shows
    the index (default: only when it is not a plain 0..n-1 range).
    """
    import pandas as pd

    units = dict(units or {})
    formats: dict[Any, str | Callable[[object], str] | None] = {}
    text_columns = []
    for column in frame.columns:
        series = frame[column]
        label = str(column)
        if pd.api.types.is_bool_dtype(series):
            formats[column] = _formatter("bool", digits)
        elif pd.api.types.is_numeric_dtype(series):
            formats[column] = _formatter(units.get(label, unit_of_column(label)), digits)
        else:
            formats[column] = _formatter(units.get(label, ""), digits)
            text_columns.append(column)
    styler = frame.style.format(formats, na_rep=MISSING)
    if index is None:
        index = not isinstance(frame.index, pd.RangeIndex)
    if not index:
        styler = styler.hide(axis="index")
    if text_columns:
        styler = styler.set_td_classes(
            pd.DataFrame(
                [["vg-text" if c in text_columns else "" for c in frame.columns]] * len(frame),
                index=frame.index,
                columns=frame.columns,
            )
        )
    styler = styler.set_table_styles(
        [
            {"selector": "td.vg-text", "props": "text-align: left;"},
            {"selector": "th", "props": "text-align: left;"},
        ],
        overwrite=False,
    )
    if caption:
        styler = styler.set_caption(caption)
    return styler


def set_display_options() -> None:
    """Make pandas print every float readably (3 significant digits, thousands
    separators, no exponent) and never cut text: for the tables a notebook shows
    without :func:`table`."""
    import pandas as pd

    pd.set_option("display.float_format", format_number)
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.width", 120)
