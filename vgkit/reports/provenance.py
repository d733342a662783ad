"""Where a report's numbers came from: commit, packages, machine, load, Redis.

:func:`provenance` is the record ``provenance.json`` holds; :func:`run_context`
is the short form a report shows in its summary (commit, machine, load). Paths
in both are portable: relative to the project when inside it, ``~/...`` under
the home directory, so a committed report names no machine's folders.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vgkit.config import PROJECT_ROOT, settings

__all__ = ["KEY_PACKAGES", "LOCK_FILE", "portable_path", "provenance", "run_context"]

#: Distributions whose versions every provenance records (absent ones as null).
KEY_PACKAGES = (
    "vgkit", "aiohttp", "redis", "diskcache", "orjson", "pydantic", "pandas", "numpy",
    "matplotlib", "prometheus-client", "hdrhistogram", "zstandard", "papermill",
    "nbconvert", "ipykernel", "ipywidgets",
)  # fmt: skip
#: The lock file `make setup` installs with (`make lock` refreshes it).
LOCK_FILE = "constraints.txt"


def portable_path(path: str | Path, root: Path = PROJECT_ROOT) -> str:
    """``path`` relative to the project (``notebooks/x.ipynb``), else ``~/...`` under
    the home directory, else as given: what a report may show of a path."""
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    # The path as given first: a venv's python is a symlink out of the project.
    for candidate in (Path(os.path.normpath(p)), p.resolve()):
        for base, prefix in ((root, ""), (Path.home(), "~/")):
            for b in (base, base.resolve()):
                try:
                    rest = candidate.relative_to(b)
                except ValueError:
                    continue
                return prefix + rest.as_posix() if rest.parts else (prefix.rstrip("/") or ".")
    return p.as_posix()


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(folder: Path) -> dict[str, Any] | None:
    """Commit, branch and dirtiness of the work tree ``folder`` is in (None outside git)."""
    commit = _git(folder, "rev-parse", "HEAD")
    if commit is None:
        return None
    changes = _git(folder, "status", "--porcelain", "--untracked-files=no") or ""
    changed = [line for line in changes.splitlines() if line.strip()]
    return {
        "commit": commit,
        "branch": _git(folder, "rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(changed),
        "changed_files": len(changed),
    }


def _lock_state(folder: Path) -> dict[str, Any] | None:
    """The lock file's name and SHA-256, so two reports show whether they ran the same pins."""
    top = _git(folder, "rev-parse", "--show-toplevel")
    lock = Path(top) / LOCK_FILE if top else None
    if lock is None or not lock.is_file():
        return None
    return {"file": LOCK_FILE, "sha256": hashlib.sha256(lock.read_bytes()).hexdigest()}


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in KEY_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _mask(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}"
        netloc += f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _redis(url: str | None) -> dict[str, Any] | None:
    if not url:
        return None
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            info = client.info("server")
        finally:
            client.close()
    except (redis.RedisError, ValueError) as exc:
        return {"url": _mask(url), "version": None, "error": str(exc)}
    return {"url": _mask(url), "version": info.get("redis_version")}


def _load() -> dict[str, float] | None:
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        one, five, fifteen = os.getloadavg()
    except (AttributeError, OSError):
        return None
    return {"1m": round(one, 2), "5m": round(five, 2), "15m": round(fifteen, 2)}


def _machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "system": platform.system(),
        "load_average": _load(),
    }


def _settings() -> dict[str, object]:
    return {
        key: portable_path(value) if isinstance(value, str) and Path(value).is_absolute() else value
        for key, value in settings().as_dict().items()
    }


def provenance(
    parameters: Mapping[str, Any], *, folder: Path | None = None, **extra: Any
) -> dict[str, Any]:
    """Everything needed to say where a report's numbers came from.

    ``folder`` is any directory inside the git work tree (default: the notebooks
    directory); ``extra`` is merged in (report name, timings, status).
    """
    where = folder if folder is not None else settings().notebooks_dir
    redis_url = parameters.get("redis_url") or settings().redis_url
    return {
        **extra,
        "parameters": dict(parameters),
        "seeds": {k: v for k, v in parameters.items() if "seed" in k.lower()},
        "git": git_state(where),
        "lock": _lock_state(where),
        "packages": _versions(),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": portable_path(sys.executable),
        },
        "machine": _machine(),
        "redis": _redis(str(redis_url) if redis_url else None),
        "settings": _settings(),
    }


def run_context(folder: Path | None = None) -> dict[str, Any]:
    """The short provenance a report prints in its summary: when, which commit, which
    machine and how busy it was (load average against CPUs) as the run started."""
    git = git_state(folder if folder is not None else PROJECT_ROOT)
    machine = _machine()
    load = machine["load_average"]
    cpus = machine["cpu_count"] or 1
    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git["commit"][:10] if git else None,
        "branch": git["branch"] if git else None,
        "dirty": git["dirty"] if git else None,
        "cpu_count": machine["cpu_count"],
        "machine": f"{machine['system']} {machine['machine']}",
        "python": platform.python_version(),
        "vgkit": _versions()["vgkit"],
        "load_1m": load["1m"] if load else None,
        "busy": bool(load and load["1m"] > 0.5 * cpus),
    }
