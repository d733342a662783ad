"""pytest --nbval-lax runs every notebook here with its small defaults (``make test``).

A notebook's cells are items of one file, run in order on one kernel: under
pytest-xdist they must stay on one worker (``--dist loadfile`` in pyproject).
Each cell may take longer than a unit test (a load test, a whole claim section),
and the notebooks write their local cache to a private temporary folder, not
the user's ``~/.cache/vgkit``.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

#: Seconds one notebook cell may take (pytest's own default is 60 for a whole test).
CELL_TIMEOUT = 300
_CACHE_DIR: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _CACHE_DIR
    if "VGKIT_CACHE_DIR" not in os.environ:  # kernels inherit it
        _CACHE_DIR = tempfile.mkdtemp(prefix="vgkit-nbval-cache-")
        os.environ["VGKIT_CACHE_DIR"] = _CACHE_DIR


def pytest_unconfigure(config: pytest.Config) -> None:
    if _CACHE_DIR is not None:
        shutil.rmtree(_CACHE_DIR, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith("notebooks/") and item.nodeid.split("::")[0].endswith(".ipynb"):
            item.add_marker(pytest.mark.timeout(CELL_TIMEOUT))
            item.add_marker(pytest.mark.notebook)
