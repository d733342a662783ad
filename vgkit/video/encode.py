"""Encoding with PyAV: closed-GOP clips, the soundtrack, and the final file by stream copy.

Every clip (a shot, a transition) is encoded on its own with exactly the same
libx264 settings: same size, frame rate, preset, CRF, profile and colour tags,
one thread, starting on an IDR frame with closed GOPs. Their H.264 streams are
therefore interchangeable and the video is assembled by copying packets, each
clip's timestamps shifted to its place on the timeline: no frame is decoded or
encoded twice, and a cached clip is as good as a fresh one. The soundtrack is
encoded once to AAC (48 kHz mono) and copied in the same way. The MP4 carries
its index at the front (``movflags=+faststart``) so players start at once.

Presets: ``final`` (full size, x264 ``veryfast``) and ``preview`` (half size,
``ultrafast``) for quick looks.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vgkit.errors import RenderError
from vgkit.video.canvas import even

if TYPE_CHECKING:
    import av

__all__ = [
    "AUDIO_RATE",
    "FPS",
    "PRESETS",
    "ClipWriter",
    "EncodePreset",
    "encode_audio",
    "frame_size",
    "mux",
]

FPS = 30
AUDIO_RATE = 48_000
AUDIO_BITRATE = 96_000
#: At most this many frames between keyframes (every clip also starts with one).
KEYINT = 60


@dataclass(frozen=True, slots=True)
class EncodePreset:
    """Size and encoder settings of a render preset."""

    name: str
    scale: float
    x264_preset: str
    crf: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, EncodePreset] = {
    "final": EncodePreset("final", 1.0, "veryfast", 21),
    "preview": EncodePreset("preview", 0.5, "ultrafast", 26),
}


def frame_size(resolution: tuple[int, int], preset: EncodePreset) -> tuple[int, int]:
    """The encoded width and height for a plan's resolution under ``preset`` (even)."""
    w, h = resolution
    return max(2, even(w * preset.scale)), max(2, even(h * preset.scale))


def x264_options(preset: EncodePreset) -> dict[str, str]:
    """The codec options every clip of a video is encoded with (identical by design)."""
    return {
        "preset": preset.x264_preset,
        "crf": str(preset.crf),
        "threads": "1",
        "x264-params": f"keyint={KEYINT}:min-keyint=1:open-gop=0:threads=1:sliced-threads=0",
    }


class ClipWriter:
    """Encode frames into one closed-GOP H.264 clip in an MP4 file."""

    def __init__(self, path: Path, width: int, height: int, preset: EncodePreset) -> None:
        import av

        self.path = path
        self.container = av.open(str(path), "w", format="mp4")
        stream = self.container.add_stream("libx264", rate=FPS)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        cc = stream.codec_context
        cc.thread_count = 1
        cc.options = x264_options(preset)
        # Limited-range BT.601: the matrix the frames were converted with (canvas.py).
        cc.color_range = 1
        cc.colorspace = 6
        cc.color_primaries = 6
        cc.color_trc = 6
        self.stream = stream
        self.frames = 0

    def write(self, frame: av.VideoFrame) -> None:
        frame.pts = self.frames
        frame.time_base = Fraction(1, FPS)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> int:
        """Flush and close; returns the number of frames written."""
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()
        return self.frames

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.container.close()


def encode_audio(samples: np.ndarray, sample_rate: int, path: Path) -> float:
    """Encode mono float32 ``samples`` to AAC at 48 kHz in an MP4 file; returns seconds."""
    import av

    container = av.open(str(path), "w", format="mp4")
    try:
        stream = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        stream.bit_rate = AUDIO_BITRATE
        stream.codec_context.options = {"aac_coder": "fast"}  # half the CPU of twoloop
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_RATE)
        step = sample_rate  # one second per frame in
        tb = Fraction(1, sample_rate)

        def send(frames: Sequence[av.AudioFrame | None]) -> None:
            for f in frames:
                for packet in stream.encode(f):
                    container.mux(packet)

        for i in range(0, len(samples), step):
            chunk = np.ascontiguousarray(samples[i : i + step], dtype=np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate = sample_rate
            frame.pts = i
            frame.time_base = tb
            send(resampler.resample(frame))
        send(resampler.resample(None))
        send([None])
    finally:
        container.close()
    return len(samples) / sample_rate


@dataclass(frozen=True, slots=True)
class MuxedClip:
    """A clip file and the frame of the video it starts at."""

    path: Path
    first_frame: int
    frames: int


def _packets(clip: MuxedClip, out_stream: Any, extradata: bytes | None) -> Iterator[Any]:
    import av

    with av.open(str(clip.path)) as container:
        stream = container.streams.video[0]
        if extradata is not None and bytes(stream.codec_context.extradata or b"") != extradata:
            raise RenderError(
                f"clip {clip.path.name} was encoded with other codec parameters; "
                "clear the clip cache (vgkit cache clear) and render again"
            )
        tb = stream.time_base
        assert tb is not None
        offset = round(Fraction(clip.first_frame, FPS) / tb)
        count = 0
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None or packet.dts is None:
                continue
            packet.pts += offset
            packet.dts += offset
            packet.stream = out_stream
            count += 1
            yield packet
        if count != clip.frames:
            raise RenderError(
                f"clip {clip.path.name} holds {count} frames, not {clip.frames}; "
                "clear the clip cache and render again"
            )


def mux(clips: Sequence[MuxedClip], audio: Path | None, out: Path) -> None:
    """Join ``clips`` (in timeline order) and ``audio`` into ``out`` by stream copy."""
    import av

    if not clips:
        raise RenderError("nothing to mux: the video has no clips")
    output = av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"})
    try:
        with av.open(str(clips[0].path)) as first:
            template = first.streams.video[0]
            video = output.add_stream_from_template(template)
            extradata = bytes(template.codec_context.extradata or b"")
        sources: list[Iterator[Any]] = [_video_packets(clips, video, extradata)]
        audio_container = None
        if audio is not None:
            audio_container = av.open(str(audio))
            a_in = audio_container.streams.audio[0]
            a_out = output.add_stream_from_template(a_in)
            sources.append(_audio_packets(audio_container, a_in, a_out))
        # Interleave by decode time so players never wait for one stream.
        for _, _, packet in heapq.merge(*(_timed(i, s) for i, s in enumerate(sources))):
            output.mux(packet)
        if audio_container is not None:
            audio_container.close()
    finally:
        output.close()


def _video_packets(clips: Sequence[MuxedClip], out_stream: Any, extradata: bytes) -> Iterator[Any]:
    for clip in clips:
        yield from _packets(clip, out_stream, extradata)


def _audio_packets(container: Any, stream: Any, out_stream: Any) -> Iterator[Any]:
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        packet.stream = out_stream
        yield packet


def _timed(source: int, packets: Iterator[Any]) -> Iterator[tuple[float, int, Any]]:
    for packet in packets:
        dts = packet.dts if packet.dts is not None else packet.pts
        yield float(dts * packet.time_base), source, packet


def probe(path: Path) -> dict[str, Any]:
    """Streams, size, frame rate and duration of a video file (for results and tests)."""
    import av

    with av.open(str(path)) as container:
        out: dict[str, Any] = {"duration": (container.duration or 0) / 1e6, "streams": []}
        for v in container.streams.video:
            out["streams"].append(
                {
                    "type": "video",
                    "codec": v.codec_context.name,
                    "width": v.width,
                    "height": v.height,
                    "fps": float(v.average_rate or 0),
                    "frames": v.frames,
                }
            )
        for a in container.streams.audio:
            out["streams"].append(
                {
                    "type": "audio",
                    "codec": a.codec_context.name,
                    "sample_rate": a.sample_rate,
                    "channels": a.channels,
                }
            )
        return out
