"""Pass or fail criteria for a load test, in the k6 style: ``p99<200ms``, ``errors<1%``.

A threshold is ``METRIC OP VALUE``, ``OP`` one of ``<``, ``<=``, ``>``, ``>=``:

``min``, ``mean``, ``p50``, ``p90``, ``p95``, ``p99``, ``p99.9``, ``max``
    corrected latency of the successful requests; the value takes a unit,
    ``ms``, ``s`` or ``us`` (``p99<200ms``, ``p95<=1.5s``).
``errors``
    requests that did not succeed (errors, dropped and abandoned requests):
    a share with ``%`` (``errors<1%``), else a count (``errors<=5``).
``rps``
    successful requests per second (``rps>=50``).

::

    report = check_thresholds(result, ["p99<200ms", "errors<1%"])
    report.passed          # False when any threshold fails
    print(report.text())   # every threshold, its observed value, pass or FAIL

A latency threshold fails when nothing succeeded (there is nothing to measure).
``vgkit loadtest --threshold ...`` (repeatable) prints the same table and exits 1
when a threshold fails.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vgkit.errors import LoadTestError

if TYPE_CHECKING:
    from vgkit.loadtest.measurement import LoadTestResult

__all__ = ["LATENCY_METRICS", "Threshold", "ThresholdReport", "ThresholdResult",
           "check_thresholds"]  # fmt: skip

LATENCY_METRICS = ("min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_SECONDS = {"ms": 1e-3, "s": 1.0, "us": 1e-6, "µs": 1e-6}
_PATTERN = re.compile(
    r"^\s*(?P<metric>[a-z][a-z0-9.]*)\s*(?P<op><=|>=|<|>)\s*"
    r"(?P<value>[0-9]*\.?[0-9]+)\s*(?P<unit>ms|s|us|µs|%|rps|/s)?\s*$"
)
SYNTAX = "METRIC<VALUE such as p99<200ms, p95<=1s, errors<1%, errors<=5, rps>=50"


@dataclass(frozen=True, slots=True)
class Threshold:
    """One parsed threshold; ``value`` is in seconds for latencies, a share (0-1) or a
    count for errors, requests per second for ``rps``."""

    text: str
    metric: str
    op: str
    value: float
    unit: str

    @classmethod
    def parse(cls, text: str) -> Threshold:
        """``"p99<200ms"`` -> a Threshold; LoadTestError saying the syntax otherwise."""
        found = _PATTERN.match(text.strip().lower())
        if found is None:
            raise LoadTestError(f"cannot read threshold {text!r}; write {SYNTAX}")
        metric, op, raw, unit = found["metric"], found["op"], found["value"], found["unit"] or ""
        value = float(raw)
        if metric in LATENCY_METRICS:
            if unit not in _SECONDS:
                raise LoadTestError(
                    f"threshold {text!r}: a latency needs a unit, ms or s (e.g. {metric}<200ms)"
                )
            value *= _SECONDS[unit]
        elif metric == "errors":
            if unit == "%":
                if value > 100:
                    raise LoadTestError(f"threshold {text!r}: a share is at most 100%")
                value /= 100
            elif unit:
                raise LoadTestError(
                    f"threshold {text!r}: errors take a share (errors<1%) or a count (errors<5)"
                )
        elif metric in {"rps", "throughput"}:
            if unit not in {"", "rps", "/s"}:
                raise LoadTestError(f"threshold {text!r}: rps takes requests per second")
            metric = "rps"
        else:
            known = ", ".join((*LATENCY_METRICS, "errors", "rps"))
            raise LoadTestError(f"threshold {text!r}: unknown metric {metric!r}; use {known}")
        return cls(text=text.strip(), metric=metric, op=op, value=value, unit=unit)

    def observed(self, result: LoadTestResult) -> float:
        """The figure this threshold judges, in its own units (NaN when unmeasurable)."""
        if self.metric in LATENCY_METRICS:
            return result.latency()[self.metric]
        if self.metric == "rps":
            return result.throughput
        failed = _failed(result)
        if self.unit == "%":
            total = len(result.records)
            return failed / total if total else math.nan
        return float(failed)

    def check(self, result: LoadTestResult) -> ThresholdResult:
        observed = self.observed(result)
        passed = not math.isnan(observed) and OPERATORS[self.op](observed, self.value)
        return ThresholdResult(threshold=self, observed=observed, passed=passed,
                               detail=self._detail(result, observed))  # fmt: skip

    def _detail(self, result: LoadTestResult, observed: float) -> str:
        if math.isnan(observed):
            return "no successful request to measure" if self.metric != "errors" else "no request"
        if self.metric in LATENCY_METRICS:
            return _duration(observed)
        if self.metric == "rps":
            return f"{observed:,.1f} req/s"
        failed, total = _failed(result), len(result.records)
        if self.unit == "%":
            return f"{observed * 100:.3g}% ({failed} of {total} requests)"
        return f"{failed} of {total} requests"


def _failed(result: LoadTestResult) -> int:
    return len(result.records) - result.ok


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


@dataclass(frozen=True, slots=True)
class ThresholdResult:
    """A threshold, the figure it judged, and whether it held."""

    threshold: Threshold
    observed: float
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold.text,
            "metric": self.threshold.metric,
            "observed": None if math.isnan(self.observed) else self.observed,
            "detail": self.detail,
            "passed": self.passed,
        }


@dataclass(frozen=True, slots=True)
class ThresholdReport:
    """Every threshold of a run with its verdict; ``passed`` when all held."""

    results: tuple[ThresholdResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[ThresholdResult]:
        return [r for r in self.results if not r.passed]

    def text(self) -> str:
        """One line per threshold: pass or FAIL, the threshold, what was observed."""
        if not self.results:
            return "thresholds: none"
        width = max(len(r.threshold.text) for r in self.results)
        lines = [f"thresholds ({len(self.results) - len(self.failed)} of {len(self.results)} "
                 "passed)"]  # fmt: skip
        for r in self.results:
            verdict = "pass" if r.passed else "FAIL"
            sep = ":" if math.isnan(r.observed) else " ="
            lines.append(
                f"  {verdict:<4}  {r.threshold.text:<{width}}  {r.threshold.metric}{sep} {r.detail}"
            )
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "thresholds": [r.as_dict() for r in self.results]}


def check_thresholds(
    result: LoadTestResult, thresholds: Iterable[str | Threshold]
) -> ThresholdReport:
    """Judge ``result`` against every threshold (texts are parsed; see the module docstring)."""
    parsed: Sequence[Threshold] = [
        t if isinstance(t, Threshold) else Threshold.parse(t) for t in thresholds
    ]
    return ThresholdReport(tuple(t.check(result) for t in parsed))
