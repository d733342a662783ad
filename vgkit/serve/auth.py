"""Shared-secret authentication of agent servers.

When a bearer token and/or an HMAC secret is configured, every JSON-RPC
request must carry each configured proof (``Authorization: Bearer <token>``;
``X-Vgkit-Signature`` over ``X-Vgkit-Timestamp`` and the body, see
``vgkit.a2a.signing``), or it is answered 401. Cards, ``/healthz`` and
``/metrics`` stay public so discovery and monitoring work without secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vgkit.a2a.signing import DEFAULT_MAX_SKEW, verify_signature, verify_token

__all__ = ["AuthConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthConfig:
    token: str | None = None
    hmac_secret: str | None = None
    max_skew: float = DEFAULT_MAX_SKEW

    @property
    def enabled(self) -> bool:
        return bool(self.token or self.hmac_secret)

    def check(self, headers: Mapping[str, str], body: bytes) -> str | None:
        """None when the request is authentic, else why it is not."""
        if self.token:
            problem = verify_token(headers, self.token)
            if problem:
                return problem
        if self.hmac_secret:
            return verify_signature(headers, body, self.hmac_secret, max_skew=self.max_skew)
        return None
