"""The public API: names in __all__, sync facade in scripts and inside a running loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from types import ModuleType

import pytest

import vgkit
import vgkit.errors
from vgkit import InvalidRequestError, Platform

#: What a notebook types first: generate, agenerate, Orchestrator, the request, plan and
#: result types, the version; then every error. Everything else lives in a namespace.
FIRST = {
    "generate", "agenerate", "Orchestrator", "VideoRequest", "VideoPlan", "GenerationResult",
    "Platform", "Style", "Script", "Storyboard", "TopicAnalysis", "QualityReport",
    "__version__",
}  # fmt: skip


def test_the_top_level_stays_small() -> None:
    assert len(vgkit.__all__) == 47  # raise it on purpose, for a name a notebook starts with
    assert set(vgkit.__all__) == FIRST | set(vgkit.errors.__all__)
    assert len(vgkit.__all__) == len(set(vgkit.__all__))
    for name in vgkit.__all__:
        value = getattr(vgkit, name)
        assert not isinstance(value, ModuleType), name
        if name != "__version__":
            assert value.__module__.startswith("vgkit."), name
    for name in vgkit.errors.__all__:
        assert issubclass(getattr(vgkit, name), vgkit.VgkitError), name


def test_all_is_honest() -> None:
    public = {n for n in dir(vgkit) if not n.startswith("_")}
    modules = {n for n in public if isinstance(getattr(vgkit, n), ModuleType)}
    assert public - modules == set(vgkit.__all__) - {"__version__"}
    with pytest.raises(AttributeError, match="no attribute 'CacheIntegration'"):
        vgkit.CacheIntegration  # type: ignore[attr-defined]  # noqa: B018 - now vgkit.plan_cache's


def test_namespaces_load_on_first_use_and_not_on_import() -> None:
    code = (
        "import sys, vgkit\n"
        "heavy = ('aiohttp', 'redis', 'pandas', 'vgkit.cache', 'vgkit.client', 'vgkit.tuning')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "print(vgkit.tuning.Candidate.__module__, vgkit.cache.open_cache.__module__)\n"
        "print('vgkit.tuning' in sys.modules, 'cache' in dir(vgkit))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[]", "vgkit.tuning.candidate vgkit.cache.factory", "True True"]


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
