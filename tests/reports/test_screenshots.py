"""The committed example report reads well: checked as text, and in Chromium when present.

``scripts/screenshot_report.py`` takes the screenshots (headless Chromium; on Debian
``apt-get install -y chromium``). Without Chromium the screenshot test skips, and fails
under CI=true (``.ci/run`` installs it); the page's text is checked either way.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.reports.pages import check_page, page_text
from vgkit.reports import example_report

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "screenshot_report.py"
CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)


def test_the_example_page_opens_with_its_summary() -> None:
    page = (example_report() / "performance.html").read_text()
    text = check_page(page, "shared/seeds", "the issue")
    assert text.index("Grade ") < text.index("1. Connection pooling")
    assert "req/s" in text and "µs" in text and "%" in text


def test_screenshots_of_the_example_page(tmp_path: Path) -> None:
    from PIL import Image

    if CHROMIUM is None:
        reason = "no Chromium (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(f"{reason}; CI=true: the screenshot test must run, not skip")
        pytest.skip(reason)

    html = example_report() / "performance.html"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(html), "--out", str(tmp_path), "--page-height", "1200"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    paths = [Path(line) for line in done.stdout.split()]
    assert len(paths) >= 3 and paths[0].name == "performance-01.png"
    first = Image.open(paths[0])
    assert first.size == (1280, 1200)
    # Not a blank page: the summary's text and table put many colours on the first screen.
    assert len(first.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 50
    assert "Grade" in page_text(html.read_text())
