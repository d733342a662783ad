"""The circuit breaker's states, on a fake clock."""

from __future__ import annotations

import pytest

from vgkit.cache.breaker import BreakerOptions, CircuitBreaker
from vgkit.errors import CacheError


def state(breaker: CircuitBreaker) -> str:
    """The state, read through a call (mypy would otherwise narrow it between asserts)."""
    return breaker.state


def test_opens_after_failures_probes_once_and_closes_on_success() -> None:
    now = [0.0]
    breaker = CircuitBreaker(BreakerOptions(failures=2, reset_after=1.0), clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow() and state(breaker) == "closed"
    breaker.failure()
    assert breaker.is_open and not breaker.allow()
    now[0] = 1.5
    assert breaker.allow() and state(breaker) == "half_open"
    assert not breaker.allow()  # one probe at a time
    breaker.failure()
    assert state(breaker) == "open" and breaker.opens == 2
    now[0] = 3.0
    assert breaker.allow()
    breaker.success()
    assert state(breaker) == "closed" and breaker.closes == 1 and breaker.allow()


def test_a_lost_probe_does_not_wedge_the_breaker() -> None:
    now = [0.0]
    breaker = CircuitBreaker(BreakerOptions(failures=1, reset_after=1.0), clock=lambda: now[0])
    breaker.failure()
    now[0] = 1.0
    assert breaker.allow()  # the probe never reports back (cancelled)
    now[0] = 2.5
    assert breaker.allow()


def test_bad_options() -> None:
    with pytest.raises(CacheError):
        BreakerOptions(failures=0)
