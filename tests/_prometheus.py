"""A strict reader of the Prometheus text format, for every ``/metrics`` vgkit serves.

``prometheus_client``'s own parser accepts an exposition that repeats a series
(same name, same labels); Prometheus rejects the whole scrape ("duplicate
sample for timestamp"). This reader fails on that, on a second ``# TYPE`` or
``# HELP`` for one family, on a family split in two, and on malformed lines.
"""

from __future__ import annotations

import math
import re

__all__ = ["ExpositionError", "strict_series"]

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|\})')
_SUFFIXES = ("_total", "_created", "_bucket", "_count", "_sum", "_info", "_gcount", "_gsum")

Series = tuple[str, tuple[tuple[str, str], ...]]


class ExpositionError(AssertionError):
    """The exposition is not one Prometheus would accept."""


def _family(name: str, typed: dict[str, str]) -> str:
    if name in typed:
        return name
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in typed:
            return name[: -len(suffix)]
    return name


def _labels(text: str, line: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    pos = 0
    if text.strip() == "":
        return ()
    body = text + "}"
    while pos < len(body):
        m = _LABEL.match(body, pos)
        if m is None:
            if body[pos:].strip() == "}":
                break
            raise ExpositionError(f"malformed labels in {line!r}")
        out.append((m.group(1), m.group(2)))
        pos = m.end()
        if m.group(3) == "}":
            break
    names = [k for k, _ in out]
    if len(names) != len(set(names)):
        raise ExpositionError(f"a label repeats in {line!r}")
    return tuple(sorted(out))


def strict_series(text: str) -> dict[Series, float]:
    """Every sample of ``text`` by (name, labels); ExpositionError on what Prometheus rejects."""
    series: dict[Series, float] = {}
    typed: dict[str, str] = {}
    helped: set[str] = set()
    finished: set[str] = set()
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("TYPE", "HELP"):
                name = parts[2]
                seen = typed if parts[1] == "TYPE" else helped
                if name in seen:
                    raise ExpositionError(f"line {number}: a second # {parts[1]} for {name}")
                if parts[1] == "TYPE":
                    typed[name] = parts[3] if len(parts) > 3 else ""
                else:
                    helped.add(name)
                if name in finished:
                    raise ExpositionError(f"line {number}: family {name} appears twice")
            continue
        m = _NAME.match(line)
        if m is None:
            raise ExpositionError(f"line {number}: no metric name in {line!r}")
        name = m.group(0)
        rest = line[m.end() :]
        labels: tuple[tuple[str, str], ...] = ()
        if rest.startswith("{"):
            close = _closing_brace(rest)
            if close < 0:
                raise ExpositionError(f"line {number}: unclosed labels in {line!r}")
            labels = _labels(rest[1:close], line)
            rest = rest[close + 1 :]
        fields = rest.split()
        if not 1 <= len(fields) <= 2:
            raise ExpositionError(f"line {number}: expected a value in {line!r}")
        try:
            value = float(fields[0])
        except ValueError:
            raise ExpositionError(f"line {number}: bad value {fields[0]!r}") from None
        family = _family(name, typed)
        if family != current:
            if current is not None:
                finished.add(current)
            if family in finished:
                raise ExpositionError(f"line {number}: family {family} is split in two")
            current = family
        key = (name, labels)
        if key in series:
            raise ExpositionError(f"line {number}: duplicate series {name}{dict(labels)}")
        series[key] = value if not math.isnan(value) else math.nan
    return series


def _closing_brace(rest: str) -> int:
    quoted = escaped = False
    for i, ch in enumerate(rest):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "}" and not quoted:
            return i
    return -1
