"""A circuit breaker: stop waiting on a backend that keeps failing, probe it later.

One breaker for every layer that calls something that can fail: the pooled
client keeps one per endpoint, the Redis tier of the cache one per Redis. It
lives at the bottom of the package (beside ``errors``) so both can use it
without importing each other.

States: ``closed`` (calls go through), ``open`` (calls are refused at once for
``reset_timeout`` seconds) and ``half_open`` (one trial call goes through; its
success closes the breaker, its failure opens it again). ``failure_threshold``
failures in a row open it; the caller decides what a failure is (a transport
error, a timeout). A trial that never reports back (its task was cancelled)
does not wedge the breaker: after ``reset_timeout`` another trial is allowed.

Not thread-safe: one breaker belongs to one event loop. ``allow`` and
``record_success`` on a closed breaker are an attribute test each, so the hot
path of a healthy backend pays next to nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from vgkit.errors import ConfigError

__all__ = [
    "DEFAULT_BREAKER",
    "DEFAULT_FAILURE_THRESHOLD",
    "DEFAULT_RESET_TIMEOUT",
    "BreakerConfig",
    "BreakerState",
    "CircuitBreaker",
]

DEFAULT_FAILURE_THRESHOLD = 5
DEFAULT_RESET_TIMEOUT = 5.0


class BreakerState(StrEnum):
    """Where a breaker is (compares equal to its plain string: ``"closed"``...)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerConfig:
    """When a breaker opens and how long it stays open."""

    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD
    """Consecutive failures that open the circuit."""
    reset_timeout: float = DEFAULT_RESET_TIMEOUT
    """Seconds the circuit stays open before one trial call."""

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.reset_timeout <= 0:
            raise ConfigError(
                "a circuit breaker needs failure_threshold >= 1 and reset_timeout > 0 seconds, "
                f"not {self.failure_threshold} and {self.reset_timeout}"
            )


DEFAULT_BREAKER = BreakerConfig()


@dataclass(slots=True)
class CircuitBreaker:
    """A backend's health: ask :meth:`allow` before a call, then report its outcome.

    ``clock`` is monotonic seconds (a test passes a fake one); ``on_change`` is
    called with the new state on every transition.
    """

    config: BreakerConfig = DEFAULT_BREAKER
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    on_change: Callable[[BreakerState], None] | None = field(default=None, repr=False)
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    """Consecutive failures (reset by a success)."""
    opened_at: float = 0.0
    times_opened: int = 0
    times_closed: int = 0
    """How many times the breaker opened, and closed again (for metrics and tests)."""
    _trial: bool = field(default=False, repr=False)
    _trial_at: float = field(default=0.0, repr=False)

    @property
    def is_open(self) -> bool:
        """Whether calls are being refused or tried one at a time (not closed)."""
        return self.state is not BreakerState.CLOSED

    def allow(self) -> bool:
        """Whether a call may go to the backend now (reserves the half-open trial)."""
        if self.state is BreakerState.CLOSED:
            return True
        now = self.clock()
        if self.state is BreakerState.OPEN:
            if now - self.opened_at < self.config.reset_timeout:
                return False
            self._set(BreakerState.HALF_OPEN)
            self._trial = False
        if self._trial and now - self._trial_at < self.config.reset_timeout:
            return False
        self._trial, self._trial_at = True, now
        return True

    def would_allow(self) -> bool:
        """Like :meth:`allow` but reserving nothing (for choosing among endpoints)."""
        if self.state is BreakerState.CLOSED:
            return True
        now = self.clock()
        if self.state is BreakerState.OPEN:
            return now - self.opened_at >= self.config.reset_timeout
        return not self._trial or now - self._trial_at >= self.config.reset_timeout

    def record_success(self) -> None:
        """The call worked: close the circuit."""
        if self.state is BreakerState.CLOSED and not self.failures:
            return  # the common case, kept cheap
        self.failures = 0
        self._trial = False
        if self.state is not BreakerState.CLOSED:
            self.times_closed += 1
            self._set(BreakerState.CLOSED)

    def record_failure(self) -> None:
        """The call failed: count it, and open the circuit at the threshold or after a trial."""
        self.failures += 1
        self._trial = False
        if self.state is BreakerState.HALF_OPEN or (
            self.state is BreakerState.CLOSED and self.failures >= self.config.failure_threshold
        ):
            self.opened_at = self.clock()
            self.times_opened += 1
            self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        self.state = state
        if self.on_change is not None:
            self.on_change(state)
