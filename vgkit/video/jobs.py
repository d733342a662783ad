"""What a render worker does for each kind of node: clip, soundtrack, assemble.

Each function takes the JSON arguments the render graph sends and returns a
JSON-able dict; they run in worker processes (:mod:`vgkit.video.worker`), never
on the event loop. Every file they write goes into the directory or path the
arguments name (a temporary place the graph owns); none is left half-written
at a final path.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw

from vgkit.video.canvas import Planes, new_frame
from vgkit.video.captions import CaptionLayer, Cue
from vgkit.video.encode import FPS, ClipWriter, EncodePreset, MuxedClip, encode_audio, mux
from vgkit.video.look import Look, font, text_size, wrap
from vgkit.video.transitions import blend
from vgkit.video.visuals import ShotVisual

__all__ = ["HANDLERS", "assemble", "render_clip", "soundtrack"]

THUMB_LONG_SIDE = 320


def _captions(args: dict[str, Any], look: Look, width: int, height: int) -> CaptionLayer | None:
    spec = args.get("captions")
    if not spec:
        return None
    cues = [Cue.from_dict(c) for c in spec["cues"]]
    return CaptionLayer(cues, spec["style"], look, width, height)


def _thumbnail(planes: Planes, path: Path) -> None:
    scale = THUMB_LONG_SIDE / max(planes.width, planes.height)
    size = (max(2, round(planes.width * scale)), max(2, round(planes.height * scale)))
    planes.to_image(size).save(path, format="PNG", compress_level=1)


def render_clip(args: dict[str, Any]) -> dict[str, Any]:
    """Draw and encode one shot or transition clip (see :mod:`vgkit.video.visuals`)."""
    started = time.perf_counter()
    width, height = int(args["width"]), int(args["height"])
    look = Look.from_dict(args["look"])
    preset = EncodePreset(**args["preset"])
    out_dir = Path(args["out_dir"])
    first, end = int(args["first"]), int(args["end"])
    captions = _captions(args, look, width, height)
    clip_path = out_dir / "clip.mp4"
    thumb_path = out_dir / "thumb.png" if args.get("thumbnail") else None
    thumb_frame = (first + end) // 2
    visuals: list[ShotVisual | None] = []
    if args["kind"] == "shot":
        visuals.append(ShotVisual(args["shot"], look, width, height))
    else:
        for side in ("a", "b"):
            spec = args.get(side)
            visuals.append(ShotVisual(spec, look, width, height) if spec else None)
    black = Planes.filled(width, height, (16, 128, 128))
    writer = ClipWriter(clip_path, width, height, preset)
    reused = 0
    try:
        previous: tuple[Any, av.VideoFrame] | None = None
        key: Any
        for f in range(first, end):
            t = f / FPS + 1e-6
            if args["kind"] == "shot":
                visual = visuals[0]
                assert visual is not None
                if thumb_path is not None and f == thumb_frame:
                    _thumbnail(visual.draw(t)[1], thumb_path)
                key = (visual.state(t), captions.state(t) if captions else None)
                if previous is not None and previous[0] == key:
                    writer.write(previous[1])
                    reused += 1
                    continue
                frame, planes = visual.draw(t)
            else:
                frame, planes = new_frame(width, height)
                a = visuals[0].draw(t)[1] if visuals[0] is not None else black
                b = visuals[1].draw(t)[1] if visuals[1] is not None else black
                q = (f - first + 0.5) / max(1, end - first)
                blend(args["style"], a, b, q, planes, look)
                key = None
            if captions is not None:
                captions.draw(planes, t)
            writer.write(frame)
            previous = (key, frame) if key is not None else None
        frames = writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        for visual in visuals:
            if visual is not None:
                visual.close()
    return {
        "clip": str(clip_path),
        "thumb": str(thumb_path) if thumb_path is not None else None,
        "frames": frames,
        "reused_frames": reused,
        "seconds": time.perf_counter() - started,
    }


def soundtrack(args: dict[str, Any]) -> dict[str, Any]:
    """Mix narration and bed, normalise, and encode the soundtrack to AAC."""
    from vgkit.video.mix import soundtrack as mix

    started = time.perf_counter()
    sr = int(args["sample_rate"])
    seconds = float(args["duration"])
    total = max(1, round(seconds * sr))
    speech: np.ndarray | None = None
    if args["segments"]:
        speech = np.zeros(total, np.float32)
        for seg in args["segments"]:
            pcm = np.fromfile(seg["pcm"], dtype="<i2")
            at = round(float(seg["start"]) * sr)
            n = max(0, min(len(pcm), total - at))
            speech[at : at + n] = pcm[:n] * np.float32(1 / 32768)
    music = Path(args["music"]) if args.get("music") else None
    samples, level = mix(
        speech, seconds, sr, music=music, pad=bool(args["pad"]), seed=int(args["seed"])
    )
    del speech
    encode_audio(samples, sr, Path(args["out"]))
    return {"lufs": level, "seconds": time.perf_counter() - started}


def assemble(args: dict[str, Any]) -> dict[str, Any]:
    """Join the clips and soundtrack into the video; draw its poster and contact sheet."""
    started = time.perf_counter()
    clips = [MuxedClip(Path(c["path"]), int(c["first"]), int(c["frames"])) for c in args["clips"]]
    out = Path(args["out"])
    mux(clips, Path(args["audio"]) if args.get("audio") else None, out)
    if args.get("poster"):
        poster(args["poster"])
    if args.get("contact"):
        contact_sheet(args["contact"])
    return {"bytes": out.stat().st_size, "seconds": time.perf_counter() - started}


def poster(args: dict[str, Any]) -> None:
    """The first shot with the title set large: the video's cover picture."""
    look = Look.from_dict(args["look"])
    width, height = int(args["width"]), int(args["height"])
    shot = dict(args["shot"])
    shot["text_overlay"] = None
    visual = ShotVisual(shot, look, width, height)
    try:
        _, planes = visual.draw(float(shot["start"]) + float(shot["duration"]) * 0.8)
    finally:
        visual.close()
    image = planes.to_image().convert("RGBA")
    u = min(width, height) / 1080
    face = font(look.heading_font, int((110 if height > width else 96) * u))
    lines = wrap(args["title"], face, int(width * 0.84), max_lines=3)
    ascent, descent = face.getmetrics()
    line_h = ascent + descent + int(8 * u)
    block_h = line_h * len(lines)
    shade = Image.new("RGBA", image.size, (0, 0, 0, 0))
    top = int(height * 0.5) - block_h // 2
    ImageDraw.Draw(shade).rectangle(
        (0, top - int(60 * u), width, top + block_h + int(60 * u)), fill=(0, 0, 0, 120)
    )
    image = Image.alpha_composite(image, shade)
    d = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        tw = text_size(line, face, int(5 * u))[0]
        d.text(
            ((width - tw) / 2, top + i * line_h),
            line,
            font=face,
            fill=(255, 255, 255),
            stroke_width=int(5 * u),
            stroke_fill=(10, 10, 12),
        )
    bar_w = int(width * 0.2)
    d.rectangle(
        (
            (width - bar_w) / 2,
            top + block_h + int(20 * u),
            (width + bar_w) / 2,
            top + block_h + int(32 * u),
        ),
        fill=look.accent,
    )
    image.convert("RGB").save(args["out"], format="PNG", compress_level=1)


def contact_sheet(args: dict[str, Any]) -> None:
    """One thumbnail per shot in a grid, each labelled with its number, time and type."""
    look = Look.from_dict(args["look"])
    thumbs = [(Image.open(t["path"]).convert("RGB"), t["label"]) for t in args["thumbs"]]
    if not thumbs:
        return
    tw, th = thumbs[0][0].size
    columns = int(args.get("columns") or (8 if th > tw else 5))
    rows = -(-len(thumbs) // columns)
    gap, label_h, head = 12, 34, 70
    sheet = Image.new(
        "RGB",
        (columns * (tw + gap) + gap, head + rows * (th + label_h + gap) + gap),
        (18, 18, 22),
    )
    d = ImageDraw.Draw(sheet)
    d.text((gap, 18), args["title"], font=font(look.heading_font, 30), fill=look.accent)
    small = font("DejaVuSans.ttf", 15)
    for i, (thumb, label) in enumerate(thumbs):
        while len(label) > 4 and text_size(label, small)[0] > tw:
            label = label[:-2] + "…"
        r, c = divmod(i, columns)
        x, y = gap + c * (tw + gap), head + r * (th + label_h + gap)
        sheet.paste(thumb.resize((tw, th)), (x, y))
        d.text((x + 2, y + th + 6), label, font=small, fill=(225, 225, 230))
    sheet.save(args["out"], format="PNG", compress_level=1)


HANDLERS = {
    "clip": render_clip,
    "soundtrack": soundtrack,
    "assemble": assemble,
}
