"""Entry point of a worker process of ``vgkit serve --workers N`` (not for direct use)."""

from __future__ import annotations

import json
import sys

from vgkit.serve.command import run_worker
from vgkit.serve.loops import DEFAULT_LOOP, run_on_loop

if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    sys.exit(run_on_loop(lambda: run_worker(spec), spec.get("loop", DEFAULT_LOOP)))
