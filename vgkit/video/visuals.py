"""The picture of one shot at any moment: a plate, a camera move, animated layers.

A :class:`ShotVisual` is built once per shot (in a worker process) from a JSON
spec. Building it draws everything that does not change: the *plate* (the
shot's picture, larger than the frame so the camera has room to move) and the
sprites (overlay text, key words, labels). Each frame then costs a crop of the
plate (a memory copy, or FFmpeg's scaler when the camera zooms), a few sprite
blends, and nothing at all when the frame equals the previous one (static
camera, nothing animating): :meth:`ShotVisual.state` tells the encoder when it
can send the same frame again.

The shot's type chooses its *family* (what is drawn) and its camera text
chooses the move (push-in, pan, tilt, handheld shake, punch-in...). Unknown
types and camera texts (an edited plan, an LLM's wording) fall back on keyword
rules, then on a landscape with a slow push-in.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from vgkit.video import painters
from vgkit.video.canvas import Planes, Sprite, even, half_image_planes, image_planes, new_frame
from vgkit.video.look import BODY_FONT, Look, font, mix, text_size, wrap

if TYPE_CHECKING:
    import av

__all__ = ["FAMILIES", "PLATE_MARGIN", "Camera", "ShotVisual", "camera_for", "family_of"]

#: The plate is this much larger than the frame, the room for pans and push-ins.
PLATE_MARGIN = 1.2

#: family -> shot types (lower case) that draw it.
FAMILIES: dict[str, tuple[str, ...]] = {
    "landscape": ("wide", "establishing", "aerial", "low angle", "tracking", "b-roll"),
    "presenter": ("medium", "medium close-up", "selfie", "point of view", "pov", "host"),
    "detail": ("close-up", "extreme close-up", "punch-in", "reaction", "macro", "detail"),
    "kinetic": ("kinetic text", "text", "title"),
    "split": ("split screen", "split", "comparison"),
    "timelapse": ("time-lapse", "timelapse", "hyperlapse"),
    "graphic": ("motion graphic", "diagram", "chart", "infographic", "animation"),
    "screen": ("screen capture", "over-the-shoulder", "screen", "screencast"),
    "hero": ("hero", "product", "beauty"),
    "overhead": ("overhead", "flat lay", "top-down", "top down"),
}
_TYPE_TO_FAMILY = {t: f for f, types in FAMILIES.items() for t in types}

_STOP = frozenset(
    "a an and are as at be by for from how in into is it its of on or that the this to what "
    "why with your you step point part chapter".split()
)


def family_of(shot_type: str) -> str:
    """The family that draws ``shot_type`` (exact name first, then any word of it)."""
    key = " ".join(shot_type.lower().split())
    if key in _TYPE_TO_FAMILY:
        return _TYPE_TO_FAMILY[key]
    for family, types in FAMILIES.items():
        if any(t in key for t in types):
            return family
    return "landscape"


def _ease(p: float, kind: str) -> float:
    p = min(1.0, max(0.0, p))
    if kind == "linear":
        return p
    if kind == "out":
        return 1 - (1 - p) ** 3
    return p * p * (3 - 2 * p)  # in-out


@dataclass(frozen=True, slots=True)
class Camera:
    """A camera move over a shot: window size and position from start to end.

    ``k0``/``k1``: the window's size as a multiple of the frame (1: one plate
    pixel per frame pixel; larger: a wider view, scaled down). ``pan``: the
    window's centre at start and end, each in -1..1 of the room the plate
    leaves. ``shake``: handheld wobble in frame pixels at 1080 px. ``ramp``:
    the part of the shot the move takes (a punch-in is over in a few frames).
    """

    k0: float = 1.0
    k1: float = 1.0
    pan: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    shake: float = 0.0
    ramp: float = 1.0
    ease: str = "inout"
    phase: float = 0.0

    @property
    def static(self) -> bool:
        return self.k0 == self.k1 and self.pan[:2] == self.pan[2:] and not self.shake

    def window(
        self, p: float, t: float, frame: tuple[int, int], plate: tuple[int, int]
    ) -> tuple[int, int, int, int]:
        """(x, y, width, height) of the plate region shown at progress ``p`` (time ``t``)."""
        w, h = frame
        pw, ph = plate
        q = _ease(p / self.ramp if self.ramp > 0 else 1.0, self.ease)
        k = self.k0 + (self.k1 - self.k0) * q
        ww = min(pw, even(w * k))
        wh = min(ph, even(ww * h / w))
        px = self.pan[0] + (self.pan[2] - self.pan[0]) * q
        py = self.pan[1] + (self.pan[3] - self.pan[1]) * q
        cx = pw / 2 + px * (pw - ww) / 2
        cy = ph / 2 + py * (ph - wh) / 2
        if self.shake:
            a = self.shake * w / 1080
            f = self.phase
            cx += a * (math.sin(t * 5.1 + f) + 0.5 * math.sin(t * 8.3 + 2 * f))
            cy += a * (math.sin(t * 4.3 + 3 * f) + 0.5 * math.sin(t * 7.7 + f))
        x = min(max(0, even(cx - ww / 2)), pw - ww)
        y = min(max(0, even(cy - wh / 2)), ph - wh)
        return x, y, ww, wh


def camera_for(camera: str, family: str, rng: random.Random) -> Camera:
    """The move a camera description asks for (see the module docstring)."""
    text = camera.lower()
    flip = -1.0 if rng.random() < 0.5 else 1.0
    phase = rng.uniform(0, 6.28)
    if family in {"overhead", "timelapse", "split"} and "push" not in text:
        return Camera()
    if "punch" in text:
        return Camera(k0=1.2, k1=1.0, ramp=0.12, ease="out")
    if "quick push" in text:
        return Camera(k0=1.18, k1=1.0, ramp=0.5, ease="out", shake=5, phase=phase)
    if "slight push" in text:
        return Camera(k0=1.07, k1=1.0, ease="linear")
    if "zoom and pan" in text:
        return Camera(k0=1.15, k1=1.0, pan=(-0.7 * flip, 0, 0.7 * flip, 0))
    if "orbit" in text or "drone" in text:
        return Camera(k0=1.12, k1=1.0, pan=(0.8 * flip, 0, -0.8 * flip, 0))
    if any(w in text for w in ("dolly in", "push", "zoom in", "zoom")):
        return Camera(k0=1.15, k1=1.0)
    if "pull" in text or "zoom out" in text:
        return Camera(k0=1.0, k1=1.15)
    if "tilt" in text:
        return Camera(pan=(0, 0.9, 0, -0.9), ease="linear")
    if any(w in text for w in ("slider", "left to right", "pan", "slide")):
        return Camera(pan=(-0.9 * flip, 0, 0.9 * flip, 0), ease="linear")
    if "gimbal" in text or "follow" in text or "tracking" in text:
        return Camera(pan=(-0.7 * flip, 0, 0.7 * flip, 0), ease="linear", shake=3, phase=phase)
    if "turntable" in text or "rotat" in text:
        return Camera(k0=1.06, k1=1.0, pan=(-0.3 * flip, 0, 0.3 * flip, 0), ease="linear")
    if "sway" in text:
        return Camera(shake=7, phase=phase)
    if "handheld" in text:
        return Camera(shake=10 if "pov" in text else 7, phase=phase)
    if any(w in text for w in ("static", "locked", "tripod", "top-down", "macro")):
        return Camera()
    return Camera(k0=1.1, k1=1.0)


def content_words(*texts: str, limit: int = 4) -> list[str]:
    """Distinct words worth showing on screen, in order of appearance."""
    out: list[str] = []
    for text in texts:
        for raw in text.replace(":", " ").replace(",", " ").split():
            word = raw.strip(".!?;\"'()[]…").strip()
            if len(word) < 3 or word.lower() in _STOP:
                continue
            if word.lower() not in (w.lower() for w in out):
                out.append(word)
            if len(out) == limit:
                return out
    return out


def _contrast_ink(color: tuple[int, int, int]) -> tuple[int, int, int]:
    luma = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
    return (20, 20, 24) if luma > 150 else (250, 250, 250)


def pill(
    text: str, face: Any, fill: tuple[int, int, int], ink: tuple[int, int, int], pad: int
) -> Image.Image:
    """Text on a rounded, filled label."""
    tw, th = text_size(text, face)
    ascent = face.getbbox(text)[1]
    image = Image.new("RGBA", (tw + 2 * pad, th + int(1.4 * pad)), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    d.rounded_rectangle(
        (0, 0, image.width - 1, image.height - 1), radius=image.height // 2, fill=(*fill, 235)
    )
    d.text((pad, int(0.7 * pad) - ascent), text, font=face, fill=ink)
    return image


@dataclass(slots=True)
class _Anim:
    """A sprite shown from ``t0``, fading in over ``fade`` seconds while sliding up ``rise`` px."""

    sprite: Sprite
    x: int
    y: int
    t0: float = -1e9
    fade: float = 0.0
    rise: int = 0

    def state(self, t: float) -> int:
        if t < self.t0:
            return -1
        if self.fade <= 0 or t >= self.t0 + self.fade:
            return 100
        return int(100 * (t - self.t0) / self.fade)

    def draw(self, planes: Planes, t: float) -> None:
        s = self.state(t)
        if s < 0:
            return
        if s >= 100:
            self.sprite.blend(planes, self.x, self.y)
            return
        q = _ease(s / 100, "out")
        self.sprite.faded(q).blend(planes, self.x, self.y + int(self.rise * (1 - q)))


class ShotVisual:
    """One shot's picture at any time (see the module docstring).

    ``spec`` is the JSON the render graph sends: the plan's shot fields plus the
    segment title, key words and an optional asset. Times given to
    :meth:`state` and :meth:`draw` are seconds on the video's timeline; they may
    fall outside the shot (a transition shows both shots for a moment).
    """

    def __init__(self, spec: dict[str, Any], look: Look, width: int, height: int) -> None:
        self.spec = spec
        self.look = look
        self.size = (width, height)
        self.start = float(spec["start"])
        self.duration = max(1e-3, float(spec["duration"]))
        self.rng = random.Random(f"{look.seed}:{spec['index']}:{spec['shot_type']}")
        self.family = family_of(spec["shot_type"])
        self.vertical = height > width
        self.unit = min(width, height) / 1080
        asset = spec.get("asset")
        self.asset_kind = asset["kind"] if asset else None
        self._video: _VideoAsset | None = None
        camera = camera_for(spec.get("camera", ""), self.family, self.rng)
        if asset is not None and camera.static:
            camera = Camera(k0=1.12, k1=1.0)  # Ken Burns: a still picture never stands still
        self.camera = camera
        self.plate_size = (even(width * PLATE_MARGIN), even(height * PLATE_MARGIN))
        self.anims: list[_Anim] = []
        self.bars: list[tuple[int, int, int, int, tuple[int, int, int], float]] = []
        self.grade = self.family == "timelapse"
        if asset is not None and asset["kind"] == "video":
            self._video = _VideoAsset(Path(asset["path"]), width, height)
            self.plate = Planes.filled(2, 2, (16, 128, 128))
        elif asset is not None:
            self.plate = _image_plate(Path(asset["path"]), self.plate_size)
        else:
            self.plate = self._paint_plate()
        self._add_layers()
        self._prev_window: tuple[int, int, int, int] | None = None

    # -- building -------------------------------------------------------------

    def _paint_plate(self) -> Planes:
        pw, ph = self.plate_size
        size = (pw // 2, ph // 2)
        rng, look, spec = self.rng, self.look, self.spec
        image = painters.backdrop(look, size, rng)
        word = str((spec.get("keywords") or [spec.get("title", "")])[0])
        family = self.family
        if family in {"landscape", "timelapse"}:
            painters.paint_landscape(image, look, rng, sun=family == "landscape")
        elif family == "presenter":
            painters.paint_presenter(image, look, rng)
        elif family == "detail":
            painters.paint_detail(image, look, rng, word)
        elif family == "split":
            painters.paint_split(image, look, rng)
        elif family == "screen":
            painters.paint_screen(image, look, rng)
        elif family == "hero":
            painters.paint_hero(image, look, rng, word)
        elif family == "overhead":
            painters.paint_overhead(image, look, rng)
        # Pillow draws shapes without anti-aliasing; a touch of blur at half size keeps their
        # edges from stair-stepping once the luma is doubled (the plate is background anyway).
        return half_image_planes(image.filter(ImageFilter.GaussianBlur(0.7)))

    def _add_layers(self) -> None:
        w, h = self.size
        u = self.unit
        look, spec = self.look, self.spec
        family = self.family
        keywords = [k for k in spec.get("keywords", []) if k]
        if family == "kinetic":
            words = spec.get("words") or content_words(spec.get("title", ""), *keywords)
            self._kinetic(words or ["Watch"])
        elif family == "graphic":
            self._chart(keywords)
        elif family == "split":
            labels = keywords[:2] if len(keywords) >= 2 else ["Before", "After"]
            face = font(look.heading_font, int(64 * u))
            for k, label in enumerate(labels):
                sprite = Sprite(
                    pill(
                        label.upper(),
                        face,
                        look.accent if k == 0 else look.accent2,
                        _contrast_ink(look.accent if k == 0 else look.accent2),
                        int(26 * u),
                    )
                )
                if self.vertical:
                    cx, cy = w // 2, int(h * (0.2 if k == 0 else 0.56))
                else:
                    cx, cy = int(w * (0.25 if k == 0 else 0.75)), int(h * 0.2)
                self.anims.append(
                    _Anim(
                        sprite, cx - sprite.width // 2, cy, self.start + 0.1 * k, 0.25, int(30 * u)
                    )
                )
        elif family == "hero" and keywords:
            face = font(look.heading_font, int(70 * u))
            sprite = Sprite(
                pill(keywords[0].upper(), face, look.ink, _contrast_ink(look.ink), int(24 * u))
            )
            y = int(h * (0.2 if self.vertical else 0.12))
            self.anims.append(_Anim(sprite, (w - sprite.width) // 2, y))
        elif family == "presenter" and not self.vertical and spec.get("title"):
            self._lower_third(spec["title"])
        if family == "timelapse":
            r = int(70 * u)
            disc = Image.new("RGBA", (4 * r, 4 * r), (0, 0, 0, 0))
            painters.glow(disc, (2 * r, 2 * r), 2 * r, look.accent, 140)
            ImageDraw.Draw(disc).ellipse((r, r, 3 * r, 3 * r), fill=(*look.accent, 255))
            self.sun = Sprite(disc)
        overlay = spec.get("text_overlay")
        if overlay:
            self._overlay(overlay)

    def _overlay(self, text: str) -> None:
        w, h = self.size
        u = self.unit
        look = self.look
        face = font(look.heading_font, int((62 if self.vertical else 54) * u))
        lines = wrap(text, face, int(w * 0.8), max_lines=2)
        images = [
            pill(line, face, look.accent, _contrast_ink(look.accent), int(28 * u)) for line in lines
        ]
        y = int(h * (0.1 if self.vertical else 0.07))
        for image in images:
            sprite = Sprite(image)
            x = (w - sprite.width) // 2 if self.vertical else int(w * 0.05)
            self.anims.append(_Anim(sprite, x, y, self.start, 0.2, int(24 * u)))
            y += sprite.height + int(12 * u)

    def _lower_third(self, title: str) -> None:
        w, h = self.size
        u = self.unit
        face = font(self.look.heading_font, int(44 * u))
        text = wrap(title, face, int(w * 0.5), max_lines=1)[0]
        tw, th = text_size(text, face)
        pad = int(22 * u)
        bar = Image.new("RGBA", (tw + 3 * pad, th + 2 * pad), (0, 0, 0, 0))
        d = ImageDraw.Draw(bar)
        d.rectangle((0, 0, bar.width, bar.height), fill=(*self.look.top, 220))
        d.rectangle((0, 0, int(10 * u), bar.height), fill=self.look.accent)
        d.text((2 * pad, pad - face.getbbox(text)[1]), text, font=face, fill=self.look.ink)
        self.anims.append(
            _Anim(Sprite(bar), int(w * 0.05), int(h * 0.62), self.start + 0.3, 0.3, 0)
        )

    def _kinetic(self, words: list[str]) -> None:
        w, h = self.size
        u = self.unit
        look = self.look
        distinct: list[str] = []
        for word in words:
            if not any(word.lower() in d.lower() or d.lower() in word.lower() for d in distinct):
                distinct.append(word)
        words = distinct[:4]
        size = int((120 if self.vertical else 110) * u)
        faces = font(look.heading_font, size)
        widest = max(text_size(wd.upper(), faces, 6)[0] for wd in words)
        if widest > w * 0.86:
            faces = font(look.heading_font, int(size * w * 0.86 / widest))
        sprites = []
        accent = self.rng.randrange(len(words))
        for k, word in enumerate(words):
            text = word.upper()
            tw, th = text_size(text, faces, 6)
            image = Image.new("RGBA", (tw + 24, th + 24), (0, 0, 0, 0))
            top = faces.getbbox(text, stroke_width=6)[1]
            ImageDraw.Draw(image).text(
                (12, 12 - top),
                text,
                font=faces,
                fill=look.accent if k == accent else look.ink,
                stroke_width=int(6 * u),
                stroke_fill=(12, 12, 16),
            )
            sprites.append(Sprite(image))
        gap = int(20 * u)
        total = sum(s.height for s in sprites) + gap * (len(sprites) - 1)
        y = int(h * (0.4 if self.vertical else 0.47)) - total // 2
        step = min(0.35, 0.6 * self.duration / len(sprites))
        for k, sprite in enumerate(sprites):
            t0 = self.start + k * step
            self.anims.append(_Anim(sprite, (w - sprite.width) // 2, y, t0, 0.25, int(50 * u)))
            y += sprite.height + gap

    def _chart(self, keywords: list[str]) -> None:
        w, h = self.size
        u = self.unit
        look = self.look
        n = 5
        x0, x1 = int(w * 0.12), int(w * 0.88)
        top, base = (
            (int(h * 0.2), int(h * 0.52)) if self.vertical else (int(h * 0.22), int(h * 0.72))
        )
        bw = (x1 - x0) / (n * 1.5)
        from vgkit.video.canvas import rgb_to_yuv

        for k in range(n):
            bx = even(x0 + bw * (0.25 + 1.5 * k))
            height = (base - top) * (0.3 + 0.7 * (k + 1) / n) * self.rng.uniform(0.75, 1.0)
            color = look.accent if k == n - 1 else mix(look.accent2, look.ink, 0.15 * (k % 2))
            self.bars.append((bx, even(bw), base, int(height), rgb_to_yuv(color), 0.12 * k))
        axis = Image.new("RGBA", (x1 - x0 + 8, max(4, int(6 * u))), (*look.ink, 230))
        self.anims.append(_Anim(Sprite(axis), x0 - 4, base))
        face = font(BODY_FONT, int(34 * u))
        for k, (bx, bwid, _, height, _, _) in enumerate(self.bars):
            value = f"{round(height / (base - top) * 100)}%"
            sprite = Sprite(pill(value, face, look.top, look.ink, int(12 * u)))
            t0 = self.start + self.duration * (0.45 + 0.08 * k)
            self.anims.append(
                _Anim(
                    sprite,
                    bx + bwid // 2 - sprite.width // 2,
                    base - height - sprite.height - int(10 * u),
                    t0,
                    0.2,
                    int(12 * u),
                )
            )
        if keywords:
            label = Sprite(
                pill(
                    keywords[0].upper(),
                    font(look.heading_font, int(48 * u)),
                    look.accent,
                    _contrast_ink(look.accent),
                    int(20 * u),
                )
            )
            self.anims.append(_Anim(label, x0, base + int(30 * u), self.start, 0.25, int(16 * u)))

    # -- frames -----------------------------------------------------------------

    def progress(self, t: float) -> float:
        return (t - self.start) / self.duration

    def state(self, t: float) -> tuple[Any, ...]:
        """A value that is equal for two times exactly when their frames are equal."""
        if self._video is not None:
            return ("video", round(t * 1000))
        p = self.progress(t)
        window = self.camera.window(p, t, self.size, self.plate_size)
        anims = tuple(a.state(t) for a in self.anims)
        bars = tuple(self._bar_height(b, p) for b in self.bars)
        grade = round(p * 60) if self.grade else 0
        return window, anims, bars, grade

    def _bar_height(self, bar: tuple[int, int, int, int, Any, float], p: float) -> int:
        delay = bar[5]
        q = _ease((p - delay) / 0.45, "out")
        return int(bar[3] * q)

    def draw(self, t: float) -> tuple[av.VideoFrame, Planes]:
        """A new frame showing the shot at time ``t`` (no captions)."""
        w, h = self.size
        if self._video is not None:
            frame, planes = self._video.frame(t - self.start)
        else:
            p = self.progress(t)
            x, y, ww, wh = self.camera.window(p, t, self.size, self.plate_size)
            region = self.plate.crop(x, y, ww, wh)
            if (ww, wh) == (w, h):
                frame, planes = new_frame(w, h)
                if self.grade:
                    self._graded(region, planes, p)
                else:
                    region.copy_to(planes)
            else:
                src, src_planes = new_frame(ww, wh)
                region.copy_to(src_planes)
                frame = src.reformat(width=w, height=h, interpolation="BILINEAR")
                from vgkit.video.canvas import frame_planes

                planes = frame_planes(frame)
                if self.grade:
                    self._graded(planes, planes, p)
            for bar in self.bars:
                self._draw_bar(planes, bar, p)
            if self.grade:
                self._draw_sun(planes, p)
        for anim in self.anims:
            anim.draw(planes, t)
        return frame, planes

    def _draw_bar(
        self, planes: Planes, bar: tuple[int, int, int, int, Any, float], p: float
    ) -> None:
        x, bw, base, _, yuv, _ = bar
        height = even(self._bar_height(bar, p))
        if height <= 0:
            return
        y0 = base - height
        planes.y[y0:base, x : x + bw] = yuv[0]
        planes.u[y0 // 2 : base // 2, x // 2 : (x + bw) // 2] = yuv[1]
        planes.v[y0 // 2 : base // 2, x // 2 : (x + bw) // 2] = yuv[2]

    def _graded(self, src: Planes, dst: Planes, p: float) -> None:
        """Time-lapse grading: day to dusk to night (luma dimmed, chroma shifted warm then cool)."""
        q = min(1.0, max(0.0, p))
        a = round(256 * (1.0 - 0.45 * q))
        b = 16 * (256 - a)  # keeps black at 16; (y * a + b) >> 8 never passes 255 * 256
        warm = math.sin(q * math.pi)
        du, dv = round(-14 * warm + 16 * q), round(18 * warm - 8 * q)
        dst.y[...] = (src.y.astype(np.uint16) * a + b) >> 8
        for plane, out, d in ((src.u, dst.u, du), (src.v, dst.v, dv)):
            out[...] = np.clip(plane.astype(np.int16) + d, 0, 255)

    def _draw_sun(self, planes: Planes, p: float) -> None:
        w, h = self.size
        q = min(1.0, max(0.0, p))
        cx = w * (0.15 + 0.7 * q)
        cy = h * (0.45 - 0.28 * math.sin(math.pi * (0.2 + 0.6 * q)))
        self.sun.blend(planes, int(cx) - self.sun.width // 2, int(cy) - self.sun.height // 2)

    def close(self) -> None:
        if self._video is not None:
            self._video.close()


def _image_plate(path: Path, size: tuple[int, int]) -> Planes:
    """An image asset scaled to cover the plate, centred."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    pw, ph = size
    scale = max(pw / image.width, ph / image.height)
    resized = image.resize(
        (max(pw, round(image.width * scale)), max(ph, round(image.height * scale))),
        Image.Resampling.LANCZOS,
    )
    x, y = (resized.width - pw) // 2, (resized.height - ph) // 2
    return image_planes(resized.crop((x, y, x + pw, y + ph)))


class _VideoAsset:
    """A video asset's frames, looped, scaled to cover the frame."""

    def __init__(self, path: Path, width: int, height: int) -> None:
        import av

        self.path = path
        self.size = (width, height)
        self.container = av.open(str(path))
        self.stream = self.container.streams.video[0]
        self.frames = self.container.decode(self.stream)
        self.fps = float(self.stream.average_rate or 30)
        self.index = 0
        self.last: tuple[av.VideoFrame, Planes] | None = None

    def frame(self, t: float) -> tuple[av.VideoFrame, Planes]:
        import av

        from vgkit.video.canvas import frame_planes

        want = max(0, int(t * self.fps))
        while self.last is None or self.index <= want:
            try:
                src = next(self.frames)
            except StopIteration:
                if self.last is None:
                    raise
                self.container.seek(0)
                self.frames = self.container.decode(self.stream)
                want -= self.index
                self.index = 0
                continue
            self.index += 1
            w, h = self.size
            scale = max(w / src.width, h / src.height)
            sw, sh = even(max(w, src.width * scale)), even(max(h, src.height * scale))
            scaled = src.reformat(width=sw, height=sh, format="yuv420p")
            x, y = even((sw - w) / 2), even((sh - h) / 2)
            out, planes = new_frame(w, h)
            frame_planes(scaled).crop(x, y, w, h).copy_to(planes)
            self.last = (out, planes)
        frame, planes = self.last
        copy = av.VideoFrame(frame.width, frame.height, "yuv420p")
        copy_planes = frame_planes(copy)
        planes.copy_to(copy_planes)
        return copy, copy_planes

    def close(self) -> None:
        self.container.close()
