"""Render plans into videos, offline: ``vgkit.video.render(plan_or_result, out, ...)``.

The modules, one per concern:

- :mod:`~vgkit.video.look`, :mod:`~vgkit.video.painters`, :mod:`~vgkit.video.visuals`,
  :mod:`~vgkit.video.transitions`, :mod:`~vgkit.video.canvas`: layout and visuals
  (palette, typography and motif from the topic; each shot's picture and camera move;
  transition looks; yuv420p pixels and sprites)
- :mod:`~vgkit.video.timeline`: where each clip sits on the frame grid
- :mod:`~vgkit.video.captions`: cues timed to the spoken words, SRT, the burned-in layer
- :mod:`~vgkit.video.espeak`, :mod:`~vgkit.video.narration`: eSpeak NG through ctypes,
  rate fitted per segment, each segment spoken in a fresh process
- :mod:`~vgkit.video.mix`: music bed, ducking, loudness to -14 LUFS
- :mod:`~vgkit.video.encode`: closed-GOP clips, AAC, the final file by stream copy
- :mod:`~vgkit.video.cache`: the clip cache, keyed by the hash of each clip's spec
- :mod:`~vgkit.video.assets`: local pictures and clips matched to shots
- :mod:`~vgkit.video.graph`: the render graph, run by :mod:`vgkit.scheduler`
- :mod:`~vgkit.video.pool`, :mod:`~vgkit.video.worker`, :mod:`~vgkit.video.jobs`:
  worker processes that speak JSON over pipes, and what they do per node
- :mod:`~vgkit.video.api`: the public entry points and their result
- :mod:`~vgkit.video.display`: a player and the contact sheet in Jupyter
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vgkit.video.api import RenderResult, arender, load_plans, render
    from vgkit.video.cache import RENDERER_VERSION, ClipCache
    from vgkit.video.captions import Cue, Word, build_cues, cues_srt
    from vgkit.video.display import contact_sheet, output_dir, player
    from vgkit.video.encode import FPS, PRESETS, EncodePreset, probe
    from vgkit.video.graph import RenderConfig, RenderSession, VideoOutput
    from vgkit.video.look import Look
    from vgkit.video.narration import DEFAULT_VOICE, voices

#: name -> the module that defines it. Imported on first use: a render worker imports
#: vgkit.video.jobs, and must not pay for the render graph, pydantic models and the
#: scheduler it never runs (about half a second of start-up per worker).
_EXPORTS = {
    "RenderResult": "api",
    "VideoOutput": "graph",
    "RenderConfig": "graph",
    "RenderSession": "graph",
    "arender": "api",
    "load_plans": "api",
    "render": "api",
    "RENDERER_VERSION": "cache",
    "ClipCache": "cache",
    "Cue": "captions",
    "Word": "captions",
    "build_cues": "captions",
    "cues_srt": "captions",
    "FPS": "encode",
    "PRESETS": "encode",
    "EncodePreset": "encode",
    "probe": "encode",
    "Look": "look",
    "contact_sheet": "display",
    "output_dir": "display",
    "player": "display",
    "DEFAULT_VOICE": "narration",
    "voices": "narration",
}

__all__ = [
    "DEFAULT_VOICE",
    "FPS",
    "PRESETS",
    "RENDERER_VERSION",
    "ClipCache",
    "Cue",
    "EncodePreset",
    "Look",
    "RenderConfig",
    "RenderResult",
    "RenderSession",
    "VideoOutput",
    "Word",
    "arender",
    "build_cues",
    "contact_sheet",
    "cues_srt",
    "load_plans",
    "output_dir",
    "player",
    "probe",
    "render",
    "voices",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vgkit.video' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"vgkit.video.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
