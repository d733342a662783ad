"""Pillow drawings of backdrops, motifs and the picture of each shot family.

Every function here draws into a Pillow image with a seeded ``random.Random``
and nothing else, so the same look, seed and shot give the same pixels in any
process. Plates are drawn at half size (see :func:`vgkit.video.canvas.half_image_planes`).
"""

from __future__ import annotations

import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from vgkit.video.look import RGB, Look, font, mix, text_size

__all__ = [
    "backdrop",
    "glow",
    "paint_detail",
    "paint_hero",
    "paint_landscape",
    "paint_motif",
    "paint_overhead",
    "paint_presenter",
    "paint_screen",
    "paint_split",
    "vertical_gradient",
]


def _darker(c: RGB, k: float) -> RGB:
    return mix(c, (0, 0, 0), k)


def _lighter(c: RGB, k: float) -> RGB:
    return mix(c, (255, 255, 255), k)


def vertical_gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    w, h = size
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    column = np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t
    rows = np.broadcast_to(column[:, None, :].astype(np.uint8), (h, w, 3))
    return Image.fromarray(np.ascontiguousarray(rows), "RGB")


def glow(
    image: Image.Image, centre: tuple[float, float], radius: float, color: RGB, strength: int
) -> None:
    """A soft radial light of ``color`` pasted onto ``image``."""
    r = max(2, int(radius))
    mask = Image.radial_gradient("L").resize((2 * r, 2 * r), Image.Resampling.BILINEAR)
    # radial_gradient is 0 at the centre and 255 in the corners (181 at the edge's middle):
    # fade to nothing at the inscribed circle, smoothly (squared falloff).
    mask = mask.point(lambda v: int(strength * max(0.0, 1 - v / 180) ** 2))
    image.paste(color, (int(centre[0] - r), int(centre[1] - r)), mask)


def backdrop(look: Look, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Gradient, a soft light and the topic's motif."""
    w, h = size
    top, bottom = look.top, look.bottom
    if rng.random() < 0.5:
        top, bottom = mix(top, bottom, 0.15), mix(bottom, top, 0.1)
    image = vertical_gradient(size, top, bottom)
    glow(
        image,
        (rng.uniform(0.2, 0.8) * w, rng.uniform(0.15, 0.6) * h),
        0.7 * max(w, h),
        look.accent2,
        70,
    )
    paint_motif(image, look, rng, scale=1.0)
    return image


def paint_motif(image: Image.Image, look: Look, rng: random.Random, scale: float = 1.0) -> None:
    """The topic's geometric motif, translucent, over ``image``."""
    w, h = image.size
    u = min(w, h) / 10 * scale
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    colors = (look.accent, look.accent2, look.ink)

    def c(alpha: int) -> tuple[int, int, int, int]:
        return (*rng.choice(colors), alpha)

    motif = look.motif
    if motif == "circles":
        for _ in range(12):
            r = rng.uniform(0.3, 2.2) * u
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            if rng.random() < 0.6:
                d.ellipse((x - r, y - r, x + r, y + r), fill=c(rng.randint(18, 46)))
            else:
                d.ellipse((x - r, y - r, x + r, y + r), outline=c(70), width=max(2, int(u / 12)))
    elif motif == "stripes":
        step = 1.3 * u
        for i in range(-12, 24):
            x = i * step
            if i % 3 == 0:
                continue
            d.polygon(
                [(x, 0), (x + step * 0.45, 0), (x + step * 0.45 - h, h), (x - h, h)],
                fill=c(rng.randint(14, 34)),
            )
    elif motif == "dots":
        step = 0.55 * u
        phase = rng.uniform(0, 6.28)
        for gy in range(int(h / step) + 1):
            for gx in range(int(w / step) + 1):
                x, y = gx * step, gy * step
                r = step * 0.18 * (1.1 + math.sin(gx * 0.45 + gy * 0.3 + phase))
                if r > 1:
                    d.ellipse((x - r, y - r, x + r, y + r), fill=(*look.ink, 40))
    elif motif == "triangles":
        for _ in range(16):
            x, y = rng.uniform(-u, w + u), rng.uniform(-u, h + u)
            s = rng.uniform(0.8, 2.6) * u
            a = rng.uniform(0, 6.28)
            pts = [
                (x + s * math.cos(a + k * 2.094), y + s * math.sin(a + k * 2.094)) for k in range(3)
            ]
            d.polygon(pts, fill=c(rng.randint(16, 42)))
    elif motif == "waves":
        for k in range(6):
            base = h * (0.45 + 0.1 * k)
            amp, freq, ph = u * rng.uniform(0.3, 0.8), rng.uniform(1.0, 2.5), rng.uniform(0, 6.28)
            pts = [(x, base + amp * math.sin(x / w * 6.28 * freq + ph)) for x in range(0, w + 9, 8)]
            d.polygon([*pts, (w, h), (0, h)], fill=c(26))
    elif motif == "rings":
        cx, cy = rng.choice(((0, 0), (w, 0), (0, h), (w, h), (w / 2, h * 0.3)))
        for k in range(1, 16):
            r = k * 0.9 * u
            d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=c(60), width=max(2, int(u / 10)))
    elif motif == "hexagons":
        r = 0.9 * u
        dx, dy = r * math.sqrt(3), r * 1.5
        for gy in range(int(h / dy) + 2):
            for gx in range(int(w / dx) + 2):
                x = gx * dx + (dx / 2 if gy % 2 else 0)
                y = gy * dy
                pts = [
                    (x + r * math.cos(a), y + r * math.sin(a))
                    for a in (math.pi / 6 + k * math.pi / 3 for k in range(6))
                ]
                if rng.random() < 0.18:
                    d.polygon(pts, fill=c(40))
                else:
                    d.polygon(pts, outline=(*look.ink, 28), width=max(1, int(u / 20)))
    else:  # blocks
        for _ in range(10):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            s = rng.uniform(0.8, 2.4) * u
            if rng.random() < 0.5:
                d.rectangle((x, y, x + s, y + s), fill=c(rng.randint(22, 50)))
            else:
                start = rng.choice((0, 90, 180, 270))
                d.pieslice(
                    (x - s, y - s, x + s, y + s), start, start + 90, fill=c(rng.randint(22, 50))
                )
    image.paste(layer, (0, 0), layer)


def _hills(image: Image.Image, look: Look, rng: random.Random, horizon: float) -> None:
    w, h = image.size
    d = ImageDraw.Draw(image)
    for k in range(3):
        base = h * (horizon + 0.08 * k)
        amp = h * (0.05 - 0.01 * k)
        f1, f2 = rng.uniform(0.8, 1.8), rng.uniform(2.5, 4.5)
        p1, p2 = rng.uniform(0, 6.28), rng.uniform(0, 6.28)
        pts = [
            (
                x,
                base
                - amp * (math.sin(x / w * 6.28 * f1 + p1) + 0.4 * math.sin(x / w * 6.28 * f2 + p2)),
            )
            for x in range(0, w + 9, 8)
        ]
        color = mix(_darker(look.bottom, 0.35 + 0.2 * k), look.accent2, 0.12 * (2 - k))
        d.polygon([*pts, (w, h), (0, h)], fill=color)


def paint_landscape(
    image: Image.Image, look: Look, rng: random.Random, *, sun: bool = True
) -> None:
    """Sky, sun and layered hills: the establishing picture of the topic's world."""
    w, h = image.size
    horizon = rng.uniform(0.55, 0.68)
    sky = vertical_gradient(
        (w, int(h * horizon) + 2), look.top, mix(look.bottom, look.accent, 0.35)
    )
    image.paste(sky, (0, 0))
    if sun:
        r = min(w, h) * rng.uniform(0.09, 0.14)
        cx, cy = rng.uniform(0.25, 0.75) * w, h * (horizon - rng.uniform(0.12, 0.25))
        glow(image, (cx, cy), r * 4, look.accent, 110)
        ImageDraw.Draw(image).ellipse(
            (cx - r, cy - r, cx + r, cy + r), fill=_lighter(look.accent, 0.2)
        )
    _hills(image, look, rng, horizon)


def paint_presenter(image: Image.Image, look: Look, rng: random.Random) -> None:
    """A presenter's bust in silhouette, rim-lit, against a studio light."""
    w, h = image.size
    u = min(w, h)
    cx = w * rng.choice((0.38, 0.62)) if w > h else w * 0.5
    glow(image, (cx, h * 0.42), u * 0.9, _lighter(look.accent2, 0.2), 120)
    body = _darker(look.top, 0.35)
    rim = look.accent
    head_r = u * 0.12
    head_y = h * (0.4 if w > h else 0.43)
    d = ImageDraw.Draw(image)
    top = head_y + head_r * 1.45
    half = u * 0.52
    bottom = top + u * 1.3  # the shoulders run out of frame: a bust, not a figure
    d.ellipse((cx - half - 5, top - 5, cx + half + 5, bottom), fill=rim)
    neck = head_r * 0.42
    # Neck as a trapezoid widening into the shoulders, rim first, so the outline is continuous.
    for grow, fill in ((5, rim), (0, body)):
        d.polygon(
            [
                (cx - neck - grow, head_y + head_r * 0.6),
                (cx + neck + grow, head_y + head_r * 0.6),
                (cx + neck * 1.9 + grow, top + head_r * 0.35),
                (cx - neck * 1.9 - grow, top + head_r * 0.35),
            ],
            fill=fill,
        )
    d.ellipse((cx - half, top, cx + half, bottom + 5), fill=body)
    d.ellipse(
        (cx - head_r - 5, head_y - head_r - 5, cx + head_r + 5, head_y + head_r + 5), fill=rim
    )
    d.ellipse((cx - head_r, head_y - head_r, cx + head_r, head_y + head_r), fill=body)
    d.polygon(
        [
            (cx - neck, head_y + head_r * 0.6),
            (cx + neck, head_y + head_r * 0.6),
            (cx + neck * 1.9, top + head_r * 0.35),
            (cx - neck * 1.9, top + head_r * 0.35),
        ],
        fill=body,
    )


def paint_detail(image: Image.Image, look: Look, rng: random.Random, word: str) -> None:
    """A macro view: the motif large, and either the key word's initial as a giant soft
    glyph or a lens-like ring of light."""
    w, h = image.size
    paint_motif(image, look, rng, scale=2.6)
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    if rng.random() < 0.5:
        letter = (word.strip()[:1] or "•").upper()
        face = font(look.heading_font, int(min(w, h) * 0.95))
        tw, th = text_size(letter, face)
        d.text(
            ((w - tw) / 2, (h - th) / 2 - th * 0.15), letter, font=face, fill=(*look.accent, 120)
        )
    else:
        cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.35, 0.55)
        r = min(w, h) * 0.36
        for k in range(6):
            rr = r * (1 - 0.13 * k)
            col = look.accent if k % 2 == 0 else look.accent2
            d.ellipse(
                (cx - rr, cy - rr, cx + rr, cy + rr), outline=(*col, 150), width=max(3, int(r / 28))
            )
        d.ellipse((cx - r * 0.2, cy - r * 0.2, cx + r * 0.2, cy + r * 0.2), fill=(*look.ink, 200))
    layer = layer.filter(ImageFilter.GaussianBlur(max(1, min(w, h) // 200)))
    image.paste(layer, (0, 0), layer)


def paint_split(image: Image.Image, look: Look, rng: random.Random) -> None:
    """Two panels with a divider: the comparison shot."""
    w, h = image.size
    vertical = h > w
    a = vertical_gradient(
        (w, h // 2) if vertical else (w // 2, h), _darker(look.accent, 0.55), look.top
    )
    b = vertical_gradient(
        (w, h - h // 2) if vertical else (w - w // 2, h), _darker(look.accent2, 0.5), look.bottom
    )
    image.paste(a, (0, 0))
    image.paste(b, (0, h // 2) if vertical else (w // 2, 0))
    paint_motif(image, look, rng, scale=0.8)
    d = ImageDraw.Draw(image)
    t = max(3, min(w, h) // 90)
    if vertical:
        d.rectangle((0, h // 2 - t, w, h // 2 + t), fill=look.ink)
    else:
        d.rectangle((w // 2 - t, 0, w // 2 + t, h), fill=look.ink)


def paint_screen(image: Image.Image, look: Look, rng: random.Random) -> None:
    """An app window: title bar, sidebar, text lines and a chart card."""
    w, h = image.size
    u = min(w, h)
    dark = not look.light
    win = (26, 30, 40) if dark else (250, 250, 252)
    line = (70, 78, 96) if dark else (214, 218, 228)
    d = ImageDraw.Draw(image)
    x0, y0 = w * 0.08, h * (0.16 if h > w else 0.12)
    x1, y1 = w * 0.92, h * (0.8 if h > w else 0.88)
    d.rounded_rectangle(
        (x0 + 10, y0 + 14, x1 + 10, y1 + 14), radius=u * 0.03, fill=_darker(look.bottom, 0.5)
    )
    d.rounded_rectangle((x0, y0, x1, y1), radius=u * 0.03, fill=win)
    bar = y0 + u * 0.07
    d.rounded_rectangle((x0, y0, x1, bar), radius=u * 0.03, fill=mix(win, look.accent2, 0.25))
    for k, col in enumerate(((239, 68, 68), (234, 179, 8), (34, 197, 94))):
        cx, cy, r = x0 + u * (0.05 + 0.045 * k), (y0 + bar) / 2, u * 0.013
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=col)
    side = x0 + (x1 - x0) * 0.26
    d.rectangle((x0, bar, side, y1 - u * 0.03), fill=mix(win, look.top, 0.12))
    y = bar + u * 0.05
    for k in range(7):
        d.rounded_rectangle(
            (x0 + u * 0.03, y, side - u * 0.03, y + u * 0.025),
            radius=u * 0.012,
            fill=look.accent if k == 2 else line,
        )
        y += u * 0.06
    cx0 = side + u * 0.05
    y = bar + u * 0.06
    for _ in range(5):
        d.rounded_rectangle(
            (cx0, y, cx0 + (x1 - cx0 - u * 0.05) * rng.uniform(0.5, 0.95), y + u * 0.028),
            radius=u * 0.014,
            fill=line,
        )
        y += u * 0.06
    card = (cx0, y + u * 0.02, x1 - u * 0.05, y1 - u * 0.06)
    d.rounded_rectangle(card, radius=u * 0.02, fill=mix(win, look.accent2, 0.12))
    n = 6
    bw = (card[2] - card[0]) / (n * 1.6)
    for k in range(n):
        bx = card[0] + bw * (0.6 + 1.6 * k)
        bh = (card[3] - card[1]) * rng.uniform(0.25, 0.8)
        d.rectangle(
            (bx, card[3] - bh - u * 0.02, bx + bw, card[3] - u * 0.02),
            fill=look.accent if k % 2 else look.accent2,
        )


def paint_hero(image: Image.Image, look: Look, rng: random.Random, word: str) -> None:
    """An emblem on a pedestal under a spotlight."""
    w, h = image.size
    u = min(w, h)
    cx, cy = w / 2, h * 0.46
    glow(image, (cx, cy), u * 0.8, _lighter(look.accent, 0.3), 120)
    d = ImageDraw.Draw(image)
    pw = u * 0.5
    d.ellipse((cx - pw, cy + u * 0.28, cx + pw, cy + u * 0.42), fill=_darker(look.bottom, 0.45))
    r = u * 0.26
    for k, col in enumerate((look.accent2, look.accent, _darker(look.top, 0.2))):
        rr = r * (1 - 0.16 * k)
        d.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), fill=col)
    letter = (word.strip()[:1] or "•").upper()
    face = font(look.heading_font, int(r * 1.1))
    tw, th = text_size(letter, face)
    d.text((cx - tw / 2, cy - th / 2 - th * 0.2), letter, font=face, fill=look.accent)


def paint_overhead(image: Image.Image, look: Look, rng: random.Random) -> None:
    """A flat lay: a symmetrical grid of tiles, each with a simple object."""
    w, h = image.size
    cols, rows = (3, 5) if h > w else (5, 3)
    pad = min(w, h) * 0.05
    tw, th = (w - pad * (cols + 1)) / cols, (h - pad * (rows + 1)) / rows
    s = min(tw, th)
    d = ImageDraw.Draw(image)
    colors = (look.accent, look.accent2, _lighter(look.top, 0.25), _lighter(look.bottom, 0.2))
    for r in range(rows):
        for c in range(cols):
            x = pad + c * (tw + pad) + (tw - s) / 2
            y = pad + r * (th + pad) + (th - s) / 2
            fill = colors[(r * cols + c) % len(colors)]
            d.rounded_rectangle((x, y, x + s, y + s), radius=s * 0.15, fill=fill)
            ink = _darker(fill, 0.55)
            kind = (r + 2 * c) % 4
            m = s * 0.28
            if kind == 0:
                d.ellipse((x + m, y + m, x + s - m, y + s - m), fill=ink)
            elif kind == 1:
                d.polygon(
                    [(x + s / 2, y + m), (x + s - m, y + s - m), (x + m, y + s - m)], fill=ink
                )
            elif kind == 2:
                d.rectangle(
                    (x + m, y + m, x + s - m, y + s - m), outline=ink, width=max(2, int(s / 20))
                )
            else:
                for k in range(3):
                    yy = y + m + k * (s - 2 * m) / 2.5
                    d.rounded_rectangle(
                        (x + m, yy, x + s - m, yy + s * 0.07), radius=s * 0.03, fill=ink
                    )
