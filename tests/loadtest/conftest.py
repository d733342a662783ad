"""Fixtures for load-test tests: a workload and a target that counts concurrency."""

from __future__ import annotations

import asyncio

import pytest

from tests.serve.conftest import cluster  # noqa: F401 - every agent server, on free ports
from vgkit.loadtest import WorkItem, Workload
from vgkit.metrics import MetricsRegistry


@pytest.fixture(scope="session")
def workload() -> Workload:
    return Workload.from_csv(seed=7)


@pytest.fixture
def registry() -> MetricsRegistry:
    return MetricsRegistry()


class CountingTarget:
    """Answers after ``delay`` seconds and remembers the most calls it saw at once."""

    def __init__(self, delay: float = 0.0, name: str = "counting") -> None:
        self.name = name
        self.delay = delay
        self.active = 0
        self.peak = 0
        self.calls: list[WorkItem] = []
        self.peaks_over_time: list[tuple[float, int]] = []

    async def __call__(self, item: WorkItem) -> None:
        self.calls.append(item)
        self.active += 1
        self.peak = max(self.peak, self.active)
        self.peaks_over_time.append((asyncio.get_running_loop().time(), self.active))
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.active -= 1
