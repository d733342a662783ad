"""The public API: names in __all__, sync facade in scripts and inside a running loop."""

from __future__ import annotations

import asyncio

import pytest

import vgkit
from vgkit import InvalidRequestError, Platform


def test_all_is_honest() -> None:
    for name in vgkit.__all__:
        assert hasattr(vgkit, name), name
    public = {n for n in dir(vgkit) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(vgkit, n)).__name__ == "module"}
    assert public - modules <= set(vgkit.__all__), public - modules - set(vgkit.__all__)


def test_generate_in_a_plain_script() -> None:
    result = vgkit.generate("Composting at home", platforms=["tiktok"], seed=2)
    plan = result.plan(Platform.TIKTOK)
    assert plan.topic.keywords[0] == "composting"
    assert plan.to_markdown().startswith("# ")
    frame = plan.storyboard_frame()
    assert len(frame) == len(plan.storyboard.shots)
    assert list(frame.columns[:4]) == ["shot", "start", "end", "duration"]


async def test_generate_inside_a_running_loop_like_jupyter() -> None:
    # A Jupyter cell runs inside a live loop: the sync facade must still work.
    result = vgkit.generate("Composting at home", platforms=["tiktok"], seed=2)
    again = await vgkit.agenerate("Composting at home", platforms=["tiktok"], seed=2)
    assert result.plan("tiktok").to_json() == again.plan("tiktok").to_json()
    assert asyncio.get_running_loop().is_running()


def test_errors_surface_as_vgkit_errors() -> None:
    with pytest.raises(InvalidRequestError, match="listed twice"):
        vgkit.generate("t", platforms=["tiktok", "tiktok"])
    with pytest.raises(vgkit.ExecutorError):
        vgkit.generate("t", executor="warp")
