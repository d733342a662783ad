"""Load profiles (a rate or a user count over time) and arrival times.

A profile maps seconds since the start of a load test to a value: requests per
second in open-loop mode, concurrent users in closed-loop mode.

- :class:`Constant`: the same value throughout (``"50"`` on the command line).
- :class:`Linear`: a straight ramp from ``start`` to ``end`` over ``over``
  seconds (default: the whole test), then ``end`` (``"10..200"``).
- :class:`Steps`: a staircase of ``(value, seconds)`` steps, the last value held
  (``"50@2,100@2,200@2"``: 50 for two seconds, then 100, then 200).

:func:`arrival_offsets` turns a rate profile into the intended start time of
every request: evenly spaced (``constant``) or a Poisson process
(``poisson``), the latter exact for any profile by thinning: candidates arrive
at the profile's peak rate and each is kept with probability ``rate(t) / peak``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from vgkit.errors import LoadTestError

__all__ = [
    "ARRIVALS",
    "Arrivals",
    "Constant",
    "Linear",
    "Profile",
    "Steps",
    "arrival_offsets",
    "parse_profile",
]

Arrivals = Literal["constant", "poisson"]
ARRIVALS: tuple[Arrivals, ...] = ("constant", "poisson")

#: Time step (seconds) for integrating a changing rate into constant arrivals.
INTEGRATION_STEP = 0.001


@runtime_checkable
class Profile(Protocol):
    """A value (rate or users) as a function of seconds since the start."""

    def at(self, t: float) -> float: ...

    def peak(self) -> float:
        """The largest value the profile ever takes."""
        ...

    def bind(self, duration: float) -> Profile:
        """This profile with anything left open (a ramp's length) set from the test."""
        ...

    def describe(self) -> str: ...


def _check(value: float, what: str) -> float:
    if not (value >= 0 and math.isfinite(value)):
        raise LoadTestError(f"{what} must be a finite number >= 0, not {value}")
    return float(value)


@dataclass(frozen=True, slots=True)
class Constant:
    value: float

    def __post_init__(self) -> None:
        _check(self.value, "a profile value")

    def at(self, t: float) -> float:
        return self.value

    def peak(self) -> float:
        return self.value

    def bind(self, duration: float) -> Constant:
        return self

    def describe(self) -> str:
        return f"{self.value:g}"


@dataclass(frozen=True, slots=True)
class Linear:
    start: float
    end: float
    over: float | None = None

    def __post_init__(self) -> None:
        _check(self.start, "a ramp's start")
        _check(self.end, "a ramp's end")
        if self.over is not None and not (self.over > 0 and math.isfinite(self.over)):
            raise LoadTestError(f"a ramp's length must be > 0 seconds, not {self.over}")

    def at(self, t: float) -> float:
        if self.over is None:  # not bound to a test yet: hold the start
            return self.start
        if t >= self.over:
            return self.end
        return self.start + (self.end - self.start) * max(t, 0.0) / self.over

    def peak(self) -> float:
        return max(self.start, self.end)

    def bind(self, duration: float) -> Linear:
        return self if self.over is not None else replace(self, over=duration)

    def describe(self) -> str:
        over = f" over {self.over:g} s" if self.over is not None else ""
        return f"{self.start:g}..{self.end:g}{over}"


@dataclass(frozen=True, slots=True)
class Steps:
    steps: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.steps:
            raise LoadTestError("a step profile needs at least one step")
        for value, seconds in self.steps:
            _check(value, "a step's value")
            if not (seconds > 0 and math.isfinite(seconds)):
                raise LoadTestError(f"a step must last > 0 seconds, not {seconds}")

    def at(self, t: float) -> float:
        elapsed = 0.0
        for value, seconds in self.steps:
            elapsed += seconds
            if t < elapsed:
                return value
        return self.steps[-1][0]

    def peak(self) -> float:
        return max(value for value, _ in self.steps)

    def bind(self, duration: float) -> Steps:
        return self

    def describe(self) -> str:
        return ",".join(f"{v:g}@{s:g}" for v, s in self.steps)


_NUMBER = r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*"
_RAMP = re.compile(rf"^{_NUMBER}\.\.{_NUMBER}$")
_STEP = re.compile(rf"^{_NUMBER}@{_NUMBER}$")
SYNTAX = "a number (50), a ramp START..END (10..200) or steps VALUE@SECONDS,... (50@2,100@2)"


def parse_profile(spec: Profile | float | str, what: str = "rate") -> Profile:
    """A profile from a number, a profile, or its text form (see the module docstring)."""
    if isinstance(spec, Profile):
        return spec
    if isinstance(spec, int | float):
        return Constant(float(spec))
    text = str(spec).strip()
    try:
        if (ramp := _RAMP.match(text)) is not None:
            return Linear(float(ramp[1]), float(ramp[2]))
        if "@" in text:
            steps = []
            for part in text.split(","):
                step = _STEP.match(part)
                if step is None:
                    raise ValueError(part)
                steps.append((float(step[1]), float(step[2])))
            return Steps(tuple(steps))
        return Constant(float(text))
    except ValueError:
        raise LoadTestError(f"cannot read {what} {text!r}: write {SYNTAX}") from None


def arrival_offsets(
    rate: Profile, arrivals: Arrivals, *, until: float, seed: int = 0
) -> Iterator[float]:
    """Intended start of each request, in seconds since the start, below ``until``."""
    if arrivals not in ARRIVALS:
        raise LoadTestError(f"unknown arrival process {arrivals!r}; choose from {ARRIVALS}")
    if arrivals == "constant":
        yield from _constant(rate, until)
    else:
        yield from _poisson(rate, until, seed)


def _constant(rate: Profile, until: float) -> Iterator[float]:
    if isinstance(rate, Constant):
        # Exact multiples of the gap: summed gaps would drift by ulps over a long test.
        if rate.value > 0:
            yield from (k / rate.value for k in range(math.ceil(until * rate.value - 1e-9)))
        return
    # Arrival k when the integral of the rate reaches k, by the midpoint rule over steps of
    # INTEGRATION_STEP (exact for ramps; for steps whose edges fall on the grid) and linear
    # interpolation inside a step.
    t, area, k = 0.0, 0.0, 0
    while t < until:
        t1 = min(t + INTEGRATION_STEP, until)
        gained = rate.at((t + t1) / 2) * (t1 - t)
        while gained > 0 and area + gained >= k:
            # Rounded to the nanosecond: summed steps drift by ulps, which would move an
            # arrival due exactly on a step's edge (k = 50 at 0.5 s) into the step before.
            at = round(t + (k - area) / gained * (t1 - t), 9)
            if at >= until - 1e-9:  # like the exact case: no arrival at the very end
                return
            yield at
            k += 1
        area += gained
        t = t1


def _poisson(rate: Profile, until: float, seed: int) -> Iterator[float]:
    peak = rate.peak()
    if peak <= 0:
        return
    rng = np.random.default_rng(seed)
    t = 0.0
    while True:
        # Draw in blocks: one numpy call per 1,024 candidates instead of one per arrival.
        gaps = rng.exponential(1.0 / peak, 1024)
        keep = rng.random(1024)
        for gap, u in zip(gaps.tolist(), keep.tolist(), strict=True):
            t += gap
            if t >= until:
                return
            if u * peak < rate.at(t):
                yield t
