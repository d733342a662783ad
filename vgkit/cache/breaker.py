"""A circuit breaker: stop waiting on a backend that keeps failing, probe it later.

States: ``closed`` (calls go through), ``open`` (calls are refused at once for
``reset_after`` seconds) and ``half_open`` (one probe call goes through; its
success closes the breaker, its failure opens it again). ``failures`` failures
in a row open it; a timeout counts as a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from vgkit.errors import CacheError

__all__ = ["DEFAULT_BREAKER", "BreakerOptions", "CircuitBreaker"]

State = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerOptions:
    """``failures`` in a row open the breaker for ``reset_after`` seconds."""

    failures: int = 3
    reset_after: float = 1.0

    def __post_init__(self) -> None:
        if self.failures < 1 or self.reset_after <= 0:
            raise CacheError(
                f"breaker needs failures >= 1 and reset_after > 0, "
                f"not {self.failures} and {self.reset_after}"
            )


DEFAULT_BREAKER = BreakerOptions()


@dataclass
class CircuitBreaker:
    """Tracks a backend's health; ask ``allow()`` before a call, report the outcome."""

    options: BreakerOptions = DEFAULT_BREAKER
    clock: Callable[[], float] = time.monotonic
    state: State = "closed"
    consecutive: int = 0
    opened_at: float = 0.0
    opens: int = 0
    """How many times the breaker opened (for tests and metrics)."""
    closes: int = 0
    on_change: Callable[[State], None] | None = field(default=None, repr=False)
    _probing: bool = field(default=False, repr=False)
    _probe_at: float = field(default=0.0, repr=False)

    def allow(self) -> bool:
        """Whether a call may go to the backend now."""
        if self.state == "closed":
            return True
        return self._allow_open()

    def _allow_open(self) -> bool:
        if self.state == "open":
            if self.clock() - self.opened_at < self.options.reset_after:
                return False
            self._set("half_open")
        now = self.clock()
        # A probe that never reported back (cancelled) must not wedge the breaker.
        if self._probing and now - self._probe_at < self.options.reset_after:
            return False
        self._probing, self._probe_at = True, now
        return True

    def success(self) -> None:
        if self.state == "closed" and not self.consecutive:
            return  # the common case, kept cheap
        self.consecutive = 0
        self._probing = False
        if self.state != "closed":
            self.closes += 1
            self._set("closed")

    def failure(self) -> None:
        self.consecutive += 1
        self._probing = False
        if self.state == "half_open" or (
            self.state == "closed" and self.consecutive >= self.options.failures
        ):
            self.opened_at = self.clock()
            self.opens += 1
            self._set("open")

    @property
    def is_open(self) -> bool:
        return self.state != "closed"

    def _set(self, state: State) -> None:
        self.state = state
        if self.on_change is not None:
            self.on_change(state)
