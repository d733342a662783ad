"""Shared-secret request authentication: a bearer token or an HMAC-SHA256 body signature.

The signature covers a timestamp and the exact body bytes::

    X-Vgkit-Timestamp: 1717171717
    X-Vgkit-Signature: sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>

so a captured request cannot be replayed after ``max_skew`` seconds, and any
change to the body breaks the signature. Servers check with
``verify_signature``; clients add headers with ``auth_headers``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

__all__ = [
    "DEFAULT_MAX_SKEW",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "auth_headers",
    "sign",
    "verify_signature",
    "verify_token",
]

SIGNATURE_HEADER = "X-Vgkit-Signature"
TIMESTAMP_HEADER = "X-Vgkit-Timestamp"
DEFAULT_MAX_SKEW = 300.0


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def auth_headers(
    body: bytes, *, token: str | None = None, hmac_secret: str | None = None
) -> dict[str, str]:
    """The headers that authenticate ``body`` with whatever secrets are set."""
    headers: dict[str, str] = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if hmac_secret:
        stamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = stamp
        headers[SIGNATURE_HEADER] = sign(hmac_secret, body, stamp)
    return headers


def verify_token(headers: Mapping[str, str], token: str) -> str | None:
    """None when the bearer token matches, else why not."""
    value = headers.get("Authorization", "")
    scheme, _, given = value.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return "missing bearer token (send 'Authorization: Bearer <token>')"
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return "wrong bearer token"
    return None


def verify_signature(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    max_skew: float = DEFAULT_MAX_SKEW,
    now: float | None = None,
) -> str | None:
    """None when the body signature is valid and fresh, else why not."""
    given = headers.get(SIGNATURE_HEADER)
    stamp = headers.get(TIMESTAMP_HEADER)
    if not given or not stamp:
        return f"missing {SIGNATURE_HEADER} / {TIMESTAMP_HEADER} headers (HMAC-SHA256 of the body)"
    try:
        age = abs((time.time() if now is None else now) - float(stamp))
    except ValueError:
        return f"{TIMESTAMP_HEADER} must be Unix seconds"
    if age > max_skew:
        return f"signature timestamp is {age:.0f} s off (more than {max_skew:.0f} s)"
    if not hmac.compare_digest(given.encode(), sign(secret, body, stamp).encode()):
        return "body signature does not match"
    return None
