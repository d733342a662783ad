"""Captions timed to the spoken words: cues, their SubRip file, and the burned-in layer.

The narration reports where each word starts in the audio (eSpeak NG's word
events). :func:`build_cues` groups those words into cues: short ones for 9:16
(large, centred, the word being spoken highlighted) and subtitle-sized ones
for 16:9. A cue starts exactly when its first word is heard, and none is
shorter than :data:`MIN_CUE` seconds: a cue that would be is held longer when
the next one leaves room, and merged into its neighbour when it does not.

A cue never grows past its style's caps (:data:`CUE_LIMITS`: at most two lines
and a bounded number of words), and the caps win over the minimum. A cue too
short to read joins a neighbour only if the joined cue still fits the caps; if
it would not, the two share their words where the shorter of them is on screen
longest (unless they meet at the end of a phrase or segment). Only where the
voice is faster than the caps can show in :data:`MIN_CUE` seconds (from about 6
words in 0.7 s for 9:16, 14 for 16:9: a squeezed plan, eSpeak's fastest rate
compressed in time) does a cue stay shorter than the minimum: it still starts
on its first word and runs until the next cue starts. A block of ten lines is
unreadable however long it stays up, and cues that keep pace with the voice
lose less of it.

Without a voice (``--no-voice``) the plan's own captions are used, with each
word's time estimated from its share of the characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from PIL import Image, ImageDraw, ImageFont

from vgkit.documents import format_timestamp
from vgkit.video.canvas import Planes, Sprite
from vgkit.video.look import BODY_FONT, CAPTION_FONT, Look, font, text_size, wrap

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from vgkit.models import VideoPlan

__all__ = [
    "CUE_LIMITS",
    "MIN_CUE",
    "CaptionLayer",
    "Cue",
    "CueLimits",
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


def char_lines(texts: Sequence[str], line_chars: int) -> list[str]:
    """``texts`` wrapped greedily into lines of at most ``line_chars`` characters (a word
    longer than that gets a line of its own)."""
    lines: list[str] = []
    line = ""
    for text in texts:
        trial = f"{line} {text}" if line else text
        if line and len(trial) > line_chars:
            lines.append(line)
            line = text
        else:
            line = trial
    if line:
        lines.append(line)
    return lines


@dataclass(frozen=True, slots=True, kw_only=True)
class CueLimits:
    """How much text one cue holds.

    Words are grouped into cues of at most ``words`` words and ``chars`` characters
    (what one glance takes in). A cue joined with a neighbour to stay up
    :data:`MIN_CUE` seconds may grow, but never past ``max_words`` words or
    ``max_lines`` lines of ``line_chars`` characters.
    """

    words: int
    chars: int
    max_words: int
    max_lines: int
    line_chars: int

    def fits(self, texts: Sequence[str]) -> bool:
        """Whether one cue may hold ``texts`` (a single word always may)."""
        if len(texts) <= 1:
            return True
        return (
            len(texts) <= self.max_words
            and len(char_lines(texts, self.line_chars)) <= self.max_lines
        )


#: The caps per caption style. Two lines, as subtitle guidelines allow. 16:9: 42
#: characters a line (the guidelines' width, and YouTube's caption preset), 14 words
#: (two lines of the 7 words a 42-character line holds on average). 9:16: the large
#: 82/1080 bold face fits 16 characters of narration on a line of 86% of the frame's
#: width (measured on the bundled topics' scripts: the widest 16-character line is 909
#: of 929 pixels; 17 characters overflow), and 6 words (two lines of the style's 3).
CUE_LIMITS: dict[CaptionStyle, CueLimits] = {
    "short": CueLimits(words=3, chars=20, max_words=6, max_lines=2, line_chars=16),
    "subtitle": CueLimits(words=14, chars=64, max_words=14, max_lines=2, line_chars=42),
}


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


def _texts(group: Sequence[Word]) -> list[str]:
    return [w.text for w in group]


def _group(words: Sequence[Word], limits: CueLimits) -> list[list[Word]]:
    groups: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if current:
            texts = [*_texts(current), word.text]
            full = (
                len(texts) > limits.words
                or len(" ".join(texts)) > limits.chars
                or not limits.fits(texts)
            )
            if full or word.segment != current[-1].segment or _ends_phrase(current[-1].text):
                groups.append(current)
                current = []
        current.append(word)
    if current:
        groups.append(current)
    return groups


def _room(groups: Sequence[Sequence[Word]], i: int, duration: float) -> float:
    """How long cue ``i`` can stay up before the next one starts (or the video ends)."""
    limit = groups[i + 1][0].start if i + 1 < len(groups) else duration
    return limit - groups[i][0].start


def _settle(
    groups: list[list[Word]], limits: CueLimits, duration: float, min_cue: float
) -> list[list[Word]]:
    """Join or rebalance cues too short to read, within the caps (see the module docstring)."""
    for _ in range(4 * len(groups) + 4):
        if len(groups) < 2:
            break
        changed = False
        for i in range(len(groups)):
            if _room(groups, i, duration) >= min_cue - 1e-9:
                continue
            # The next cue first: joined, this cue keeps its start and gains the next's time.
            for j in (i + 1, i - 1):
                if not 0 <= j < len(groups):
                    continue
                a, b = min(i, j), max(i, j)
                pair = groups[a] + groups[b]
                if limits.fits(_texts(pair)):
                    groups[a : b + 1] = [pair]
                    changed = True
                    break
                # Too big for one cue: move the boundary to where the shorter cue is longest,
                # unless it is a pause in the speech (a word across it would read wrong).
                if _ends_phrase(groups[a][-1].text) or groups[a][-1].segment != pair[-1].segment:
                    continue
                limit = groups[b + 1][0].start if b + 1 < len(groups) else duration
                now = min(_room(groups, a, duration), _room(groups, b, duration))
                best, best_k = now, None
                for k in range(1, len(pair)):
                    if not (limits.fits(_texts(pair[:k])) and limits.fits(_texts(pair[k:]))):
                        continue
                    shorter = min(pair[k].start - pair[0].start, limit - pair[k].start)
                    if shorter > best + 1e-9:
                        best, best_k = shorter, k
                if best_k is not None:
                    groups[a : b + 1] = [pair[:best_k], pair[best_k:]]
                    changed = True
                    break
            if changed:
                break
        if not changed:
            break
    return groups


def build_cues(
    words: Sequence[Word], *, style: CaptionStyle, duration: float, min_cue: float = MIN_CUE
) -> list[Cue]:
    """Group timed words into cues within :data:`CUE_LIMITS` (see the module docstring)."""
    limits = CUE_LIMITS[style]
    groups = _settle(
        _group(sorted(words, key=lambda w: w.start), limits), limits, duration, min_cue
    )
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

    def lines(self, cue: Cue) -> list[str]:
        """The lines ``cue`` is drawn on, wrapped to the frame as the layer wraps them."""
        if self.style == "short":
            words = [wd.text for wd in cue.words]
            face, stroke, space = self._short_face(words)
            return [
                " ".join(words[i] for i in line)
                for line in self._short_lines(words, face, stroke, space)
            ]
        return wrap(
            cue.text, self._subtitle_face(), self._subtitle_width(), max_lines=len(cue.words)
        )

    def _short_face(self, words: Sequence[str]) -> tuple[ImageFont.FreeTypeFont, int, int]:
        """The face (with its stroke and space) of a 9:16 cue of ``words``: the caption
        size, or smaller when one word alone is wider than a line."""
        full = size = int(82 * self.unit)
        limit = self._short_width()
        while True:
            face = font(CAPTION_FONT, size)
            stroke = max(2, int(7 * self.unit * size / full))
            widest = max((text_size(word, face, stroke)[0] for word in words), default=0)
            if widest <= limit or size <= 12:
                break
            size = max(12, min(size - 1, int(size * limit / widest)))
        space = text_size("a a", face)[0] - 2 * text_size("a", face)[0]
        return face, stroke, space

    def _short_width(self) -> float:
        return self.size[0] * 0.86

    def _short_lines(
        self, words: Sequence[str], face: ImageFont.FreeTypeFont, stroke: int, space: int
    ) -> list[list[int]]:
        lines: list[list[int]] = [[]]
        width = 0
        for i, text in enumerate(words):
            tw = text_size(text, face, stroke)[0]
            if lines[-1] and width + space + tw > self._short_width():
                lines.append([])
                width = 0
            width += (space if lines[-1] else 0) + tw
            lines[-1].append(i)
        return lines

    def _subtitle_face(self) -> ImageFont.FreeTypeFont:
        return font(BODY_FONT, int(50 * self.unit))

    def _subtitle_width(self) -> int:
        return int(self.size[0] * 0.78)

    def _short(self, cue: Cue, highlight: int) -> tuple[Sprite, int, int]:
        w, h = self.size
        u = self.unit
        words = [wd.text for wd in cue.words]
        face, stroke, space = self._short_face(words)
        lines = self._short_lines(words, face, stroke, space)
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
        w, h = self.size
        u = self.unit
        face = self._subtitle_face()
        # build_cues keeps a cue within the cap; the ellipsis is for cues made elsewhere.
        lines = wrap(
            cue.text, face, self._subtitle_width(), max_lines=CUE_LIMITS["subtitle"].max_lines
        )
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
