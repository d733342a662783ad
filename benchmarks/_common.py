"""Shared helpers for benchmarks: timing, result rows, the printed table."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Row:
    """One comparison: vgkit's figure, the baseline's, their ratio and the target.

    ``higher_is_better`` says how to read the ratio (throughput: higher is
    better; latency or size: lower is better); ``target`` is the bound the issue
    asks for, or None when the row is informational.
    """

    name: str
    vgkit: float
    baseline: float
    unit: str
    ratio: float
    target: float | None = None
    higher_is_better: bool = False
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["met"] = self.met
        return out


def row(
    name: str,
    vgkit: float,
    baseline: float,
    unit: str,
    *,
    target: float | None = None,
    higher_is_better: bool = False,
    notes: str = "",
    **extra: Any,
) -> Row:
    """Build a Row, computing the ratio vgkit / baseline."""
    ratio = vgkit / baseline if baseline else float("inf")
    return Row(name, vgkit, baseline, unit, ratio, target, higher_is_better, notes, dict(extra))


def print_table(title: str, rows: Sequence[Row]) -> None:
    """Print rows as an aligned table with the ratio and whether the target is met."""
    print(f"\n== {title}")
    header = f"{'measurement':<52} {'vgkit':>12} {'baseline':>12} {'unit':<8} {'ratio':>7}  target"
    print(header)
    print("-" * len(header))
    for r in rows:
        if r.target is None:
            verdict = ""
        else:
            sign = ">=" if r.higher_is_better else "<="
            verdict = f"{sign} {r.target:g} {'ok' if r.met else 'MISSED'}"
        figures = f"{r.vgkit:>12.4g} {r.baseline:>12.4g} {r.unit:<8} {r.ratio:>7.3f}"
        print(f"{r.name:<52} {figures}  {verdict}")
        if r.notes:
            print(f"    {r.notes}")


def save_json(path: str | Path, title: str, rows: Sequence[Row]) -> None:
    """Append a benchmark's rows to a JSON file (a dict of title -> rows)."""
    p = Path(path)
    data: dict[str, Any] = json.loads(p.read_text()) if p.exists() else {}
    data[title] = [r.as_dict() for r in rows]
    # numpy scalars (bool_, float64) come from pandas-based figures: plain values please.
    p.write_text(
        json.dumps(data, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    )


def best_of(repeats: int, fn: Callable[[], float]) -> float:
    """The smallest of ``repeats`` measurements (least disturbed by noise)."""
    return min(fn() for _ in range(repeats))


def median_of(repeats: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(repeats))


async def atime(fn: Callable[[], Awaitable[Any]]) -> float:
    """Wall seconds of one awaited call."""
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start
