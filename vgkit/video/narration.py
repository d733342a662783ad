"""Offline narration: every segment spoken by eSpeak NG in a fresh process of its own.

:mod:`vgkit.video.espeak` does the speaking (ctypes, a rate fitted to the
segment, word times from eSpeak's word events). This module runs it, one
``python .../espeak.py`` child per segment, a few at a time.

Why a fresh process per segment: eSpeak NG keeps state between utterances
that no API call resets (the pitch "flutter" index in its wave generator is a
static variable), so the same text spoken twice in one process gives slightly
different samples, and word times that move by a few samples, enough to move
a caption by a frame or change the fitted rate. In a fresh process the same
text, length and voice always give the same samples: a segment's speech is a
pure function of its inputs, which is what its cache key promises and what
"the same plan renders the same frames" needs. The child imports nothing of
vgkit, so it starts in about a tenth of a second.

Voices are checked (and listed) in this process, before any work starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from functools import cache
from typing import Any

from vgkit.errors import RenderError, VoiceError
from vgkit.video import espeak
from vgkit.video.espeak import DEFAULT_VOICE, SpeechError, UnknownVoice, VoiceInfo

__all__ = ["DEFAULT_VOICE", "VoiceInfo", "check_voice", "speak_segments", "voices"]


def _engine() -> espeak.ESpeak:
    try:
        return espeak.engine()
    except SpeechError as exc:
        raise RenderError(str(exc)) from None


@cache
def voices() -> tuple[VoiceInfo, ...]:
    """The voices narration can use (``--voice`` takes a name, identifier or language)."""
    return tuple(_engine().voices())


def check_voice(voice: str) -> None:
    """Raise VoiceError unless eSpeak NG can select ``voice``."""
    engine = _engine()
    with engine.lock:
        try:
            engine.set_voice(voice)
        except UnknownVoice as exc:
            raise VoiceError(str(exc)) from None


async def _speak_one(segment: dict[str, Any], voice: str) -> dict[str, Any]:
    request = json.dumps({**segment, "voice": voice}).encode()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",  # isolated: no site customisations, no cwd on sys.path
        espeak.__file__,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await proc.communicate(request)
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0 or not out:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RenderError(f"the narration process failed ({proc.returncode}): {tail[0][:300]}")
    reply: dict[str, Any] = json.loads(out)
    error = reply.get("error")
    if error:
        raise (VoiceError if error["kind"] == "voice" else RenderError)(error["message"])
    return reply


async def speak_segments(
    segments: list[dict[str, Any]], voice: str, *, concurrency: int
) -> list[dict[str, Any]]:
    """Speak each ``{"text", "seconds", "out"}`` in its own process; results in order."""
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(segment: dict[str, Any]) -> dict[str, Any]:
        async with limit:
            return await _speak_one(segment, voice)

    tasks = [asyncio.ensure_future(one(s)) for s in segments]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
