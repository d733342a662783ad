"""Numbers with units and sensible precision, never exponents or NaN."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from vgkit.reports.tables import format_quantity, table, unit_of_column


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (3082.4, "req/s", "3,082 req/s"),
        (0.0, "conn/req", "0 conn/req"),
        (1.0, "bool", "yes"),
        (0.0, "bool", "no"),
        (0.597396, "fraction", "59.7%"),
        (2.9255e-06, "fraction", "0.000293%"),
        (1.0, "fraction", "100%"),
        (0.0017415, "s", "1.74 ms"),
        (2.194e-06, "s", "2.19 µs"),
        (44.0501, "model s", "44.1 model s"),
        (7.0, "levels", "7 levels"),
        (1.0, "jobs", "1 job"),
        (1536, "bytes", "1.5 KiB"),
        (1.8324, "ratio", "1.83×"),
        (12.5, "ms", "12.5 ms"),
        (None, "s", "–"),
        (math.nan, "req/s", "–"),
    ],
)
def test_format_quantity(value: object, unit: str, text: str) -> None:
    assert format_quantity(value, unit) == text


def test_column_units_come_from_their_names() -> None:
    assert unit_of_column("p99_ms") == "ms"
    assert unit_of_column("throughput_rps") == "req/s"
    assert unit_of_column("hit_ratio") == "fraction"
    assert unit_of_column("makespan") == "s"
    assert unit_of_column("late_fraction") == "fraction"
    assert unit_of_column("topic") == ""


def test_a_styled_table_has_no_exponents_or_nan() -> None:
    frame = pd.DataFrame(
        {
            "run": ["open", "closed"],
            "throughput_rps": [3082.4, 12.0],
            "p99_ms": [0.000004, math.nan],
            "ok": [True, False],
        }
    )
    html = table(frame).to_html()
    assert "3,082 req/s" in html and "4 ns" not in html
    assert "e+0" not in html and "e-0" not in html and "NaN" not in html and "nan" not in html
    assert "–" in html and "yes" in html
