"""A lab host's link to the lab's switch: round-trip time, jitter, loss and rate.

Figures are per host and combine along a path the way two real access links
do: between hosts A and B the round trip is ``(rtt_A + rtt_B) / 2`` (so two
hosts with ``rtt=1ms`` links see a 1 ms round trip), a packet A sends is lost
with A's ``loss``, and A's ``rate`` caps what A sends and receives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vgkit.errors import ConfigError

__all__ = ["NO_SHAPING", "LinkConfig", "parse_duration", "parse_loss", "parse_rate"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|ms|s)\s*$")
_DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(bit|bps)\s*$", re.IGNORECASE)
_RATE_SCALE = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}
#: Smallest rate the lab shapes to (tbf needs a burst of at least one packet per tick).
MIN_RATE = 8_000


def parse_duration(text: str | float, *, what: str = "duration") -> float:
    """Seconds from ``"1ms"``, ``"250us"``, ``"0.02s"`` (a number is seconds already)."""
    if isinstance(text, int | float):
        value = float(text)
    else:
        if text.strip() in {"0", ""}:
            return 0.0
        match = _DURATION.match(text)
        if match is None:
            raise ConfigError(
                f"{what} {text!r} is not a duration: write it like 1ms, 250us or 0.2s"
            )
        value = float(match[1]) * _DURATION_UNITS[match[2]]
    if value < 0 or value > 60:
        raise ConfigError(f"{what} must be between 0 and 60 s, not {value:g} s")
    return value


def parse_rate(text: str | float | None) -> float | None:
    """Bits per second from tc's units: ``100mbit``, ``1gbit``, ``500kbit`` (bits) or
    ``10mbps`` (bytes per second, as tc reads it). None or ``"0"``: not shaped."""
    if text is None:
        return None
    if isinstance(text, int | float):
        value = float(text)
    else:
        if text.strip() in {"0", "", "none"}:
            return None
        match = _RATE.match(text)
        if match is None:
            raise ConfigError(
                f"rate {text!r} is not a rate: write it like 100mbit, 1gbit or 500kbit"
            )
        value = float(match[1]) * _RATE_SCALE[match[2].lower()]
        if match[3].lower() == "bps":
            value *= 8
    if value == 0:
        return None
    if value < MIN_RATE:
        raise ConfigError(f"rate must be at least {MIN_RATE} bit/s, not {value:g}")
    return value


def parse_loss(text: str | float) -> float:
    """A fraction from ``"0.5%"`` or ``0.005``."""
    if isinstance(text, int | float):
        value = float(text)
    else:
        raw = text.strip()
        try:
            value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
        except ValueError:
            raise ConfigError(
                f"loss {text!r} is not a fraction: write it like 0.5% or 0.005"
            ) from None
    if not 0 <= value <= 1:
        raise ConfigError(f"loss must be between 0 and 100%, not {value:.4g}")
    return value


@dataclass(frozen=True, kw_only=True)
class LinkConfig:
    """One host's link (see the module docstring).

    ``rtt`` and ``jitter`` in seconds (jitter: each chunk's one-way delay varies
    uniformly within +-jitter), ``loss`` a fraction of the packets the host sends,
    ``rate`` bits per second each way (None: not shaped).
    """

    rtt: float = 0.0
    jitter: float = 0.0
    loss: float = 0.0
    rate: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.rtt <= 60 or not 0 <= self.jitter <= 60:
            raise ConfigError(f"rtt and jitter must be 0-60 s, not {self.rtt} and {self.jitter}")
        if self.jitter > self.rtt / 2 and self.jitter > 0:
            raise ConfigError(
                f"jitter {self.jitter * 1e3:g} ms is more than half the rtt "
                f"{self.rtt * 1e3:g} ms: a delay cannot go below zero; raise --rtt"
            )
        if not 0 <= self.loss <= 1:
            raise ConfigError(f"loss must be between 0 and 1, not {self.loss}")
        if self.rate is not None and self.rate < MIN_RATE:
            raise ConfigError(f"rate must be at least {MIN_RATE} bit/s or None, not {self.rate}")

    @classmethod
    def parse(
        cls,
        *,
        rtt: str | float = 0.0,
        jitter: str | float = 0.0,
        loss: str | float = 0.0,
        rate: str | float | None = None,
    ) -> LinkConfig:
        """A link from the CLI's spellings: ``LinkConfig.parse(rtt="20ms", loss="0.5%")``."""
        return cls(
            rtt=parse_duration(rtt, what="rtt"),
            jitter=parse_duration(jitter, what="jitter"),
            loss=parse_loss(loss),
            rate=parse_rate(rate),
        )

    @property
    def delayed(self) -> bool:
        return self.rtt > 0 or self.jitter > 0

    def describe(self) -> str:
        parts = [f"rtt {self.rtt * 1e3:g} ms"]
        if self.jitter:
            parts.append(f"jitter {self.jitter * 1e3:g} ms")
        if self.loss:
            parts.append(f"loss {self.loss * 100:g}%")
        parts.append("rate unshaped" if self.rate is None else f"rate {_rate(self.rate)}")
        return ", ".join(parts)


def _rate(bits: float) -> str:
    for scale, unit in ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")):
        if bits >= scale:
            return f"{bits / scale:g} {unit}"
    return f"{bits:g} bit/s"


NO_SHAPING = LinkConfig()
