"""Run every benchmark: ``python -m benchmarks [NAME ...] [--quick] [--json FILE]``.

Each ``benchmarks/bench_*.py`` module has ``async def run(quick: bool) -> list[Row]``
and a ``TITLE``; this runner prints each table and can save all rows as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import sys
from pathlib import Path

from benchmarks._common import print_table, save_json


def _modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmark modules (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", help="also write every row to this JSON file")
    args = parser.parse_args(argv)
    available = _modules()
    names = [n if n.startswith("bench_") else f"bench_{n}" for n in args.names] or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(available)}")
        return 2
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        rows = asyncio.run(module.run(quick=args.quick))
        print_table(module.TITLE, rows)
        if args.json:
            save_json(args.json, module.TITLE, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
