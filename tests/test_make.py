"""The Makefile a new user runs first: quiet installs, a demo that says where its plans are,
and JupyterLab on the port asked for."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _make(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run(
        ["make", "-C", str(ROOT), "--no-print-directory", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_make_lab_takes_a_port() -> None:
    assert "--port=9123" in _make("-n", "lab", "PORT=9123")
    assert "--port=8888" in _make("-n", "lab")


def test_the_editable_install_prints_no_warning_box(tmp_path: Path) -> None:
    """setuptools boxes a warning on every editable install; the Makefile's install step
    runs with the environment that silences it (here: the same build hook pip calls)."""
    install = next(
        line for line in _make("-n", "-B", "setup").splitlines() if "-e '.[dev]'" in line
    )
    words = shlex.split(install)
    env = dict(
        w.split("=", 1) for w in words[: next(i for i, w in enumerate(words) if "=" not in w)]
    )
    assert env, f"no environment for the install step: {install}"
    hook = f"from setuptools import build_meta; build_meta.build_editable({str(tmp_path)!r})"
    done = subprocess.run(
        [sys.executable, "-c", hook],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.glob("vgkit-*.whl"))
    assert "Editable installation" not in done.stderr + done.stdout


@pytest.mark.slow
@pytest.mark.timeout(300)  # two demos, each rendering a preview video
def test_make_demo_says_where_the_plans_are_and_its_second_run_keeps_honest_timings(
    tmp_path: Path,
) -> None:
    out = tmp_path / "demo-output"
    env = {"VGKIT_CACHE_DIR": str(tmp_path / "cache")}
    first = _make("-s", "demo", f"DEMO_OUT={out}", env=env)
    assert f"wrote 10 files to {out}/:" in first
    assert "youtube.json  youtube.md  youtube.srt" in first
    assert "Editable installation" not in first
    assert ",ok," in (out / "timings.csv").read_text()
    second = _make("-s", "demo", f"DEMO_OUT={out}", env=env)
    assert "served whole from the cache" in second
    timings = (out / "timings.csv").read_text().splitlines()[1:]
    assert timings and all(",cached," in line for line in timings)  # no rows of zeros
