"""Pixels in the encoder's own format: yuv420p planes, sprites and blending.

Everything a worker draws ends up as three numpy planes (Y at full size, U and
V at half size in each direction), the layout libx264 encodes, so a frame is
never converted from RGB on its way to the encoder. Pillow draws in RGB and
its C code converts a finished picture once (``convert("YCbCr")`` plus a
lookup table to the limited "video" range); the stream is tagged BT.601
limited range, the matrix that conversion uses.

A :class:`Sprite` is a drawn RGBA picture prepared for blending into planes:
its colours pre-multiplied by alpha as 16-bit integers, so placing it over a
moving background costs one multiply-add per pixel in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import av
    from numpy.typing import NDArray

__all__ = ["Planes", "Sprite", "even", "frame_planes", "image_planes", "new_frame", "rgb_to_yuv"]

U8 = np.uint8

#: Full-range (JPEG) YCbCr to the limited range a video stream carries.
_LUT_Y = [16 + round(v * 219 / 255) for v in range(256)]
_LUT_C = [128 + round((v - 128) * 224 / 255) for v in range(256)]
_LUT = _LUT_Y + _LUT_C + _LUT_C
_INVERSE = [round(min(255, max(0, (i - 16) * 255 / 219))) for i in range(256)] + [
    round(min(255, max(0, 128 + (i - 128) * 255 / 224))) for i in range(256)
] * 2


def even(value: float) -> int:
    """The even integer nearest ``value`` (yuv420p needs even sizes and offsets)."""
    return round(value / 2.0) * 2


@cache
def rgb_to_yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """One RGB colour as limited-range BT.601 Y, U, V, exactly as :func:`image_planes` makes it."""
    ycc = Image.new("RGB", (1, 1), tuple(rgb)).convert("YCbCr").point(_LUT)
    y, u, v = ycc.getpixel((0, 0))  # type: ignore[misc]
    return int(y), int(u), int(v)


@dataclass(slots=True)
class Planes:
    """A yuv420p picture as three numpy planes (views or owned arrays)."""

    y: NDArray[np.uint8]
    u: NDArray[np.uint8]
    v: NDArray[np.uint8]

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[0])

    @classmethod
    def filled(cls, width: int, height: int, yuv: tuple[int, int, int]) -> Planes:
        return cls(
            np.full((height, width), yuv[0], U8),
            np.full((height // 2, width // 2), yuv[1], U8),
            np.full((height // 2, width // 2), yuv[2], U8),
        )

    def crop(self, x: int, y: int, width: int, height: int) -> Planes:
        """A view of a region; ``x``, ``y``, ``width`` and ``height`` must be even."""
        hx, hy, hw, hh = x // 2, y // 2, width // 2, height // 2
        return Planes(
            self.y[y : y + height, x : x + width],
            self.u[hy : hy + hh, hx : hx + hw],
            self.v[hy : hy + hh, hx : hx + hw],
        )

    def copy_to(self, dst: Planes) -> None:
        np.copyto(dst.y, self.y)
        np.copyto(dst.u, self.u)
        np.copyto(dst.v, self.v)

    def copy(self) -> Planes:
        return Planes(self.y.copy(), self.u.copy(), self.v.copy())

    def to_image(self, size: tuple[int, int] | None = None) -> Image.Image:
        """An RGB Pillow image (for thumbnails and posters), optionally scaled to ``size``."""
        h, w = self.y.shape
        size = size or (w, h)
        box = Image.Resampling.BOX if size[0] < w else Image.Resampling.BILINEAR
        planes = [
            Image.fromarray(np.ascontiguousarray(p)).resize(size, box)
            for p in (self.y, self.u, self.v)
        ]
        return Image.merge("YCbCr", planes).point(_INVERSE).convert("RGB")


def image_planes(image: Image.Image) -> Planes:
    """Convert an RGB image (even width and height) to planes, in Pillow's C code."""
    ycc = image.convert("RGB").convert("YCbCr").point(_LUT)
    y, cb, cr = ycc.split()
    half = (image.width // 2, image.height // 2)
    cb = cb.resize(half, Image.Resampling.BOX)
    cr = cr.resize(half, Image.Resampling.BOX)
    return Planes(np.array(y), np.array(cb), np.array(cr))


def half_image_planes(image: Image.Image) -> Planes:
    """Planes twice the size of ``image``: chroma as drawn, luma scaled up.

    Backdrops are soft (gradients, blurred shapes), so drawing them at half
    size and doubling only the luma plane costs a quarter of the pixels with
    no visible loss; the chroma planes of yuv420p are half size anyway.
    """
    ycc = image.convert("RGB").convert("YCbCr").point(_LUT)
    y, cb, cr = ycc.split()
    full = (image.width * 2, image.height * 2)
    y = y.resize(full, Image.Resampling.BILINEAR)
    return Planes(np.array(y), np.array(cb), np.array(cr))


def new_frame(width: int, height: int) -> tuple[av.VideoFrame, Planes]:
    """An empty yuv420p VideoFrame and writable numpy views of its planes."""
    import av

    frame = av.VideoFrame(width, height, "yuv420p")
    return frame, frame_planes(frame)


def frame_planes(frame: av.VideoFrame) -> Planes:
    """Writable numpy views of a yuv420p VideoFrame's planes (line padding cut off)."""
    out = []
    for i in range(3):
        w, h = (frame.width, frame.height) if i == 0 else (frame.width // 2, frame.height // 2)
        plane = frame.planes[i]
        data = np.frombuffer(memoryview(plane), U8)
        out.append(data.reshape(h, plane.line_size)[:, :w])
    return Planes(out[0], out[1], out[2])


@cache
def _alpha_lut() -> NDArray[np.uint16]:
    # 0..255 -> 0..256 so that an opaque pixel replaces the background exactly.
    a = np.arange(256, dtype=np.uint16)
    return a + (a >> 7)


class Sprite:
    """An RGBA picture prepared for blending into yuv420p planes (see the module docstring).

    ``x`` and ``y`` of :meth:`blend` are even, so luma and chroma stay aligned.
    """

    __slots__ = ("height", "uv", "width", "y")

    def __init__(self, image: Image.Image) -> None:
        if image.mode != "RGBA":
            image = image.convert("RGBA")
        w, h = image.width + image.width % 2, image.height + image.height % 2
        if (w, h) != image.size:
            padded = Image.new("RGBA", (w, h), (0, 0, 0, 0))
            padded.paste(image, (0, 0))
            image = padded
        self.width, self.height = w, h
        planes = image_planes(image.convert("RGB"))
        alpha = image.getchannel("A")
        lut = _alpha_lut()
        a = lut[np.asarray(alpha)]
        ah = lut[np.asarray(alpha.resize((w // 2, h // 2), Image.Resampling.BOX))]
        # (fg * a, 256 - a) per plane: blending is then (bg * inv + fga) >> 8.
        self.y = (planes.y.astype(np.uint16) * a, (256 - a).astype(np.uint16))
        self.uv = (
            planes.u.astype(np.uint16) * ah,
            planes.v.astype(np.uint16) * ah,
            (256 - ah).astype(np.uint16),
        )

    def blend(self, dst: Planes, x: int, y: int) -> None:
        """Draw the sprite with its top-left corner at (``x``, ``y``), clipped to ``dst``."""
        x, y = x - x % 2, y - y % 2
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(dst.width, x + self.width), min(dst.height, y + self.height)
        if x0 >= x1 or y0 >= y1:
            return
        sx, sy = x0 - x, y0 - y
        fga, inv = self.y
        region = dst.y[y0:y1, x0:x1]
        s = np.s_[sy : sy + (y1 - y0), sx : sx + (x1 - x0)]
        region[...] = (region * inv[s] + fga[s]) >> 8
        fu, fv, inv2 = self.uv
        c = np.s_[sy // 2 : (sy + y1 - y0) // 2, sx // 2 : (sx + x1 - x0) // 2]
        for plane, fg in ((dst.u, fu), (dst.v, fv)):
            r = plane[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2]
            r[...] = (r * inv2[c] + fg[c]) >> 8

    def faded(self, opacity: float) -> Sprite:
        """A copy drawn at ``opacity`` (0..1) of its alpha."""
        k = max(0, min(256, round(opacity * 256)))
        out = Sprite.__new__(Sprite)
        out.width, out.height = self.width, self.height
        fga, inv = self.y
        fu, fv, inv2 = self.uv

        def scale(x: NDArray[np.uint16]) -> NDArray[np.uint16]:
            # In 32 bits: a premultiplied value times k overflows 16.
            return ((x.astype(np.uint32) * k) >> 8).astype(np.uint16)

        out.y = (scale(fga), 256 - scale(256 - inv))
        out.uv = (scale(fu), scale(fv), 256 - scale(256 - inv2))
        return out
