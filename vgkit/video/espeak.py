"""eSpeak NG through ctypes: speech fitted to a segment's time, with word times.

This module imports nothing from vgkit (only ctypes, numpy and the
``espeakng-loader`` wheel) so that it can run as a script of its own,
``python .../espeak.py``, one fresh process per segment: see
:mod:`vgkit.video.narration` for why.

eSpeak NG comes from the ``espeakng-loader`` wheel (the library and its voice
data; no system package, no network). It is loaded with ctypes and used in
synchronous mode: ``espeak_Synth`` calls back with blocks of 16-bit samples and
the events of each block, among them one *word* event per word carrying the
word's position in the text and in the audio. Those positions are where the
captions start.

Each script segment is spoken on its own, at the rate that makes its speech
fill the segment's planned time (less a short pause at its end): spoken once
at a rate guessed from its words, then again at the rate the first take's
length implies, and so on until it fits. Speech that does not fit even at
eSpeak's fastest rate is compressed in time to fit.

The engine is process-global state in the C library; one :class:`ESpeak` per
process, used under its lock.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_VOICE",
    "ESpeak",
    "SegmentSpeech",
    "SpeechError",
    "UnknownVoice",
    "engine",
    "fit_segment",
    "main",
]


class SpeechError(Exception):
    """eSpeak NG could not speak (the package maps it to a RenderError)."""


class UnknownVoice(SpeechError):
    """No such voice or variant (the package maps it to a VoiceError)."""


DEFAULT_VOICE = "en-us"
RATE_MIN, RATE_MAX = 80, 450
#: Silence kept at the end of every segment, as a share of it (at most END_PAUSE_MAX s).
END_PAUSE, END_PAUSE_MAX = 0.1, 0.35
#: Speech starts this long after its segment does.
LEAD = 0.04
#: A fitted take may be this much shorter than its target.
FIT_TOLERANCE = 0.08
_SILENCE = 180  # |sample| below this is silence (16-bit)

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_EVENT_LIST_TERMINATED, _EVENT_WORD = 0, 1
_POS_CHARACTER, _CHARS_UTF8, _ENDPAUSE = 1, 1, 0x1000
_RATE, _VOLUME = 1, 2


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """A voice eSpeak NG has: its name, file identifier and language codes."""

    name: str
    identifier: str
    languages: tuple[str, ...]


class ESpeak:
    """The eSpeak NG library, loaded once per process (see the module docstring)."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - the video extra is missing
            raise SpeechError(
                "narration needs the espeakng-loader wheel: pip install 'vgkit[video]'"
            ) from exc
        self.data_path = Path(espeakng_loader.get_data_path())
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data_path).encode(), 0)
        if rate <= 0:
            raise SpeechError(f"eSpeak NG did not start (data in {self.data_path})")
        self.lib = lib
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        self._words: list[tuple[int, int, int]] = []
        self._callback = _CALLBACK(self._on_audio)  # kept alive as long as the engine
        lib.espeak_SetSynthCallback(self._callback)
        self._voice: str | None = None
        self.lock = threading.Lock()

    def _on_audio(self, wav: Any, count: int, events: Any) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_WORD:
                self._words.append((event.text_position, event.length, event.sample))
            i += 1
        return 0

    def voices(self) -> list[VoiceInfo]:
        """Every voice of the bundled data."""
        out = []
        array = self.lib.espeak_ListVoices(None)
        i = 0
        while array[i]:
            v = array[i].contents
            # Languages are (priority byte, name, NUL) entries; c_char_p stops at the first
            # NUL, which gives the priority byte and the voice's own language.
            raw = v.languages or b""
            languages = [raw[1:].decode(errors="replace")] if len(raw) > 1 else []
            out.append(
                VoiceInfo(
                    (v.name or b"").decode(errors="replace"),
                    (v.identifier or b"").decode(errors="replace"),
                    tuple(languages),
                )
            )
            i += 1
        return out

    def variants(self) -> list[str]:
        return sorted(p.name for p in (self.data_path / "voices" / "!v").iterdir())

    def set_voice(self, voice: str) -> None:
        """Select ``voice`` (a name, identifier or language, optionally ``+variant``)."""
        if voice == self._voice:
            return
        if not voice or any(c.isspace() for c in voice):
            raise UnknownVoice(f"unknown voice {voice!r}; {self._suggest()}")
        variant = voice.partition("+")[2]
        if variant and variant not in self.variants():
            raise UnknownVoice(
                f"unknown voice variant {variant!r} in {voice!r}; "
                f"variants: {', '.join(self.variants()[:12])}, ..."
            )
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise UnknownVoice(f"unknown voice {voice!r}; {self._suggest()}")
        self._voice = voice

    def _suggest(self) -> str:
        names = sorted({lang for v in self.voices() for lang in v.languages})
        sample = ", ".join(n for n in names if n.startswith(("en", "de", "fr", "es")))[:120]
        return f"use a language code or voice name eSpeak NG knows (for example {sample}, ...)"

    def synth(self, text: str, rate: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        """16-bit samples and (character position, length, sample) per word."""
        self._chunks = []
        self._words = []
        self.lib.espeak_SetParameter(_RATE, int(rate), 0)
        data = text.encode("utf-8")
        code = self.lib.espeak_Synth(
            data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        if code != 0:
            raise SpeechError(f"eSpeak NG failed to speak a segment (error {code})")
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return pcm.astype(np.int16, copy=False), list(self._words)


_ENGINE: ESpeak | None = None


def engine() -> ESpeak:
    """This process's eSpeak NG engine."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = ESpeak()
    return _ENGINE


@dataclass(frozen=True, slots=True)
class SegmentSpeech:
    """One segment spoken: samples, the words with times from the segment's start, the rate."""

    sample_rate: int
    pcm: np.ndarray
    words: list[tuple[str, float, float]]
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.pcm) / self.sample_rate


def _speech_length(pcm: np.ndarray) -> int:
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > _SILENCE)
    return int(loud[-1]) + 1 if len(loud) else 0


_TRAILING = ".,!?;:…\"')»”’"


def _slice_words(text: str, events: list[tuple[int, int, int]]) -> list[tuple[str, int]]:
    """(word text, sample) per word event, using the event's character position.

    eSpeak's word length stops before punctuation; the caption keeps it (a cue
    ends at a full stop), so trailing punctuation is taken along.
    """
    out = []
    for pos, length, sample in events:
        start = max(0, pos - 1)
        end = start + max(1, length)
        while end < len(text) and text[end] in _TRAILING:
            end += 1
        word = text[start:end].strip()
        if word:
            out.append((word, sample))
    return out


def fit_segment(text: str, seconds: float, voice: str = DEFAULT_VOICE) -> SegmentSpeech:
    """Speak ``text`` so that it fills ``seconds`` (see the module docstring)."""
    e = engine()
    with e.lock:
        e.set_voice(voice)
        sr = e.sample_rate
        pause = min(END_PAUSE_MAX, END_PAUSE * seconds)
        target = max(0.2, seconds - pause - LEAD)
        words = max(1, len(text.split()))
        rate = int(min(RATE_MAX, max(RATE_MIN, words / target * 60 * 0.9)))
        takes: list[tuple[np.ndarray, list[tuple[int, int, int]], int, int]] = []
        goal = target * sr
        for _ in range(5):
            pcm, events = e.synth(text, rate)
            length = _speech_length(pcm)
            takes.append((pcm, events, length, rate))
            if (1 - FIT_TOLERANCE) * goal <= length <= goal:
                break
            new = round(rate * length / goal * 1.01)
            if length > goal:
                new = max(new, rate + 1)
            new = int(min(RATE_MAX, max(RATE_MIN, new)))
            if new == rate:
                break
            rate = new
    fitting = [take for take in takes if take[2] <= goal]
    pcm, events, length, rate = (
        max(fitting, key=lambda take: take[2]) if fitting else min(takes, key=lambda take: take[2])
    )
    pcm = pcm[:length]
    slices = _slice_words(text, events)
    factor = 1.0
    if length > target * sr:  # too long even at the fastest rate: compress in time
        factor = target * sr / length
        n = int(length * factor)
        pcm = np.interp(np.arange(n) / factor, np.arange(length), pcm).astype(np.int16)
    starts = [min(len(pcm), int(sample * factor)) for _, sample in slices]
    timed = []
    for i, (word, _) in enumerate(slices):
        start = starts[i] / sr
        end = (starts[i + 1] if i + 1 < len(starts) else len(pcm)) / sr
        timed.append((word, round(start + LEAD, 4), round(max(start, end) + LEAD, 4)))
    lead = np.zeros(int(LEAD * sr), np.int16)
    return SegmentSpeech(sr, np.concatenate([lead, pcm]), timed, rate)


def main() -> int:
    """Script mode: one JSON request on stdin, the segment's samples to ``out``, JSON on stdout.

    Request: ``{"text", "seconds", "voice", "out"}``. Reply: ``{"words": [[text,
    start, end], ...], "rate", "sample_rate", "samples"}`` or ``{"error": {"kind":
    "voice" | "speech", "message"}}``.
    """
    import json
    import sys

    request = json.loads(sys.stdin.buffer.read())
    try:
        speech = fit_segment(request["text"], float(request["seconds"]), request["voice"])
        with open(request["out"], "wb") as f:
            f.write(speech.pcm.astype("<i2").tobytes())
        reply: dict[str, Any] = {
            "words": [list(w) for w in speech.words],
            "rate": speech.rate,
            "sample_rate": speech.sample_rate,
            "samples": len(speech.pcm),
        }
    except UnknownVoice as exc:
        reply = {"error": {"kind": "voice", "message": str(exc)}}
    except (SpeechError, OSError) as exc:
        reply = {"error": {"kind": "speech", "message": f"{type(exc).__name__}: {exc}"}}
    sys.stdout.write(json.dumps(reply))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
