"""TTL policy: how long each content kind lives, per platform.

The defaults are the original system's: scripts 3600 s (YouTube 7200 s,
TikTok and Reels 3600 s because trends change fast), storyboards 3600 s,
timing 1800 s, complete results 86400 s, templates 604800 s. Kinds the
original did not name (topic analysis, hooks, CTAs, quality reports) get
``default_ttl``. Override from a dict (``CachePolicy.from_dict``) or a JSON
file (``CachePolicy.from_file``, or ``VGKIT_CACHE_POLICY``)::

    {"default_ttl": 3600, "early_refresh": 1.0,
     "ttl": {"script": {"*": 3600, "youtube": 7200}, "timing": 900}}

A kind maps to seconds, or to platform -> seconds with ``*`` as the fallback;
``null`` means no expiry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from vgkit.cache.codec import CodecConfig
from vgkit.errors import CacheError

__all__ = ["DEFAULT_TTL", "DEFAULT_TTLS", "CachePolicy"]

DEFAULT_TTL = 3600.0

#: kind -> platform ("*" for any) -> seconds (None: never expires).
DEFAULT_TTLS: Mapping[str, Mapping[str, float | None]] = MappingProxyType(
    {
        "script": MappingProxyType(
            {"*": 3600.0, "youtube": 7200.0, "tiktok": 3600.0, "instagram_reels": 3600.0}
        ),
        "storyboard": MappingProxyType({"*": 3600.0}),
        "timing": MappingProxyType({"*": 1800.0}),
        "result": MappingProxyType({"*": 86400.0}),
        "request": MappingProxyType({"*": 86400.0}),
        "template": MappingProxyType({"*": 604800.0}),
    }
)


@dataclass(frozen=True, kw_only=True)
class CachePolicy:
    """TTLs by kind and platform, early refresh, and the value codec.

    ``early_refresh`` is XFetch's beta: a hit recomputes in the background with
    a probability that grows as expiry nears, scaled by what the entry cost
    (0 turns early refresh off). ``codec`` says how values are compressed.
    """

    ttls: Mapping[str, Mapping[str, float | None]] = field(default_factory=lambda: DEFAULT_TTLS)
    default_ttl: float | None = DEFAULT_TTL
    early_refresh: float = 1.0
    codec: CodecConfig = field(default_factory=CodecConfig)

    def __post_init__(self) -> None:
        for kind, by_platform in self.ttls.items():
            for platform, ttl in by_platform.items():
                _check_ttl(f"{kind}/{platform}", ttl)
        _check_ttl("default_ttl", self.default_ttl)
        if self.early_refresh < 0:
            raise CacheError(f"early_refresh must be >= 0, not {self.early_refresh}")

    def ttl(self, kind: str, platform: str | None = None) -> float | None:
        """Seconds an entry of ``kind`` for ``platform`` lives (None: no expiry)."""
        by_platform = self.ttls.get(kind)
        if by_platform is None:
            return self.default_ttl
        if platform is not None and platform in by_platform:
            return by_platform[platform]
        return by_platform.get("*", self.default_ttl)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base: CachePolicy | None = None) -> CachePolicy:
        """A policy with ``data``'s overrides on top of ``base`` (default: the defaults)."""
        start = base or cls()
        unknown = set(data) - {"ttl", "default_ttl", "early_refresh", "codec"}
        if unknown:
            raise CacheError(
                f"unknown cache policy fields: {', '.join(sorted(unknown))}; "
                "use ttl, default_ttl, early_refresh, codec"
            )
        ttls = {kind: dict(v) for kind, v in start.ttls.items()}
        raw_ttl = data.get("ttl", {})
        if not isinstance(raw_ttl, Mapping):
            raise CacheError("cache policy 'ttl' must map kinds to seconds or platform -> seconds")
        for kind, value in raw_ttl.items():
            if isinstance(value, Mapping):
                ttls.setdefault(str(kind), {}).update(
                    {str(p): _seconds(v) for p, v in value.items()}
                )
            else:
                ttls[str(kind)] = {"*": _seconds(value)}
        codec = start.codec
        if "codec" in data:
            try:
                codec = CodecConfig(**data["codec"])
            except TypeError as exc:
                raise CacheError(f"invalid cache policy codec options: {exc}") from exc
        return cls(
            ttls=ttls,
            default_ttl=_seconds(data["default_ttl"])
            if "default_ttl" in data
            else start.default_ttl,
            early_refresh=float(data.get("early_refresh", start.early_refresh)),
            codec=codec,
        )

    @classmethod
    def from_file(cls, path: str | Path) -> CachePolicy:
        """A policy from a JSON file of overrides (see the module docstring)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CacheError(f"cannot read cache policy file {path}: {exc}") from exc
        if not isinstance(data, Mapping):
            raise CacheError(f"cache policy file {path} must hold a JSON object")
        return cls.from_dict(data)

    def matrix(self) -> dict[str, dict[str, float | None]]:
        """The effective TTL of every named kind for every platform (for docs and stats)."""
        from vgkit.platforms import Platform

        return {
            kind: {p.value: self.ttl(kind, p.value) for p in Platform} for kind in sorted(self.ttls)
        }


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CacheError(f"a TTL must be seconds (a number) or null, not {value!r}")
    return float(value)


def _check_ttl(where: str, ttl: float | None) -> None:
    if ttl is not None and not ttl > 0:
        raise CacheError(f"TTL {where} must be positive seconds or None, not {ttl}")
