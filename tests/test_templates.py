"""The packaged template library: complete, consistent, and really packaged."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from vgkit.agents._text import fill, slots_for
from vgkit.errors import TemplateError
from vgkit.models import Style, TopicAnalysis, VideoRequest
from vgkit.platforms import Platform
from vgkit.templates import KINDS, Template, TemplateLibrary, default_library

ROOT = Path(__file__).resolve().parents[1]


def test_every_kind_is_present_and_versioned() -> None:
    lib = default_library()
    assert set(lib.kinds()) == set(KINDS)
    assert all(t.version >= 1 for t in lib)
    assert len(lib.candidates("hook")) >= 20
    assert lib.fingerprint() == TemplateLibrary.load().fingerprint()


@pytest.mark.parametrize("platform", list(Platform))
@pytest.mark.parametrize("style", list(Style))
def test_structures_and_hooks_cover_every_platform_and_style(
    platform: Platform, style: Style
) -> None:
    lib = default_library()
    assert lib.candidates("structure", platform=platform.value, style=style.value)
    assert len(lib.candidates("hook", platform=platform.value, style=style.value)) >= 3
    assert lib.candidates("cta", platform=platform.value, style=style.value, tags=["primary"])


def test_every_slot_in_every_template_is_known() -> None:
    request = VideoRequest(topic="Solar panels for beginners")
    analysis = TopicAnalysis(
        topic=request.topic,
        keywords=("solar panels",),
        key_points=("p",),
        category="energy",
        angle="a",
        summary="s",
    )
    slots = slots_for(request, analysis)
    texts: list[str] = []

    def collect(value: object) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    for template in default_library():
        collect(dict(template.body))
    with_slots = [t for t in texts if re.search(r"\{\w+\}", t)]
    assert len(with_slots) > 100
    for text in with_slots:
        assert "{" not in fill(text, slots), text


def test_unknown_slot_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="unknown slot"):
        fill("hello {nobody}", {})


def test_newest_version_wins_and_choice_is_seeded() -> None:
    old = Template(id="hook.x", version=1, kind="hook", body={"text": "old"})
    new = Template(id="hook.x", version=2, kind="hook", body={"text": "new"})
    other = Template(id="hook.y", version=1, kind="hook", platforms=frozenset({"tiktok"}))
    lib = TemplateLibrary([old, new, other])
    assert lib.get("hook.x")["text"] == "new"
    assert [t.id for t in lib.candidates("hook", platform="youtube")] == ["hook.x"]
    picks = [lib.choose("hook", random.Random(5), platform="tiktok").id for _ in range(3)]
    assert len(set(picks)) == 1
    with pytest.raises(TemplateError, match="no cta template"):
        lib.choose("cta", random.Random(0))


@pytest.mark.slow
def test_library_ships_in_a_plain_wheel(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    wheel = next(tmp_path.glob("vgkit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for filename in (
        "platforms.json",
        "hooks.json",
        "structures.json",
        "shots.json",
        "transitions.json",
        "ctas.json",
        "phrases.json",
        "scenes.json",
        "lexicon.json",
    ):
        assert f"vgkit/templates/{filename}" in names
    assert "vgkit/py.typed" in names
