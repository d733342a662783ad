"""When to retry, how long to wait, and when to stop calling an endpoint.

Three rules keep retries safe:

* A request is retried only when the server cannot have acted on it: the
  connection was refused or timed out while connecting (nothing was sent), the
  server answered 503 (it declined the work), or the connection dropped before
  a response and the caller marked the request idempotent (vgkit's agents are
  pure functions, so the A2A client does). A JSON-RPC application error is an
  answer, never a reason to retry.
* Waits grow exponentially with full jitter (a uniform draw below the cap), so
  a crowd of callers does not retry in lockstep after a restart.
* A circuit breaker per endpoint (:class:`vgkit.breaker.CircuitBreaker`) opens
  after ``failure_threshold`` consecutive transport failures, rejects calls for
  ``reset_timeout`` seconds, then lets a single trial call through (half-open);
  its success closes the circuit.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from enum import StrEnum

import aiohttp

from vgkit.errors import ClientError, ConfigError, EndpointUnavailableError, RequestTimeoutError

__all__ = [
    "DEFAULT_RETRY",
    "AttemptFailed",
    "Failure",
    "RetryPolicy",
    "classify",
    "retry_allowed",
    "tls_error",
]

DEFAULT_ATTEMPTS = 3
DEFAULT_BACKOFF = 0.05
DEFAULT_BACKOFF_MAX = 2.0


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry a safe-to-retry failure."""

    attempts: int = DEFAULT_ATTEMPTS
    """Tries in total, the first included (1 disables retries)."""
    backoff: float = DEFAULT_BACKOFF
    """Cap of the first wait in seconds; doubles per retry up to ``backoff_max``."""
    backoff_max: float = DEFAULT_BACKOFF_MAX
    retry_statuses: frozenset[int] = frozenset({503})
    """HTTP statuses meaning "not processed, try again" (only 503 by default)."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(
                f"RetryPolicy attempts must be at least 1 (1 disables retries), not {self.attempts}"
            )
        if self.backoff < 0 or self.backoff_max < 0:
            raise ConfigError(
                f"RetryPolicy backoff and backoff_max must be seconds >= 0, "
                f"not {self.backoff} and {self.backoff_max}"
            )

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based): full jitter."""
        cap = min(self.backoff_max, self.backoff * (2 ** (retry - 1)))
        return (rng or random).uniform(0.0, cap)


DEFAULT_RETRY = RetryPolicy()


class Failure(StrEnum):
    """Why a transport attempt failed, and whether the server may have acted."""

    REFUSED = "refused"
    """Could not connect (refused, unreachable, connect timeout): nothing was sent."""
    UNAVAILABLE = "unavailable"
    """The server answered 503: it declined the request."""
    DISCONNECTED = "disconnected"
    """The connection dropped before a complete response; the request may have run."""
    TIMEOUT = "timeout"
    """No complete response within the read or total deadline; it may have run."""

    @property
    def never_processed(self) -> bool:
        return self in (Failure.REFUSED, Failure.UNAVAILABLE)


def classify(exc: BaseException) -> Failure | None:
    """The kind of transport failure ``exc`` is, or None if it is not one."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError):
        return Failure.REFUSED
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return Failure.TIMEOUT
    if isinstance(
        exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError | aiohttp.ClientPayloadError
    ):
        return Failure.DISCONNECTED
    if isinstance(exc, aiohttp.ClientResponseError | ConnectionError):
        return Failure.DISCONNECTED
    return None


def tls_error(method: str, url: str, exc: aiohttp.ClientSSLError) -> ClientError:
    """The error for a TLS failure: never retried (another try meets the same certificate)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return ClientError(
            f"{method} {url}: the server's TLS certificate is not trusted "
            f"({exc.certificate_error}); trust its CA with PoolConfig(ca_file=...) or "
            "VGKIT_CA_FILE (a self-signed certificate is its own CA file)",
            url=url,
        )
    return ClientError(
        f"{method} {url}: the TLS handshake failed ({exc}); is the server speaking https?",
        url=url,
    )


def retry_allowed(failure: Failure, idempotent: bool) -> bool:
    """Whether a failure of this kind may be retried (see the module docstring)."""
    return failure.never_processed or idempotent


class AttemptFailed(Exception):
    """One attempt failed in a way the retry loop understands."""

    def __init__(self, failure: Failure, url: str, detail: str, status: int | None = None) -> None:
        self.failure = failure
        self.url = url
        self.detail = detail
        self.status = status
        super().__init__(detail)

    def error(self, target: str, attempts: int) -> ClientError:
        tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        if self.failure is Failure.TIMEOUT:
            return RequestTimeoutError(
                f"{target}: no response from {self.url} in time {tries} ({self.detail}); "
                "raise the deadline or check the server",
                url=self.url,
            )
        what = {
            Failure.REFUSED: "could not connect",
            Failure.UNAVAILABLE: "the server is unavailable (503)",
            Failure.DISCONNECTED: "the connection dropped before a response",
        }[self.failure]
        return EndpointUnavailableError(
            f"{target}: {what} at {self.url} {tries} ({self.detail}); is the server running?",
            url=self.url,
            status=self.status,
        )
