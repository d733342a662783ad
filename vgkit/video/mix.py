"""The soundtrack: narration, a music bed ducked under it, loudness to -14 LUFS.

The bed is the user's ``--music`` file (decoded by PyAV, looped or cut to the
video's length) or a quiet pad generated from the topic's seed: four soft
chords, synthesised once and looped. Under speech the bed drops by
:data:`DUCK_DB` with a quick attack and a slow release, so words stay clear.

Loudness is measured by FFmpeg's ebur128 meter (ITU-R BS.1770 K-weighting and
gating, EBU R128) and the mix is gained to :data:`TARGET_LUFS` integrated, the level YouTube,
TikTok and Instagram normalise to. A limiter keeps sample peaks under
:data:`CEILING_DB` (2 dB of room: resampling to 48 kHz and AAC overshoot
eSpeak's sharp waveforms by up to a decibel); since limiting lowers loudness a
little, gain and limiter alternate until the measurement is within 0.1 LU.

Everything is mono float32 at the narration's sample rate; the encoder
resamples to 48 kHz.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from vgkit.errors import AssetError

__all__ = [
    "CEILING_DB",
    "DUCK_DB",
    "TARGET_LUFS",
    "decode_music",
    "duck",
    "generated_pad",
    "loudness",
    "normalise",
    "soundtrack",
]

TARGET_LUFS = -14.0
CEILING_DB = -2.0
DUCK_DB = -10.0
#: Speech alone is brought to SPEECH_LUFS and the bed alone to BED_LUFS before they are
#: mixed (the bed sits 12 dB under the voice, then ducks further while words sound).
SPEECH_LUFS = -16.0
BED_LUFS = -28.0

F32 = np.float32


def decode_music(path: Path, sample_rate: int) -> np.ndarray:
    """A music file as mono float32 at ``sample_rate``; AssetError if it cannot be decoded."""
    import av

    try:
        container = av.open(str(path))
    except (OSError, av.FFmpegError) as exc:
        raise AssetError(f"cannot read music file {path}: {exc}; give an audio file") from exc
    try:
        if not container.streams.audio:
            raise AssetError(f"music file {path} has no audio stream; give an audio file")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        parts = []
        try:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as exc:
            raise AssetError(f"cannot decode music file {path}: {exc}") from exc
    finally:
        container.close()
    if not parts:
        raise AssetError(f"music file {path} holds no audio samples; give an audio file")
    return np.concatenate(parts).astype(F32, copy=False)


def generated_pad(seconds: float, sample_rate: int, seed: int) -> np.ndarray:
    """A soft four-chord pad, looped to ``seconds``."""
    rng = np.random.default_rng(seed)
    root = 110.0 * 2 ** (int(rng.integers(0, 7)) / 12)
    # I - V - vi - IV in semitones above the root.
    chords = ((0, 4, 7, 12), (7, 11, 14, 19), (9, 12, 16, 21), (5, 9, 12, 17))
    chord_s = 4.0
    n = int(chord_s * sample_rate)
    t = np.arange(n, dtype=F32) / sample_rate
    env = np.minimum(1.0, np.minimum(t / 0.8, (chord_s - t) / 1.2)).astype(F32)
    env = np.clip(env, 0, 1) ** 2
    loop = []
    for chord in chords:
        tone = np.zeros(n, F32)
        for k, semis in enumerate(chord):
            f = root * 2 ** (semis / 12)
            detune = 1 + 0.002 * (k - 1.5)
            tone += np.sin(2 * np.pi * f * detune * t).astype(F32) / (1 + k * 0.6)
            tone += 0.2 * np.sin(2 * np.pi * 2 * f * t).astype(F32) / (1 + k)
        loop.append(tone * env)
    bar = np.concatenate(loop)
    total = max(1, int(seconds * sample_rate))
    return np.resize(bar, total).astype(F32) * F32(0.2)


def fit_length(samples: np.ndarray, total: int, sample_rate: int) -> np.ndarray:
    """Loop or cut to ``total`` samples, with short fades at both ends."""
    out = np.resize(samples, total).astype(F32)
    fade = min(total // 2, int(sample_rate * 1.0))
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=F32)
        out[:fade] *= ramp
        out[-fade:] *= ramp[::-1]
    return out


def _block_envelope(x: np.ndarray, block: int) -> np.ndarray:
    n = len(x) // block * block
    blocks: np.ndarray = np.abs(x[:n]).reshape(-1, block).max(axis=1)
    if n < len(x):
        blocks = np.append(blocks, np.abs(x[n:]).max())
    return blocks


def duck(bed: np.ndarray, speech: np.ndarray, sample_rate: int, depth_db: float = DUCK_DB) -> None:
    """Lower ``bed`` (in place) by ``depth_db`` wherever ``speech`` is sounding."""
    block = max(1, sample_rate // 100)  # 10 ms
    active = _block_envelope(speech, block) > 0.02
    low = 10 ** (depth_db / 20)
    attack, release = 1 - math.exp(-1 / 3), 1 - math.exp(-1 / 40)  # ~30 ms, ~400 ms
    gains = np.empty(len(active), F32)
    g = 1.0
    for i, on in enumerate(active.tolist()):
        target = low if on else 1.0
        g += (target - g) * (attack if target < g else release)
        gains[i] = g
    per_sample = np.repeat(gains, block)[: len(bed)]
    if len(per_sample) < len(bed):
        per_sample = np.pad(per_sample, (0, len(bed) - len(per_sample)), mode="edge")
    bed *= per_sample


def loudness(samples: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770 gating, FFmpeg's ebur128); -inf for silence.

    FFmpeg's meter runs in C over the samples as they stream by, so measuring a
    long mix costs neither a copy of it nor scipy's import time; the tests
    check the result independently with pyloudnorm.
    """
    import av

    if len(samples) < int(0.4 * sample_rate) or not np.any(samples):
        return float("-inf")
    graph = av.filter.Graph()
    src = graph.add_abuffer(
        format="flt", sample_rate=sample_rate, layout="mono", time_base=Fraction(1, sample_rate)
    )
    meter = graph.add("ebur128", "metadata=1")
    sink = graph.add("abuffersink")
    src.link_to(meter)
    meter.link_to(sink)
    graph.configure()
    last: dict[str, str] = {}

    def drain() -> None:
        nonlocal last
        while True:
            try:
                frame = graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            last = dict(frame.metadata)

    step = sample_rate  # one-second frames
    data = np.ascontiguousarray(samples, dtype=F32)
    for i in range(0, len(data), step):
        frame = av.AudioFrame.from_ndarray(data[None, i : i + step], format="flt", layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = i
        frame.time_base = Fraction(1, sample_rate)
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    value = float(last.get("lavfi.r128.I", "-inf"))
    return value if value > -70 else float("-inf")


def _limit(x: np.ndarray, sample_rate: int, ceiling: float) -> None:
    """A look-ahead peak limiter, in place: sample peaks stay under ``ceiling``."""
    block = max(1, sample_rate // 400)  # 2.5 ms
    peaks = _block_envelope(x, block)
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-9)).astype(F32)
    # Look ahead two blocks: a block's gain is the least its neighbours need.
    ahead = need.copy()
    for shift in (1, 2):
        ahead[:-shift] = np.minimum(ahead[:-shift], need[shift:])
        ahead[shift:] = np.minimum(ahead[shift:], need[:-shift])
    release = 1 - math.exp(-1 / 24)  # ~60 ms
    gains = np.empty_like(ahead)
    g = 1.0
    for i, target in enumerate(ahead.tolist()):
        g = target if target < g else g + (target - g) * release
        gains[i] = g
    per_sample = np.repeat(gains, block)[: len(x)]
    if len(per_sample) < len(x):
        per_sample = np.pad(per_sample, (0, len(x) - len(per_sample)), mode="edge")
    x *= per_sample
    np.clip(x, -ceiling, ceiling, out=x)


def normalise(
    x: np.ndarray, sample_rate: int, target: float = TARGET_LUFS, ceiling_db: float = CEILING_DB
) -> float:
    """Gain and limit ``x`` in place to ``target`` LUFS; returns the measured loudness.

    Gain alone moves integrated loudness by exactly its decibels; the limiter
    that keeps peaks under the ceiling takes some back, more the harder it
    works. So the gain is found by the secant method on "loudness after gain
    and limiter", each try applied to the original samples (never limiting
    twice), until the measurement is within 0.1 LU (two or three tries; FFmpeg's
    meter makes each one cheap).
    """
    ceiling = 10 ** (ceiling_db / 20)
    level = loudness(x, sample_rate)
    if not math.isfinite(level):
        return level
    peak = float(np.abs(x).max())

    def attempt(gain_db: float) -> tuple[np.ndarray, float]:
        y = x * F32(10 ** (gain_db / 20))
        if peak * 10 ** (gain_db / 20) > ceiling:
            _limit(y, sample_rate, ceiling)
        return y, loudness(y, sample_rate)

    g0 = target - level
    y, l0 = attempt(g0)
    best = (abs(l0 - target), y, l0)
    g1 = g0 + (target - l0)
    for _ in range(5):
        if abs(l0 - target) <= 0.1:
            break
        y, l1 = attempt(g1)
        if abs(l1 - target) < best[0]:
            best = (abs(l1 - target), y, l1)
        slope = (l1 - l0) / (g1 - g0) if g1 != g0 else 1.0
        g0, l0 = g1, l1
        g1 = g1 + (target - l1) / max(0.2, min(1.0, slope))
    _, y, level = best
    x[...] = y
    return level


def soundtrack(
    speech: np.ndarray | None,
    seconds: float,
    sample_rate: int,
    *,
    music: Path | None = None,
    pad: bool = True,
    seed: int = 0,
) -> tuple[np.ndarray, float]:
    """The finished mix (mono float32) and its measured loudness in LUFS."""
    total = max(1, round(seconds * sample_rate))
    mix = np.zeros(total, F32)
    if speech is not None:
        n = min(total, len(speech))
        mix[:n] += speech[:n]
        _gain_to(mix, sample_rate, SPEECH_LUFS, window=60 * sample_rate)
    bed: np.ndarray | None = None
    if music is not None:
        bed = fit_length(decode_music(music, sample_rate), total, sample_rate)
    elif pad:
        bed = fit_length(generated_pad(seconds, sample_rate, seed), total, sample_rate)
    if bed is not None:
        _gain_to(bed, sample_rate, BED_LUFS, window=30 * sample_rate)
        if speech is not None:
            duck(bed, mix, sample_rate)
        mix += bed
        del bed
    level = normalise(mix, sample_rate)
    return mix, level


def _gain_to(x: np.ndarray, sample_rate: int, target: float, window: int | None = None) -> None:
    level = loudness(x[:window] if window else x, sample_rate)
    if math.isfinite(level):
        x *= F32(10 ** ((target - level) / 20))
