"""How a video looks: palette, typography and motif, chosen from the topic and seed.

A :class:`Look` is a small value (it travels to worker processes as JSON) from
which every visual is drawn. The palette and the motif follow the topic, so two
topics look different and one topic keeps its look across platforms; the seed
varies the details (where shapes fall, which way a pan goes) without changing
the identity. Fonts are the DejaVu faces matplotlib ships, found on disk
without importing matplotlib.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from vgkit.errors import RenderError

__all__ = ["FONTS", "MOTIFS", "PALETTES", "Look", "font", "mix", "text_size", "wrap"]

RGB = tuple[int, int, int]


def _hex(value: str) -> RGB:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


#: name -> (background top, background bottom, accent, second accent, ink)
PALETTES: dict[str, tuple[str, str, str, str, str]] = {
    "midnight": ("#0b1026", "#1e3a8a", "#f59e0b", "#38bdf8", "#f8fafc"),
    "sunset": ("#2a1536", "#b4451f", "#fde047", "#fb7185", "#fff7ed"),
    "forest": ("#0a2a20", "#166534", "#bef264", "#fbbf24", "#f0fdf4"),
    "ocean": ("#061f33", "#0e7490", "#fcd34d", "#67e8f9", "#ecfeff"),
    "berry": ("#2e0854", "#9d174d", "#fde68a", "#f472b6", "#fdf4ff"),
    "ember": ("#1a1412", "#7c2d12", "#fb923c", "#facc15", "#fafaf9"),
    "mint": ("#032b2a", "#0f766e", "#fef08a", "#5eead4", "#f0fdfa"),
    "graphite": ("#0f141c", "#334155", "#22d3ee", "#a78bfa", "#f9fafb"),
    "paper": ("#fdf6e3", "#f2d59b", "#c2410c", "#1d4ed8", "#1c1917"),
    "lilac": ("#f3efff", "#c4b5fd", "#7c3aed", "#db2777", "#1e1b4b"),
}

MOTIFS = ("circles", "stripes", "dots", "triangles", "waves", "rings", "hexagons", "blocks")

#: Heading faces; captions always use DejaVu Sans Bold, the most legible.
FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansMono-Bold.ttf")
CAPTION_FONT = "DejaVuSans-Bold.ttf"
BODY_FONT = "DejaVuSans.ttf"


@cache
def font_dir() -> Path:
    """matplotlib's bundled TTF directory (no import of matplotlib needed)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RenderError("matplotlib is not installed: it carries the fonts videos are drawn with")
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"


@cache
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """A DejaVu face at ``size`` pixels (cached per process)."""
    return ImageFont.truetype(str(font_dir() / name), max(6, int(size)))


_MEASURE = ImageDraw.Draw(Image.new("L", (1, 1)))


def text_size(text: str, face: ImageFont.FreeTypeFont, stroke: int = 0) -> tuple[int, int]:
    left, top, right, bottom = _MEASURE.textbbox((0, 0), text, font=face, stroke_width=stroke)
    return int(right - left), int(bottom - top)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: int, max_lines: int = 3) -> list[str]:
    """Greedy word wrap to ``width`` pixels; the last line ends in an ellipsis if cut."""
    lines: list[str] = []
    line = ""
    words = text.split()
    for i, word in enumerate(words):
        trial = f"{line} {word}".strip()
        if not line or text_size(trial, face)[0] <= width:
            line = trial
            continue
        lines.append(line)
        line = word
        if len(lines) == max_lines:
            rest = " ".join(words[i:])
            lines[-1] = lines[-1] + ("…" if rest else "")
            return lines
    if line:
        lines.append(line)
    return lines


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """The colour ``t`` of the way from ``a`` to ``b``."""
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _digest(*parts: object) -> int:
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@dataclass(frozen=True, slots=True)
class Look:
    """Palette, heading face and motif of one video (see the module docstring)."""

    palette: str
    top: RGB
    bottom: RGB
    accent: RGB
    accent2: RGB
    ink: RGB
    heading_font: str
    motif: str
    seed: int

    @property
    def light(self) -> bool:
        """Whether the background is light (dark ink on it)."""
        return sum(self.top) > 450

    @classmethod
    def for_topic(cls, topic: str, seed: int = 0) -> Look:
        """The look of ``topic``: same topic, same palette, face and motif."""
        key = " ".join(topic.lower().split())
        h = _digest("look", key)
        names = sorted(PALETTES)
        name = names[h % len(names)]
        top, bottom, accent, accent2, ink = (_hex(c) for c in PALETTES[name])
        return cls(
            palette=name,
            top=top,
            bottom=bottom,
            accent=accent,
            accent2=accent2,
            ink=ink,
            heading_font=FONTS[(h >> 8) % len(FONTS)],
            motif=MOTIFS[(h >> 16) % len(MOTIFS)],
            seed=_digest("seed", key, seed) % (1 << 31),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Look:
        fields = dict(data)
        for name in ("top", "bottom", "accent", "accent2", "ink"):
            fields[name] = tuple(fields[name])
        return cls(**fields)
