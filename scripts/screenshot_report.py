#!/usr/bin/env python3
"""Screenshots of a report's HTML page in headless Chromium, one PNG per screenful.

    .venv/bin/python scripts/screenshot_report.py reports/performance-*/performance.html
    .venv/bin/python scripts/screenshot_report.py PAGE.html --out shots/ --width 1280

Chromium is not a Python package: on Debian or Ubuntu, ``apt-get install -y
chromium`` (the script looks for ``chromium``, ``chromium-browser`` and
``google-chrome``, or takes ``--chromium PATH``). The page is rendered once in a
tall window, its blank tail trimmed, and cut into screenfuls named
``PAGE-01.png``, ``PAGE-02.png``...; their paths are printed, first page first.
Look at them: the summary should open the page, numbers carry units, no code
and no absolute path shows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags for a headless run that touches no network, no GPU and no profile of the user.
FLAGS = (
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_chromium(explicit: str | None = None) -> str | None:
    """The Chromium binary to use, or None when none is installed."""
    if explicit:
        return explicit if shutil.which(explicit) or Path(explicit).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _content_height(image: Image.Image) -> int:
    """Rows down to the last one that is not plain background (the page's real height)."""
    background = image.getpixel((image.width - 1, image.height - 1))
    pixels = image.load()
    assert pixels is not None
    for y in range(image.height - 1, -1, -1):
        if any(pixels[x, y] != background for x in range(0, image.width, 4)):
            return y + 1
    return 1


def screenshots(
    html: Path,
    out: Path,
    *,
    width: int = 1280,
    page_height: int = 1600,
    max_height: int = 24000,
    chromium: str | None = None,
) -> list[Path]:
    """Render ``html`` and save it as screenful PNGs under ``out``; their paths."""
    from PIL import Image

    binary = find_chromium(chromium)
    if binary is None:
        raise SystemExit(
            "no Chromium found: install it (apt-get install -y chromium) or pass --chromium PATH"
        )
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vgkit-shot-") as tmp:
        full = Path(tmp) / "full.png"
        command = [
            binary,
            *FLAGS,
            f"--user-data-dir={tmp}/profile",
            f"--screenshot={full}",
            f"--window-size={width},{max_height}",
            html.resolve().as_uri(),
        ]
        if os.geteuid() == 0:  # Chromium's sandbox refuses to run as root
            command.insert(1, "--no-sandbox")
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or not full.is_file():
            raise SystemExit(f"chromium failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        image = Image.open(full).convert("RGB")
        height = min(image.height, _content_height(image) + 40)
        paths = []
        for k, top in enumerate(range(0, height, page_height), start=1):
            tile = image.crop((0, top, width, min(top + page_height, height)))
            path = out / f"{html.stem}-{k:02d}.png"
            tile.save(path)
            paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path, help="the report page (NAME.html)")
    parser.add_argument("--out", type=Path, help="where the PNGs go (default: beside the page)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--page-height", type=int, default=1600)
    parser.add_argument("--chromium", help="the Chromium binary (default: found on PATH)")
    args = parser.parse_args(argv)
    if not args.html.is_file():
        print(f"screenshot_report: no file {args.html}", file=sys.stderr)
        return 2
    out = args.out if args.out is not None else args.html.parent / "screenshots"
    for path in screenshots(
        args.html, out, width=args.width, page_height=args.page_height, chromium=args.chromium
    ):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
