"""Transition looks: how two shots' frames combine during a transition window.

The plan names transitions in words (``cross dissolve``, ``whip pan``,
``dip to black``, ``graphic wipe``...). :func:`style_of` maps a name to one of
a few styles, each a function of both frames and the progress ``q`` (0..1)
writing into the output planes, in numpy on the yuv420p planes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from vgkit.video.canvas import Planes, even, frame_planes, new_frame, rgb_to_yuv

if TYPE_CHECKING:
    from vgkit.video.look import Look

__all__ = ["STYLES", "blend", "style_of"]

STYLES = ("crossfade", "dip", "fade", "push", "wipe", "cover", "zoom")

_NAMES = {
    "dissolve": "crossfade",
    "cross": "crossfade",
    "l-cut": "crossfade",
    "j-cut": "crossfade",
    "fade out": "fade",
    "fade in": "fade",
    "dip": "dip",
    "black": "dip",
    "whip": "push",
    "slide": "push",
    "push": "push",
    "speed ramp": "zoom",
    "zoom": "zoom",
    "wipe": "wipe",
    "hand": "cover",
    "cover": "cover",
}


def style_of(name: str) -> str:
    """The style a transition name draws with (crossfade when nothing matches)."""
    key = name.lower()
    for word, style in _NAMES.items():
        if word in key:
            return style
    return "crossfade"


def _ease(q: float) -> float:
    q = min(1.0, max(0.0, q))
    return q * q * (3 - 2 * q)


def _mix(a: np.ndarray, b: np.ndarray, k: int, out: np.ndarray) -> None:
    out[...] = (a.astype(np.uint16) * (256 - k) + b.astype(np.uint16) * k) >> 8


def _mix_planes(a: Planes, b: Planes, q: float, out: Planes) -> None:
    k = max(0, min(256, round(q * 256)))
    for pa, pb, po in ((a.y, b.y, out.y), (a.u, b.u, out.u), (a.v, b.v, out.v)):
        _mix(pa, pb, k, po)


def blend(style: str, a: Planes, b: Planes, q: float, out: Planes, look: Look) -> None:
    """Write the transition frame at progress ``q`` from frames ``a`` and ``b`` into ``out``."""
    w = out.width
    if style == "crossfade":
        _mix_planes(a, b, _ease(q), out)
    elif style == "fade":
        _mix_planes(a, b, q, out)
    elif style == "dip":
        black = Planes.filled(out.width, out.height, (16, 128, 128))
        if q < 0.5:
            _mix_planes(a, black, _ease(2 * q), out)
        else:
            _mix_planes(black, b, _ease(2 * q - 1), out)
    elif style == "push":
        s = min(w, max(0, even(_ease(q) * w)))
        for pa, pb, po, f in ((a.y, b.y, out.y, 1), (a.u, b.u, out.u, 2), (a.v, b.v, out.v, 2)):
            sw, ww = s // f, w // f
            po[:, : ww - sw] = pa[:, sw:]
            po[:, ww - sw :] = pb[:, :sw]
    elif style in {"wipe", "cover"}:
        bar = even(w * (0.05 if style == "wipe" else 0.28))
        x = even(_ease(q) * (w + bar)) - bar // 2
        color = rgb_to_yuv(look.accent) if style == "wipe" else (24, 128, 128)
        for pa, pb, po, f, c in (
            (a.y, b.y, out.y, 1, color[0]),
            (a.u, b.u, out.u, 2, color[1]),
            (a.v, b.v, out.v, 2, color[2]),
        ):
            edge = max(0, min(w, x)) // f
            po[:, :edge] = pb[:, :edge]
            po[:, edge:] = pa[:, edge:]
            lo, hi = max(0, x - bar // 2) // f, max(0, min(w, x + bar // 2)) // f
            po[:, lo:hi] = c
    elif style == "zoom":
        z = 1 + 0.6 * _ease(min(1.0, q * 1.6))
        ww, wh = even(w / z), even(out.height / z)
        x, y = even((w - ww) / 2), even((out.height - wh) / 2)
        src, src_planes = new_frame(ww, wh)
        a.crop(x, y, ww, wh).copy_to(src_planes)
        zoomed = frame_planes(src.reformat(width=w, height=out.height))
        _mix_planes(zoomed, b, _ease(max(0.0, q * 1.6 - 0.6)), out)
    else:
        _mix_planes(a, b, q, out)
