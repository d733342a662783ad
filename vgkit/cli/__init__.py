"""The ``vgkit`` command."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("vgkit: not wired yet", file=sys.stderr)
    return 2
