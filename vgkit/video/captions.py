"""Captions timed to the spoken words: cues, their SubRip file, and the burned-in layer.

The narration reports where each word starts in the audio (eSpeak NG's word
events). :func:`build_cues` groups those words into cues: short ones for 9:16
(large, centred, the word being spoken highlighted) and subtitle-sized ones
for 16:9. A cue starts exactly when its first word is heard, and none is
shorter than :data:`MIN_CUE` seconds: a cue that would be is held longer when
the next one leaves room, and merged into its neighbour when it does not.

Without a voice (``--no-voice``) the plan's own captions are used, with each
word's time estimated from its share of the characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from PIL import Image, ImageDraw

from vgkit.documents import format_timestamp
from vgkit.video.canvas import Planes, Sprite
from vgkit.video.look import BODY_FONT, CAPTION_FONT, Look, font, text_size

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from vgkit.models import VideoPlan

__all__ = [
    "MIN_CUE",
    "CaptionLayer",
    "Cue",
    "Word",
    "build_cues",
    "cues_srt",
    "estimated_words",
]

CaptionStyle = Literal["short", "subtitle"]

#: No cue is on screen for less than this (seconds).
MIN_CUE = 0.7
#: A cue stays up at most this long after its last word ends.
HOLD = 0.6
_SHORT_WORDS, _SHORT_CHARS = 3, 20
_SUB_CHARS = 64


@dataclass(frozen=True, slots=True)
class Word:
    """One spoken word and when it is heard (seconds on the video's timeline)."""

    text: str
    start: float
    end: float
    segment: int

    def to_list(self) -> list[Any]:
        return [self.text, round(self.start, 4), round(self.end, 4), self.segment]

    @classmethod
    def from_list(cls, item: Sequence[Any]) -> Word:
        return cls(str(item[0]), float(item[1]), float(item[2]), int(item[3]))


@dataclass(frozen=True, slots=True)
class Cue:
    """One caption: its words, and when it is on screen."""

    index: int
    start: float
    end: float
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start": round(self.start, 4),
            "end": round(self.end, 4),
            "words": [w.to_list() for w in self.words],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cue:
        return cls(
            int(data["index"]),
            float(data["start"]),
            float(data["end"]),
            tuple(Word.from_list(w) for w in data["words"]),
        )


def _ends_phrase(text: str) -> bool:
    return text.endswith((".", "!", "?", ":", ";", ",", "…"))


def _group(words: Sequence[Word], style: CaptionStyle) -> list[list[Word]]:
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if current:
            chars = len(" ".join(w.text for w in current)) + 1 + len(word.text)
            full = (
                len(current) >= _SHORT_WORDS or chars > _SHORT_CHARS
                if style == "short"
                else chars > _SUB_CHARS
            )
            if full or word.segment != current[-1].segment or _ends_phrase(current[-1].text):
                groups.append(current)
                current = []
        current.append(word)
    if current:
        groups.append(current)
    return groups


def build_cues(
    words: Sequence[Word], *, style: CaptionStyle, duration: float, min_cue: float = MIN_CUE
) -> list[Cue]:
    """Group timed words into cues (see the module docstring)."""
    groups = _group(sorted(words, key=lambda w: w.start), style)
    # Merge until every cue can stay up min_cue seconds before the next one starts.
    merged = True
    while merged and len(groups) > 1:
        merged = False
        for i, group in enumerate(groups):
            start = group[0].start
            limit = groups[i + 1][0].start if i + 1 < len(groups) else duration
            if limit - start < min_cue - 1e-9:
                if i + 1 < len(groups):
                    groups[i : i + 2] = [group + groups[i + 1]]
                else:
                    groups[i - 1 : i + 1] = [groups[i - 1] + group]
                merged = True
                break
    cues = []
    for i, group in enumerate(groups):
        start = group[0].start
        limit = groups[i + 1][0].start if i + 1 < len(groups) else duration
        end = min(limit, max(group[-1].end + HOLD, start + min_cue))
        cues.append(Cue(i, start, end, tuple(group)))
    return cues


def estimated_words(plan: VideoPlan) -> list[Word]:
    """Word times from the plan's own captions (no narration): by share of characters."""
    segments = plan.script.segments
    out: list[Word] = []
    for cue in plan.captions:
        seg = next((s.index for s in segments if s.start <= cue.start < s.end), 0)
        texts = cue.text.split()
        total = sum(len(t) + 1 for t in texts) or 1
        t = cue.start
        span = cue.end - cue.start
        for text in texts:
            length = span * (len(text) + 1) / total
            out.append(Word(text, t, t + length, seg))
            t += length
    return out


def cues_srt(cues: Iterable[Cue]) -> str:
    """The cues as a SubRip file."""
    blocks = []
    for i, cue in enumerate(cues, start=1):
        start = format_timestamp(cue.start, srt=True)
        end = format_timestamp(cue.end, srt=True)
        blocks.append(f"{i}\n{start} --> {end}\n{cue.text}\n")
    return "\n".join(blocks)


class CaptionLayer:
    """Burns cues into frames; each distinct picture is drawn once and cached.

    ``state(t)`` is ``None`` between cues, else (cue, highlighted word); the
    highlighted word is the last one that has started (9:16 only).
    """

    def __init__(
        self, cues: Sequence[Cue], style: CaptionStyle, look: Look, width: int, height: int
    ) -> None:
        self.cues = sorted(cues, key=lambda c: c.start)
        self.style = style
        self.look = look
        self.size = (width, height)
        self.unit = min(width, height) / 1080
        self._sprites: dict[tuple[int, int], tuple[Sprite, int, int]] = {}

    def state(self, t: float) -> tuple[int, int] | None:
        for cue in self.cues:
            if cue.start <= t + 1e-6 < cue.end:
                if self.style != "short":
                    return (cue.index, -1)
                k = 0
                for i, word in enumerate(cue.words):
                    if word.start <= t + 1e-6:
                        k = i
                return (cue.index, k)
        return None

    def draw(self, planes: Planes, t: float) -> None:
        state = self.state(t)
        if state is None:
            return
        if state not in self._sprites:
            cue = next(c for c in self.cues if c.index == state[0])
            self._sprites[state] = self._render(cue, state[1])
        sprite, x, y = self._sprites[state]
        sprite.blend(planes, x, y)

    def _render(self, cue: Cue, highlight: int) -> tuple[Sprite, int, int]:
        if self.style == "short":
            return self._short(cue, highlight)
        return self._subtitle(cue)

    def _short(self, cue: Cue, highlight: int) -> tuple[Sprite, int, int]:
        w, h = self.size
        u = self.unit
        face = font(CAPTION_FONT, int(82 * u))
        stroke = max(2, int(7 * u))
        space = text_size("a a", face)[0] - 2 * text_size("a", face)[0]
        words = [wd.text for wd in cue.words]
        lines: list[list[int]] = [[]]
        width = 0
        for i, text in enumerate(words):
            tw = text_size(text, face, stroke)[0]
            if lines[-1] and width + space + tw > w * 0.86:
                lines.append([])
                width = 0
            width += (space if lines[-1] else 0) + tw
            lines[-1].append(i)
        ascent, descent = face.getmetrics()
        line_h = ascent + descent + int(10 * u)
        pad = int(16 * u)
        widths = [
            sum(text_size(words[i], face, stroke)[0] for i in line) + space * (len(line) - 1)
            for line in lines
        ]
        image = Image.new(
            "RGBA", (max(widths) + 4 * pad, line_h * len(lines) + 2 * pad), (0, 0, 0, 0)
        )
        d = ImageDraw.Draw(image)
        accent = self.look.accent
        luma = 0.299 * accent[0] + 0.587 * accent[1] + 0.114 * accent[2]
        on_accent = (18, 18, 22) if luma > 150 else (255, 255, 255)
        for row, (line, lw) in enumerate(zip(lines, widths, strict=True)):
            x = (image.width - lw) // 2
            y = pad + row * line_h
            for i in line:
                tw = text_size(words[i], face, stroke)[0]
                if i == highlight:
                    d.rounded_rectangle(
                        (
                            x - pad // 2,
                            y - pad // 3,
                            x + tw + pad // 2,
                            y + ascent + descent + pad // 3,
                        ),
                        radius=int(14 * u),
                        fill=(*accent, 255),
                    )
                    d.text((x, y), words[i], font=face, fill=on_accent)
                else:
                    d.text(
                        (x, y),
                        words[i],
                        font=face,
                        fill=(255, 255, 255),
                        stroke_width=stroke,
                        stroke_fill=(10, 10, 12),
                    )
                x += tw + space
        sprite = Sprite(image)
        return sprite, (w - sprite.width) // 2, int(h * 0.64) - sprite.height // 2

    def _subtitle(self, cue: Cue) -> tuple[Sprite, int, int]:
        from vgkit.video.look import wrap

        w, h = self.size
        u = self.unit
        face = font(BODY_FONT, int(50 * u))
        lines = wrap(cue.text, face, int(w * 0.78), max_lines=2)
        ascent, descent = face.getmetrics()
        line_h = ascent + descent + int(6 * u)
        pad = int(18 * u)
        widths = [text_size(line, face)[0] for line in lines]
        image = Image.new("RGBA", (max(widths) + 2 * pad, line_h * len(lines) + pad), (0, 0, 0, 0))
        d = ImageDraw.Draw(image)
        d.rounded_rectangle(
            (0, 0, image.width - 1, image.height - 1), radius=int(12 * u), fill=(0, 0, 0, 170)
        )
        for row, (line, lw) in enumerate(zip(lines, widths, strict=True)):
            d.text(
                ((image.width - lw) // 2, pad // 2 + row * line_h),
                line,
                font=face,
                fill=(255, 255, 255),
            )
        sprite = Sprite(image)
        return sprite, (w - sprite.width) // 2, int(h * 0.93) - sprite.height
