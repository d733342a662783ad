"""A progress bar for load tests: tqdm fed by ``on_progress`` snapshots.

::

    with load_progress(500, desc="open loop") as bar:
        result = await LoadTest(rate=50, max_requests=500).run(target, on_progress=bar.update)

In a notebook the bar is a widget (``tqdm.auto``); the command line passes
``file=sys.stderr``. The postfix shows elapsed seconds, requests/s, p99 latency,
errors and requests in flight.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from vgkit.loadtest.live import LoadProgress

__all__ = ["LoadProgressBar", "load_progress"]


class LoadProgressBar:
    """Moves a tqdm bar to each :class:`LoadProgress` snapshot (answered, dropped and
    abandoned requests count as done)."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def update(self, progress: LoadProgress) -> None:
        done = progress.completed + progress.dropped + progress.abandoned
        self.bar.update(done - self.bar.n)
        p99 = f"{progress.p99 * 1e3:.1f}ms" if progress.p99 == progress.p99 else "-"
        self.bar.set_postfix(
            t=f"{progress.elapsed:.1f}s",
            rps=f"{progress.throughput:.0f}",
            p99=p99,
            err=progress.errors,
            inflight=progress.in_flight,
            refresh=False,
        )

    def close(self) -> None:
        self.bar.close()


@contextmanager
def load_progress(
    total: int, *, desc: str | None = None, disable: bool = False, **options: Any
) -> Iterator[LoadProgressBar]:
    """A :class:`LoadProgressBar` over ``total`` requests, closed on exit; ``options``
    go to tqdm (``file=sys.stderr``, ``leave=False``)."""
    from tqdm.auto import tqdm

    bar = LoadProgressBar(tqdm(total=total, desc=desc, unit="req", disable=disable, **options))
    try:
        yield bar
    finally:
        bar.close()
