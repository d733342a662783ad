"""A tuning candidate: one cache setting to replay a trace through (TTLs, L1, codec).

:class:`Candidate` names everything the tuning varies; it is not the cache's
own configuration (that is :class:`~vgkit.cache.policy.CachePolicy` plus the
tiers' options), but a point the search evaluates and can turn into one. Its TTL matrix is a
:class:`~vgkit.cache.policy.CachePolicy`'s (content kind -> platform, ``*`` the
fallback); its codec one of :data:`CODECS`; its L1 a diskcache size limit in
bytes (None: unbounded, which also stands for a TTL-only store such as Redis)
and one of diskcache's eviction policies. :meth:`Candidate.policy` gives the
``CachePolicy`` the real cache runs with, and :meth:`Candidate.policy_dict`
the JSON a ``VGKIT_CACHE_POLICY`` file holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import diskcache

from vgkit.cache.codec import CodecConfig
from vgkit.cache.disk import DEFAULT_EVICTION_POLICY
from vgkit.cache.policy import DEFAULT_TTL, DEFAULT_TTLS, CachePolicy
from vgkit.errors import TuningError
from vgkit.platforms import Platform

__all__ = [
    "CODECS",
    "DEFAULT_CODEC",
    "EVICTION_POLICIES",
    "ORIGINAL_CODEC",
    "Candidate",
]

#: Codec presets: how values are encoded, and so how many bytes each entry takes.
CODECS: Mapping[str, CodecConfig] = MappingProxyType(
    {
        # The original system: zlib level 6 above 1 KiB.
        "zlib-6": CodecConfig(compression="zlib"),
        # vgkit's default: zstd (level 3) with the shipped dictionaries where one
        # exists, else without; L1 keeps entries under 16 KiB uncompressed.
        "zstd+dict": CodecConfig(),
        # The same, but L1 compresses too (smaller on disk, a decompression per hit).
        "zstd+dict-l1": CodecConfig(l1_threshold=0),
        "none": CodecConfig(compression="none"),
    }
)
ORIGINAL_CODEC = "zlib-6"
DEFAULT_CODEC = "zstd+dict"
#: diskcache's eviction policies, as ``DiskConfig(eviction_policy=...)`` takes them.
EVICTION_POLICIES: tuple[str, ...] = tuple(diskcache.EVICTION_POLICY)


def _frozen(ttls: Mapping[str, Mapping[str, float | None]]) -> Mapping[str, Mapping[str, Any]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in ttls.items()})


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """One cache setting the tuning simulates or replays (see the module docstring).

    ``name`` labels the candidate in tables and plots.
    """

    name: str = "config"
    ttls: Mapping[str, Mapping[str, float | None]] = field(default_factory=lambda: DEFAULT_TTLS)
    default_ttl: float | None = DEFAULT_TTL
    l1_size: int | None = None
    eviction: str = DEFAULT_EVICTION_POLICY
    codec: str = DEFAULT_CODEC

    def __post_init__(self) -> None:
        if self.eviction not in EVICTION_POLICIES:
            raise TuningError(
                f"unknown eviction policy {self.eviction!r}; choose from "
                + ", ".join(EVICTION_POLICIES)
            )
        if self.codec not in CODECS:
            raise TuningError(f"unknown codec {self.codec!r}; choose from {', '.join(CODECS)}")
        if self.l1_size is not None and self.l1_size <= 0:
            raise TuningError(f"L1 size must be positive bytes (or None), not {self.l1_size}")
        object.__setattr__(self, "ttls", _frozen(self.ttls))
        self.policy()  # validates the TTLs

    @classmethod
    def original(cls, *, l1_size: int | None = None, name: str = "original") -> Candidate:
        """The original system's defaults: its TTL matrix and zlib level 6."""
        return cls(name=name, l1_size=l1_size, codec=ORIGINAL_CODEC)

    @classmethod
    def from_policy(cls, policy: CachePolicy, **fields: Any) -> Candidate:
        """A configuration with ``policy``'s TTLs (its codec options are not carried over)."""
        return cls(ttls=policy.ttls, default_ttl=policy.default_ttl, **fields)

    def policy(self) -> CachePolicy:
        """The ``CachePolicy`` the real cache runs this configuration with.

        Early refresh is off: the replay is sequential and the simulator does not
        model XFetch's random early recomputation.
        """
        return CachePolicy(
            ttls=self.ttls,
            default_ttl=self.default_ttl,
            early_refresh=0.0,
            codec=CODECS[self.codec],
        )

    def ttl(self, kind: str, platform: str | None = None) -> float | None:
        """Seconds an entry of ``kind`` for ``platform`` lives, as the policy says."""
        return self.policy().ttl(kind, platform)

    def with_ttl(self, kind: str, platform: str, seconds: float | None) -> Candidate:
        """A copy whose TTL for ``kind`` on ``platform`` (``*``: every platform) is ``seconds``."""
        ttls = {k: dict(v) for k, v in self.ttls.items()}
        if platform == "*":
            ttls[kind] = {"*": seconds}
        else:
            row = ttls.setdefault(kind, {"*": self.ttl(kind, None)})
            row[platform] = seconds
        return replace(self, ttls=ttls)

    def renamed(self, name: str) -> Candidate:
        return replace(self, name=name)

    def changed(self, **fields: Any) -> Candidate:
        """A copy with some fields replaced (validated)."""
        return replace(self, **fields)

    def policy_dict(self) -> dict[str, Any]:
        """The TTLs as a ``VGKIT_CACHE_POLICY`` file (``CachePolicy.from_file``) holds them.

        Every platform is spelled out: a policy file is applied on top of the
        defaults, whose platform rows would otherwise survive a ``*`` override.
        """
        platforms = [p.value for p in Platform]
        return {
            "default_ttl": self.default_ttl,
            "ttl": {
                kind: {"*": self.ttl(kind, None), **{p: self.ttl(kind, p) for p in platforms}}
                for kind in sorted({*self.ttls, *DEFAULT_TTLS})
            },
        }

    def describe(self) -> dict[str, Any]:
        """Every field as JSON-able data."""
        return {
            "name": self.name,
            "l1_size": self.l1_size,
            "eviction": self.eviction,
            "codec": self.codec,
            **self.policy_dict(),
        }
