"""The one circuit breaker (the pooled client's endpoints and the Redis tier), on a fake clock."""

from __future__ import annotations

import pytest

from vgkit.breaker import BreakerConfig, BreakerState, CircuitBreaker
from vgkit.errors import ConfigError, VgkitError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def state(breaker: CircuitBreaker) -> BreakerState:
    """The state, read through a call (mypy would otherwise narrow it between asserts)."""
    return breaker.state


def test_opens_after_failures_probes_once_and_closes_on_success() -> None:
    clock = Clock()
    changes: list[BreakerState] = []
    breaker = CircuitBreaker(
        BreakerConfig(failure_threshold=2, reset_timeout=1.0), clock=clock, on_change=changes.append
    )
    breaker.record_failure()
    assert breaker.allow() and state(breaker) == "closed"
    breaker.record_failure()
    assert breaker.is_open and not breaker.allow() and not breaker.would_allow()
    clock.now = 1.5
    assert breaker.would_allow() and state(breaker) is BreakerState.OPEN  # reserves nothing
    assert breaker.allow() and state(breaker) == "half_open"
    assert not breaker.allow() and not breaker.would_allow()  # one trial at a time
    breaker.record_failure()
    assert state(breaker) is BreakerState.OPEN and breaker.times_opened == 2
    clock.now = 3.0
    assert breaker.allow()
    breaker.record_success()
    assert state(breaker) == "closed" and breaker.times_closed == 1 and breaker.allow()
    assert changes == ["open", "half_open", "open", "half_open", "closed"]


def test_the_client_defaults_open_after_five_and_wait_five_seconds() -> None:
    clock = Clock()
    breaker = CircuitBreaker(clock=clock)
    for _ in range(4):
        breaker.record_failure()
    assert state(breaker) is BreakerState.CLOSED
    breaker.record_failure()
    assert state(breaker) is BreakerState.OPEN
    clock.now = 4.9
    assert not breaker.allow()
    clock.now = 5.0
    assert breaker.allow()


def test_a_success_resets_the_count_of_failures_in_a_row() -> None:
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=2), clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert state(breaker) is BreakerState.CLOSED and breaker.failures == 1


def test_a_lost_trial_does_not_wedge_the_breaker() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=1, reset_timeout=1.0), clock=clock)
    breaker.record_failure()
    clock.now = 1.0
    assert breaker.allow()  # the trial never reports back (its task was cancelled)
    clock.now = 1.5
    assert not breaker.allow() and not breaker.would_allow()
    clock.now = 2.5
    assert breaker.would_allow() and breaker.allow()


@pytest.mark.parametrize(
    "fields", [{"failure_threshold": 0}, {"reset_timeout": 0}, {"reset_timeout": -1.0}]
)
def test_bad_config_is_a_config_error(fields: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="failure_threshold >= 1 and reset_timeout > 0") as info:
        BreakerConfig(**fields)  # type: ignore[arg-type]
    assert isinstance(info.value, VgkitError)
