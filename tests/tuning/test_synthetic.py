"""The trace generator: seeded and byte-stable, and shaped like real traffic."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from vgkit import TuningError
from vgkit.tuning import Trace, TraceSpec, bundled_trace_path, generate_trace, load_trace


@pytest.fixture(scope="module")
def week() -> Trace:
    return load_trace()


def test_the_bundled_trace_is_its_generator_byte_for_byte() -> None:
    assert generate_trace().dumps() == bundled_trace_path().read_bytes()


def test_the_same_seed_gives_the_same_trace_and_another_seed_another() -> None:
    one = generate_trace(days=1, seed=3)
    assert one.dumps() == generate_trace(TraceSpec(days=1, seed=3)).dumps()
    assert one.dumps() != generate_trace(days=1, seed=4).dumps()


def test_a_week_of_requests_busiest_in_the_evening(week: Trace) -> None:
    info = week.describe()
    assert 6.9 < info["days"] <= 7 and 4000 < info["requests"] < 6000
    hours = Counter(int(r.t // 3600 % 24) for r in week)
    evening = sum(hours[h] for h in (18, 19, 20, 21, 22))
    morning = sum(hours[h] for h in (6, 7, 8, 9, 10))
    assert evening > 2 * morning


def test_popularity_is_skewed_and_drifts(week: Trace) -> None:
    topics = Counter(r.request.topic for r in week)
    top10 = sum(n for _, n in topics.most_common(10))
    assert top10 > 0.3 * len(week)  # Zipf: a few topics draw much of the traffic

    def leaders(day: int) -> set[str]:
        counts = Counter(r.request.topic for r in week.between(day * 86400, (day + 1) * 86400))
        return {t for t, _ in counts.most_common(10)}

    assert len(leaders(0) & leaders(6)) < 8  # trends come and go


def test_repeats_and_partial_overlaps(week: Trace) -> None:
    info = week.describe()
    assert info["repeated_requests"] > 0.3 * info["requests"]
    shapes: dict[tuple[str, str, int], set[tuple[str, ...]]] = {}
    styles: dict[str, set[str]] = {}
    for r in week:
        q = r.request
        key = (q.topic, q.style.value, q.seed)
        shapes.setdefault(key, set()).add(tuple(p.value for p in q.platforms))
        styles.setdefault(q.topic, set()).add(q.style.value)
    assert sum(len(s) > 1 for s in shapes.values()) > 100  # same request, other platforms
    assert sum(len(s) > 1 for s in styles.values()) > 100  # same topic, other styles
    assert len(info["platform_sets"]) == 7 and len(info["styles"]) == 6


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"days": 0}, "days must be a positive"),
        ({"repeat": 0.6, "follow_up": 0.5}, "repeat \\+ follow_up"),
        ({"platform_sets": {"vine": 1.0}}, "unknown platform set"),
        ({"styles": {"educational": 0.0}}, "not all zero"),
        ({"colour": "blue"}, "unknown trace option"),
    ],
)
def test_bad_specs_are_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TuningError, match=message):
        generate_trace(**options)
