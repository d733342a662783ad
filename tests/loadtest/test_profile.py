"""Rate profiles and arrival processes."""

from __future__ import annotations

import numpy as np
import pytest

from vgkit.errors import LoadTestError
from vgkit.loadtest import Constant, Linear, Steps, arrival_offsets, parse_profile


def test_poisson_arrivals_have_the_rate_and_exponential_gaps() -> None:
    times = np.array(list(arrival_offsets(Constant(200), "poisson", until=50, seed=1)))
    assert len(times) == pytest.approx(10_000, rel=0.03)
    gaps = np.diff(times)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.05)  # exponential: CV 1
    again = list(arrival_offsets(Constant(200), "poisson", until=50, seed=1))
    assert again == times.tolist()


def test_constant_arrivals_are_evenly_spaced() -> None:
    times = np.array(list(arrival_offsets(Constant(100), "constant", until=10)))
    assert len(times) == 1000
    assert np.diff(times).std() < 1e-9


@pytest.mark.parametrize("arrivals", ["constant", "poisson"])
def test_steps_and_ramps_shape_the_arrivals(arrivals: str) -> None:
    # Poisson counts have a standard deviation of sqrt(n): long horizons keep it ~1%.
    tolerance = 0.001 if arrivals == "constant" else 0.05
    steps = np.array(
        list(arrival_offsets(Steps(((100, 50), (300, 50))), arrivals, until=100, seed=2))  # type: ignore[arg-type]
    )
    assert (steps < 50).sum() == pytest.approx(5000, rel=tolerance)
    assert (steps >= 50).sum() == pytest.approx(15000, rel=tolerance)
    ramp = np.array(
        list(arrival_offsets(Linear(0, 100, over=100), arrivals, until=100, seed=2))  # type: ignore[arg-type]
    )
    # The integral of a 0..100 ramp over 100 s: 1,250 arrivals in the first half, 5,000 in all.
    assert len(ramp) == pytest.approx(5000, rel=tolerance)
    assert (ramp < 50).sum() == pytest.approx(1250, rel=2 * tolerance)
    assert (np.diff(ramp) > 0).all()


def test_profiles_from_text() -> None:
    assert parse_profile("50") == Constant(50)
    assert parse_profile(12) == Constant(12)
    assert parse_profile("10..200").bind(4) == Linear(10, 200, over=4)
    steps = parse_profile("50@2, 100@1.5")
    assert steps == Steps(((50, 2), (100, 1.5)))
    assert [steps.at(t) for t in (0, 1.9, 2.1, 99)] == [50, 50, 100, 100]
    assert steps.describe() == "50@2,100@1.5"
    for bad in ("fast", "10..", "5@x", "-3", "10@0"):
        with pytest.raises(LoadTestError):
            parse_profile(bad)
