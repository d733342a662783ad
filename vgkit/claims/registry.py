"""The registry of claim sections: what the flagship report measures, in order.

Each section is one ``measure_*`` coroutine returning :class:`Measurement` rows,
registered with :func:`claim_section` beside its code::

    @claim_section("rendering", "Rendering", order=80,
                   parameters={"clips": "render_clips", "time_scale": "time_scale"})
    async def measure_rendering(*, clips: int = 4, time_scale: float = 0.005) -> list[Measurement]:
        ...

``parameters`` maps the coroutine's keyword arguments to the report's notebook
parameters. :func:`measure_all` runs every registered section (or the ones
named) with the report's parameters and returns :class:`Findings`: the rows,
the grade, the compliance table and the summary all come from there, so a new
section appears in the report's summary, its results and ``vgkit report
compare`` without touching any list (docs/reports.md has the whole recipe).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from vgkit.claims.base import Measurement, compliance, grade, to_frame
from vgkit.errors import ReportError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["REGISTRY", "ClaimSection", "Findings", "claim_section", "measure_all"]

Measure = Callable[..., Awaitable[list[Measurement]]]
F = TypeVar("F", bound=Measure)


@dataclass(frozen=True, kw_only=True)
class ClaimSection:
    """One section of the flagship report: a title and the coroutine that measures it."""

    key: str
    title: str
    measure: Measure
    parameters: Mapping[str, str] = field(default_factory=dict)
    """The coroutine's keyword argument -> the report parameter that sets it."""
    order: int = 100

    def arguments(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments for ``measure`` from the report's parameter values
        (a parameter not given keeps the coroutine's default)."""
        return {arg: values[param] for arg, param in self.parameters.items() if param in values}


#: Every registered section by key; :func:`sections` lists them in report order.
REGISTRY: dict[str, ClaimSection] = {}


def claim_section(
    key: str, title: str, *, order: int = 100, parameters: Mapping[str, str] | None = None
) -> Callable[[F], F]:
    """Register the decorated ``measure_*`` coroutine as the report section ``key``."""

    def register(measure: F) -> F:
        accepted = set(inspect.signature(measure).parameters)
        unknown = sorted(set(parameters or {}) - accepted)
        if unknown:
            raise ReportError(
                f"claim section {key}: {measure.__name__} takes no argument {', '.join(unknown)}"
            )
        REGISTRY[key] = ClaimSection(
            key=key, title=title, measure=measure, parameters=dict(parameters or {}), order=order
        )
        return measure

    return register


def sections(keys: Iterable[str] | None = None) -> list[ClaimSection]:
    """The registered sections in report order (only ``keys``, when given)."""
    if keys is None:
        return sorted(REGISTRY.values(), key=lambda s: (s.order, s.key))
    chosen = list(keys)
    unknown = [k for k in chosen if k not in REGISTRY]
    if unknown:
        raise ReportError(
            f"no claim section {', '.join(unknown)}; registered: {', '.join(sorted(REGISTRY))}"
        )
    return sorted((REGISTRY[k] for k in chosen), key=lambda s: (s.order, s.key))


@dataclass
class Findings:
    """What :func:`measure_all` measured: the rows per section, and what follows from them."""

    by_section: dict[str, list[Measurement]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    shown: set[str] = field(default_factory=set, repr=False)

    @property
    def rows(self) -> list[Measurement]:
        """Every measurement, in report order."""
        return [m for key in self.by_section for m in self.by_section[key]]

    def section(self, key: str) -> list[Measurement]:
        """The rows of section ``key`` (ReportError when it was not measured)."""
        if key not in self.by_section:
            raise ReportError(
                f"section {key!r} was not measured; measured: {', '.join(self.by_section)}"
            )
        return self.by_section[key]

    def title(self, key: str) -> str:
        return REGISTRY[key].title if key in REGISTRY else key

    def grade(self) -> tuple[float, str]:
        """The reference's grade, recomputed from the graded rows."""
        return grade(self.rows)

    def compliance(self) -> pd.DataFrame:
        """The reference's compliance table, recomputed."""
        return compliance(self.rows)

    def to_frame(self) -> pd.DataFrame:
        """Every row as a table (what ``results/measurements.json`` holds)."""
        frame = to_frame(self.rows)
        keys = [key for key in self.by_section for _ in self.by_section[key]]
        frame.insert(0, "report_section", keys)
        return frame

    def unshown(self) -> list[str]:
        """Sections measured but not yet shown in the notebook (shown by
        :func:`vgkit.claims.show_remaining`)."""
        return [key for key in self.by_section if key not in self.shown]


async def measure_all(
    values: Mapping[str, Any],
    keys: Iterable[str] | None = None,
    *,
    on_section: Callable[[ClaimSection], None] | None = None,
) -> Findings:
    """Measure every registered section (or those in ``keys``) with the report's
    parameter ``values``; ``on_section`` is called as each one finishes (a
    progress bar's update)."""
    findings = Findings()
    for section in sections(keys):
        started = time.perf_counter()
        findings.by_section[section.key] = list(await section.measure(**section.arguments(values)))
        findings.seconds[section.key] = time.perf_counter() - started
        if on_section is not None:
            on_section(section)
    return findings
