"""Where every clip sits on the video's frame grid.

Shots tile the plan's timeline; each boundary lands on the frame nearest its
time, so a plan of D seconds has exactly ``round(D * fps)`` frames and every
shot is within half a frame of its planned length. A transition with a
duration occupies a window of exactly ``round(duration * fps)`` frames
centred on its scene boundary (both neighbouring shots give up half); a
transition at the very end (a fade out) takes the last frames, and one at
the very start the first. Cuts (duration 0) take no frames. A shot always
keeps at least one frame of its own: a window that would swallow one is
narrowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from vgkit.models import VideoPlan

__all__ = ["Slot", "layout"]


@dataclass(frozen=True, slots=True)
class Slot:
    """One clip: a shot's own frames or a transition window, ``[first, end)`` in frames."""

    kind: Literal["shot", "transition"]
    index: int
    """Shot index, or transition index in the plan's transitions list."""
    first: int
    end: int
    shot_a: int
    """The shot shown (a transition: the outgoing shot, -1 for black)."""
    shot_b: int = -1
    """A transition's incoming shot (-1: black)."""
    transition: str = ""

    @property
    def frames(self) -> int:
        return self.end - self.first


def layout(plan: VideoPlan, fps: int) -> list[Slot]:
    """Every clip of ``plan`` in timeline order (see the module docstring)."""
    shots = sorted(plan.storyboard.shots, key=lambda s: s.start)
    total = max(1, round(plan.duration * fps))
    bounds = [min(total, max(0, round(s.start * fps))) for s in shots] + [total]
    bounds[0] = 0
    for i in range(1, len(bounds)):  # every shot at least one frame
        bounds[i] = max(bounds[i], bounds[i - 1] + 1)
    if bounds[-1] != total:
        total = bounds[-1]
    # Frames each shot gives up at its start (cut_in) and end (cut_out) to transitions.
    cut_in = [0] * len(shots)
    cut_out = [0] * len(shots)
    windows: list[tuple[int, int, int, int, int, str]] = []
    for t in plan.transitions.transitions:
        length = round(t.duration * fps)
        if length <= 0:
            continue
        at = round(t.at * fps)
        if at >= total - 1:  # an ending: the last frames fade from the last shot
            k = len(shots) - 1
            length = min(length, bounds[k + 1] - bounds[k] - cut_in[k] - 1)
            if length > 0:
                cut_out[k] = length
                windows.append((total - length, total, t.index, k, -1, t.kind))
            continue
        if at <= 0:  # an opening: from black into the first shot
            length = min(length, bounds[1] - bounds[0] - 1)
            if length > 0:
                cut_in[0] = length
                windows.append((0, length, t.index, -1, 0, t.kind))
            continue
        if at not in bounds:
            continue  # not at a shot boundary; a plan edited by hand, shown as a cut
        b = bounds.index(at)
        a = b - 1
        before = length // 2
        after = length - before
        room_a = bounds[b] - bounds[a] - cut_in[a] - 1
        room_b = bounds[b + 1] - bounds[b] - 1
        before, after = min(before, room_a), min(after, room_b)
        if before + after <= 0:
            continue
        cut_out[a] = before
        cut_in[b] = after
        windows.append((at - before, at + after, t.index, a, b, t.kind))
    slots = [
        Slot("shot", s.index, bounds[k] + cut_in[k], bounds[k + 1] - cut_out[k], k)
        for k, s in enumerate(shots)
    ]
    slots += [Slot("transition", ti, f0, f1, a, b, kind) for f0, f1, ti, a, b, kind in windows]
    slots.sort(key=lambda s: s.first)
    return slots
