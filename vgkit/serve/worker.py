"""Entry point of a worker process of ``vgkit serve --workers N`` (not for direct use)."""

from __future__ import annotations

import asyncio
import json
import sys

from vgkit.serve.options import run_worker

if __name__ == "__main__":
    sys.exit(asyncio.run(run_worker(json.loads(sys.argv[1]))))
