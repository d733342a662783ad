"""Fixtures for the tuning tests: the measured entry profile and small traces."""

from __future__ import annotations

import pytest

from vgkit.loadtest.workload import load_topics
from vgkit.tuning import EntryProfile, Trace, default_profile, generate_trace


@pytest.fixture(scope="session")
def profile() -> EntryProfile:
    """The default profile, measured once per test process."""
    return default_profile()


@pytest.fixture(scope="session")
def small_trace() -> Trace:
    """Half a day over 10 topics: 126 requests with repeats, overlaps and expiries."""
    return generate_trace(
        topics=load_topics()[:10], days=0.5, requests_per_day=400, repeat=0.25, seed=11
    )
